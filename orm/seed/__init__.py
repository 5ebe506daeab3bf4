"""Seed data, one module per area, run in dependency order by the seed scripts.

Each module may define
    seed_test(session, settings) -> dict[str, int]        demo data for development and tests
    seed_production(session, settings) -> dict[str, int]  a real café's starting catalogue
Both must be idempotent (running twice changes nothing) and return the number
of rows of each kind that now exist (true counts, not "inserted this time").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# Dependency order: later areas reference rows of earlier ones.
AREAS = ["stores", "identity", "settings", "inventory", "menu", "orders"]


def steps(kind: str) -> list[tuple[str, Callable[..., dict[str, int]]]]:
    found: list[tuple[str, Callable[..., Any]]] = []
    for area in AREAS:
        try:
            module = importlib.import_module(f"orm.seed.{area}")
        except ModuleNotFoundError as exc:
            if exc.name == f"orm.seed.{area}":
                continue
            raise
        fn = getattr(module, f"seed_{kind}", None)
        if fn:
            found.append((area, fn))
    return found
