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
from typing import Any, ClassVar
from urllib.parse import urlsplit

import tornado.websocket

from apis.access import AuthMixin
from orm.domain import jsonenc, security
from orm.domain.errors import DomainError, PermissionDenied, Unauthorized, ValidationFailed

log = logging.getLogger("cafepos.ws")

PERMISSION = "reports.view"
REAUTH_SECONDS = 60.0  # an expired or revoked token closes the socket within this time
PING_SECONDS = 30.0
CLOSE_AUTH_EXPIRED = 4401
CLOSE_FORBIDDEN = 4403


class DashboardSocket(AuthMixin, tornado.websocket.WebSocketHandler):
    """Live dashboard metrics over a WebSocket.

    Not a BaseHandler (an upgrade request has no body to read and answers no envelope once open),
    but the same AuthMixin: prepare() runs BaseHandler's token -> principal -> permission check
    before the upgrade, and a refusal is the same JSON error envelope.  The token may come from
    `?token=` because browsers cannot set headers on WebSocket requests.

    The socket closes (4401) when its login ends: at once on the bus's "session_revoked" event
    (logout, revocation, password change, deactivation - from any process), when its access token
    expires (checked on each push, no database round trip), and at the latest at the periodic
    re-check (idle expiry, changed permissions: 4403).
    """

    permissions: ClassVar[dict[str, Any]] = {"GET": PERMISSION}
    token_in_query: ClassVar[bool] = True

    watch_key: tuple[str | None, str] = (None, "")
    _ready = False
    _pending: list[dict[str, Any]]
    _hello: dict[str, Any] | None = None
    _token_exp: int = 0
    _ended = False

    @property
    def ping_interval(self) -> float:
        # Finds dead clients (a closed laptop lid) and keeps proxies from idling the socket out.
        return PING_SECONDS

    def check_origin(self, origin: str) -> bool:
        """Browsers from the configured web clients' origins, or the same host."""
        if origin in self.ctx.settings.cors_origins:
            return True
        return urlsplit(origin).netloc.lower() == self.request.headers.get("Host", "").lower()

    async def prepare(self) -> None:
        await self.check_access("GET")

    async def get(self, *args: Any, **kwargs: Any) -> None:
        self._ready = False
        self._pending: list[dict[str, Any]] = []
        token = self.bearer_token() or ""
        self._token_exp = security.decode_access_token(token, secret=self.ctx.settings.jwt_secret,
                                                       now=self.ctx.clock())["exp"]
        hub = self.ctx.dashboard_hub
        try:
            store_id = (self.get_query_argument("storeId", "") or "").strip() or None
            if store_id is not None and "\x00" in store_id:
                raise ValidationFailed("storeId: no such store", field_errors={"storeId": "no such store"})
            self.watch_key = (store_id, self.principal.store_id)
            # Attach before computing the greeting so no event falls between the two; events
            # arriving meanwhile wait in _pending until "hello" has gone out.
            await hub.attach(self)
            self._hello = await hub.metrics(*self.watch_key)  # also refuses an unknown storeId (400)
        except DomainError:
            hub.detach(self)
            raise
        await super().get(*args, **kwargs)
        if self.ws_connection is None:  # the upgrade itself was refused (not a WebSocket request)
            hub.detach(self)

    def ended_by(self, event: dict[str, Any]) -> bool:
        """Does this "session_revoked" event end this socket's login?"""
        principal = self._principal
        if principal is None:
            return False
        if event.get("sessionId") is not None:
            return bool(event["sessionId"] == principal.session_id)
        return event.get("userId") == principal.user_id and event.get("keepSessionId") != principal.session_id

    def close_ended(self) -> None:
        if not self._ready:  # ended during the upgrade: open() closes it
            self._ended = True
            return
        self.close(CLOSE_AUTH_EXPIRED, "token expired or revoked; reconnect with a fresh token")

    def open(self, *args: Any, **kwargs: Any) -> None:
        if self._ended:
            self._ready = True
            self.close_ended()
            return
        self._send({"type": "hello", "storeId": self.watch_key[0], "metrics": self._hello})
        self._ready = True
        for message in self._pending:
            self._send(message)
        self._pending.clear()
        self._reauth = asyncio.get_running_loop().create_task(self._recheck_token())

    def push(self, message: dict[str, Any]) -> None:
        if self._ready and int(self.ctx.clock().timestamp()) >= self._token_exp:
            self.close_ended()  # the access token ran out: no database round trip needed to know
            return
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
                await self.authenticate()
                self.authorize("GET")
            except Unauthorized:
                self.close_ended()
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
