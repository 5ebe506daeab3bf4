"""One PrepHub per process (`AppContext.prep_hub`): the live bar and kitchen queues' fan-out.

It subscribes to the event bus once.  A "ticket" event ({orderId, station}, from whichever process
committed the change) marks that ticket stale; the hub reads every stale ticket of a burst in one
unit of work (orm/controllers/orders/prep.py `tickets_of`) and pushes each to the sockets watching
its store and station (apis/prep_ws_api.py).  Thirty-two sales in the same moment are therefore a
handful of reads, not thirty-two per socket, and the IOLoop never waits on the database.
Owned by the service registry: shutdown closes every socket.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from orm.controllers.orders import prep
from services.socket_hub import LiveSocket, SocketHub

if TYPE_CHECKING:
    from context import AppContext

log = logging.getLogger("cafepos.ws")


def gone_ticket(order_id: str, station: str) -> dict[str, Any]:
    return {"orderId": order_id, "orderNumber": None, "orderType": None, "customerName": None, "tabName": None,
            "station": station, "createdAt": None, "waitingSeconds": 0, "items": []}


class StationWatcher(LiveSocket, Protocol):
    """A prep socket as the hub sees it: the store and station it shows (None: every station)."""

    store_id: str
    station: str | None


class PrepHub(SocketHub[StationWatcher]):
    """Fans "ticket" events out to this process's prep sockets, with the ticket as it is now."""

    name = "prep_hub"
    socket_kind = "prep"

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self._stale: dict[str, set[tuple[str, str]]] = {}  # store -> (order, station) to re-read

    async def open_tickets(self, store_id: str, station: str | None) -> list[dict[str, Any]]:
        return await self.ctx.run_db_read(prep.open_tickets, store_id, station, prep.OPEN_STATUSES,
                                          now=self.ctx.clock())

    def on_live_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != "ticket":
            return
        order_id, station, store_id = event.get("orderId"), event.get("station"), event.get("storeId")
        if not isinstance(order_id, str) or not isinstance(station, str) or not isinstance(store_id, str):
            return
        if not any(s.store_id == store_id and s.station in (None, station) for s in self.sockets):
            return
        self._stale.setdefault(store_id, set()).add((order_id, station))
        self._start_worker(self._drain)

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
