"""Engine and session factory for SQLite (embedded default) and PostgreSQL.

The unit of work is one executor job = one Session = one transaction
(DESIGN.md): `unit_of_work(factory, fn, ...)` opens it, commits it or rolls
it back whole, and retries the whole job a bounded number of times on
PostgreSQL serialization failures and deadlocks.  Controllers take the
session; they never create or commit one.

Domain events (a sale, a refund, a raised stock alert) are collected by the
unit of work: a controller calls `events(session).add(Event(...))`, and the
events of the attempt that COMMITTED come back from `unit_of_work_events`
(context.run_db publishes them on the event bus).  A rolled-back attempt's
events die with its session, so a retried or failed unit never publishes them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, TypeVar, cast

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.base import Executable

log = logging.getLogger("cafepos.db")
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 15_000
# PostgreSQL SQLSTATEs for which re-running the whole transaction is the right answer.
RETRYABLE_PG_CODES = {"40001", "40P01"}
MAX_ATTEMPTS = 5
_read_only: ContextVar[bool] = ContextVar("cafepos_read_only_unit", default=False)
# psycopg 3 prepares a statement on a connection once it has run this many times there (psycopg's
# default is 5; None never prepares): hot paths run the same compiled text every time, so from its
# second run on PostgreSQL skips parsing and planning (measured: README "Sale path: measured decisions").
PG_PREPARE_THRESHOLD = 1
# psycopg 3 turns a query's %(name)s placeholders into $n with a regular expression and keeps the
# result in an LRU cache (128 entries) - but only for queries up to 4,096 bytes and 50 parameters.
# The sale's one statement (orders/sale_statement.py) is longer, so it was parsed again on every sale:
# a tenth of the server's CPU at 32 connections (py-spy, README "Sale path: measured decisions").
# Our statements are a fixed set built once, so every one of them may be cached.
PG_CACHED_STATEMENT_LENGTH = 1 << 16
PG_CACHED_STATEMENT_PARAMS = 1 << 12


def cache_long_statements() -> None:
    """Raise psycopg's limits on which queries' placeholder conversions it caches (see above).  They are
    module constants of psycopg._queries, read at each conversion; a psycopg without them is left alone
    (tests/test_sale_round_trips.py then fails: the sale's statements must come from the cache)."""
    try:
        from psycopg import _queries
    except ImportError:  # pragma: no cover - SQLite-only installs
        return
    for name, value in (("MAX_CACHED_STATEMENT_LENGTH", PG_CACHED_STATEMENT_LENGTH),
                        ("MAX_CACHED_STATEMENT_PARAMS", PG_CACHED_STATEMENT_PARAMS)):
        if isinstance(getattr(_queries, name, None), int) and getattr(_queries, name) < value:
            setattr(_queries, name, value)


class RetryUnit(Exception):
    """Raised by a controller: roll this unit of work back and run it again (bounded); e.g. it lost a
    race that a fresh start resolves. `final` is raised instead when the attempts are used up."""

    def __init__(self, reason: str, final: Exception | None = None) -> None:
        super().__init__(reason)
        self.final = final


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
    url: str, *, pool_size: int = 10, max_overflow: int = 5, echo: bool = False, pooled: bool = True,
    read_only: bool = False, application_name: str = "cafepos",
) -> Engine:
    """`pooled=False` gives a connection per use (migrations, scripts, forked parents).

    `read_only=True` (the reports engine) makes every transaction read-only in the database itself:
    PostgreSQL `default_transaction_read_only` (as on a streaming replica, so a report that tried to
    write fails the same way on the primary), SQLite `query_only` with deferred transactions, so a
    report never takes the write lock the sale path queues on."""
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
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **pool_args,
        )
        _configure_sqlite(engine, read_only)
        return engine
    # No pool_pre_ping (a round trip per checkout): a connection found dead is invalidated by
    # SQLAlchemy and the unit of work runs again on a fresh one (see _run_with_retries).
    connect_args: dict[str, Any] = {"connect_timeout": 5, "application_name": application_name,
                                    "prepare_threshold": PG_PREPARE_THRESHOLD}
    if read_only:
        connect_args["options"] = "-c default_transaction_read_only=on"
    cache_long_statements()
    return create_engine(url, echo=echo, connect_args=connect_args, **pool_args)


