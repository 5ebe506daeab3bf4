"""Judge a pip-audit JSON report against the allow-list (used by scripts/audit_deps.sh).

    python scripts/audit_policy.py REPORT.json [ALLOW_LIST]

Exit 0: nothing to fix — no vulnerability, or only allow-listed ones; also when nothing could be
audited at all (no vulnerability database reachable), which is reported loudly as a warning rather
than as the meaningless "No known vulnerabilities found".  Exit 1: a vulnerability that is not on the
allow-list (or an allow-list entry without a reason).  Exit 2: the report is unreadable.

Allow-list lines: `<vulnerability id>  # <why it does not apply / until when>`; the reason is required.
An entry matches the id or any of its aliases (PYSEC-…, GHSA-…, CVE-…).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def read_allow_list(path: Path | None) -> tuple[dict[str, str], list[str]]:
    allowed: dict[str, str] = {}
    problems: list[str] = []
    if path is None or not path.exists():
        return allowed, problems
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        vuln_id, _, reason = line.partition("#")
        if not reason.strip():
            problems.append(f"{path}:{n}: {vuln_id.strip()} has no reason (write `ID  # why`)")
            continue
        allowed[vuln_id.strip()] = reason.strip()
    return allowed, problems


def judge(report: dict, allowed: dict[str, str]) -> tuple[int, list[str]]:
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = [d for d in deps if not d.get("skip_reason")]
    out: list[str] = []
    failing = 0
    for dep in audited:
        for vuln in dep.get("vulns", []):
            ids = [vuln["id"], *vuln.get("aliases", [])]
            hit = next((i for i in ids if i in allowed), None)
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            if hit:
                out.append(f"allowed: {dep['name']} {dep.get('version')} {vuln['id']} ({allowed[hit]})")
            else:
                failing += 1
                out.append(f"VULNERABLE: {dep['name']} {dep.get('version')} {vuln['id']} (fixed in: {fixes})")
    if deps and not audited:
        out.append(f"WARNING: could not audit: vulnerability database unreachable ({len(skipped)} dependencies "
                   "skipped; pip-audit's 'No known vulnerabilities found' means nothing here)")
    elif skipped:
        out.append(f"WARNING: {len(skipped)} of {len(deps)} dependencies could not be audited: "
                   + ", ".join(d["name"] for d in skipped))
    if audited:
        out.append(f"audited {len(audited)} dependencies: {failing} vulnerabilities not on the allow-list")
    return (1 if failing else 0), out


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        report = json.loads(Path(argv[0]).read_text())
    except (OSError, ValueError) as exc:
        print(f"audit: unreadable pip-audit report {argv[0]}: {exc}", file=sys.stderr)
        return 2
    allowed, problems = read_allow_list(Path(argv[1]) if len(argv) > 1 else None)
    code, lines = judge(report, allowed)
    for line in problems + lines:
        print(line)
    return 1 if problems else code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
