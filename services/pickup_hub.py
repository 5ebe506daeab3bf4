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
from services.socket_hub import LiveSocket, SocketHub

if TYPE_CHECKING:
    from context import AppContext

log = logging.getLogger("cafepos.ws")

# "ticket" is what changes a board; a refund or void also cancels ticket lines (and says so with a
# "ticket" event of its own), so reading the board once more for them is a cheap safety net.
BOARD_EVENT_TYPES = frozenset({"ticket", "refund", "void"})
MIN_INTERVAL = 0.25  # seconds between two refreshes of the boards (at most 4 pushes a second)


class BoardWatcher(LiveSocket, Protocol):
    """A pickup-board socket as the hub sees it."""

    store_id: str


class PickupHub(SocketHub[BoardWatcher]):
    """Keeps this process's pickup-board sockets up to date, one board read per store per refresh."""

    name = "pickup_hub"

    socket_kind = "pickup board"

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.refreshes = 0  # board reads done for pushes (tests and the latency bench read it)
        self._stale: set[str] = set()
        self._last_refresh = float("-inf")
        self._reader: ThreadPoolExecutor | None = None  # made on first use, shut down by stop()

    async def board(self, store_id: str) -> dict[str, Any]:
        """The store's board as a socket message."""
        if self._reader is None:
            self._reader = ThreadPoolExecutor(1, thread_name_prefix="pickup")
        now, factory = self.ctx.clock(), self.ctx.session_factory
        data = await asyncio.get_running_loop().run_in_executor(
            self._reader, lambda: read_unit_of_work(factory, pickup_board.board, store_id, now=now))
        return {"type": "board", **data}

    def on_live_event(self, event: dict[str, Any]) -> None:
        if event.get("type") not in BOARD_EVENT_TYPES:
            return
        store_id = event.get("storeId")
        watched = {s.store_id for s in self.sockets}
        self._stale |= watched if store_id is None else watched & {store_id}
        if self._stale:
            self._start_worker(self._refresh)

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
        """At shutdown: as every hub (SocketHub.stop), then the board reader's thread."""
        await super().stop()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.shutdown(wait=True)
