"""Bring the configured database (DATABASE_URL / .env) to the current schema.

    python orm/db_init.py            # upgrade to head
    python orm/db_init.py --check    # exit 1 if the schema is not at head
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orm.db import make_engine
from orm.migrate import current_revision, head_revision, upgrade_to_head
from settings import load_settings


def main(argv: list[str]) -> int:
    settings = load_settings()
    engine = make_engine(settings.database_url, pooled=False)
    try:
        before = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    if "--check" in argv:
        print(f"schema: {before or 'empty'}; code: {head}")
        return 0 if before == head else 1
    upgrade_to_head(settings.database_url)
    print(f"database upgraded: {before or 'empty'} -> {head}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
