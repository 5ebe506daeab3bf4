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
from orm.domain.errors import ServiceUnavailable
from services.registry import Service

if TYPE_CHECKING:
    from context import AppContext

log = logging.getLogger("cafepos.ws")

LIVE_EVENT_TYPES = frozenset({"order", "refund", "void", "alert"})
CLOSE_GOING_AWAY = 1001
CLOSE_WAIT_SECONDS = 5.0  # Tornado itself drops a socket whose client never answers the close


class Watcher(Protocol):
    """A dashboard socket as the hub sees it."""

    watch_key: tuple[str | None, str]

    def push(self, message: dict[str, Any]) -> None: ...

    def close(self, code: int | None = None, reason: str | None = None) -> None: ...

    def ended_by(self, event: dict[str, Any]) -> bool: ...

    def close_ended(self) -> None: ...


class DashboardHub(Service):
    """Fans bus events out to this process's dashboard sockets, with fresh metrics."""

    name = "dashboard_hub"

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.sockets: set[Watcher] = set()
        self._queue: asyncio.Queue[dict[str, Any]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._unsubscribe: Any = None
        self._all_detached: asyncio.Event | None = None
        self._closed = False

    async def attach(self, socket: Watcher) -> None:
        if self._closed:  # a socket opened while the server stops
            raise ServiceUnavailable("The server is restarting; try again in a moment")
        if self._unsubscribe is None:
            bus = self.ctx.event_bus
            await bus.start()  # every worker process with sockets needs its listener
            self._unsubscribe = bus.subscribe(self._on_event)
        self.sockets.add(socket)

    def detach(self, socket: Watcher) -> None:
        self.sockets.discard(socket)
        if self._all_detached is not None and not self.sockets:
            self._all_detached.set()

    async def metrics(self, store_id: str | None, anchor_store: str) -> dict[str, Any]:
        return await self.ctx.run_report(sales_reports.live_metrics, self.ctx.settings, store_id=store_id,
                                     anchor_store=anchor_store, now=self.ctx.clock())

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "session_revoked":
            for socket in [s for s in self.sockets if s.ended_by(event)]:
                self.detach(socket)
                socket.close_ended()
            return
        if event.get("type") not in LIVE_EVENT_TYPES or not self.sockets:
            return
        if self._queue is None:
            self._queue = asyncio.Queue()
        self._queue.put_nowait(event)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._drain())

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

    async def stop(self) -> None:
        """At shutdown: no more events taken, a push in progress cancelled, every socket closed."""
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
            # Each socket detaches itself once closed (on_close), which also ends its own tasks.
            self._all_detached = asyncio.Event()
            for socket in list(self.sockets):
                socket.close(CLOSE_GOING_AWAY, "server shutting down")
            try:
                await asyncio.wait_for(self._all_detached.wait(), CLOSE_WAIT_SECONDS)
            except TimeoutError:
                log.warning("%d dashboard socket(s) did not close in time", len(self.sockets))
