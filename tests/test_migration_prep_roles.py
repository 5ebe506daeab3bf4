"""Migration 0017_prep_roles: an existing database gets the prep permissions, the barista and display
roles, and the new grants on the built-in roles - the same as a new one - and gives them back down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from orm.domain.permissions import BUILTIN_ROLES, ROLE_IDS
from orm.migrate import alembic_config
from tests.conftest import run_unit


def grants(settings) -> dict[str, set[str]]:
    def fetch(s):
        rows = s.execute(text("SELECT r.name, p.permission FROM roles r JOIN role_permissions p ON p.role_id = r.id"))
        out: dict[str, set[str]] = {}
        for name, permission in rows:
            out.setdefault(name, set()).add(permission)
        return out
    return run_unit(settings, fetch)


def test_upgrade_from_0014_grants_what_a_new_database_has(settings) -> None:
    fresh = grants(settings)
    assert {name: frozenset(perms) for name, perms in fresh.items()} == {
        name: perms for name, (_desc, perms) in BUILTIN_ROLES.items()}
    config = alembic_config(settings.database_url)
    command.downgrade(config, "0014_prep_tabs")
    before = grants(settings)
    assert "barista" not in before and not {p for perms in before.values() for p in perms if p.startswith("prep.")}
    command.upgrade(config, "heads")
    assert grants(settings) == fresh
    ids = dict(run_unit(settings, lambda s: s.execute(text("SELECT name, id FROM roles")).tuples().all()))
    assert ids["barista"] == ROLE_IDS["barista"] and ids["display"] == ROLE_IDS["display"]
