"""What a running server is made of, handed to handlers and services.

`main.make_app` builds one AppContext and puts it in `Application.settings`
(DESIGN.md: no module-level singletons).  Handlers read it through
`BaseHandler.ctx`; services receive it in their constructor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from orm.db import Event, unit_of_work_events
from settings import Settings

T = TypeVar("T")


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    db_pool: ThreadPoolExecutor
    cpu_pool: ThreadPoolExecutor
    clock: Callable[[], datetime] = system_clock
    started_monotonic: float = field(default_factory=time.monotonic)
    schema_ready: bool = True
    # Filled in by main: the service registry and any shared per-process objects
    # (authenticator, mailer, event bus, caches), keyed by name.
    services: Any = None
    extras: dict[str, Any] = field(default_factory=dict)
    # Requests being handled right now; shutdown waits for this to empty.
    in_flight: set[Any] = field(default_factory=set)

    async def run_db(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """One unit of work (session + transaction) on the DB executor, off the IOLoop.

        The events it raised (orm.db.events) are published once, after commit; never when it failed."""
        return await self._run_unit(fn, False, args, kw)

    async def run_db_read(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """A unit of work that normally only reads (SQLite: no up-front write lock)."""
        return await self._run_unit(fn, True, args, kw)

    async def _run_unit(self, fn: Callable[..., T], read_only: bool, args: tuple[Any, ...],
                        kw: dict[str, Any]) -> T:
        loop = asyncio.get_running_loop()
        result, raised = await loop.run_in_executor(
            self.db_pool, lambda: unit_of_work_events(self.session_factory, fn, read_only, args, kw))
        self.publish(raised)
        return result

    def publish(self, raised: list[Event]) -> None:
        """Committed events to the live-event bus (services/event_bus.py); none without a bus."""
        bus = self.extras.get("event_bus")
        if bus is None:
            return
        for event in raised:
            bus.publish(event.message())

    async def run_blocking(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """CPU-bound or blocking non-DB work (bcrypt, Pillow, SMTP) off the IOLoop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.cpu_pool, lambda: fn(*args, **kw))

    def db_queue_depth(self) -> int:
        return self.db_pool._work_queue.qsize()

    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic
