"""Create the PostgreSQL database a URL names, unless it exists (the compose tester's and CI's test database).

    python scripts/ensure_database.py postgresql://user:password@host:5432/cafepos_test

Connects to the server's `postgres` maintenance database with the same credentials.  Exit 0 when
the database exists afterwards (created now or before), 1 with a one-line reason otherwise.
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def ensure_database(url: str) -> bool:
    """True when it was created now, False when it was there already."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not parts.scheme.startswith("postgres") or not name:
        raise ValueError(f"not a PostgreSQL URL with a database name: {parts.scheme}://…")
    # libpq takes postgresql:// (not SQLAlchemy's postgresql+psycopg://).
    maintenance = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=10) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:  # another process made it meanwhile
            return False
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        created = ensure_database(argv[0])
    except (ValueError, psycopg.Error) as exc:
        print(f"could not ensure the database: {exc}", file=sys.stderr)
        return 1
    print(("created " if created else "exists: ") + urlsplit(argv[0]).path.lstrip("/"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