def _configure_sqlite(engine: Engine, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        if read_only:
            cur.execute("PRAGMA query_only=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Write-capable units of work queue on the database lock up front instead
        # of failing with SQLITE_BUSY when a read turns into a write.  A read-only
        # engine's snapshot starts with its first read (WAL: readers never wait).
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


# "session_revoked" ({userId, sessionId?, keepSessionId?}) closes live sockets of ended logins;
# "ticket" ({orderId, station}): ticket lines of that order at that station were created or moved;
# "principals_changed" ({userId} or {all: true}), "menu_changed" (storeId) and "stock_levels_changed"
# (counted stock of menu items) tell the per-process read caches (services/principal_cache.py,
# services/menu_pages.py) to forget.
EventType = Literal["order", "refund", "void", "alert", "session_revoked", "principals_changed", "menu_changed",
                    "stock_levels_changed", "ticket"]
_EVENTS_KEY = "cafepos.events"
_NOTIFIER_KEY = "cafepos.notifier"
_COMMITTED_KEY = "cafepos.committed"


@dataclass(frozen=True)
class Event:
    """Something that happened in a unit of work, told to the live dashboard once it committed.

    Keep `data` small (ids and a few numbers): services/event_bus.py caps an event's size.
    """

    type: EventType
    store_id: str | None
    data: Mapping[str, Any] = field(default_factory=dict)
    # PostgreSQL: the NOTIFY payload that carried it to every process inside its own transaction
    # (Notifier below); set by the unit of work, never by a controller.
    sent: str | None = field(default=None, compare=False, repr=False)

    def message(self) -> dict[str, Any]:
        """The bus message: {type, storeId, **data}."""
        return {"type": self.type, "storeId": self.store_id, **self.data}


class Notifier(Protocol):
    """What turns a unit's events into NOTIFY payloads on PostgreSQL (services/event_bus.EventBus):
    they are sent inside the unit's own transaction, right before COMMIT - PostgreSQL delivers them
    at commit and drops them on rollback, so a failed or retried attempt never announces anything."""

    channel: str

    def encode(self, message: dict[str, Any]) -> str:
        """The payload of one event message (raises when it cannot be encoded)."""


_NOTIFY = text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p")


class UnitEvents:
    """The events one unit of work raised so far, in the order they happened."""

    def __init__(self, notifier: Notifier | None = None) -> None:
        self._events: list[Event] = []
        # Set when the unit's events are sent by NOTIFY in its own transaction (PostgreSQL).
        self.notifier = notifier

    def add(self, event: Event, *, first: bool = False) -> None:
        """`first`: the event that caused the others so far (a sale before the alerts its stock raised).

        An event whose `sent` payload is set went out in one of the unit's own statements already
        (the sale's write statement does this: sale_statement.py)."""
        if first:
            self._events.insert(0, event)
        else:
            self._events.append(event)

    def encode(self, event: Event) -> str | None:
        """The NOTIFY payload of `event`, or None when there is no notifier or it cannot be encoded
        (it is then published after commit, which logs why)."""
        if self.notifier is None:
            return None
        try:
            return self.notifier.encode(event.message())
        except Exception:
            return None

    def send_unsent(self, session: Session) -> None:
        """Every event not sent yet, in one statement inside the transaction (right before COMMIT)."""
        if self.notifier is None:
            return
        payloads: list[str] = []
        for index, raised in enumerate(self._events):
            if raised.sent is None:
                payload = self.encode(raised)
                if payload is not None:
                    self._events[index] = replace(raised, sent=payload)
                    payloads.append(payload)
        if payloads:
            session.execute(_NOTIFY, {"channel": self.notifier.channel, "payloads": payloads})

    def __iter__(self) -> Iterator[Event]:
        return iter(list(self._events))

    def __len__(self) -> int:
        return len(self._events)


def events(session: Session) -> UnitEvents:
    """The event collector of the unit of work `session` belongs to."""
    collected = session.info.get(_EVENTS_KEY)
    if collected is None:
        collected = session.info[_EVENTS_KEY] = UnitEvents(session.info.get(_NOTIFIER_KEY))
    return collected


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        if pg_error_code(exc) in RETRYABLE_PG_CODES:
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            return True
    return False


def unit_of_work(factory: sessionmaker[Session], fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """Run `fn(session, *args, **kw)` in one transaction; retry the whole job on deadlock.

    Its events are dropped: a caller that publishes them uses `unit_of_work_events`."""
    return unit_of_work_events(factory, fn, False, args, kw)[0]


def read_unit_of_work(factory: sessionmaker[Session], fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """Like unit_of_work for work that normally only reads (no up-front SQLite write lock)."""
    return unit_of_work_events(factory, fn, True, args, kw)[0]


def unit_of_work_events(factory: sessionmaker[Session], fn: Callable[..., T], read_only: bool,
                        args: tuple[Any, ...], kw: dict[str, Any],
                        notifier: Notifier | None = None) -> tuple[T, list[Event]]:
    """One unit of work -> (its result, the events of the attempt that committed).

    With a `notifier` (PostgreSQL's event bus) the events are NOTIFYed inside the transaction, right
    before COMMIT (each returned event's `sent` is its payload), so no second round trip follows."""
    token = _read_only.set(read_only)
    try:
        return _run_with_retries(factory, fn, args, kw, notifier)
    finally:
        _read_only.reset(token)


class _Attempts:
    """The retry policy of a unit of work: what to do after a failed attempt."""

    def __init__(self) -> None:
        self.reconnected = False

    def pause_before_next(self, exc: Exception, attempt: int, committing: bool) -> float:
        """Seconds to wait before running the unit again; raises when it must not run again."""
        if isinstance(exc, RetryUnit):
            if attempt == MAX_ATTEMPTS:
                raise (exc.final or exc) from None
            log.info("running unit of work again: %s (attempt %d)", exc, attempt)
            return 0.0
        assert isinstance(exc, DBAPIError)
        if exc.connection_invalidated and not committing and not self.reconnected:
            # The pooled connection had died (server restart, idle kill): SQLAlchemy invalidated it
            # (and the pool's older ones); nothing was committed, so run once more on a new one.
            self.reconnected = True
            log.warning("retrying unit of work on a new connection after %s", type(exc.orig).__name__)
            return 0.0
        if attempt == MAX_ATTEMPTS or not is_retryable(exc):
            raise exc
        log.warning("retrying unit of work after %s (attempt %d)", type(exc.orig).__name__, attempt)
        # A read that had to write and met SQLite's lock retries as a writer, queuing up front.
        _read_only.set(False)
        return 0.01 * float(2 ** attempt)


def _run_with_retries(factory: sessionmaker[Session], fn: Callable[..., T], args: tuple[Any, ...],
                      kw: dict[str, Any], notifier: Notifier | None) -> tuple[T, list[Event]]:
    attempts = _Attempts()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        committing = False
        session: Session | None = None
        try:
            with factory() as session:
                if notifier is not None:
                    session.info[_NOTIFIER_KEY] = notifier
                with session.begin():
                    result = fn(session, *args, **kw)
                    collected = session.info.get(_EVENTS_KEY)
                    if collected is not None:
                        collected.send_unsent(session)
                    committing = True
                # Committed: only now are this attempt's events facts.
                return result, list(events(session))
        except (RetryUnit, DBAPIError) as exc:
            if session is not None and session.info.get(_COMMITTED_KEY):
                raise
            pause = attempts.pause_before_next(exc, attempt, committing)
        time.sleep(pause)
    raise AssertionError("unreachable")


def committed(session: Session) -> None:
    """The unit's work was committed early (orders/sale_statement.py sends COMMIT with the sale's write):
    from here on nothing may run the unit again, whatever fails after."""
    session.info[_COMMITTED_KEY] = True


def rows_changed(session: Session, statement: Executable) -> int:
    """How many rows an UPDATE or DELETE matched (its result is a database cursor's)."""
    return cast("CursorResult[Any]", session.execute(statement)).rowcount
