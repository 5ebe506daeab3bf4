"""Engine and session factory for SQLite (embedded default) and PostgreSQL.

The unit of work is one executor job = one Session = one transaction
(DESIGN.md): `unit_of_work(factory, fn, ...)` opens it, commits it or rolls
it back whole, and retries the whole job a bounded number of times on
PostgreSQL serialization failures and deadlocks.  Controllers take the
session; they never create or commit one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

log = logging.getLogger("cafepos.db")
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 15_000
# PostgreSQL SQLSTATEs for which re-running the whole transaction is the right answer.
RETRYABLE_PG_CODES = {"40001", "40P01"}
MAX_ATTEMPTS = 5
_read_only: ContextVar[bool] = ContextVar("cafepos_read_only_unit", default=False)


# Every way of naming PostgreSQL in DATABASE_URL means the one driver we ship: psycopg 3.
_PG_SCHEMES = ("postgres://", "postgresql://", "postgresql+psycopg2://")


def normalise_url(url: str) -> str:
    """`postgresql://`, `postgres://` (and an old `postgresql+psycopg2://`) mean psycopg 3."""
    for scheme in _PG_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def pg_error_code(exc: BaseException) -> str | None:
    """The SQLSTATE of a PostgreSQL error (psycopg 3 `sqlstate`; `pgcode` was psycopg2's name)."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def make_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 5, echo: bool = False, pooled: bool = True
) -> Engine:
    """`pooled=False` gives a connection per use (migrations, scripts, forked parents)."""
    url = normalise_url(url)
    pool_args: dict[str, Any] = (
        {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": 30}
        if pooled
        else {"poolclass": NullPool}
    )
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            pool_pre_ping=True,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **pool_args,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5, "application_name": "cafepos"},
        **pool_args,
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Write-capable units of work queue on the database lock up front instead
        # of failing with SQLITE_BUSY when a read turns into a write.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        if pg_error_code(exc) in RETRYABLE_PG_CODES:
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            return True
    return False


def unit_of_work(factory: sessionmaker[Session], fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """Run `fn(session, *args, **kw)` in one transaction; retry the whole job on deadlock."""
    return _unit_of_work(factory, fn, False, args, kw)


def read_unit_of_work(factory: sessionmaker[Session], fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """Like unit_of_work for work that normally only reads (no up-front SQLite write lock)."""
    return _unit_of_work(factory, fn, True, args, kw)


def _unit_of_work(factory: sessionmaker[Session], fn: Callable[..., T], read_only: bool,
                  args: tuple[Any, ...], kw: dict[str, Any]) -> T:
    token = _read_only.set(read_only)
    try:
        return _run_with_retries(factory, fn, args, kw)
    finally:
        _read_only.reset(token)


def _run_with_retries(factory: sessionmaker[Session], fn: Callable[..., T], args: tuple[Any, ...],
                      kw: dict[str, Any]) -> T:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with factory() as session, session.begin():
                return fn(session, *args, **kw)
        except DBAPIError as exc:
            if attempt == MAX_ATTEMPTS or not is_retryable(exc):
                raise
            log.warning("retrying unit of work after %s (attempt %d)", type(exc.orig).__name__, attempt)
            # A read that had to write and met SQLite's lock retries as a writer, queuing up front.
            _read_only.set(False)
            time.sleep(0.01 * (2 ** attempt))
    raise AssertionError("unreachable")
