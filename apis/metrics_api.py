"""`GET /metrics`: Prometheus text for the scraper, from listed addresses or with system.logs."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from apis.base import BaseHandler
from context import AppContext
from orm.domain.errors import Unauthorized

log = logging.getLogger("cafepos.metrics")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed_networks(entries: tuple[str, ...]) -> list[Network]:
    """METRICS_ALLOWED_IPS entries: single addresses or networks (10.0.0.0/8)."""
    nets: list[Network] = []
    for entry in entries:
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            log.warning("METRICS_ALLOWED_IPS: %r is not an address or network; ignored", entry)
    return nets


def address_allowed(address: str | None, nets: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in nets)


def setup(ctx: AppContext) -> None:
    """WORKERS>1: every process copies its own values into the shared files now and then
    (stopped at shutdown: the metrics are owned by ctx.services)."""
    metrics = ctx.metrics
    if metrics.multiprocess:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a script building the app): scrapes still sync this process
        metrics.start_background_sync()


class MetricsHandler(BaseHandler):
    """Prometheus metrics (text exposition format)."""

    # The scraper has no token: listed addresses are let in, anyone else needs system.logs.
    allow_unauthenticated = True
    api_doc = {"get": {"summary": "Prometheus metrics (from METRICS_ALLOWED_IPS, or with system.logs)",
                       "raw": "text/plain", "tags": ["system"],
                       "responses": {"401": "Not from an allowed address and no token",
                                     "403": "Token without system.logs"}}}

    async def get(self) -> None:
        if not address_allowed(self.request.remote_ip, self.ctx.metrics_allowed_networks):
            if self._principal is None:
                raise Unauthorized("Authentication required")
            self.require("system.logs")
        body, content_type = self.metrics.render()
        self.set_header("Content-Type", content_type)
        self.finish(body)


default_handlers = [
    (r"/metrics", MetricsHandler),
]
