"""The layers import downwards only (DESIGN.md "Layout"): checked on every import statement.

    apis (handlers) -> services -> orm/controllers -> orm/models -> orm/domain (pure)

Every module's import statements (also those inside functions) are read with `ast`, so a
forbidden arrow fails here, naming the module, the line and what it imported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("apis", "orm", "services")
# I/O and frameworks the pure domain never touches (Pillow, bcrypt, PyJWT, pydantic are pure).
IO_MODULES = ("os", "tempfile", "shutil", "socket", "smtplib", "subprocess", "sqlite3", "psycopg",
              "psycopg2", "aiosmtplib", "urllib.request", "http.client", "logging", "asyncio")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    line: int
    target: str  # the imported module, dotted (for `from a import b`: "a" and "a.b")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> list[Import]:
    found: list[Import] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # migrations are frozen history, run by alembic, not imported by the app
            name = _module_name(path)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Import):
                    found += [Import(name, node.lineno, alias.name) for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.append(Import(name, node.lineno, node.module))
                    found += [Import(name, node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


IMPORTS = _imports()


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _domain_forbidden(target: str) -> bool:
    if _under(target, "orm"):
        return not _under(target, "orm.domain")
    return _under(target, "sqlalchemy", "tornado", "services", "apis", "settings", *IO_MODULES)


RULES = {
    "orm/domain is pure: no SQLAlchemy, Tornado, models, controllers, services, apis, settings or I/O":
        (lambda i: _under(i.module, "orm.domain"), _domain_forbidden),
    "nothing under orm/ imports apis or services":
        (lambda i: _under(i.module, "orm"), lambda t: _under(t, "apis", "services")),
    "services never import handlers (apis)":
        (lambda i: _under(i.module, "services"), lambda t: _under(t, "apis")),
    "models know nothing of controllers":
        (lambda i: _under(i.module, "orm.models"), lambda t: _under(t, "orm.controllers")),
    "handlers never open a Session":
        (lambda i: _under(i.module, "apis"), lambda t: t == "sqlalchemy.orm.Session"),
}

@pytest.mark.parametrize("rule", list(RULES))
def test_imports_point_downwards(rule: str) -> None:
    applies, forbidden = RULES[rule]
    bad = [i for i in IMPORTS if applies(i) and forbidden(i.target)]
    assert not bad, f"{rule}:\n" + "\n".join(f"{i.module}:{i.line} imports {i.target}" for i in bad)


def test_the_rules_catch_an_upward_import() -> None:
    applies, forbidden = RULES[next(iter(RULES))]
    assert applies(Import("orm.domain.x", 1, "y")) and forbidden("orm.models.base") and forbidden("sqlalchemy")
    assert not forbidden("orm.domain.money") and not forbidden("decimal")
