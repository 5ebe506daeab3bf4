"""Who may call: the one authentication path and the one error envelope of every endpoint.

`AuthMixin` is mixed into BaseHandler (apis/base.py) and into the dashboard WebSocket
(apis/live_socket.py), as jupyter-server's WebSocketMixin shares JupyterHandler's auth.
Deny by default: a handler sets `allow_unauthenticated = True` or declares, per HTTP method,
the permission it needs (one, a tuple meaning "any of these", or AUTHENTICATED); every name is
checked against the permission catalogue when the class is defined.
"""

from __future__ import annotations

import logging
import uuid
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

import tornado.web
from tornado import httputil

from context import AppContext
from orm.domain import jsonenc
from orm.domain.errors import DomainError, PermissionDenied, ServiceUnavailable, Unauthorized
from orm.domain.permissions import PERMISSIONS
from orm.domain.principal import Principal

log = logging.getLogger("cafepos.api")

AUTHENTICATED = "@authenticated"
HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}
MAX_REQUEST_ID_LEN = 128


def check_permissions(owner: str, permissions: dict[str, Any]) -> None:
    """Every permission a handler names is in the catalogue (an unknown one fails at import,
    like JupyterHub's `needs_scope`): a typo must not become a route nobody may call."""
    for method, needed in permissions.items():
        for name in needed if isinstance(needed, tuple) else (needed,):
            if name != AUTHENTICATED and name not in PERMISSIONS:
                raise TypeError(f"{owner}.permissions[{method!r}] names an unknown permission {name!r}")


if TYPE_CHECKING:
    # For the type checker the mixin is the RequestHandler it is mixed into; at run time it adds
    # no base, so BaseHandler and the WebSocket keep tornado's own method order.
    _Handler = tornado.web.RequestHandler
else:
    _Handler = object


class AuthMixin(_Handler):
    """The one authentication path of HTTP handlers (BaseHandler) and WebSockets (LiveSocket):
    token -> principal -> permission, and the one error envelope (jupyter-server's WebSocketMixin shape).

    Mixed into a tornado RequestHandler; the WebSocket runs `check_access` in prepare(), before the
    upgrade, so a refusal is the same JSON envelope as on every other endpoint.
    """

    allow_unauthenticated: ClassVar[bool] = False
    permissions: ClassVar[dict[str, Any]] = {}
    # WebSockets: browsers cannot set headers there, so `?token=` is accepted too.
    token_in_query: ClassVar[bool] = False
    _principal: Principal | None = None
    _request_id: str | None = None
    _allowed_methods: ClassVar[list[str] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_permissions(cls.__qualname__, cls.__dict__.get("permissions", {}))

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.application.settings["ctx"]
        return ctx

    @property
    def principal(self) -> Principal:
        """The signed-in user; only valid on authenticated handlers."""
        if self._principal is None:
            raise Unauthorized("Authentication required")
        return self._principal

    def get_current_user(self) -> Principal | None:
        return self._principal

    @property
    def request_id(self) -> str:
        if not self._request_id:
            self._request_id = self._pick_request_id()
        return self._request_id

    def _pick_request_id(self) -> str:
        given = self.request.headers.get("X-Request-ID", "")
        if given and len(given) <= MAX_REQUEST_ID_LEN and given.isprintable():
            return given
        return uuid.uuid4().hex

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """Methods this handler implements (the `Allow` header of a 405); worked out once per class,
        since prepare() asks on every request."""
        known = cls.__dict__.get("_allowed_methods")
        if known is None:
            names = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
            known = [m for m in names
                     if getattr(cls, m.lower()) is not getattr(tornado.web.RequestHandler, m.lower())]
            cls._allowed_methods = known
        return list(known)

    # ---- auth -----------------------------------------------------------------------
    def bearer_token(self) -> str | None:
        header = self.request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            return header[7:].strip() or None
        if self.token_in_query:
            return (self.get_query_argument("token", "") or "").strip() or None
        return None

    async def check_access(self, method: str) -> None:
        """prepare()'s auth step: deny by default, then who is calling and may they."""
        if not self.ctx.schema_ready and not self.allow_unauthenticated:
            raise ServiceUnavailable("The database is not available yet; try again shortly")
        if self.allow_unauthenticated:
            await self.authenticate_optional()
        else:
            await self.authenticate()
            self.authorize(method)

    async def authenticate(self) -> Principal:
        token = self.bearer_token()
        if not token:
            raise Unauthorized("Authentication required")
        self._principal = await self.ctx.authenticator(token)
        return self._principal

    async def authenticate_optional(self) -> None:
        """Public handlers still learn who is calling when a valid token is sent."""
        if self.bearer_token():
            try:
                await self.authenticate()
            except DomainError:
                self._principal = None

    def authorize(self, method: str) -> None:
        needed = self.permissions.get(method)
        if needed is None:
            raise PermissionDenied("This operation is not permitted")
        if needed == AUTHENTICATED:
            return
        options = needed if isinstance(needed, tuple) else (needed,)
        if not self.principal.has_any(*options):
            raise PermissionDenied(f"Missing permission: {' or '.join(options)}")

    def require(self, *permissions: str) -> None:
        """Extra in-handler check (e.g. a discount needs sales.apply_discount)."""
        if not self.principal.has_any(*permissions):
            raise PermissionDenied(f"Missing permission: {' or '.join(permissions)}")

    # ---- errors ---------------------------------------------------------------------
    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, DomainError):
            if self._finished:
                return
            self.send_error(e.status_code, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

    def log_exception(self, typ: type[BaseException] | None, value: BaseException | None,
                      tb: TracebackType | None) -> None:
        if isinstance(value, (DomainError, tornado.web.HTTPError)):
            return  # expected outcomes; the access log line records the status
        log.error("unhandled error [request %s] %s %s", self._request_id, self.request.method,
                  self.request.path, exc_info=value)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        # Every error answer repeats CORS and security headers set in set_default_headers.
        body: dict[str, Any] = {"success": False, "data": {}, "errors": []}
        if isinstance(exc, DomainError):
            status_code = exc.status_code
            body["data"] = exc.data or {}
            body["errors"] = list(exc.errors)
            body["errorCode"] = exc.error_code
            if exc.field_errors:
                body["fieldErrors"] = exc.field_errors
            body.update(exc.extra)
            for name, value in exc.headers.items():
                self.set_header(name, value)
        elif isinstance(exc, tornado.web.HTTPError) and status_code < 500:
            body["errorCode"] = HTTP_ERROR_CODES.get(status_code, "BAD_REQUEST")
            reason = exc.log_message if exc.log_message and "%" not in exc.log_message else None
            body["errors"] = [reason or httputil.responses.get(status_code, "Bad request")]
        else:
            status_code = 500 if status_code < 500 or not isinstance(exc, tornado.web.HTTPError) \
                else status_code
            body["errorCode"] = "INTERNAL_ERROR" if status_code == 500 else \
                HTTP_ERROR_CODES.get(status_code, "INTERNAL_ERROR")
            body["errors"] = ["An internal error occurred; quote the request id when reporting it"]
        body["statusCode"] = status_code
        body["requestId"] = self.request_id
        body["timestamp"] = jsonenc.iso_utc(self.ctx.clock())
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))  # RFC 9110 15.5.6
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Request-ID", self.request_id)
        self.finish(jsonenc.dumps(body))
