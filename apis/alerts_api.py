"""Stock alerts: list, read, acknowledge / dismiss / resolve."""

from __future__ import annotations

from apis.base import BaseHandler, page_from_query
from orm.controllers.inventory import alerts


class AlertsHandler(BaseHandler):
    permissions = {"GET": "inventory.view"}
    api_doc = {"get": {"summary": "Alerts, newest first", "query": {
        "status": {"type": "string", "description": "active|acknowledged|resolved|dismissed (comma-separated)"},
        "type": {"type": "string", "description": "low_stock|out_of_stock|expiring|system"},
        "severity": {"type": "string", "description": "info|warning|critical"},
        "page": {"type": "integer"}, "perPage": {"type": "integer"}}}}

    async def get(self) -> None:
        data = await self.run_db(alerts.list_alerts, self.principal, page_from_query(self),
                                 status=self.get_query_argument("status", None),
                                 alert_type=self.get_query_argument("type", None),
                                 severity=self.get_query_argument("severity", None))
        self.success(data)


class AlertHandler(BaseHandler):
    permissions = {"GET": "inventory.view"}
    api_doc = {"get": {"summary": "One alert"}}

    async def get(self, alert_id: str) -> None:
        alert = await self.run_db(alerts.get, self.principal, alert_id)
        self.success({"alert": alert})


class AlertActionHandler(BaseHandler):
    permissions = {"PATCH": "inventory.edit"}
    api_doc = {"patch": {"summary": "acknowledge (active only), dismiss or resolve an open alert; repeating an "
                                    "action answers the alert unchanged, other transitions are 409"}}

    async def patch(self, alert_id: str, action: str) -> None:
        alert = await self.run_db(alerts.act, self.principal, alert_id, action, self.ctx.clock())
        self.success({"alert": alert})


default_handlers = [
    (r"/alerts", AlertsHandler),
    (r"/alerts/(?P<alert_id>[^/]+)/(?P<action>acknowledge|dismiss|resolve)", AlertActionHandler),
    (r"/alerts/(?P<alert_id>[^/]+)", AlertHandler),
]
