"""WS /ws/dashboard?token=... [reports.view]: live sales metrics.

The socket first sends {type: "hello", metrics}, then for every order, refund, void or alert
- taken by whichever server process (services/event_bus.py) - the event itself with fresh
`metrics` (this month to date, as on the dashboard; `?storeId=` narrows it to one store).

One DashboardHub per process (services/dashboard_hub.py) subscribes to the event bus once and
computes the metrics once per burst of events for all sockets watching the same store, so ten
open dashboards do not mean ten dashboard queries per sale.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, ClassVar
from urllib.parse import urlsplit

import tornado.websocket

from context import AppContext
from orm.domain import jsonenc
from orm.domain.errors import DomainError, PermissionDenied, ServiceUnavailable, Unauthorized, ValidationFailed
from orm.domain.principal import Principal

log = logging.getLogger("cafepos.ws")

PERMISSION = "reports.view"
REAUTH_SECONDS = 60.0  # an expired or revoked token closes the socket within this time
PING_SECONDS = 30.0
CLOSE_AUTH_EXPIRED = 4401
CLOSE_FORBIDDEN = 4403


class DashboardSocket(tornado.websocket.WebSocketHandler):
    """Live dashboard metrics over a WebSocket.

    Not a BaseHandler: BaseHandler.prepare() answers with JSON envelopes and reads bodies,
    which an upgrade request cannot go through.  This handler authenticates itself in get(),
    before the upgrade, with the same authenticator and permission check (deny by default):
    the token comes from `?token=` because browsers cannot set headers on WebSocket requests.
    `permissions` declares what it needs, as on every other handler.
    """

    allow_unauthenticated: ClassVar[bool] = False
    authenticates_itself: ClassVar[bool] = True
    permissions: ClassVar[dict[str, Any]] = {"GET": PERMISSION}

    # Read by apis.base.log_request for the access log line, as on BaseHandler.
    _principal: Principal | None = None
    watch_key: tuple[str | None, str] = (None, "")
    _ready = False
    _pending: list[dict[str, Any]]
    _hello: dict[str, Any] | None = None

    @property
    def ctx(self) -> AppContext:
        return self.application.settings["ctx"]

    @property
    def ping_interval(self) -> float:
        # Finds dead clients (a closed laptop lid) and keeps proxies from idling the socket out.
        return PING_SECONDS

    def check_origin(self, origin: str) -> bool:
        """Browsers from the configured web clients' origins, or the same host."""
        if origin in self.ctx.settings.cors_origins:
            return True
        return urlsplit(origin).netloc.lower() == self.request.headers.get("Host", "").lower()

    def _token(self) -> str:
        token = self.get_query_argument("token", "") or ""
        header = self.request.headers.get("Authorization", "")
        if not token and header[:7].lower() == "bearer ":
            token = header[7:].strip()
        return token

    async def _authenticate(self) -> Principal:
        token = self._token()
        if not token:
            raise Unauthorized("Authentication required: send ?token=<access token>")
        principal = await self.ctx.authenticator(token)
        if not principal.has(PERMISSION):
            raise PermissionDenied(f"Missing permission: {PERMISSION}")
        return principal

    async def get(self, *args: Any, **kwargs: Any) -> None:
        self._ready = False
        self._pending: list[dict[str, Any]] = []
        hub = self.ctx.dashboard_hub
        try:
            if not self.ctx.schema_ready:
                raise ServiceUnavailable("The database is not available yet; try again shortly")
            self._principal = await self._authenticate()
            store_id = (self.get_query_argument("storeId", "") or "").strip() or None
            if store_id is not None and "\x00" in store_id:
                raise ValidationFailed("storeId: no such store", field_errors={"storeId": "no such store"})
            self.watch_key = (store_id, self._principal.store_id)
            # Attach before computing the greeting so no event falls between the two; events
            # arriving meanwhile wait in _pending until "hello" has gone out.
            await hub.attach(self)
            self._hello = await hub.metrics(*self.watch_key)  # also refuses an unknown storeId (400)
        except DomainError as exc:
            hub.detach(self)
            self._refuse(exc)
            return
        await super().get(*args, **kwargs)
        if self.ws_connection is None:  # the upgrade itself was refused (not a WebSocket request)
            hub.detach(self)

    def _refuse(self, exc: DomainError) -> None:
        request_id = self.request.headers.get("X-Request-ID") or uuid.uuid4().hex
        self.set_status(exc.status_code)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("X-Request-ID", request_id)
        self.finish(jsonenc.dumps({
            "success": False, "data": {}, "errors": list(exc.errors), "errorCode": exc.error_code,
            "statusCode": exc.status_code, "requestId": request_id,
            "timestamp": jsonenc.iso_utc(self.ctx.clock()),
        }))

    def open(self, *args: Any, **kwargs: Any) -> None:
        self._send({"type": "hello", "storeId": self.watch_key[0], "metrics": self._hello})
        self._ready = True
        for message in self._pending:
            self._send(message)
        self._pending.clear()
        self._reauth = asyncio.get_running_loop().create_task(self._recheck_token())

    def push(self, message: dict[str, Any]) -> None:
        if self._ready:
            self._send(message)
        else:
            self._pending.append(message)

    def _send(self, message: dict[str, Any]) -> None:
        try:
            sent = self.write_message(jsonenc.dumps(message))
        except tornado.websocket.WebSocketClosedError:
            self.ctx.dashboard_hub.detach(self)
            return
        # A socket closing mid-write fails the future; that is not worth a "never retrieved" log.
        sent.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def _recheck_token(self) -> None:
        """Close the socket once its token expires or its session / permission is revoked."""
        while True:
            await asyncio.sleep(REAUTH_SECONDS)
            try:
                await self._authenticate()
            except Unauthorized:
                self.close(CLOSE_AUTH_EXPIRED, "token expired or revoked; reconnect with a fresh token")
                return
            except PermissionDenied:
                self.close(CLOSE_FORBIDDEN, f"missing permission {PERMISSION}")
                return
            except Exception:  # a database hiccup is no reason to drop a dashboard
                log.warning("could not re-check a dashboard token", exc_info=True)

    def on_message(self, message: str | bytes) -> None:
        # Clients have nothing to say; a "ping" text gets a "pong" for liveness checks.
        if message == "ping":
            self._send({"type": "pong"})

    def on_close(self) -> None:
        self.ctx.dashboard_hub.detach(self)
        task = getattr(self, "_reauth", None)
        if task is not None:
            task.cancel()


default_handlers = [(r"/ws/dashboard", DashboardSocket)]
