"""/health's database check, shared by the requests of one second.

A load balancer, Docker and every terminal may poll /health many times a second; each answer
reuses the last probe while it is less than MAX_AGE old by the app clock, and concurrent requests
that find it stale share one new probe.  A database that goes down is therefore reported within
a second (and a probe that hangs is given up after DB_CHECK_TIMEOUT_S).  Failures are kept as long
as successes: a down database is not hammered by every poll.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from orm.controllers.stores import health

if TYPE_CHECKING:
    from context import AppContext

MAX_AGE = timedelta(seconds=1)
DB_CHECK_TIMEOUT_S = 3.0


class HealthProbe:
    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._result: dict[str, Any] | None = None
        self._at: datetime | None = None
        self._running: asyncio.Future[dict[str, Any]] | None = None
        self.probes = 0

    async def database(self) -> dict[str, Any]:
        """{status: healthy, latencyMs} or {status: unhealthy, latencyMs: None, error}."""
        now = self._ctx.clock()
        if self._result is not None and self._at is not None and self._at <= now < self._at + MAX_AGE:
            return self._result
        if self._running is None:
            self._running = asyncio.ensure_future(self._probe(now))
        running = self._running
        try:
            return await asyncio.shield(running)
        finally:
            if self._running is running and running.done():
                self._running = None

    async def _probe(self, now: datetime) -> dict[str, Any]:
        self.probes += 1
        started = time.perf_counter()
        result: dict[str, Any]
        try:
            await asyncio.wait_for(self._ctx.run_db(health.ping), DB_CHECK_TIMEOUT_S)
            result = {"status": "healthy", "latencyMs": round((time.perf_counter() - started) * 1000, 2)}
        except Exception as exc:  # any failure means unhealthy, never a 500
            result = {"status": "unhealthy", "latencyMs": None, "error": type(exc).__name__}
        self._result, self._at = result, now
        return result
