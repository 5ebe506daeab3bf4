"""A real café's starting catalogue (menu, ingredients, roles): safe to re-run.

    DATABASE_URL=postgresql://... python seed_production_data.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from orm.seed.runner import print_counts, run_seed
from settings import load_settings


def main() -> int:
    counts = run_seed(load_settings(), "production")
    print_counts("Production data now in the database:", counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
