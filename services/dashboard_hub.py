"""One DashboardHub per process (`AppContext.dashboard_hub`): the live dashboard's fan-out.

It subscribes to the event bus once and computes the metrics once per burst of events for all
sockets watching the same store (apis/dashboard_ws_api.py), so ten open dashboards do not mean
ten dashboard queries per sale.  Owned by the service registry: shutdown stops it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Protocol

from orm.controllers.reports import sales_reports
from services.socket_hub import LiveSocket, SocketHub

if TYPE_CHECKING:
    from context import AppContext

log = logging.getLogger("cafepos.ws")

LIVE_EVENT_TYPES = frozenset({"order", "refund", "void", "alert"})


class Watcher(LiveSocket, Protocol):
    """A dashboard socket as the hub sees it."""

    watch_key: tuple[str | None, str]


class DashboardHub(SocketHub[Watcher]):
    """Fans bus events out to this process's dashboard sockets, with fresh metrics."""

    name = "dashboard_hub"
    socket_kind = "dashboard"

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self._queue: asyncio.Queue[dict[str, Any]] | None = None

    async def metrics(self, store_id: str | None, anchor_store: str) -> dict[str, Any]:
        return await self.ctx.run_report(sales_reports.live_metrics, self.ctx.settings, store_id=store_id,
                                     anchor_store=anchor_store, now=self.ctx.clock())

    def on_live_event(self, event: dict[str, Any]) -> None:
        if event.get("type") not in LIVE_EVENT_TYPES:
            return
        if self._queue is None:
            self._queue = asyncio.Queue()
        self._queue.put_nowait(event)
        self._start_worker(self._drain)

    async def _drain(self) -> None:
        """Takes every queued event, computes metrics once per watched store, pushes in order."""
        assert self._queue is not None
        while not self._queue.empty():
            events = []
            while not self._queue.empty():
                events.append(self._queue.get_nowait())
            watchers: dict[tuple[str | None, str], list[Watcher]] = {}
            for socket in list(self.sockets):
                watchers.setdefault(socket.watch_key, []).append(socket)
            for (store_id, anchor), sockets in watchers.items():
                relevant = [e for e in events if store_id is None or e.get("storeId") in (None, store_id)]
                if not relevant:
                    continue
                try:
                    metrics = await self.metrics(store_id, anchor)
                except Exception:
                    log.exception("live metrics failed; events sent without metrics")
                    metrics = None
                for event in relevant:
                    message = {**event, "metrics": metrics}
                    for socket in sockets:
                        socket.push(message)
