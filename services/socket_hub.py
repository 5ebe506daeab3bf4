"""What every hub of live sockets shares (dashboard, prep queue, pickup board): the sockets of this
process, one subscription to the event bus taken with the first socket, ended logins closed on
`session_revoked`, and a shutdown that stops the worker and closes every socket.

A hub subclass says which events it wants (`on_live_event`) and how it pushes them (its worker task,
kept in `_worker` so that stop() can cancel it).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from orm.domain.errors import ServiceUnavailable
from services.registry import Service

if TYPE_CHECKING:
    from context import AppContext

log = logging.getLogger("cafepos.ws")

CLOSE_GOING_AWAY = 1001
CLOSE_WAIT_SECONDS = 5.0  # Tornado itself drops a socket whose client never answers the close


class LiveSocket(Protocol):
    """A socket as its hub sees it."""

    def push(self, message: dict[str, Any]) -> None: ...

    def close(self, code: int | None = None, reason: str | None = None) -> None: ...

    def ended_by(self, event: dict[str, Any]) -> bool: ...

    def close_ended(self) -> None: ...


S = TypeVar("S", bound=LiveSocket)


class SocketHub(Service, Generic[S]):
    """The sockets of one kind in this process, fed from the event bus."""

    socket_kind = "live"  # names the sockets in the shutdown warning

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.sockets: set[S] = set()
        self._worker: asyncio.Task[None] | None = None
        self._unsubscribe: Any = None
        self._all_detached: asyncio.Event | None = None
        self._closed = False

    async def attach(self, socket: S) -> None:
        if self._closed:  # a socket opened while the server stops
            raise ServiceUnavailable("The server is restarting; try again in a moment")
        if self._unsubscribe is None:
            bus = self.ctx.event_bus
            await bus.start()  # every worker process with sockets needs its listener
            self._unsubscribe = bus.subscribe(self._on_event)
        self.sockets.add(socket)

    def detach(self, socket: S) -> None:
        self.sockets.discard(socket)
        if self._all_detached is not None and not self.sockets:
            self._all_detached.set()

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "session_revoked":
            for socket in [s for s in self.sockets if s.ended_by(event)]:
                self.detach(socket)
                socket.close_ended()
            return
        if self.sockets:
            self.on_live_event(event)

    def on_live_event(self, event: dict[str, Any]) -> None:
        """A bus event other than an ended login, while this process has sockets of this hub."""
        raise NotImplementedError

    def _start_worker(self, work: Any) -> None:
        """Runs `work()` (a coroutine function) unless the previous round is still running."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(work())

    async def stop(self) -> None:
        """At shutdown: no more events taken, a round in progress cancelled, every socket closed."""
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
                log.warning("%d %s socket(s) did not close in time", len(self.sockets), self.socket_kind)
