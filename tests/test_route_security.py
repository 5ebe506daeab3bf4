"""Deny by default, checked over the app's whole route table (main.collect_routes()).

1. Every handler method (get/post/put/patch/delete defined on the class) declares a
   permission or the handler is explicitly public (`allow_unauthenticated = True`).
2. The public set is exactly the one API.md allows, so a route made public by
   accident fails here.
3. Every non-public route answers 401 without a token (dummy values for path params).
"""

from __future__ import annotations

import re

import tornado.web
import tornado.websocket

import main
from apis.base import BaseHandler
from tests.support import RunningServer, suite_now

METHODS = ("get", "post", "put", "patch", "delete")
# API.md "Auth": the only endpoints without a token.
PUBLIC_EXACT = {
    "/health", "/auth/login", "/auth/refresh", "/auth/password-reset-request", "/auth/validate-reset-token",
    "/auth/password-reset-confirm", "/openapi.json", "/docs/?",
}
PUBLIC_PREFIXES = ("/docs/static/", "/uploads/")  # the docs page's own assets; public images
# Public at the routing level but guarded inside the handler (API.md: /metrics is allowed from
# METRICS_ALLOWED_IPS or with system.logs).  Checked below to refuse strangers.
SELF_GUARDED = {"/metrics"}
SAMPLE_VALUES = ("00000000-0000-0000-0000-000000000000", "1", "swagger-ui.css", "menu_items/x.png")


def routes() -> list[tuple[str, type]]:
    return [(r[0], r[1]) for r in main.collect_routes()]


def handled_methods(handler: type) -> list[str]:
    return [m for m in METHODS if getattr(handler, m) is not getattr(tornado.web.RequestHandler, m)]


def is_public(handler: type) -> bool:
    return getattr(handler, "allow_unauthenticated", False) is True


def _groups(pattern: str) -> list[tuple[int, int, str]]:
    """(start, end, inner regex) of each top-level named group, nested parentheses included."""
    found = []
    for m in re.finditer(r"\(\?P<\w+>", pattern):
        depth, i = 1, m.end()
        while depth:
            if pattern[i] == "\\":
                i += 2
                continue
            depth += {"(": 1, ")": -1}.get(pattern[i], 0)
            i += 1
        found.append((m.start(), i, pattern[m.end():i - 1]))
    return found


def sample_path(pattern: str) -> str:
    """A concrete path the route matches, dummy values in its parameters."""
    path, last = "", 0
    for start, end, inner in _groups(pattern):
        literal_choices = [alt for alt in inner.split("|") if re.fullmatch(r"[\w.-]+", alt)]
        value = next((v for v in (*SAMPLE_VALUES, *literal_choices) if re.fullmatch(inner, v)), None)
        assert value is not None, f"no sample value for {inner!r} in {pattern}; extend SAMPLE_VALUES"
        path += pattern[last:start] + value
        last = end
    path += pattern[last:]
    path = path.removesuffix("/?").rstrip("$").replace("\\.", ".")
    assert re.fullmatch(pattern, path), (pattern, path)
    return path


def test_every_method_declares_a_permission_or_is_public():
    missing = []
    for pattern, handler in routes():
        for method in handled_methods(handler):
            declared = getattr(handler, "permissions", {}).get(method.upper())
            if not (is_public(handler) or declared):
                missing.append(f"{method.upper()} {pattern} ({handler.__name__})")
    assert not missing, "handlers without a permission or allow_unauthenticated:\n" + "\n".join(missing)


def test_public_routes_are_exactly_the_documented_ones():
    public = {pattern for pattern, handler in routes() if is_public(handler)}
    unexpected = {p for p in public - PUBLIC_EXACT - SELF_GUARDED if not p.startswith(PUBLIC_PREFIXES)}
    assert not unexpected, f"routes made public by accident: {sorted(unexpected)}"
    assert PUBLIC_EXACT <= public, f"documented public routes missing: {sorted(PUBLIC_EXACT - public)}"


def test_sample_paths():
    assert sample_path(r"/users/(?P<user_id>[^/]+)/role") == "/users/00000000-0000-0000-0000-000000000000/role"
    assert sample_path(r"/a/(?P<x>[^/]+)/(?P<act>ack|dismiss)") == "/a/00000000-0000-0000-0000-000000000000/ack"
    assert sample_path(r"/docs/static/(?P<path>swagger-ui[\w.-]*\.(?:js|css))") == "/docs/static/swagger-ui.css"


async def test_every_protected_route_is_401_without_a_token(client):
    checked, wrong = 0, []
    for pattern, handler in routes():
        if is_public(handler) or not issubclass(handler, BaseHandler):
            continue
        path = sample_path(pattern)
        for method in handled_methods(handler):
            resp = await client.request(method.upper(), path, body=b"{}" if method in ("post", "put", "patch")
                                        else None, headers={"Content-Type": "application/json"})
            checked += 1
            if resp.status != 401 or resp.json.get("errorCode") != "UNAUTHORIZED":
                wrong.append(f"{method.upper()} {path}: {resp.status}")
    assert checked > 20
    assert not wrong, "answered without a token:\n" + "\n".join(wrong)


async def test_self_guarded_routes_refuse_strangers(settings):
    """With an empty address allow-list, /metrics needs a token like everything else."""
    running = RunningServer(main.make_app(settings.with_overrides(metrics_allowed_ips=()), clock=suite_now))
    c = running.client()
    try:
        for pattern, handler in routes():
            if pattern in SELF_GUARDED:
                for method in handled_methods(handler):
                    resp = await c.request(method.upper(), sample_path(pattern))
                    assert resp.status in (401, 403), (pattern, resp.status)
    finally:
        c.close()
        await running.stop()


def test_websocket_routes_declare_their_permission():
    for pattern, handler in routes():
        if issubclass(handler, tornado.websocket.WebSocketHandler):
            assert is_public(handler) is False, pattern
            assert getattr(handler, "permissions", {}).get("GET"), f"{pattern} must declare permissions['GET']"
