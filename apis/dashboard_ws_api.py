"""WS /ws/dashboard?token=... [reports.view]: live sales metrics.

The socket first sends {type: "hello", metrics}, then for every order, refund, void or alert
- taken by whichever server process (services/event_bus.py) - the event itself with fresh
`metrics` (this month to date, as on the dashboard; `?storeId=` narrows it to one store).

One DashboardHub per process (services/dashboard_hub.py) subscribes to the event bus once and
computes the metrics once per burst of events for all sockets watching the same store, so ten
open dashboards do not mean ten dashboard queries per sale.  Authentication, origin check, pings
and closing when the login ends (4401) or the permission goes (4403) are every live socket's
(apis/live_socket.py).
"""

from __future__ import annotations

from typing import Any, ClassVar

from apis.live_socket import LiveSocket
from orm.domain.errors import ValidationFailed
from services.dashboard_hub import DashboardHub

PERMISSION = "reports.view"


class DashboardSocket(LiveSocket):
    """Live dashboard metrics over a WebSocket (the rules every live socket shares: LiveSocket)."""

    permissions: ClassVar[dict[str, Any]] = {"GET": PERMISSION}

    watch_key: tuple[str | None, str] = (None, "")

    @property
    def hub(self) -> DashboardHub:
        return self.ctx.dashboard_hub

    def choose_watch(self) -> None:
        store_id = (self.get_query_argument("storeId", "") or "").strip() or None
        if store_id is not None and "\x00" in store_id:
            raise ValidationFailed("storeId: no such store", field_errors={"storeId": "no such store"})
        self.watch_key = (store_id, self.principal.store_id)

    async def greeting(self) -> dict[str, Any]:
        # Also refuses an unknown storeId (400).
        return {"type": "hello", "storeId": self.watch_key[0], "metrics": await self.hub.metrics(*self.watch_key)}


default_handlers = [(r"/ws/dashboard", DashboardSocket)]
