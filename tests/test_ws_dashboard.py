"""WS /ws/dashboard: hello with metrics, then order/refund/void/alert events with fresh metrics -
also when the sale was taken by another server process (PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from main import make_app
from orm.domain import jsonenc
from tests import reports_support as support
from tests.reports_support import Ledger, refund, sell, void
from tests.support import PG_URL, RunningServer

CLOCK_START = support.NOW  # the `clock` fixture starts here
WAIT = 10.0  # upper bound for a message to arrive; never a timing assertion


def ws_url(server: RunningServer, token: str | None, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in ({"token": token} if token else {}).items() | params.items())
    return f"ws://127.0.0.1:{server.port}/ws/dashboard" + (f"?{query}" if query else "")


async def receive(conn: WebSocketClientConnection) -> dict[str, Any]:
    raw = await asyncio.wait_for(conn.read_message(), WAIT)
    assert raw is not None, "the server closed the socket"
    return jsonenc.loads(raw)


async def connect(server: RunningServer, token: str | None, opened: list, **params: str) -> WebSocketClientConnection:
    conn = await websocket_connect(ws_url(server, token, **params))
    opened.append(conn)
    return conn


async def test_hello_then_live_order_refund_and_void(app_server, staff, menu, sockets) -> None:
    conn = await connect(app_server, staff["cashier"].token, sockets)
    hello = await receive(conn)
    assert hello["type"] == "hello"
    dashboard = await staff["cashier"].get("/sales/dashboard")
    assert hello["metrics"] == dashboard.data["metrics"]
    assert hello["metrics"]["totalTransactions"] == 0

    led = Ledger()
    order = await sell(staff["cashier"], led, menu, [("latte", 2)], tip="0.50")
    event = await receive(conn)
    assert (event["type"], event["orderId"], event["orderNumber"]) == ("order", order["id"], order["orderNumber"])
    assert event["metrics"]["totalRevenue"] == order["total"] - order["tipAmount"]
    assert event["metrics"]["totalTransactions"] == 1 and event["metrics"]["dailyTransactions"] == 1

    back = await refund(staff["manager"], led, order, [(0, 1)])
    event = await receive(conn)
    assert (event["type"], event["refundId"], event["amount"]) == ("refund", back["id"], back["amount"])
    assert event["metrics"]["totalRefunds"] == back["amount"]
    assert event["metrics"]["totalRevenue"] == order["total"] - order["tipAmount"] - back["amount"]

    second = await sell(staff["cashier"], led, menu, [("espresso", 1)])
    assert (await receive(conn))["orderId"] == second["id"]
    await void(staff["manager"], led, second)
    event = await receive(conn)
    assert event["type"] == "void" and event["orderId"] == second["id"]
    assert event["metrics"]["totalTransactions"] == 1  # the voided sale no longer counts

    conn.write_message("ping")
    assert (await receive(conn))["type"] == "pong"


async def test_alerts_reach_every_socket_and_store_filter(app_server, staff, menu, sockets) -> None:
    r = await staff["admin"].post("/stores", {"name": "Harbour kiosk"})
    assert r.status == 201, r.body
    other = await connect(app_server, staff["manager"].token, sockets, storeId=r.data["store"]["id"])
    mine = await connect(app_server, staff["manager"].token, sockets)
    assert (await receive(other))["type"] == "hello" and (await receive(mine))["type"] == "hello"
    await sell(staff["cashier"], Ledger(), menu, [("croissant", 1)])
    assert (await receive(mine))["type"] == "order"
    # An alert names no store: every socket gets it.  The other store's socket gets it as its first
    # message, so it never received the default store's sale.
    app_server.ctx.event_bus.publish({"type": "alert", "alert": {"id": "a1", "type": "low_stock"}})
    first = await receive(other)
    assert first["type"] == "alert" and first["alert"]["id"] == "a1"
    assert first["metrics"]["totalTransactions"] == 0
    assert (await receive(mine))["type"] == "alert"


async def test_refused_without_token_or_permission(app_server, staff, sockets) -> None:
    cases = [(None, 401), ("not-a-jwt", 401), (staff["trainee"].token, 403)]
    for token, status in cases:
        with pytest.raises(HTTPClientError) as info:
            await connect(app_server, token, sockets)
        assert info.value.code == status
        body = jsonenc.loads(info.value.response.body)
        assert body["success"] is False and body["statusCode"] == status and body["errors"]
    with pytest.raises(HTTPClientError) as info:
        await connect(app_server, staff["manager"].token, sockets, storeId="no-such-store")
    assert info.value.code == 400
    # A browser page from a foreign origin may not open it (CSRF-like use of a leaked token).
    request = HTTPRequest(ws_url(app_server, staff["manager"].token), headers={"Origin": "http://evil.example"})
    with pytest.raises(HTTPClientError) as info:
        sockets.append(await websocket_connect(request))
    assert info.value.code == 403
    allowed = HTTPRequest(ws_url(app_server, staff["manager"].token), headers={"Origin": "http://localhost:5173"})
    conn = await websocket_connect(allowed)
    sockets.append(conn)
    assert (await receive(conn))["type"] == "hello"


@pytest.mark.skipif(not PG_URL, reason="events between server processes travel through PostgreSQL")
async def test_a_sale_on_another_process_reaches_the_socket(app_server, app_settings, clock, staff, menu,
                                                           sockets) -> None:
    other = RunningServer(make_app(app_settings, clock=clock))
    try:
        conn = await connect(other, staff["manager"].token, sockets)  # the socket lives on process B
        assert (await receive(conn))["type"] == "hello"
        order = await sell(staff["cashier"], Ledger(), menu, [("juice", 1)])  # the sale on process A
        event = await receive(conn)
        assert event["type"] == "order" and event["orderId"] == order["id"]
        assert event["metrics"]["totalRevenue"] == order["total"]
        assert "origin" not in event
    finally:
        await other.stop()
