"""Seed data, one module per area, run in dependency order by the seed scripts.

Each module may define
    seed_test(session, settings, *, now=None, progress=None) -> dict[str, int]        demo data
    seed_production(session, settings, *, now=None, progress=None) -> dict[str, int]  a real café's start
Both must be idempotent (running twice changes nothing) and return the number
of rows of each kind that now exist (true counts, not "inserted this time").
`now` is the injected clock's time (None: the real time; see orm/seed/timeline.py): nothing a seed
writes may depend on any other clock.  `progress(text)`, when given, is told what is going on.
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
