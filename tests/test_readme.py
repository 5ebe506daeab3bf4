"""The README and docs/ point only at things in the repository: links, anchors and named files."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP_DIRS = {".git", ".venv", "node_modules", ".ruff_cache", ".pytest_cache", "__pycache__"}
# `name.ext` in backticks that looks like a file of ours (not a URL, setting or endpoint).
FILE_RE = re.compile(r"`([\w./-]+\.(?:md|py|txt|toml|ini|yml|yaml|sh|json|example))`")
# Files the docs name as outputs of a command, not as part of the checkout.
GENERATED = {"bench/results/latest.json"}
LINK_RE = re.compile(r"(?<!!)\[[^\]]+\]\(([^)\s]+)\)")


def repo_files() -> set[str]:
    found: set[str] = set()
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        rel = Path(folder).relative_to(ROOT)
        found.update(str(rel / f) if str(rel) != "." else f for f in files)
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", page.read_text(), re.M)}


def test_readme_starts_with_the_two_commands():
    first_block = ROOT.joinpath("README.md").read_text().split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:] if line.strip()]
    assert commands == ["make run", "make test"]


def test_named_files_exist_in_the_repository():
    files = repo_files()
    names = {Path(f).name for f in files}
    missing = []
    for page in PAGES:
        for name in FILE_RE.findall(page.read_text()):
            if name.startswith(("/", "http")) or "…" in name or name in GENERATED:
                continue
            if name not in files and name not in names and f"docs/{name}" not in files:
                missing.append(f"{page.name}: {name}")
    assert not missing, "files named in the docs but not in the repository:\n" + "\n".join(missing)


def test_links_and_anchors_resolve():
    broken = []
    for page in PAGES:
        for target in LINK_RE.findall(page.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists() or (ROOT not in dest.parents and dest != ROOT):
                broken.append(f"{page.name}: {target}")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)
