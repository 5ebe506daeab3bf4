"""Shared by seed_test_data.py and seed_production_data.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select

from orm.controllers.identity.server_secrets import load_or_create
from orm.db import make_engine, make_session_factory, unit_of_work
from orm.migrate import upgrade_to_head
from orm.seed import steps
from settings import Settings, with_generated_secrets


def say(text: str) -> None:
    print(text, flush=True)


def run_seed(settings: Settings, kind: str, *, now: datetime | None = None,
             progress: Callable[[str], None] | None = say) -> dict[str, int]:
    """Upgrade the schema, then run every area's seed in one transaction each, dated relative to `now`
    (None: the real time), telling `progress` what it does (None: silent)."""
    tell = progress or (lambda _text: None)
    upgrade_to_head(settings.database_url)
    engine = make_engine(settings.database_url, pooled=False)
    try:
        factory = make_session_factory(engine)
        stored = unit_of_work(factory, load_or_create, ["jwt_secret", "pin_pepper"])
        settings = with_generated_secrets(settings, stored)
        counts: dict[str, int] = {}
        started = time.perf_counter()
        for area, fn in steps(kind):
            tell(f"Seeding {area} ...")
            counts.update(unit_of_work(factory, fn, settings, now=now, progress=progress))
        tell(f"Seeded in {time.perf_counter() - started:.1f} s")
        return counts
    finally:
        engine.dispose()


def database_is_empty(settings: Settings) -> bool:
    """No users yet means nobody has used this database: demo data may go in."""
    from orm.models import Base

    users = Base.metadata.tables.get("users")
    if users is None:
        return True
    engine = make_engine(settings.database_url, pooled=False)
    try:
        with engine.connect() as conn:
            return (conn.scalar(select(func.count()).select_from(users)) or 0) == 0
    finally:
        engine.dispose()


def print_counts(title: str, counts: dict[str, int]) -> None:
    print(title)
    for name, n in counts.items():
        print(f"  {name:<24} {n:>8}")
