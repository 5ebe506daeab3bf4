"""CafePOS server: `make_app(settings)` builds the Tornado application, `main()` runs it.

    python main.py            # serve on PORT (8880) against DATABASE_URL (SQLite by default)
    python main.py create-admin --username NAME [--pin PIN] [--password-stdin]   # see admin_cli.py
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import pkgutil
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import tornado.web
from sqlalchemy.engine import Engine
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.process import fork_processes

import apis
import services
from apis.base import NotFoundHandler, log_request
from apis.metrics_api import allowed_networks
from apis.openapi import build_document
from apis.routing import CafeApplication
from context import AppContext, system_clock
from log_config import setup_logging
from orm.controllers.identity.server_secrets import load_or_create
from orm.controllers.menu.catalogue import CatalogueCache
from orm.controllers.menu.list_cache import MenuListCache
from orm.db import make_engine, make_session_factory, unit_of_work
from orm.migrate import SchemaOutOfDate, ensure_schema
from services.authenticator import Authenticator
from services.background import BackgroundTasks
from services.dashboard_hub import DashboardHub
from services.email_service import Mailer, SmtpConfig
from services.event_bus import EventBus
from services.health_probe import HealthProbe
from services.menu_pages import MenuPages
from services.metrics import AppMetrics
from services.pickup_hub import PickupHub
from services.prep_hub import PrepHub
from services.principal_cache import PrincipalCache
from services.settings_cache import StoreSettingsCache
from settings import Settings, SettingsError, load_settings, with_generated_secrets
from version import VERSION

log = logging.getLogger("cafepos")
SCHEMA_RETRY_SECONDS = 5.0


def _modules(package: Any, suffix: str) -> list[Any]:
    """Every `<area>_api` / `<area>_service` module, imported in a stable order."""
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name.endswith(suffix))
    return [importlib.import_module(f"{package.__name__}.{name}") for name in names]


def collect_routes() -> list[tuple]:
    routes: list[tuple] = []
    for module in _modules(apis, "_api"):
        routes.extend(getattr(module, "default_handlers", []))
    return routes


def make_context(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = system_clock,
    schema_ready: bool = True,
) -> AppContext:
    engine = engine or make_engine(settings.database_url, pool_size=settings.db_pool_size,
                                   max_overflow=settings.db_max_overflow)
    settings = resolve_secrets(settings, engine, schema_ready)
    reports_engine = make_reports_engine(settings)
    # The DB executor never has more threads than the pool has connections (DESIGN.md); the
    # reports pool is the same, on connections of its own.
    ctx = AppContext(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        db_pool=ThreadPoolExecutor(settings.db_pool_size, thread_name_prefix="db"),
        cpu_pool=ThreadPoolExecutor(2, thread_name_prefix="cpu"),
        reports_engine=reports_engine,
        reports_session_factory=make_session_factory(reports_engine),
        reports_pool=ThreadPoolExecutor(settings.reports_db_pool_size, thread_name_prefix="reports"),
        clock=clock,
        schema_ready=schema_ready,
    )
    # Every shared per-process object, in one place; what works in the background is owned by
    # the registry, so shutdown (stop_all) ends it.
    ctx.authenticator = Authenticator(ctx)
    ctx.mailer = Mailer(SmtpConfig.from_settings(settings), ctx.cpu_pool)
    ctx.event_bus = ctx.services.own(EventBus(ctx))
    ctx.dashboard_hub = ctx.services.own(DashboardHub(ctx))
    ctx.pickup_hub = ctx.services.own(PickupHub(ctx))
    ctx.prep_hub = ctx.services.own(PrepHub(ctx))
    ctx.background = ctx.services.own(BackgroundTasks())
    ctx.store_settings = StoreSettingsCache(ctx)
    ctx.catalogue_cache = CatalogueCache()
    ctx.menu_list_cache = MenuListCache()
    ctx.principal_cache = PrincipalCache(ctx.event_bus)
    ctx.health_probe = HealthProbe(ctx)
    ctx.menu_pages = MenuPages(ctx)
    ctx.metrics = ctx.services.own(AppMetrics(ctx, known_routes=[route[0] for route in collect_routes()]))
    ctx.metrics_allowed_networks = allowed_networks(settings.metrics_allowed_ips)
    return ctx


def make_reports_engine(settings: Settings) -> Engine:
    """The reports' own small pool on REPORTS_DATABASE_URL (default: DATABASE_URL), read-only."""
    size = settings.reports_db_pool_size
    return make_engine(settings.reports_url, pool_size=size, max_overflow=0, read_only=True,
                       application_name="cafepos-reports")


