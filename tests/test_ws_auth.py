"""One authentication path: the dashboard WebSocket shares BaseHandler's token -> principal ->
permission code and error envelope (apis.access.AuthMixin), closes when its login ends, and a
handler naming an unknown permission fails when its module loads."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from tornado.httpclient import HTTPClientError

from apis.access import AuthMixin
from apis.base import BaseHandler
from orm.domain import jsonenc
from tests import reports_support as support
from tests.test_ws_dashboard import WAIT, connect, receive

CLOCK_START = support.NOW  # the `clock` fixture starts here
CLOSE_AUTH_EXPIRED = 4401


def test_an_unknown_permission_fails_when_the_handler_is_defined() -> None:
    with pytest.raises(TypeError, match="unknown permission 'menu.veiw'"):
        class Typo(BaseHandler):
            permissions = {"GET": "menu.veiw"}
    with pytest.raises(TypeError, match="unknown permission 'nope'"):
        class AnyOf(AuthMixin):
            permissions = {"POST": ("menu.view", "nope")}

    class Fine(BaseHandler):
        permissions = {"GET": ("menu.view", "reports.view"), "POST": "@authenticated"}
    assert Fine.permissions["POST"] == "@authenticated"


async def test_refusals_are_the_one_error_envelope(app_server, staff, sockets) -> None:
    for token, status, code in [(None, 401, "UNAUTHORIZED"), (staff["trainee"].token, 403, "FORBIDDEN")]:
        with pytest.raises(HTTPClientError) as info:
            await connect(app_server, token, sockets)
        response = info.value.response
        body = jsonenc.loads(response.body)
        assert info.value.code == status and body["errorCode"] == code and body["statusCode"] == status
        assert body["requestId"] == response.headers["X-Request-ID"] and body["timestamp"]
        # The same answer an HTTP endpoint gives for the same token (minus the request id).
        http = await app_server.client().get("/sales/dashboard", token=token or "")
        assert (http.status, http.json["errorCode"], http.json["errors"]) == (status, code, body["errors"])


async def _closed(conn) -> int | None:
    """Reads until the server closes the socket (events may still be in flight) -> close code."""
    for _ in range(100):
        if await _read(conn) is None:
            return conn.close_code
    raise AssertionError("the socket stayed open")


async def _read(conn):
    return await asyncio.wait_for(conn.read_message(), WAIT)


async def test_logout_closes_the_socket(app_server, staff, sockets) -> None:
    conn = await connect(app_server, staff["manager"].token, sockets)
    other = await connect(app_server, staff["admin"].token, sockets)
    assert (await receive(conn))["type"] == "hello" and (await receive(other))["type"] == "hello"
    r = await staff["manager"].post("/auth/logout", {})
    assert r.status == 200, r.body
    assert await _closed(conn) == CLOSE_AUTH_EXPIRED
    # Someone else's socket stays open and keeps receiving.
    app_server.ctx.event_bus.publish({"type": "alert", "alertId": "still-here"})
    assert (await receive(other))["alertId"] == "still-here"


async def test_deactivating_the_user_closes_the_socket(app_server, staff, sockets) -> None:
    conn = await connect(app_server, staff["manager"].token, sockets)
    assert (await receive(conn))["type"] == "hello"
    me = (await staff["manager"].get("/auth/me")).data["user"]
    r = await staff["admin"].delete(f"/users/{me['id']}")
    assert r.status == 200, r.body
    assert await _closed(conn) == CLOSE_AUTH_EXPIRED


async def test_an_expired_token_closes_the_socket_on_the_next_push(app_server, clock, staff, sockets) -> None:
    conn = await connect(app_server, staff["manager"].token, sockets)
    assert (await receive(conn))["type"] == "hello"
    clock.now += timedelta(days=2)  # past any access token's lifetime
    app_server.ctx.event_bus.publish({"type": "alert", "alertId": "after-expiry"})
    assert await _closed(conn) == CLOSE_AUTH_EXPIRED
