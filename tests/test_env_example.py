""".env.example documents every setting, names nothing else, and shows the defaults."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
# `NAME=value`, or `# NAME=value` for options best left unset (DATABASE_URL examples).
ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def assignments() -> list[tuple[bool, str, str]]:
    """(commented out, NAME, value) for every assignment line."""
    out = []
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        m = ASSIGNMENT.match(line.strip())
        if m:
            out.append((bool(m.group(1)), m.group(2), m.group(3).split("  ")[0].strip()))
    return out


def test_every_setting_is_documented_and_nothing_else():
    documented = {name for _c, name, _v in assignments()}
    expected = {f.name.upper() for f in fields(Settings)}
    assert sorted(expected - documented) == [], "settings missing from .env.example"
    assert sorted(documented - expected) == [], ".env.example names options settings.py does not read"


def test_values_shown_are_the_defaults(tmp_path, monkeypatch):
    for f in fields(Settings):
        monkeypatch.delenv(f.name.upper(), raising=False)
    active = [(name, value) for commented, name, value in assignments() if not commented]
    env_file = tmp_path / ".env"
    env_file.write_text("\n".join(f"{n}={v}" for n, v in active) + "\n", encoding="utf-8")
    loaded = load_settings(env_file=env_file)
    defaults = Settings()
    for name, _value in active:
        attr = name.lower()
        assert getattr(loaded, attr) == getattr(defaults, attr), name
