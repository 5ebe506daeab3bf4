"""One PickupHub per process (`AppContext.pickup_hub`): the pickup board's fan-out.

It subscribes to the event bus once.  A "ticket" event (a sale queued lines, a station moved a
ticket, a refund or void cancelled lines - from this process or, on PostgreSQL, any other) marks
its store's board stale; the hub then reads the board once per stale store for all the screens
watching it (orm/controllers/orders/pickup_board.py) and hands it to them.  A burst of events
is coalesced: after a refresh the next one waits until MIN_INTERVAL has passed, so a Saturday rush
means at most a few board reads (and pushes) per second, not one per sale.  Screens skip a board
equal to the one they last showed (apis/pickup_ws_api.py).  Owned by the service registry:
shutdown stops it and closes its sockets.

The board is read on the hub's own one-thread executor, not on the DB executor the requests
share: in a rush the DB executor's queue holds dozens of sales, and a board read queued behind
them would reach the screen only after the whole burst (bench/prep_latency.py, 32 concurrent
sales, one worker, on a busy 2-core machine: p95 1.3 s through the DB executor, 0.42 s with its
own thread).  One thread, so at most
one connection beyond the DB executor's, which the engine's overflow (DB_MAX_OVERFLOW) covers.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from orm.controllers.orders import pickup_board
from orm.db import read_unit_of_work
from orm.domain.errors import ServiceUnavailable
from services.registry import Service

if TYPE_CHECKING:
    from context import AppContext

log = logging.getLogger("cafepos.ws")

# "ticket" is what changes a board; a refund or void also cancels ticket lines (and says so with a
# "ticket" event of its own), so reading the board once more for them is a cheap safety net.
BOARD_EVENT_TYPES = frozenset({"ticket", "refund", "void"})
MIN_INTERVAL = 0.25  # seconds between two refreshes of the boards (at most 4 pushes a second)
CLOSE_GOING_AWAY = 1001
CLOSE_WAIT_SECONDS = 5.0


class BoardWatcher(Protocol):
    """A pickup-board socket as the hub sees it."""

    store_id: str

    def push(self, message: dict[str, Any]) -> None: ...

    def close(self, code: int | None = None, reason: str | None = None) -> None: ...

    def ended_by(self, event: dict[str, Any]) -> bool: ...

    def close_ended(self) -> None: ...


class PickupHub(Service):
    """Keeps this process's pickup-board sockets up to date, one board read per store per refresh."""

    name = "pickup_hub"

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.sockets: set[BoardWatcher] = set()
        self.refreshes = 0  # board reads done for pushes (tests and the latency bench read it)
        self._stale: set[str] = set()
        self._worker: asyncio.Task[None] | None = None
        self._last_refresh = float("-inf")
        self._unsubscribe: Any = None
        self._all_detached: asyncio.Event | None = None
        self._closed = False
        self._reader: ThreadPoolExecutor | None = None  # made on first use, shut down by stop()

    async def attach(self, socket: BoardWatcher) -> None:
        if self._closed:
            raise ServiceUnavailable("The server is restarting; try again in a moment")
        if self._unsubscribe is None:
            bus = self.ctx.event_bus
            await bus.start()  # every worker process with sockets needs its listener
            self._unsubscribe = bus.subscribe(self._on_event)
        self.sockets.add(socket)

    def detach(self, socket: BoardWatcher) -> None:
        self.sockets.discard(socket)
        if self._all_detached is not None and not self.sockets:
            self._all_detached.set()

    async def board(self, store_id: str) -> dict[str, Any]:
        """The store's board as a socket message."""
        if self._reader is None:
            self._reader = ThreadPoolExecutor(1, thread_name_prefix="pickup")
        now, factory = self.ctx.clock(), self.ctx.session_factory
        data = await asyncio.get_running_loop().run_in_executor(
            self._reader, lambda: read_unit_of_work(factory, pickup_board.board, store_id, now=now))
        return {"type": "board", **data}

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "session_revoked":
            for socket in [s for s in self.sockets if s.ended_by(event)]:
                self.detach(socket)
                socket.close_ended()
            return
        if event.get("type") not in BOARD_EVENT_TYPES or not self.sockets:
            return
        store_id = event.get("storeId")
        watched = {s.store_id for s in self.sockets}
        self._stale |= watched if store_id is None else watched & {store_id}
        if self._stale and (self._worker is None or self._worker.done()):
            self._worker = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> None:
        """Reads each stale store's board once and pushes it; events meanwhile make another round."""
        loop = asyncio.get_running_loop()
        while self._stale:
            wait = self._last_refresh + MIN_INTERVAL - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            stores, self._stale = self._stale, set()
            self._last_refresh = loop.time()
            for store_id in sorted(stores):
                watchers = [s for s in self.sockets if s.store_id == store_id]
                if not watchers:
                    continue
                try:
                    message = await self.board(store_id)
                except Exception:
                    log.exception("pickup board of store %s could not be read", store_id)
                    continue
                self.refreshes += 1
                for socket in watchers:
                    socket.push(message)

    async def stop(self) -> None:
        """At shutdown: no more events taken, a refresh in progress cancelled, every socket closed."""
        await super().stop()
        self._closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        worker, self._worker = self._worker, None
        if worker is not None and not worker.done():
            worker.cancel()
            try:
                await worker
            except asyncio.CancelledError:
                pass
        if self.sockets:
            self._all_detached = asyncio.Event()
            for socket in list(self.sockets):
                socket.close(CLOSE_GOING_AWAY, "server shutting down")
            try:
                await asyncio.wait_for(self._all_detached.wait(), CLOSE_WAIT_SECONDS)
            except TimeoutError:
                log.warning("%d pickup board socket(s) did not close in time", len(self.sockets))
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.shutdown(wait=True)
