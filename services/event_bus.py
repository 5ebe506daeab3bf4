"""Live events (orders, refunds, alerts) for the dashboard WebSocket, across server processes.

HOW TO PUBLISH - raise the event in the unit of work that makes it true; it is
published once that transaction has COMMITTED (never inside it: a listener
would then read metrics that do not contain the sale yet, or a sale that was
rolled back), by AppContext.run_db:

    events(session).add(Event("order", order.store_id, {"orderId": order.id, ...}))   # orm.db

`publish` below is what run_db calls; call it directly only for news that no
transaction makes true.

* `type`: "order" (a sale), "refund", "void" or "alert"; `storeId` lets
  sockets watching one store ignore the others (absent = every socket).
* Values: anything orm.domain.jsonenc writes (Decimal stays exact, datetime -> ISO Z).
  Keep events small - ids and a few numbers, not whole orders - PostgreSQL
  caps a notification at 8000 bytes; bigger events are cut down to
  {type, storeId, eventId, truncated}.
* `publish` is thread-safe, never blocks the IOLoop and never raises; call it
  from a handler or from an executor thread alike.
* Subscribers get a dict on the IOLoop (the JSON round trip of what was
  published, plus `eventId` and `at`), from this process or - with
  PostgreSQL - from any other process on the same database.

HOW IT TRAVELS
* Local subscribers are called at once (loop.call_soon_threadsafe when the
  publisher is in another thread): no round trip, and it works on SQLite,
  where there is only one server process.
* PostgreSQL: every event is also sent with pg_notify('cafepos_events', json).
  The events of a unit of work (run_db) are NOTIFYed inside its own transaction,
  right before COMMIT (orm.db.UnitEvents.send_unsent; the sale folds them into its
  write statement), through this bus as the unit's `Notifier`: PostgreSQL delivers
  them at commit and drops them on rollback, and no second round trip follows.
  `committed` then hands the same payloads to the local subscribers.  `publish`
  (news no transaction makes true) sends on a pooled connection in the DB executor.  Each process keeps one
  dedicated autocommit psycopg (3) connection that LISTENs on the channel,
  read by loop.add_reader on its socket and drained with a non-blocking
  `notifies(timeout=0)` - no thread, no polling.  A process skips
  the notifications it sent itself (`origin`), since its own subscribers
  already had them.  A lost listener connection is re-opened with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import select
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from orm.db import Event
from orm.domain import jsonenc
from services.registry import Service

if TYPE_CHECKING:
    from context import AppContext

log = logging.getLogger("cafepos.events")

CHANNEL = "cafepos_events"
MAX_PAYLOAD_BYTES = 7900  # PostgreSQL refuses notifications of 8000 bytes and more
RECONNECT_MAX_SECONDS = 30.0
ECHO_WAIT_SECONDS = 1.0
HEARD_EARLY_KEPT = 256  # own notifications heard back before anyone waited for them (committed)
Subscriber = Callable[[dict[str, Any]], None]


class EventBus(Service):
    name = "event_bus"
    channel = CHANNEL  # orm.db.Notifier

    def __init__(self, ctx: AppContext, *, cross_process: bool | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.origin = uuid.uuid4().hex
        self.cross_process = (ctx.engine.dialect.name == "postgresql") if cross_process is None \
            else cross_process
        self._subscribers: list[Subscriber] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: Any = None  # psycopg.Connection
        self._listener_fd: int | None = None
        self._reconnect: asyncio.Task[None] | None = None
        self._starting: asyncio.Lock | None = None
        self.delivered = 0
        # Bumped whenever notifications may have been missed (the listener closed or was lost):
        # caches filed under an older epoch are dropped (services/principal_cache.py).
        self.epoch = 0
        self._echoes: dict[str, asyncio.Future[None]] = {}  # event id -> heard back (publish confirm)
        # Own event ids heard back while nobody waited yet: a unit's NOTIFY can come back before
        # run_db resumes after the commit (committed).
        self._heard_early: OrderedDict[str, None] = OrderedDict()

    # ---- subscribing ----------------------------------------------------------------
    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(event)` on the IOLoop for every event; returns the unsubscribe function."""
        self._bind_loop()
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def reaches_here(self) -> bool:
        """Whether every event committed so far has been delivered to this process's subscribers,
        so a cache they invalidate may answer now (IOLoop thread only; no database round trip).

        This needs the PostgreSQL listener: notifications already on its socket are taken first
        (one non-blocking poll), so a revocation whose NOTIFY reached this host before the request
        is applied before it is answered.  False while the listener is down, and always on SQLite:
        there a command in another process (`main.py create-admin --reset-password`) writes without
        any way to tell the server, so callers read the database, as before.
        """
        if self._loop is None or not self.cross_process or self._listener_fd is None:
            return False
        if select.select([self._listener_fd], (), (), 0)[0]:
            self._on_readable()
        return self._listener_fd is not None

    # ---- publishing -----------------------------------------------------------------
    def publish(self, event: dict[str, Any], *, confirm: bool = False) -> asyncio.Future[Any] | None:
        """Send `event` to every subscriber of every process (see the module docstring).

        Returns, when called on the loop with PostgreSQL, the future of the NOTIFY that carries it
        to the other processes; else None.  With `confirm` (events that end cached logins, awaited
        by run_db) it completes only once this process's own listener has heard it back, at most
        ECHO_WAIT_SECONDS: PostgreSQL signals every listener at the same commit, so the others'
        have been told at least as long."""
        try:
            payload = self._encode(event)
        except Exception:
            log.exception("event not published: it cannot be encoded")
            return None
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        loop = self._loop
        if loop is not None and not loop.is_closed():
            if running is loop:
                self._deliver(payload, from_self=True)
            else:
                loop.call_soon_threadsafe(self._deliver, payload, True)
        if not self.cross_process:
            return None
        if running is not None:
            # Never block the loop on a database round trip.
            try:
                future = running.run_in_executor(self.ctx.db_pool, self._notify_blocking, payload)
            except RuntimeError:  # the executor is shut down: the server is stopping
                log.warning("event %s not sent to other processes: shutting down", event.get("type"))
                return None
            future.add_done_callback(_log_notify_failure)
            if confirm and self._listener_fd is not None and running is self._loop:
                event_id = jsonenc.loads(payload)["eventId"]
                self._echoes[event_id] = heard = running.create_future()
                return running.create_task(self._sent_and_heard(future, event_id, heard))
            return future
        try:
            self._notify_blocking(payload)
        except Exception:
            log.exception("event %s not sent to other processes", event.get("type"))
        return None

    async def _sent_and_heard(self, sending: asyncio.Future[Any], event_id: str,
                              heard: asyncio.Future[None]) -> None:
        try:
            await sending
            await asyncio.wait_for(heard, ECHO_WAIT_SECONDS)
        except Exception:  # not sent (logged) or not heard in time: answer anyway
            pass
        finally:
            self._echoes.pop(event_id, None)

    # ---- events NOTIFYed inside their unit of work's transaction (orm.db.Notifier) ----------
    def notifier(self) -> EventBus | None:
        """What run_db hands the unit of work so that it NOTIFYs its events before COMMIT; None
        without the cross-process bus (SQLite), where `publish` delivers after commit as before."""
        return self if self.cross_process else None

    def encode(self, message: dict[str, Any]) -> str:
        """The NOTIFY payload of one event (thread-safe; raises when it cannot be encoded)."""
        return self._encode(message)

    def committed(self, payload: str, *, confirm: bool = False) -> asyncio.Future[Any] | None:
        """An event its unit of work NOTIFYed and committed: to this process's subscribers, once
        (the NOTIFY coming back is skipped as our own).  With `confirm` (see publish) returns a future
        done once the listener has heard it back, at most ECHO_WAIT_SECONDS; else None."""
        self._deliver_locally(payload)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return None
        if not confirm or self._listener_fd is None or running is not self._loop:
            return None
        event_id = jsonenc.loads(payload).get("eventId", "")
        if event_id in self._heard_early:
            del self._heard_early[event_id]
            return None  # already heard back
        self._echoes[event_id] = heard = running.create_future()
        return running.create_task(self._heard_back(event_id, heard))

    async def _heard_back(self, event_id: str, heard: asyncio.Future[None]) -> None:
        try:
            await asyncio.wait_for(heard, ECHO_WAIT_SECONDS)
        except Exception:  # not heard in time: answer anyway
            pass
        finally:
            self._echoes.pop(event_id, None)

    def _deliver_locally(self, payload: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(payload, from_self=True)
        else:
            loop.call_soon_threadsafe(self._deliver, payload, True)

    def _encode(self, event: dict[str, Any]) -> str:
        message = dict(event)
        message.setdefault("eventId", uuid.uuid4().hex)
        message.setdefault("at", self.ctx.clock())
        message["origin"] = self.origin
        payload = jsonenc.dumps(message)
        if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
            log.warning("event %s is %d bytes; sending it cut down", message.get("type"), len(payload))
            payload = jsonenc.dumps({k: message.get(k) for k in ("type", "storeId", "eventId", "at", "origin")}
                                     | {"truncated": True})
        return payload

    def _notify_blocking(self, payload: str) -> None:
        with self.ctx.engine.connect() as conn:
            conn.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload})
            conn.commit()

    def _deliver(self, payload: str, from_self: bool = False) -> None:
        try:
            message = jsonenc.loads(payload)
        except ValueError:
            log.warning("ignoring a malformed event on %s", CHANNEL)
            return
        if not isinstance(message, dict):
            return
        if message.pop("origin", None) == self.origin and not from_self:
            event_id = message.get("eventId", "")
            heard = self._echoes.pop(event_id, None)
            if heard is None:
                self._heard_early[event_id] = None
                if len(self._heard_early) > HEARD_EARLY_KEPT:
                    self._heard_early.popitem(last=False)
            elif not heard.done():
                heard.set_result(None)
            return  # our own notification coming back; local subscribers already have it
        self.delivered += 1
        for callback in list(self._subscribers):
            try:
                callback(dict(message))
            except Exception:
                log.exception("event subscriber failed")

    def _bind_loop(self) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()

    # ---- cross-process listener ---------------------------------------------------------
    async def start(self) -> None:
        """Idempotent: main() starts it with the other services; the WebSocket handler makes
        sure it runs in every worker process that has sockets."""
        self._bind_loop()
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self.running:
                return
            await super().start()
            if self.cross_process:
                try:
                    await self._open_listener()
                except Exception as exc:
                    log.warning("event listener not connected (%s); retrying", exc)
                    self._schedule_reconnect()

    async def stop(self) -> None:
        await super().stop()
        if self._reconnect is not None:
            self._reconnect.cancel()
            self._reconnect = None
        self._close_listener()

    async def _open_listener(self) -> None:
        loop = asyncio.get_running_loop()
        conn = await loop.run_in_executor(self.ctx.db_pool, self._connect_blocking)
        if not self.running:  # stopped while connecting
            conn.close()
            return
        self._listener = conn
        self._listener_fd = conn.fileno()
        loop.add_reader(self._listener_fd, self._on_readable)
        log.info("listening for live events on %s", CHANNEL)

    def _connect_blocking(self) -> Any:
        import psycopg

        engine = self.ctx.engine
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        params = dict(cparams)
        params.pop("context", None)  # SQLAlchemy's type adapters: not needed for text payloads
        params.update(application_name="cafepos-events", keepalives=1, keepalives_idle=30,
                      keepalives_interval=10, keepalives_count=3)
        params.setdefault("connect_timeout", 5)
        conn = psycopg.connect(*cargs, autocommit=True, **params)
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def _on_readable(self) -> None:
        conn = self._listener
        if conn is None:
            return
        try:
            # timeout=0: take what the socket holds now, never wait on the IOLoop.
            payloads = [note.payload for note in conn.notifies(timeout=0)]
        except Exception as exc:
            log.warning("event listener connection lost (%s); reconnecting", type(exc).__name__)
            self._close_listener()
            self._schedule_reconnect()
            return
        for payload in payloads:
            self._deliver(payload)

    def _close_listener(self) -> None:
        self.epoch += 1  # what was sent from now until a new LISTEN is never seen here
        if self._listener_fd is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._listener_fd)
        self._listener_fd = None
        if self._listener is not None:
            try:
                self._listener.close()
            except Exception:
                pass
            self._listener = None

    def _schedule_reconnect(self) -> None:
        if self.running and (self._reconnect is None or self._reconnect.done()):
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        delay = 1.0
        while self.running and self._listener is None:
            await asyncio.sleep(delay)
            try:
                await self._open_listener()
            except Exception as exc:
                log.warning("event listener reconnect failed (%s)", exc)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def status(self) -> dict[str, Any]:
        out = super().status()
        out["crossProcess"] = self.cross_process
        out["listening"] = self._listener is not None
        return out


def notify_from_command(engine: Engine, raised: list[Event], now: datetime) -> None:
    """Events committed by a command outside the servers (`python main.py create-admin`) to every
    server process listening on the database, as a server would send them: a password reset there
    ends cached logins too.  PostgreSQL only (on SQLite the one server cannot be told, so its read
    caches are off, EventBus.reaches_here)."""
    if not raised or engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        for event in raised:
            message = {**event.message(), "eventId": uuid.uuid4().hex, "at": now, "origin": "command"}
            conn.execute(text("SELECT pg_notify(:channel, :payload)"),
                         {"channel": CHANNEL, "payload": jsonenc.dumps(message)})
        conn.commit()


def _log_notify_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("event not sent to other processes: %s", future.exception())
