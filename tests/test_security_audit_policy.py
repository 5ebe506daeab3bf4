"""scripts/audit_policy.py: how the dependency audit judges pip-audit's report (no network needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VULN = {"id": "PYSEC-2099-1", "aliases": ["CVE-2099-0001", "GHSA-xxxx-yyyy-zzzz"], "fix_versions": ["9.9"],
        "description": ""}


def run(tmp_path: Path, deps: list[dict], allow: str | None = None) -> subprocess.CompletedProcess:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"dependencies": deps, "fixes": []}))
    args = [sys.executable, str(ROOT / "scripts" / "audit_policy.py"), str(report)]
    if allow is not None:
        (tmp_path / "allow.txt").write_text(allow)
        args.append(str(tmp_path / "allow.txt"))
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def test_nothing_audited_is_a_loud_warning_not_a_pass(tmp_path):
    skipped = [{"name": n, "skip_reason": f"Dependency not found on PyPI and could not be audited: {n} (1.0)"}
               for n in ("tornado", "sqlalchemy")]
    result = run(tmp_path, skipped)
    assert result.returncode == 0
    assert "could not audit: vulnerability database unreachable" in result.stdout


def test_a_vulnerability_not_on_the_allow_list_fails(tmp_path):
    result = run(tmp_path, [{"name": "tornado", "version": "6.0", "vulns": [VULN]},
                            {"name": "pillow", "version": "12.0", "vulns": []}], allow="# nothing allowed\n")
    assert result.returncode == 1
    assert "VULNERABLE: tornado 6.0 PYSEC-2099-1 (fixed in: 9.9)" in result.stdout


def test_an_allow_listed_vulnerability_passes_with_its_reason(tmp_path):
    result = run(tmp_path, [{"name": "tornado", "version": "6.0", "vulns": [VULN]}],
                 allow="CVE-2099-0001  # only affects the curl client, which we do not use\n")
    assert result.returncode == 0
    assert "allowed: tornado 6.0 PYSEC-2099-1 (only affects the curl client" in result.stdout


def test_an_allow_list_entry_needs_a_reason(tmp_path):
    result = run(tmp_path, [{"name": "tornado", "version": "6.0", "vulns": [VULN]}], allow="PYSEC-2099-1\n")
    assert result.returncode == 1 and "has no reason" in result.stdout


def test_a_partly_audited_report_names_what_was_skipped(tmp_path):
    result = run(tmp_path, [{"name": "tornado", "version": "6.6", "vulns": []},
                            {"name": "privatepkg", "skip_reason": "not on PyPI"}])
    assert result.returncode == 0
    assert "1 of 2 dependencies could not be audited: privatepkg" in result.stdout


def test_the_projects_allow_list_is_well_formed(tmp_path):
    allow = (ROOT / ".pip-audit-allow.txt").read_text()
    result = run(tmp_path, [{"name": "tornado", "version": "6.6", "vulns": []}], allow=allow)
    assert result.returncode == 0, result.stdout
