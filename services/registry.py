"""Background services on the IOLoop, started and stopped by main() as a group."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TypeVar

log = logging.getLogger("cafepos.services")


class Service:
    """Base class: a named piece of background work with start()/stop()."""

    name = "service"

    def __init__(self) -> None:
        self.running = False
        self.runs = 0
        self.failures = 0
        self.last_run_at: datetime | None = None
        self.last_error: str | None = None

    async def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False

    def status(self) -> dict[str, Any]:
        return {
            "status": "running" if self.running else "stopped",
            "runs": self.runs,
            "failures": self.failures,
            "lastRunAt": self.last_run_at.isoformat() if self.last_run_at else None,
        }


class PeriodicService(Service):
    """Runs `run_once()` every `interval_seconds` (with jitter), surviving its own errors."""

    interval_seconds: float = 60.0
    jitter: float = 0.1
    initial_delay: float = 1.0

    def __init__(self, clock: Any = None) -> None:
        super().__init__()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._clock = clock

    async def run_once(self) -> None:  # pragma: no cover - subclasses implement
        raise NotImplementedError

    def current_interval(self) -> float:
        return self.interval_seconds

    async def start(self) -> None:
        await super().start()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        await super().stop()
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def trigger(self) -> None:
        """Run as soon as possible (e.g. after settings changed)."""
        self._wake.set()

    async def tick(self) -> bool:
        """One guarded run; returns False when it failed (it never raises)."""
        try:
            await self.run_once()
            self.runs += 1
            self.last_error = None
            return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a service survives its own failures
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("service %s failed", self.name)
            return False
        finally:
            if self._clock:
                self.last_run_at = self._clock()

    async def _loop(self) -> None:
        delay = self.initial_delay
        while self.running:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass
            self._wake.clear()
            if not self.running:
                break
            await self.tick()
            base = self.current_interval()
            delay = base * (1 + random.uniform(-self.jitter, self.jitter))


S = TypeVar("S", bound=Service)


class ServiceRegistry:
    """The `*_service` modules' services (started by start_all, reported by status and /health),
    and the per-process objects that `own` hands over: not started here, but stopped with the rest."""

    def __init__(self) -> None:
        self._services: dict[str, Service] = {}
        self._owned: list[Service] = []

    def add(self, service: Service) -> Service:
        self._services[service.name] = service
        return service

    def own(self, service: S) -> S:
        """`service` is stopped by stop_all (after the added ones), whoever started it."""
        self._owned.append(service)
        return service

    def get(self, name: str) -> Service | None:
        return self._services.get(name)

    def __iter__(self) -> Iterator[Service]:
        return iter(self._services.values())

    async def start_all(self) -> None:
        for service in self._services.values():
            await service.start()
            log.info("service %s started", service.name)

    async def stop_all(self) -> None:
        stopping: list[Service] = []
        for service in [*reversed(list(self._services.values())), *reversed(self._owned)]:
            if all(service is not seen for seen in stopping):
                stopping.append(service)
        for service in stopping:
            try:
                await service.stop()
            except Exception:
                log.exception("service %s failed to stop cleanly", service.name)

    def status(self) -> dict[str, Any]:
        return {name: s.status() for name, s in self._services.items()}
