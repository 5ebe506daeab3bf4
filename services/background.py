"""Fire-and-forget work of one process (password-reset e-mails, ...), owned so shutdown ends it.

    ctx.background.spawn(deliver(messages), name="password-reset-mail")

The loop keeps only weak references to tasks, so a bare `create_task` could be collected half-way,
and nothing would stop it at shutdown.  Here every task is held until it is done, a failure is
logged, and `stop()` (ServiceRegistry.stop_all, at shutdown) cancels what is still running and
waits for it; anything spawned after that is refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from services.registry import Service

log = logging.getLogger("cafepos.services")


class BackgroundTasks(Service):
    name = "background_tasks"

    def __init__(self) -> None:
        super().__init__()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str | None = None) -> asyncio.Task[Any] | None:
        """Run `work` on the running loop; None (and `work` is dropped) once shutdown began."""
        if self._closed:
            work.close()
            log.warning("background task %s not started: shutting down", name or "")
            return None
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.failures += 1
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def stop(self) -> None:
        await super().stop()
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