def resolve_secrets(settings: Settings, engine: Engine, schema_ready: bool) -> Settings:
    """Unconfigured JWT secret (DEBUG) and PIN pepper come from the database."""
    needed = [name for name, value in (("jwt_secret", settings.jwt_secret),
                                       ("pin_pepper", settings.pin_pepper)) if not value]
    stored: dict[str, str] = {}
    if needed and schema_ready:
        try:
            stored = unit_of_work(make_session_factory(engine), load_or_create, needed)
        except Exception as exc:  # database down: temporary secrets, logged by settings
            log.warning("could not load stored secrets (%s)", type(exc).__name__)
    return with_generated_secrets(settings, stored)


def make_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = system_clock,
    ctx: AppContext | None = None,
    schema_ready: bool = True,
    with_services: bool = True,
    extra_routes: list[tuple] | None = None,
) -> tornado.web.Application:
    """Build the application; services are created (not started) in `ctx.services`."""
    ctx = ctx or make_context(settings, engine=engine, clock=clock, schema_ready=schema_ready)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    routes = collect_routes() + list(extra_routes or [])
    specs = []
    for route in routes:
        pattern, handler = route[0], route[1]
        kwargs = dict(route[2]) if len(route) > 2 else {}
        if isinstance(handler, type) and issubclass(handler, apis.base.BaseHandler):
            kwargs.setdefault("route", pattern)
        specs.append(tornado.web.url(pattern, handler, kwargs))
    for module in _modules(apis, "_api"):
        setup = getattr(module, "setup", None)
        if setup:
            setup(ctx)
    if with_services:
        for module in _modules(services, "_service"):
            create = getattr(module, "create_service", None)
            service = create(ctx) if create else None
            if service is not None:
                ctx.services.add(service)
    app = CafeApplication(
        specs,
        ctx=ctx,
        default_handler_class=NotFoundHandler,
        log_function=log_request,
        openapi_document=build_document([(r[0], r[1]) for r in routes], version=VERSION),
        compress_response=True,
        xsrf_cookies=False,
        serve_traceback=False,
        debug=False,
    )
    return app


def prepare_schema(settings: Settings) -> bool:
    """True when the schema is at head; False when the database cannot be reached."""
    try:
        ensure_schema(settings.database_url, auto_migrate=settings.auto_migrate)
        return True
    except SchemaOutOfDate:
        raise
    except Exception as exc:  # unreachable database: start anyway, /health says 503
        log.error("database not reachable at start-up (%s); serving with /health 503 "
                  "and retrying every %.0fs", type(exc).__name__, SCHEMA_RETRY_SECONDS)
        return False


async def _watch_schema(ctx: AppContext) -> None:
    while not ctx.schema_ready:
        await asyncio.sleep(SCHEMA_RETRY_SECONDS)
        try:
            ctx.schema_ready = await asyncio.get_running_loop().run_in_executor(
                ctx.cpu_pool, prepare_schema, ctx.settings)
        except SchemaOutOfDate as exc:
            log.error("%s", exc)
    log.info("database reachable; schema at head")


def make_http_server(app: tornado.web.Application, settings: Settings) -> HTTPServer:
    """The HTTP server with its limits for slow or oversized clients (tests build it the same way)."""
    return HTTPServer(
        app,
        xheaders=settings.trust_proxy,
        # Backstop only: handlers lower the limit per request and answer 413 themselves.
        max_body_size=settings.max_body_bytes * 2,
        idle_connection_timeout=settings.idle_connection_timeout,
        body_timeout=settings.body_timeout,
    )


