"""What a running server is made of, handed to handlers and services.

`main.make_context` builds one AppContext, with every shared per-process object as a
typed field, in one place at start-up; `main.make_app` puts it in `Application.settings`
(DESIGN.md: no module-level singletons).  Handlers read it through `BaseHandler.ctx` and
the typed properties next to it (`self.event_bus`, `self.store_settings`, ...); services
receive it in their constructor.  Everything here that works in the background is in
`services`, whose `stop_all()` ends it at shutdown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Network, IPv6Network
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from orm.db import Event, read_unit_of_work, unit_of_work_events
from services.registry import ServiceRegistry
from settings import Settings

if TYPE_CHECKING:
    from orm.controllers.menu.catalogue import CatalogueCache
    from orm.controllers.menu.list_cache import MenuListCache
    from services.authenticator import Authenticator
    from services.background import BackgroundTasks
    from services.dashboard_hub import DashboardHub
    from services.email_service import Mailer
    from services.event_bus import EventBus
    from services.health_probe import HealthProbe
    from services.menu_pages import MenuPages
    from services.metrics import AppMetrics
    from services.pickup_hub import PickupHub
    from services.prep_hub import PrepHub
    from services.principal_cache import PrincipalCache
    from services.settings_cache import StoreSettingsCache

T = TypeVar("T")
# Events that end cached logins (services/principal_cache.py) or menu answers (services/menu_pages.py):
# the request that raised one is answered only once it is sent to the other processes.  Counted
# stock levels (sales) are not held up for it.
AWAITED_EVENTS = frozenset({"session_revoked", "principals_changed", "menu_changed"})


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    db_pool: ThreadPoolExecutor
    cpu_pool: ThreadPoolExecutor
    # Reports, dashboards, exports and the daily e-mail: their own engine (REPORTS_DATABASE_URL, by
    # default the main database; read-only transactions) and executor, so a year-long report never
    # holds a connection or a thread that a sale is waiting for (run_report).
    reports_engine: Engine
    reports_session_factory: sessionmaker[Session]
    reports_pool: ThreadPoolExecutor
    clock: Callable[[], datetime] = system_clock
    started_monotonic: float = field(default_factory=time.monotonic)
    schema_ready: bool = True
    # Started by main.serve (start_all) and stopped at shutdown (stop_all), with what it owns.
    services: ServiceRegistry = field(default_factory=ServiceRegistry)
    # Shared per-process objects, all built by main.make_context before anything runs.
    authenticator: Authenticator = field(init=False, repr=False)
    principal_cache: PrincipalCache = field(init=False, repr=False)  # logins checked lately
    health_probe: HealthProbe = field(init=False, repr=False)  # /health's database check, <= 1 s old
    menu_pages: MenuPages = field(init=False, repr=False)  # whole GET /menu_items answers, ready bytes
    mailer: Mailer = field(init=False, repr=False)
    event_bus: EventBus = field(init=False, repr=False)
    dashboard_hub: DashboardHub = field(init=False, repr=False)
    pickup_hub: PickupHub = field(init=False, repr=False)  # the customer-facing pickup board's sockets
    prep_hub: PrepHub = field(init=False, repr=False)  # the bar and kitchen queue sockets
    store_settings: StoreSettingsCache = field(init=False, repr=False)
    catalogue_cache: CatalogueCache = field(init=False, repr=False)  # what sales price against
    menu_list_cache: MenuListCache = field(init=False, repr=False)
    metrics: AppMetrics = field(init=False, repr=False)
    metrics_allowed_networks: list[IPv4Network | IPv6Network] = field(init=False, repr=False)
    background: BackgroundTasks = field(init=False, repr=False)  # fire-and-forget work, ended at stop
    # Set by main.shutdown: BaseHandler answers new requests 503 + Connection: close.
    stopping: bool = False
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
        notifier = self.event_bus.notifier()
        result, raised = await loop.run_in_executor(
            self.db_pool, lambda: unit_of_work_events(self.session_factory, fn, read_only, args, kw, notifier))
        sending = self.publish(raised)
        if sending:
            # A revocation (or menu edit) is answered only once its NOTIFY is sent and heard back
            # here: the caller's next request to another process then meets a cache that has
            # dropped what it changed (EventBus.publish, confirm).
            await asyncio.wait(sending)
        return result

    async def run_report(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """A read-only unit of work on the reports database and pool (never the sale path's).

        The database may be a streaming replica: nothing here may write (the engine's transactions
        are read-only, so a write fails instead of happening), and what it reads may lag a little."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.reports_pool, lambda: read_unit_of_work(self.reports_session_factory, fn, *args, **kw))

    def release(self) -> None:
        """Shutdown's last step: the executors finish their work, then every connection is closed."""
        for pool in (self.db_pool, self.reports_pool, self.cpu_pool):
            pool.shutdown(wait=True, cancel_futures=True)
        self.engine.dispose()
        if self.reports_engine is not self.engine:
            self.reports_engine.dispose()

    def publish(self, raised: list[Event]) -> list[asyncio.Future[Any]]:
        """Committed events to the live-event bus (services/event_bus.py); returns the NOTIFYs
        still being sent (or heard back) of the events other processes' caches depend on
        (AWAITED_EVENTS).  Events already NOTIFYed in their own transaction (`sent`, PostgreSQL)
        only go to this process's subscribers."""
        sending = []
        for event in raised:
            awaited = event.type in AWAITED_EVENTS
            if event.sent is not None:
                future = self.event_bus.committed(event.sent, confirm=awaited)
            else:
                future = self.event_bus.publish(event.message(), confirm=awaited)
            if future is not None and awaited:
                sending.append(future)
        return sending

    async def run_blocking(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """CPU-bound or blocking non-DB work (bcrypt, Pillow, SMTP) off the IOLoop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.cpu_pool, lambda: fn(*args, **kw))

    def db_queue_depth(self) -> int:
        return self.db_pool._work_queue.qsize()

    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic
