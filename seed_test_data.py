"""Demo data for development and tests: safe to re-run (it changes nothing the second time).

    python seed_test_data.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from orm.seed.runner import database_is_empty, print_counts, run_seed
from settings import Settings, load_settings


def seed_if_empty(settings: Settings) -> None:
    """Used by `make run`: seed a fresh database, leave a used one alone."""
    if database_is_empty(settings):
        print_counts("Seeded demo data:", run_seed(settings, "test"))
    print_demo_logins()


def print_demo_logins() -> None:
    """So that a newcomer can log in straight away (they only exist where demo data was seeded)."""
    from orm.seed.identity import DEMO_PASSWORD, DEMO_USERS

    print("Demo logins (POST /auth/login, or PIN on a terminal):")
    for username, _first, _last, role, pin in DEMO_USERS:
        print(f"  {username:<8} password {DEMO_PASSWORD}   PIN {pin or '-':<6} role {role}")


def main() -> int:
    counts = run_seed(load_settings(), "test")
    print_counts("Test data now in the database:", counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
