"""WS /ws/prep: the station's open tickets on connect, then every new or changed ticket - also from
another server process (PostgreSQL) - and closed when the login ends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClientConnection, websocket_connect

from main import make_app
from orm.domain import jsonenc
from tests.prep_support import build_prep_menu, line, sell
from tests.support import PG_URL, RunningServer

WAIT = 10.0  # upper bound for a message to arrive; never a timing assertion
CLOSE_AUTH_EXPIRED = 4401


@pytest.fixture
async def sockets():
    """The sockets a test opens, closed after it - each read to its end, so none is left open
    with unread messages when the loop stops."""
    opened: list[WebSocketClientConnection] = []
    yield opened
    for conn in opened:
        was_open = conn.close_code is None
        conn.close()
        for _ in range(1000 if was_open else 0):
            if await asyncio.wait_for(conn.read_message(), WAIT) is None:
                break


async def connect(server: RunningServer, token: str | None, opened: list, **params: str) -> WebSocketClientConnection:
    query = "&".join(f"{k}={v}" for k, v in ({"token": token} if token else {}).items() | params.items())
    conn = await websocket_connect(f"ws://127.0.0.1:{server.port}/ws/prep" + (f"?{query}" if query else ""))
    opened.append(conn)
    return conn


async def receive(conn: WebSocketClientConnection) -> dict[str, Any]:
    raw = await asyncio.wait_for(conn.read_message(), WAIT)
    assert raw is not None, "the server closed the socket"
    return jsonenc.loads(raw)


async def receive_ticket(conn: WebSocketClientConnection, order_id: str) -> dict[str, Any]:
    """The next ticket message about `order_id` (others - earlier changes - may come first)."""
    for _ in range(50):
        message = await receive(conn)
        assert message["type"] == "ticket", message
        if message["ticket"]["orderId"] == order_id:
            return message["ticket"]
    raise AssertionError("no ticket message for the order")


async def test_hello_then_every_change_of_the_station(app_server, staff, sockets) -> None:
    admin, cashier = staff["admin"], staff["cashier"]
    menu = await build_prep_menu(admin)
    before = await sell(cashier, line(menu["latte"]), line(menu["toastie"]))
    bar = await connect(app_server, cashier.token, sockets, station="bar")
    everything = await connect(app_server, staff["manager"].token, sockets)
    hello = await receive(bar)
    assert hello["type"] == "hello" and hello["station"] == "bar"
    assert hello["tickets"] == (await cashier.get("/prep/tickets?station=bar")).data["tickets"]
    assert [t["orderId"] for t in hello["tickets"]] == [before["id"]]
    assert [t["station"] for t in (await receive(everything))["tickets"]] == ["bar", "kitchen"]

    order = await sell(cashier, line(menu["espresso"], 2, notes="short"), line(menu["toastie"]))
    ticket = await receive_ticket(bar, order["id"])
    assert ticket == (await cashier.get("/prep/tickets?station=bar")).data["tickets"][1] | {
        "waitingSeconds": ticket["waitingSeconds"]}
    assert ticket["items"][0]["notes"] == "short" and ticket["items"][0]["prepStatus"] == "queued"
    seen = {(await receive(everything))["ticket"]["station"] for _ in range(2)}
    assert seen == {"bar", "kitchen"}

    assert (await cashier.post(f"/prep/tickets/{order['id']}/bar/start")).status == 200
    assert {i["prepStatus"] for i in (await receive_ticket(bar, order["id"]))["items"]} == {"in_progress"}
    assert (await cashier.post(f"/prep/tickets/{order['id']}/bar/ready")).status == 200
    assert {i["prepStatus"] for i in (await receive_ticket(bar, order["id"]))["items"]} == {"ready"}
    assert (await cashier.post(f"/orders/{order['id']}/collected")).status == 200
    assert {i["prepStatus"] for i in (await receive_ticket(bar, order["id"]))["items"]} == {"collected"}
    r = await staff["manager"].post(f"/orders/{before['id']}/void", {"reason": "wrong table"})
    assert r.status == 200, r.body
    assert {i["prepStatus"] for i in (await receive_ticket(bar, before["id"]))["items"]} == {"cancelled"}
    # The kitchen-only sale never reaches the bar socket: the next bar message is about this one.
    await sell(cashier, line(menu["toastie"]))
    last = await sell(cashier, line(menu["latte"]))
    assert (await receive(bar))["ticket"]["orderId"] == last["id"]


async def test_a_burst_of_sales_reaches_the_station(app_server, staff, sockets) -> None:
    admin, cashier = staff["admin"], staff["cashier"]
    menu = await build_prep_menu(admin)
    bar = await connect(app_server, cashier.token, sockets, station="bar")
    assert (await receive(bar))["tickets"] == []
    orders = await asyncio.gather(*(sell(cashier, line(menu["latte"])) for _ in range(16)))
    got: set[str] = set()
    while got != {o["id"] for o in orders}:
        got.add((await receive(bar))["ticket"]["orderId"])


async def test_refused_without_token_permission_or_station(app_server, staff, sockets) -> None:
    for token, params, status in [(None, {}, 401), ("not-a-jwt", {}, 401), (staff["trainee"].token, {}, 403),
                                  (staff["cashier"].token, {"station": "terrace"}, 400)]:
        with pytest.raises(HTTPClientError) as info:
            await connect(app_server, token, sockets, **params)
        assert info.value.code == status
        body = jsonenc.loads(info.value.response.body)
        assert body["success"] is False and body["statusCode"] == status


async def test_logout_closes_the_socket(app_server, staff, sockets) -> None:
    conn = await connect(app_server, staff["manager"].token, sockets, station="kitchen")
    assert (await receive(conn))["type"] == "hello"
    assert (await staff["manager"].post("/auth/logout", {})).status == 200
    for _ in range(100):
        if await asyncio.wait_for(conn.read_message(), WAIT) is None:
            break
    assert conn.close_code == CLOSE_AUTH_EXPIRED


@pytest.mark.skipif(not PG_URL, reason="events between server processes travel through PostgreSQL")
async def test_a_sale_on_another_process_reaches_the_station(app_server, app_settings, clock, staff,
                                                            sockets) -> None:
    menu = await build_prep_menu(staff["admin"])
    other = RunningServer(make_app(app_settings, clock=clock))
    try:
        conn = await connect(other, staff["cashier"].token, sockets, station="kitchen")  # process B
        assert (await receive(conn))["type"] == "hello"
        order = await sell(staff["cashier"], line(menu["toastie"]))  # sold on process A
        ticket = (await receive(conn))["ticket"]
        assert (ticket["orderId"], ticket["station"]) == (order["id"], "kitchen")
        assert (await staff["cashier"].post(f"/prep/tickets/{order['id']}/kitchen/ready")).status == 200
        assert {i["prepStatus"] for i in (await receive(conn))["ticket"]["items"]} == {"ready"}
    finally:
        await other.stop()
