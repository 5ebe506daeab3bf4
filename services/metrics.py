"""Prometheus metrics for `GET /metrics`, one registry per application.

Other areas report business events through the process's AppMetrics, after their
transaction committed (a rolled-back sale must not count):

    from services import metrics
    metrics.orders_created(ctx, store_id, order_total)      # one completed order, Decimal total
    metrics.refunds_issued(ctx, store_id, refund_amount)    # one refund, Decimal amount

Every AppContext has its metrics (main.make_context builds them).  Money is
counted in integer cents (`cafepos_revenue_cents_total`): Prometheus values are
floats, and whole numbers stay exact in them where sums of 0.1s would not.

Several processes (WORKERS>1): each process counts into files under
PROMETHEUS_MULTIPROC_DIR and `/metrics`, whichever process answers, adds them up
(prometheus_client multiprocess mode).  `prepare_multiprocess(settings)` sets the
directory up before the workers are forked (main.py calls it).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from log_config import route_template
from orm.domain.money import cents_half_up
from services.registry import Service

if TYPE_CHECKING:
    from context import AppContext

log = logging.getLogger("cafepos.metrics")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# prometheus_client's own file names, so an operator's directory is never emptied of anything else.
_METRIC_FILE = re.compile(r"^(counter|gauge_\w+|histogram|summary)_\d+\.db$")
STANDARD_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"})
UNMATCHED = "unmatched"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SYNC_SECONDS = 5.0
# Bound label children kept for observe_request; raw paths (static files, unknown routes) map to few
# labels but many keys, so the cache stops growing here.
MAX_BOUND_CHILDREN = 4096


def prepare_multiprocess(settings: Any) -> str | None:
    """Before forking WORKERS>1 processes: an empty shared directory in PROMETHEUS_MULTIPROC_DIR.

    Uses the directory given in the environment, else a new one in the temp folder.
    Counters from an earlier run are removed, so they start at zero like a single process.
    """
    if settings.workers <= 1:
        return None
    path = Path(os.environ.get(MULTIPROC_ENV) or Path(tempfile.gettempdir()) / f"cafepos-metrics-{os.getpid()}")
    path.mkdir(parents=True, exist_ok=True)
    for item in path.iterdir():
        if _METRIC_FILE.match(item.name):
            item.unlink(missing_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return str(path)


def _multiprocess_enabled() -> bool:
    if not os.environ.get(MULTIPROC_ENV):
        return False
    # prometheus_client picks its value store when first imported; if that happened before
    # the directory was configured, switch now (before any metric of ours exists).
    if values.ValueClass is values.MutexValue:
        values.ValueClass = values.get_value_class()
    return True


class AppMetrics(Service):
    """The metrics of one application (several apps may live in one test process); `AppContext.metrics`.

    A service only for its stop(): the multiprocess sync (start_background_sync) ends at shutdown.
    """

    name = "metrics"

    def __init__(self, ctx: AppContext, *, known_routes: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__()
        self.ctx = ctx
        self.multiprocess = _multiprocess_enabled()
        if ctx.settings.workers > 1 and not self.multiprocess:
            log.warning("WORKERS=%d without %s: /metrics shows only the process that answers",
                        ctx.settings.workers, MULTIPROC_ENV)
        # `*_created` series double the output and no dashboard here uses them (a process-wide switch).
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("cafepos_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("cafepos_http_request_duration_seconds", "Time to answer an HTTP request",
                                 ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=r)
        self.pool_in_use = Gauge("cafepos_db_pool_connections_in_use", "Database connections checked out",
                                 registry=r, multiprocess_mode="livesum")
        self.db_queue = Gauge("cafepos_db_executor_queue_depth", "Database jobs waiting for a thread",
                              registry=r, multiprocess_mode="livesum")
        self.orders = Counter("cafepos_orders", "Orders completed", ["store"], registry=r)
        self.revenue_cents = Counter("cafepos_revenue_cents", "Order totals in cents (tax in, tips out)",
                                     ["store"], registry=r)
        self.refunds = Counter("cafepos_refunds", "Refunds issued", ["store"], registry=r)
        self.refunded_cents = Counter("cafepos_refunded_cents", "Refunded amounts in cents", ["store"],
                                      registry=r)
        self.job_runs = Counter("cafepos_background_job_runs", "Background job runs that succeeded",
                                ["job"], registry=r)
        self.job_failures = Counter("cafepos_background_job_failures", "Background job runs that failed",
                                    ["job"], registry=r)
        self.email_failures = Counter("cafepos_email_send_failures", "E-mails the SMTP server did not take",
                                      registry=r)
        # Counters that live on other objects (services, mailer) are copied over as deltas.
        self._seen: dict[tuple[str, str], int] = {}
        self._routes: dict[str, str] = {}
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        for pattern in known_routes:
            self.add_route(pattern)

    # ---- requests --------------------------------------------------------------------------
    def add_route(self, pattern: str) -> None:
        template = route_template(pattern)
        self._routes[pattern] = template
        try:
            self._patterns.append((re.compile(pattern if pattern.endswith("$") else pattern + "$"), template))
        except re.error:
            pass

    def route_label(self, route: str) -> str:
        """A route template (`/stores/{store_id}`); never a raw path, so label values stay few."""
        template = self._routes.get(route)
        if template is not None:
            return template
        # Handlers outside BaseHandler (static files, websockets) report their path.
        for regex, template in self._patterns:
            if regex.match(route):
                return template
        return UNMATCHED

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Called by apis.base.log_request for every answer."""
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            # Bound once per (method, route, status): labels() checks and hashes its values every call.
            labels = (method if method in STANDARD_METHODS else "OTHER", self.route_label(route), str(status))
            children = self.requests.labels(*labels), self.latency.labels(*labels)
            if len(self._request_children) < MAX_BOUND_CHILDREN:
                self._request_children[key] = children
        children[0].inc()
        children[1].observe(max(seconds, 0.0))

    # ---- business events ------------------------------------------------------------------
    def order_created(self, store_id: str, revenue: Decimal) -> None:
        self.orders.labels(store_id).inc()
        self.revenue_cents.labels(store_id).inc(_cents(revenue))

    def refund_issued(self, store_id: str, amount: Decimal) -> None:
        self.refunds.labels(store_id).inc()
        self.refunded_cents.labels(store_id).inc(_cents(amount))

    # ---- values read from elsewhere --------------------------------------------------------
    def _copy_counter(self, counter: Counter, key: tuple[str, str], current: int, *labels: str) -> None:
        child = counter.labels(*labels) if labels else counter
        last = self._seen.get(key, 0)
        if current > last:
            child.inc(current - last)
        self._seen[key] = current

    def sync(self) -> None:
        """Read pool, executor, services and mailer into the metrics (at scrape time)."""
        pool = self.ctx.engine.pool
        checked_out = getattr(pool, "checkedout", None)
        self.pool_in_use.set(checked_out() if callable(checked_out) else 0)
        self.db_queue.set(self.ctx.db_queue_depth())
        for service in self.ctx.services or ():
            self._copy_counter(self.job_runs, ("runs", service.name), service.runs, service.name)
            self._copy_counter(self.job_failures, ("failures", service.name), service.failures, service.name)
        self._copy_counter(self.email_failures, ("mailer", ""), self.ctx.mailer.failures)

    def start_background_sync(self) -> None:
        """Multiprocess mode: every process copies its own pool, job and mailer values now and then,
        since a scrape is answered by one process only."""
        from tornado.ioloop import PeriodicCallback

        self._sync_callback = PeriodicCallback(self._safe_sync, SYNC_SECONDS * 1000, jitter=0.1)
        self._sync_callback.start()

    def stop_background_sync(self) -> None:
        callback = getattr(self, "_sync_callback", None)
        if callback is not None:
            callback.stop()

    async def stop(self) -> None:
        await super().stop()
        self.stop_background_sync()

    def _safe_sync(self) -> None:
        try:
            self.sync()
        except Exception:  # metrics must never take a worker down
            log.exception("metrics sync failed")

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        self.sync()
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _cents(amount: Decimal) -> int:
    return cents_half_up(Decimal(amount))


def orders_created(ctx: AppContext, store_id: str, revenue: Decimal) -> None:
    """Count one completed order and its total (call after the commit)."""
    ctx.metrics.order_created(store_id, revenue)


def refunds_issued(ctx: AppContext, store_id: str, amount: Decimal) -> None:
    """Count one refund and its amount (call after the commit)."""
    ctx.metrics.refund_issued(store_id, amount)
