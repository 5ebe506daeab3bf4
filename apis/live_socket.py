"""What every live WebSocket of ours shares (the dashboard, apis/dashboard_ws_api.py; the pickup board,
apis/pickup_ws_api.py): authentication before the upgrade, origin check, liveness pings, ending with
the login, and the hand-over of messages that arrive before the socket is open.

A subclass names its permission (`permissions = {"GET": ...}`), its hub (`hub`, which attaches and
detaches it and pushes to it) and its first message (`greeting()`, computed after the socket is
attached so no event falls between the two).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar
from urllib.parse import urlsplit

import tornado.websocket

from apis.access import AuthMixin
from orm.domain import jsonenc, security
from orm.domain.errors import DomainError, PermissionDenied, Unauthorized

log = logging.getLogger("cafepos.ws")

REAUTH_SECONDS = 60.0  # an expired or revoked token closes the socket within this time
PING_SECONDS = 30.0
CLOSE_AUTH_EXPIRED = 4401
CLOSE_FORBIDDEN = 4403


class LiveSocket(AuthMixin, tornado.websocket.WebSocketHandler):
    """A server-to-client live feed over a WebSocket.

    Not a BaseHandler (an upgrade request has no body to read and answers no envelope once open),
    but the same AuthMixin: prepare() runs the token -> principal -> permission check before the
    upgrade, and a refusal is the same JSON error envelope.  The token may come from `?token=`
    because browsers cannot set headers on WebSocket requests.

    The socket closes (4401) when its login ends: at once on the bus's "session_revoked" event
    (logout, revocation, password change, deactivation - from any process; the hub calls
    `ended_by` and `close_ended`), when its access token expires (checked on each push, no
    database round trip), and at the latest at the periodic re-check (idle expiry, changed
    permissions: 4403).  `ping` from the client gets `{"type": "pong"}`.
    """

    token_in_query: ClassVar[bool] = True

    _ready = False
    _pending: list[dict[str, Any]]
    _greeting: dict[str, Any] | None = None
    _token_exp: int = 0
    _ended = False
    _last_sent: str | None = None

    # ---- what a subclass provides ---------------------------------------------------------
    @property
    def hub(self) -> Any:  # has `async attach(socket)` and `detach(socket)` (services/*_hub.py)
        raise NotImplementedError

    def choose_watch(self) -> None:
        """Read query parameters before attaching (raise a DomainError for bad ones)."""

    async def greeting(self) -> dict[str, Any]:
        raise NotImplementedError

    # ---- the shared mechanics ---------------------------------------------------------------
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
        self._pending = []
        token = self.bearer_token() or ""
        self._token_exp = security.decode_access_token(token, secret=self.ctx.settings.jwt_secret,
                                                       now=self.ctx.clock())["exp"]
        hub = self.hub
        try:
            self.choose_watch()
            # Attach before computing the greeting so no event falls between the two; pushes
            # arriving meanwhile wait in _pending until the greeting has gone out.
            await hub.attach(self)
            self._greeting = await self.greeting()
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
        if self._greeting is not None:
            self._send(self._greeting)
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
        text = jsonenc.dumps(message)
        if self.skip_repeats and text == self._last_sent:
            return
        try:
            sent = self.write_message(text)
        except tornado.websocket.WebSocketClosedError:
            self.hub.detach(self)
            return
        self._last_sent = text
        # A socket closing mid-write fails the future; that is not worth a "never retrieved" log.
        sent.add_done_callback(lambda f: f.cancelled() or f.exception())

    # A feed of states (not of events) need not send the same state twice in a row.
    skip_repeats: ClassVar[bool] = False

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
                self.close(CLOSE_FORBIDDEN, f"missing permission {self.permissions.get('GET')}")
                return
            except Exception:  # a database hiccup is no reason to drop a live screen
                log.warning("could not re-check a live socket's token", exc_info=True)

    def on_message(self, message: str | bytes) -> None:
        # Clients have nothing to say; a "ping" text gets a "pong" for liveness checks.
        if message == "ping":
            pong = jsonenc.dumps({"type": "pong"})
            try:
                self.write_message(pong).add_done_callback(lambda f: f.cancelled() or f.exception())
            except tornado.websocket.WebSocketClosedError:
                self.hub.detach(self)

    def on_close(self) -> None:
        self.hub.detach(self)
        task = getattr(self, "_reauth", None)
        if task is not None:
            task.cancel()
