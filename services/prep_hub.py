"""One PrepHub per process (`AppContext.prep_hub`): the live bar and kitchen queues' fan-out.

It subscribes to the event bus once.  A "ticket" event ({orderId, station}, from whichever process
committed the change) marks that ticket stale; the hub reads every stale ticket of a burst in one
unit of work (orm/controllers/orders/prep.py `tickets_of`) and pushes each to the sockets watching
its store and station (apis/prep_ws_api.py).  Thirty-two sales in the same moment are therefore a
handful of reads, not thirty-two per socket, and the IOLoop never waits on the database.
Owned by the service registry: shutdown closes every socket.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Protocol

from orm.controllers.orders import prep
from orm.domain.errors import ServiceUnavailable
from services.registry import Service

if TYPE_CHECKING:
    from context import AppContext

log = logging.getLogger("cafepos.ws")

CLOSE_GOING_AWAY = 1001
CLOSE_WAIT_SECONDS = 5.0


def gone_ticket(order_id: str, station: str) -> dict[str, Any]:
    return {"orderId": order_id, "orderNumber": None, "orderType": None, "customerName": None, "tabName": None,
            "station": station, "createdAt": None, "waitingSeconds": 0, "items": []}


class StationWatcher(Protocol):
    """A prep socket as the hub sees it: the store and station it shows (None: every station)."""

    store_id: str
    station: str | None

    def push(self, message: dict[str, Any]) -> None: ...

    def close(self, code: int | None = None, reason: str | None = None) -> None: ...

    def ended_by(self, event: dict[str, Any]) -> bool: ...

    def close_ended(self) -> None: ...


class PrepHub(Service):
    """Fans "ticket" events out to this process's prep sockets, with the ticket as it is now."""

    name = "prep_hub"

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.sockets: set[StationWatcher] = set()
        self._stale: dict[str, set[tuple[str, str]]] = {}  # store -> (order, station) to re-read
        self._worker: asyncio.Task[None] | None = None
        self._unsubscribe: Any = None
        self._all_detached: asyncio.Event | None = None
        self._closed = False

    async def attach(self, socket: StationWatcher) -> None:
        if self._closed:
            raise ServiceUnavailable("The server is restarting; try again in a moment")
        if self._unsubscribe is None:
            bus = self.ctx.event_bus
            await bus.start()  # every worker process with sockets needs its listener
            self._unsubscribe = bus.subscribe(self._on_event)
        self.sockets.add(socket)

    def detach(self, socket: StationWatcher) -> None:
        self.sockets.discard(socket)
        if self._all_detached is not None and not self.sockets:
            self._all_detached.set()

    async def open_tickets(self, store_id: str, station: str | None) -> list[dict[str, Any]]:
        return await self.ctx.run_db_read(prep.open_tickets, store_id, station, prep.OPEN_STATUSES,
                                          now=self.ctx.clock())

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "session_revoked":
            for socket in [s for s in self.sockets if s.ended_by(event)]:
                self.detach(socket)
                socket.close_ended()
            return
        if event.get("type") != "ticket" or not self.sockets:
            return
        order_id, station, store_id = event.get("orderId"), event.get("station"), event.get("storeId")
        if not isinstance(order_id, str) or not isinstance(station, str) or not isinstance(store_id, str):
            return
        if not any(s.store_id == store_id and s.station in (None, station) for s in self.sockets):
            return
        self._stale.setdefault(store_id, set()).add((order_id, station))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        """Re-reads the stale tickets, one unit of work per store per round, and pushes them."""
        while self._stale:
            stale, self._stale = self._stale, {}
            for store_id, pairs in stale.items():
                try:
                    tickets = await self.ctx.run_db_read(prep.tickets_of, store_id, pairs, now=self.ctx.clock())
                except Exception:
                    log.exception("could not read %d changed ticket(s) for the prep sockets", len(pairs))
                    continue
                found = {(t["orderId"], t["station"]) for t in tickets}
                # A ticket whose last line went away (a tab line removed) is sent empty: screens drop it.
                tickets += [gone_ticket(order_id, station) for order_id, station in sorted(pairs - found)]
                for ticket in tickets:
                    message = {"type": "ticket", "ticket": ticket}
                    for socket in list(self.sockets):
                        if socket.store_id == store_id and socket.station in (None, ticket["station"]):
                            socket.push(message)

    async def stop(self) -> None:
        """At shutdown: no more events taken, a read in progress cancelled, every socket closed."""
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
                log.warning("%d prep socket(s) did not close in time", len(self.sockets))
