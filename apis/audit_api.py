"""Audit trails: every login attempt, failed logins, and changes to users, roles, settings, prices."""

from __future__ import annotations

from datetime import datetime

from apis.base import BaseHandler, page_from_query
from apis.users_api import bool_query
from orm.controllers.identity import audit_log
from orm.controllers.identity.audit_log import AttemptFilter, ChangeFilter
from orm.domain.business_days import UTC_ZONE, parse_bound  # audit times: UTC unless an offset is given
from orm.domain.errors import ValidationFailed

TIME_QUERY = {
    "from": {"type": "string", "description": "ISO date or datetime (UTC unless an offset is given), inclusive"},
    "to": {"type": "string", "description": "ISO date (that whole day) or datetime, inclusive"},
    "page": {"type": "integer"}, "perPage": {"type": "integer"},
}
ATTEMPT_QUERY = {**TIME_QUERY, "username": {"type": "string"}, "method": {"type": "string"},
                 "address": {"type": "string"}}


def instant_query(handler: BaseHandler, name: str, *, end: bool) -> datetime | None:
    """`from`/`to` as a UTC bound: a date-only `to` covers that whole day; `to` is returned exclusive."""
    raw = (handler.get_query_argument(name, "") or "").strip()
    if not raw:
        return None
    return parse_bound(raw, name, UTC_ZONE, is_end=end)


def _text(handler: BaseHandler, name: str) -> str | None:
    return (handler.get_query_argument(name, "") or "").strip()[:100] or None


def attempt_filter(handler: BaseHandler) -> AttemptFilter:
    since, until = instant_query(handler, "from", end=False), instant_query(handler, "to", end=True)
    if since and until and since >= until:
        raise ValidationFailed("from must be before to", field_errors={"from": "must be before to"})
    return AttemptFilter(username=_text(handler, "username"), method=_text(handler, "method"),
                         address=_text(handler, "address"), success=bool_query(handler, "success"),
                         since=since, until=until)


class AccessLogHandler(BaseHandler):
    """Every login attempt, newest first."""

    permissions = {"GET": "system.logs"}
    api_doc = {"get": {"summary": "Login attempts (success and failure)",
                       "query": {**ATTEMPT_QUERY, "success": {"type": "boolean"}}}}

    async def get(self) -> None:
        self.success(await self.run_db(audit_log.access_log, page_from_query(self), attempt_filter(self)))


class FailedLoginsHandler(BaseHandler):
    """Failed login attempts, newest first."""

    permissions = {"GET": "system.logs"}
    api_doc = {"get": {"summary": "Failed logins {username, method, address, userAgent, reason, at}",
                       "query": ATTEMPT_QUERY}}

    async def get(self) -> None:
        self.success(await self.run_db(audit_log.failed_logins, page_from_query(self), attempt_filter(self)))


class ChangesHandler(BaseHandler):
    """Who changed which user, role, permission, setting or price: old and new values."""

    permissions = {"GET": "system.logs"}
    api_doc = {"get": {"summary": "The change audit trail", "query": {
        **TIME_QUERY, "entity": {"type": "string"}, "entityId": {"type": "string"},
        "action": {"type": "string"}, "actorId": {"type": "string"}}}}

    async def get(self) -> None:
        since, until = instant_query(self, "from", end=False), instant_query(self, "to", end=True)
        f = ChangeFilter(entity=_text(self, "entity"), entity_id=_text(self, "entityId"),
                         action=_text(self, "action"), actor_id=_text(self, "actorId"), since=since, until=until)
        self.success(await self.run_db(audit_log.changes, page_from_query(self), f))


default_handlers = [
    (r"/audit/access-log", AccessLogHandler),
    (r"/audit/failed-logins", FailedLoginsHandler),
    (r"/audit/changes", ChangesHandler),
]
