"""The one BaseHandler: envelope, body parsing, auth in prepare() (apis/access.py), run_db().

Deny by default: a handler either sets `allow_unauthenticated = True` or
declares, per HTTP method, the permission it needs in `permissions`:

    permissions = {"GET": "menu.view", "POST": "menu.create"}

A value may be one permission, a tuple meaning "any of these", or
AUTHENTICATED for "any signed-in user".  A method with no declaration is
refused with 403 (and `tests/test_route_security.py` fails on it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pydantic
import tornado.web
from tornado import httputil
from tornado.http1connection import HTTP1Connection

from apis.access import AUTHENTICATED as AUTHENTICATED  # re-exported: handlers name it with their permissions
from apis.access import AuthMixin
from context import AppContext
from orm.controllers.paging import DEFAULT_PER_PAGE, MAX_PER_PAGE, Page
from orm.domain import jsonenc
from orm.domain.errors import (
    InvalidJSON,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)

if TYPE_CHECKING:
    from orm.controllers.menu.catalogue import CatalogueCache
    from orm.controllers.menu.list_cache import MenuListCache
    from services.email_service import Mailer
    from services.event_bus import EventBus
    from services.metrics import AppMetrics
    from services.settings_cache import StoreSettingsCache

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)
access_log = logging.getLogger("cafepos.access")

CORS_ALLOWED_HEADERS = "Content-Type, Authorization, Idempotency-Key, X-Request-ID"
CORS_ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
MAX_PAGE_NUMBER = 1_000_000_000


def unstorable_text(value: Any) -> bool:
    """A NUL character or an unpaired surrogate in any string (keys included) of a parsed value.

    PostgreSQL refuses both in text (psycopg raises before the query is sent), so they are
    refused at the edge with a 400 instead of surfacing as a 500 from deep inside a controller.
    """
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(unstorable_text(k) or unstorable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(unstorable_text(v) for v in value)
    return False


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "body"


def validation_error_from(exc: pydantic.ValidationError) -> ValidationFailed:
    field_errors: dict[str, str] = {}
    messages: list[str] = []
    for err in exc.errors(include_url=False, include_context=False):
        loc = tuple(p for p in err["loc"] if p not in ("body",))
        field = _field_path(loc)
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        field_errors.setdefault(field, msg)
        messages.append(f"{field}: {msg}")
    return ValidationFailed(messages[0], field_errors=field_errors, errors=messages)


@tornado.web.stream_request_body
class BaseHandler(AuthMixin, tornado.web.RequestHandler):
    # Per-handler body limit override (uploads use their own smaller one).
    max_body_bytes: int | None = None
    # OpenAPI description per method, read by apis/openapi.py:
    #   {"get": {"summary": ..., "query": {...}, "body": Model, "response": Model, "status": 200}}
    api_doc: ClassVar[dict[str, dict[str, Any]]] = {}

    # ---- wiring -----------------------------------------------------------------
    def initialize(self, route: str | None = None, **_: Any) -> None:
        self._route_template = route or self.request.path
        self.ctx.in_flight.add(self)

    def on_finish(self) -> None:
        self.ctx.in_flight.discard(self)

    def on_connection_close(self) -> None:
        self.ctx.in_flight.discard(self)

    # The process's shared objects (built by main.make_context), typed.
    @property
    def event_bus(self) -> EventBus:
        return self.ctx.event_bus

    @property
    def mailer(self) -> Mailer:
        return self.ctx.mailer

    @property
    def store_settings(self) -> StoreSettingsCache:
        return self.ctx.store_settings

    @property
    def catalogue_cache(self) -> CatalogueCache:
        return self.ctx.catalogue_cache

    @property
    def menu_list_cache(self) -> MenuListCache:
        return self.ctx.menu_list_cache

    @property
    def metrics(self) -> AppMetrics:
        return self.ctx.metrics

    # ---- request lifecycle --------------------------------------------------------
    def set_default_headers(self) -> None:
        self.clear_header("Server")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Cache-Control", "no-store")
        # clear() runs again before an error answer; request_id keeps the first id.
        self.set_header("X-Request-ID", self.request_id)
        origin = self.request.headers.get("Origin")
        if origin and origin in self.ctx.settings.cors_origins:
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Vary", "Origin")
            self.set_header("Access-Control-Expose-Headers", "X-Request-ID, ETag, Location, Retry-After")

    async def prepare(self) -> None:
        self._body_chunks: list[bytes] = []
        if self.ctx.stopping:
            # Shutting down (main.shutdown): only requests already in flight are finished.
            raise ServiceUnavailable("The server is restarting; try again in a moment",
                                     headers={"Retry-After": "1", "Connection": "close"})
        limit = self.max_body_bytes or self.ctx.settings.max_body_bytes
        if self.request.method in ("POST", "PUT", "PATCH", "DELETE"):
            # Streaming handlers may lower Tornado's own limit here; it is the backstop
            # for bodies that lie about or omit Content-Length.
            if isinstance(self.request.connection, HTTP1Connection):
                self.request.connection.set_max_body_size(limit)
            length = self.request.headers.get("Content-Length")
            if length is not None:
                try:
                    declared = int(length)
                except ValueError:
                    raise ValidationFailed("Content-Length is not a number") from None
                if declared > limit:
                    raise PayloadTooLarge(
                        f"Request body is {declared} bytes; the limit is {limit} bytes"
                    )
        if self.request.method == "OPTIONS":
            return
        if self.request.method not in self.allowed_methods():
            # 405 (with Allow), not the 403 of an undeclared permission: the method does not exist here.
            raise tornado.web.HTTPError(405)
        await self.check_access(self.request.method or "GET")
        if unstorable_text(list(self.path_kwargs.values()) + list(self.path_args)):
            raise NotFound("No such resource")  # no id or name contains NUL (PostgreSQL could not even look)

    def data_received(self, chunk: bytes) -> None:
        # Tornado enforces the size set in prepare() (also for chunked bodies) and
        # closes the connection past it; once we have answered, the rest is dropped.
        if not self._finished:
            self._body_chunks.append(chunk)

    @property
    def body(self) -> bytes:
        if self._body_chunks:
            self.request.body = b"".join(self._body_chunks)
            self._body_chunks = []
        return self.request.body

    async def options(self, *args: Any, **kwargs: Any) -> None:
        self.set_header("Access-Control-Allow-Methods", CORS_ALLOWED_METHODS)
        self.set_header("Access-Control-Allow-Headers", CORS_ALLOWED_HEADERS)
        self.set_header("Access-Control-Max-Age", "600")
        self.set_status(204)
        self.finish()

    # ---- input ----------------------------------------------------------------------
    def json_body(self) -> Any:
        raw = self.body
        if not raw.strip():
            raise InvalidJSON("Request body must be a JSON document")
        ctype = self.request.headers.get("Content-Type", "application/json")
        if ctype and "json" not in ctype.lower() and "text/plain" not in ctype.lower():
            raise UnsupportedMediaType("Content-Type must be application/json")
        if jsonenc.nesting_exceeds(raw):
            raise InvalidJSON(f"Malformed JSON: nested deeper than {jsonenc.MAX_NESTING_DEPTH} levels")
        try:
            data = jsonenc.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidJSON(f"Malformed JSON: {exc}") from None
        if unstorable_text(data):
            raise ValidationFailed("Text must not contain NUL characters or unpaired surrogates",
                                   field_errors={"body": "contains a NUL character or an unpaired surrogate"})
        return data

    def parse(self, model: type[M], *, allow_empty: bool = False) -> M:
        """Validate the JSON body into a typed model -> 400 with fieldErrors on bad input."""
        if allow_empty and not self.body.strip():
            data: Any = {}
        else:
            data = self.json_body()
        if not isinstance(data, dict):
            raise ValidationFailed("Request body must be a JSON object")
        try:
            return model.model_validate(data)
        except pydantic.ValidationError as exc:
            raise validation_error_from(exc) from None

    def parse_query(self, model: type[M]) -> M:
        """Validate query parameters (last value wins) into a typed model."""
        data = {k: self.get_query_argument(k) for k in self.request.query_arguments}
        try:
            return model.model_validate(data)
        except pydantic.ValidationError as exc:
            raise validation_error_from(exc) from None

    def multipart(self) -> tuple[dict[str, list[bytes]], dict[str, list[httputil.HTTPFile]]]:
        ctype = self.request.headers.get("Content-Type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            raise UnsupportedMediaType("Content-Type must be multipart/form-data")
        args: dict[str, list[bytes]] = {}
        files: dict[str, list[httputil.HTTPFile]] = {}
        try:
            httputil.parse_body_arguments(ctype, self.body, args, files, self.request.headers)
        except httputil.HTTPInputError as exc:  # Tornado >= 6.5 raises on damaged multipart bodies
            raise ValidationFailed(f"Malformed multipart/form-data body: {exc}") from None
        if any(b"\x00" in value for values in args.values() for value in values):
            raise ValidationFailed("Form fields must not contain NUL characters")
        return args, files

    # ---- output ---------------------------------------------------------------------
    def compute_etag(self) -> str | None:
        # Only handlers that promise caching (e.g. the menu) send ETags.
        return None

    def envelope(self, data: Any, message: str | None = None) -> dict[str, Any]:
        env: dict[str, Any] = {
            "success": True,
            "data": data if data is not None else {},
            "errors": [],
            "timestamp": jsonenc.iso_utc(self.ctx.clock()),
        }
        if message:
            env["message"] = message
        return env

    def send_json(self, payload: Any, status: int = 200, *, plain: bool = False) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(jsonenc.dumps_plain(payload) if plain else jsonenc.dumps(payload))

    def success(self, data: Any = None, *, status: int = 200, message: str | None = None,
                plain: bool = False) -> None:
        """The envelope with `data`.  plain=True: `data` holds only str, int, float, bool, None, lists
        and dicts (no Decimal, times already ISO strings), so the faster jsonenc.dumps_plain writes it."""
        self.send_json(self.envelope(data, message), status, plain=plain)

    def created(self, data: Any, *, location: str | None = None, message: str | None = None) -> None:
        if location:
            self.set_header("Location", location)
        self.success(data, status=201, message=message)

    # ---- database -------------------------------------------------------------------
    async def run_db(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """One unit of work; GET/HEAD requests run it as a read (see orm.db.read_unit_of_work)."""
        if self.request.method in ("GET", "HEAD"):
            return await self.ctx.run_db_read(fn, *args, **kw)
        return await self.ctx.run_db(fn, *args, **kw)

    async def run_report(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """A read-only unit of work on the reports database and pool (context.AppContext.run_report)."""
        return await self.ctx.run_report(fn, *args, **kw)

    async def run_blocking(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        return await self.ctx.run_blocking(fn, *args, **kw)

    # ---- logging --------------------------------------------------------------------
    def route_template(self) -> str:
        return getattr(self, "_route_template", None) or self.request.path


class NotFoundHandler(BaseHandler):
    """Unknown paths: 404 in the envelope whether or not a token is sent."""

    allow_unauthenticated = True

    async def prepare(self) -> None:
        raise tornado.web.HTTPError(404, "No such endpoint")


def log_request(handler: tornado.web.RequestHandler) -> None:
    """Application.log_function: one line per request."""
    status = handler.get_status()
    duration_ms = round(handler.request.request_time() * 1000, 2)
    principal = getattr(handler, "_principal", None)
    route = getattr(handler, "route_template", lambda: handler.request.path)()
    extra = {
        "request_id": getattr(handler, "_request_id", None),
        "user_id": principal.user_id if principal else None,
        "method": handler.request.method,
        "route": route,
        "path": handler.request.path,
        "status": status,
        "duration_ms": duration_ms,
        "address": handler.request.remote_ip,
    }
    level = logging.INFO if status < 500 else logging.ERROR
    if status == 200 and getattr(handler, "log_success_at_debug", False):
        level = logging.DEBUG  # a probe answered "healthy" every few seconds is not news
    access_log.log(
        level,
        "%s %s %s %.1fms rid=%s user=%s",
        handler.request.method, handler.request.path, status, duration_ms,
        extra["request_id"], principal.username if principal else "-",
        extra=extra,
    )
    ctx: AppContext | None = handler.application.settings.get("ctx")
    if ctx is not None:
        ctx.metrics.observe_request(handler.request.method, route, status, duration_ms / 1000)


def page_from_query(handler: BaseHandler, *, whole_by_default: bool = False) -> Page:
    """`?page=&perPage=` (alias per_page), or `?limit=&offset=`; perPage at most 200."""
    def number(name: str) -> int | None:
        raw = handler.get_query_argument(name, None)
        if raw is None or raw == "":
            return None
        try:
            value = int(raw)
        except ValueError:
            raise ValidationFailed(f"{name} must be a whole number", field_errors={name: "must be a whole number"}) \
                from None
        # The upper bound keeps OFFSET within a 64-bit integer on both databases (no 500 for page=10**40).
        if not (0 if name == "offset" else 1) <= value <= MAX_PAGE_NUMBER:
            raise ValidationFailed(f"{name} is out of range", field_errors={name: "is out of range"})
        return value

    page, per_page = number("page"), number("perPage") or number("per_page")
    limit, offset = number("limit"), number("offset")
    if per_page is None and limit is not None:
        per_page = limit
    if per_page is not None and per_page > MAX_PER_PAGE:
        raise ValidationFailed(f"perPage may be at most {MAX_PER_PAGE}",
                               field_errors={"perPage": f"must be at most {MAX_PER_PAGE}"})
    if page is None and offset is not None:
        size = per_page or DEFAULT_PER_PAGE
        page = offset // size + 1
    if whole_by_default and page is None and per_page is None:
        return Page(everything=True)
    return Page(page=page or 1, per_page=per_page or DEFAULT_PER_PAGE)