async def serve(settings: Settings, sockets: list, *, schema_ready: bool, run_services: bool,
                app: tornado.web.Application | None = None, ignore_late_signals: bool = False,
                stopped_early: list[int] | None = None) -> None:
    app = app or make_app(settings, schema_ready=schema_ready)
    ctx: AppContext = app.settings["ctx"]
    server = make_http_server(app, settings)
    server.add_sockets(sockets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if stopped_early:  # a stop that came while the app was being built
        stop.set()
    watcher = None if schema_ready else loop.create_task(_watch_schema(ctx))
    if run_services:
        await ctx.services.start_all()
    host = settings.address or "localhost"
    log.info("CafePOS %s listening on http://%s:%d (docs: http://%s:%d/docs)",
             VERSION, host, settings.port, host, settings.port)
    await stop.wait()
    await shutdown(server, ctx, watcher)
    if ignore_late_signals:
        # A forked worker may get SIGTERM twice (process group + the parent's forward); once the
        # loop closes asyncio would restore the default action, and a late copy would then look
        # like a crash that fork_processes() answers with a restart.
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)


async def shutdown(server: HTTPServer, ctx: AppContext, watcher: asyncio.Task | None = None) -> None:
    """Stop accepting, stop services, let in-flight requests finish (bounded), release all."""
    log.info("shutting down: %d request(s) in flight", len(ctx.in_flight))
    # Keep-alive clients could otherwise go on sending on open connections, so the in-flight set
    # never drains and closing the connections at the deadline cuts requests whose work is done.
    ctx.stopping = True  # BaseHandler answers new requests 503 + Connection: close
    server.stop()
    if watcher:
        watcher.cancel()
    await ctx.services.stop_all()
    deadline = asyncio.get_running_loop().time() + ctx.settings.shutdown_grace_seconds
    while ctx.in_flight and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    await server.close_all_connections()
    ctx.release()
    log.info("stopped")


def _forward_stop_signals_to_workers() -> None:
    """WORKERS>1: SIGTERM/SIGINT to the parent reach every worker, and the parent waits for them.

    Without this the parent died alone and its workers went on serving as orphans, still bound to
    the port.  fork_processes() keeps waiting after the handler ran and returns once every worker
    has shut down cleanly (Linux: the workers are found in /proc).
    """
    parent = os.getpid()

    def forward(signum: int, _frame: Any) -> None:
        try:
            with open(f"/proc/{parent}/task/{parent}/children") as f:
                workers = [int(pid) for pid in f.read().split()]
        except OSError:
            workers = []
        for pid in workers:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["create-admin"]:
        from admin_cli import run

        return run(argv[1:])
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    if argv:
        print(f"unknown command {argv[0]!r}; commands: create-admin (or none to serve)", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_format, settings.log_level)
    try:
        schema_ready = prepare_schema(settings)
    except SchemaOutOfDate as exc:
        log.error("%s", exc)
        return 3
    if schema_ready and settings.seed_demo_data:
        from seed_test_data import seed_if_empty

        seed_if_empty(settings)
    sockets = bind_sockets(settings.port, settings.address or None)
    task_id = None
    stopped_early: list[int] = []
    if settings.workers > 1:
        # Bind once, then fork: each child gets its own engine, executor and loop.
        from services.metrics import prepare_multiprocess

        prepare_multiprocess(settings)  # /metrics adds up all workers (PROMETHEUS_MULTIPROC_DIR)
        _forward_stop_signals_to_workers()
        task_id = fork_processes(settings.workers)
        # A worker stops through serve()'s own handlers; a stop before they are installed is kept for
        # serve(): with the default action the worker would die, and fork_processes() would restart it.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: stopped_early.append(signum))
    asyncio.run(serve(settings, sockets, schema_ready=schema_ready,
                      run_services=task_id in (None, 0), ignore_late_signals=task_id is not None,
                      stopped_early=stopped_early))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
