"""WS /ws/pickup [prep.board]: the customer-facing pickup board - order numbers and first names only -
through a sale, its tickets getting ready and collected, cancellations and the passing of time; also
when the sale was taken by another server process (PostgreSQL), and closed when the login ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClientConnection, websocket_connect

from main import make_app
from orm.domain import jsonenc
from orm.domain.stores import DEFAULT_STORE_ID
from tests import reports_support as support
from tests.prep_support import move, set_stations
from tests.reports_support import Ledger, sell
from tests.support import PG_URL, RunningServer

CLOCK_START = support.NOW  # the `clock` fixture starts here
WAIT = 10.0  # upper bound for a message to arrive; never a timing assertion
BOARD_KEYS = {"type", "preparing", "ready", "firstNames"}
CLOSE_AUTH_EXPIRED = 4401


async def connect(server: RunningServer, token: str | None, opened: list) -> WebSocketClientConnection:
    query = f"?token={token}" if token else ""
    conn = await websocket_connect(f"ws://127.0.0.1:{server.port}/ws/pickup{query}")
    opened.append(conn)
    return conn


def check_nothing_else(raw: str) -> dict[str, Any]:
    """A board message and nothing but order numbers and first names (no items, prices, surnames...)."""
    board = jsonenc.loads(raw)
    assert set(board) == BOARD_KEYS and board["type"] == "board", board
    assert all(isinstance(n, str) for n in board["preparing"] + board["ready"]), board
    assert set(board["firstNames"]) <= set(board["preparing"]) | set(board["ready"]), board
    assert all(isinstance(v, str) and v and " " not in v for v in board["firstNames"].values()), board
    for leak in ("Schmidt", "Latte", "Croissant", "4.50", "cashier", "manager", "bar", "kitchen"):
        assert leak not in raw, (leak, raw)
    return board


async def receive(conn: WebSocketClientConnection) -> dict[str, Any]:
    raw = await asyncio.wait_for(conn.read_message(), WAIT)
    assert raw is not None, "the server closed the socket"
    assert isinstance(raw, str)
    return check_nothing_else(raw)


async def until(conn: WebSocketClientConnection, holds: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Boards until one satisfies `holds` (bursts of events may be coalesced into one board)."""
    for _ in range(50):
        board = await receive(conn)
        if holds(board):
            return board
    raise AssertionError("the board never got there")


async def test_a_sale_through_ready_and_collected(app_server, app_settings, clock, staff, menu, sockets) -> None:
    set_stations(app_settings)
    conn = await connect(app_server, staff["manager"].token, sockets)
    assert await receive(conn) == {"type": "board", "preparing": [], "ready": [], "firstNames": {}}

    led = Ledger()
    anna = await sell(staff["cashier"], led, menu, [("latte", 2), ("croissant", 1)], customer="Anna Maria Schmidt")
    number = anna["orderNumber"]
    board = await until(conn, lambda b: number in b["preparing"])
    assert board == {"type": "board", "preparing": [number], "ready": [], "firstNames": {number: "Anna"}}

    # A bottle of juice has nothing to prepare: it never shows.  The next coffee queues behind Anna.
    juice = await sell(staff["cashier"], led, menu, [("juice", 1)])
    ben = await sell(staff["cashier"], led, menu, [("espresso", 1)])
    board = await until(conn, lambda b: ben["orderNumber"] in b["preparing"])
    assert board["preparing"] == [number, ben["orderNumber"]] and juice["orderNumber"] not in str(board)
    assert board["firstNames"] == {number: "Anna"}

    # The coffee is ready, the croissant is still in the oven: Anna's order is still being made.
    clock.advance(seconds=90)
    move(app_server, app_settings, anna["id"], "bar", "ready", clock())
    clock.advance(seconds=60)
    move(app_server, app_settings, ben["id"], "bar", "ready", clock())
    board = await until(conn, lambda b: ben["orderNumber"] in b["ready"])
    assert board["preparing"] == [number] and board["ready"] == [ben["orderNumber"]]

    clock.advance(seconds=30)
    move(app_server, app_settings, anna["id"], "kitchen", "ready", clock())
    board = await until(conn, lambda b: number in b["ready"])
    assert board == {"type": "board", "preparing": [], "ready": [number, ben["orderNumber"]],  # latest first
                     "firstNames": {number: "Anna"}}

    # Collected: off the board.
    move(app_server, app_settings, anna["id"], "bar", "collected", clock())
    move(app_server, app_settings, anna["id"], "kitchen", "collected", clock())
    board = await until(conn, lambda b: number not in b["ready"])
    assert board["ready"] == [ben["orderNumber"]] and board["firstNames"] == {}

    # A ticket nobody marked collected leaves the screen two hours after it was ready.
    late = await sell(staff["cashier"], led, menu, [("latte", 1)], customer="  carla  ")
    await until(conn, lambda b: late["orderNumber"] in b["preparing"])
    move(app_server, app_settings, late["id"], "bar", "ready", clock())
    board = await until(conn, lambda b: late["orderNumber"] in b["ready"])
    assert board["ready"] == [late["orderNumber"], ben["orderNumber"]]
    assert board["firstNames"] == {late["orderNumber"]: "carla"}
    clock.advance(hours=2, seconds=1)
    fresh = await sell(staff["cashier"], led, menu, [("espresso", 1)])
    board = await until(conn, lambda b: fresh["orderNumber"] in b["preparing"])
    assert board["ready"] == [] and board["preparing"] == [fresh["orderNumber"]]

    conn.write_message("ping")
    raw = await asyncio.wait_for(conn.read_message(), WAIT)
    assert jsonenc.loads(raw) == {"type": "pong"}


async def test_cancelled_lines_leave_the_board(app_server, app_settings, clock, staff, menu, sockets) -> None:
    set_stations(app_settings)
    conn = await connect(app_server, staff["admin"].token, sockets)
    await receive(conn)
    order = await sell(staff["cashier"], Ledger(), menu, [("latte", 1), ("croissant", 1)])
    await until(conn, lambda b: order["orderNumber"] in b["preparing"])
    move(app_server, app_settings, order["id"], "kitchen", "cancelled", clock())  # a refund of the croissant
    move(app_server, app_settings, order["id"], "bar", "ready", clock())
    board = await until(conn, lambda b: order["orderNumber"] in b["ready"])
    assert board["preparing"] == []
    move(app_server, app_settings, order["id"], "bar", "cancelled", clock())  # and then the whole order voided
    board = await until(conn, lambda b: not b["ready"])
    assert board == {"type": "board", "preparing": [], "ready": [], "firstNames": {}}


async def test_a_burst_of_events_is_one_board_read(app_server, app_settings, staff, menu, sockets) -> None:
    set_stations(app_settings)
    conn = await connect(app_server, staff["manager"].token, sockets)
    await receive(conn)
    first = await sell(staff["cashier"], Ledger(), menu, [("latte", 1)])
    await until(conn, lambda b: first["orderNumber"] in b["preparing"])
    hub = app_server.ctx.pickup_hub
    before = hub.refreshes
    for _ in range(20):  # twenty stations pressing buttons at once (published on the loop: delivered at once)
        app_server.ctx.event_bus.publish({"type": "ticket", "storeId": DEFAULT_STORE_ID, "orderId": first["id"],
                                          "station": "bar"})
    second = await sell(staff["cashier"], Ledger(), menu, [("espresso", 1)])
    await until(conn, lambda b: second["orderNumber"] in b["preparing"])
    # 21 events: the burst is read once, the sale at most once more (or together with the burst).
    assert 1 <= hub.refreshes - before <= 2


async def test_refused_without_token_or_permission(app_server, staff, sockets) -> None:
    # prep.board: admin and manager (and the display role); a till's cashier or a trainee may not.
    for token, status in [(None, 401), ("not-a-jwt", 401), (staff["cashier"].token, 403),
                          (staff["trainee"].token, 403)]:
        with pytest.raises(HTTPClientError) as info:
            await connect(app_server, token, sockets)
        assert info.value.code == status
        body = jsonenc.loads(info.value.response.body)
        assert body["success"] is False and body["statusCode"] == status


async def _closed(conn: WebSocketClientConnection) -> int | None:
    for _ in range(100):
        if await asyncio.wait_for(conn.read_message(), WAIT) is None:
            return conn.close_code
    raise AssertionError("the socket stayed open")


async def test_logout_closes_the_board(app_server, app_settings, staff, menu, sockets) -> None:
    set_stations(app_settings)
    conn = await connect(app_server, staff["manager"].token, sockets)
    other = await connect(app_server, staff["admin"].token, sockets)
    await receive(conn)
    await receive(other)
    r = await staff["manager"].post("/auth/logout", {})
    assert r.status == 200, r.body
    assert await _closed(conn) == CLOSE_AUTH_EXPIRED
    order = await sell(staff["cashier"], Ledger(), menu, [("espresso", 1)])  # the other screen carries on
    await until(other, lambda b: order["orderNumber"] in b["preparing"])


async def test_an_expired_token_closes_the_board_on_the_next_push(app_server, app_settings, clock, staff, menu,
                                                                  sockets) -> None:
    set_stations(app_settings)
    conn = await connect(app_server, staff["manager"].token, sockets)
    await receive(conn)
    clock.now += timedelta(days=2)  # past any access token's lifetime
    app_server.ctx.event_bus.publish({"type": "ticket", "storeId": None})
    assert await _closed(conn) == CLOSE_AUTH_EXPIRED


@pytest.mark.skipif(not PG_URL, reason="events between server processes travel through PostgreSQL")
async def test_a_sale_on_another_process_reaches_the_board(app_server, app_settings, clock, staff, menu,
                                                          sockets) -> None:
    set_stations(app_settings)
    other = RunningServer(make_app(app_settings, clock=clock))
    try:
        conn = await connect(other, staff["manager"].token, sockets)  # the screen hangs off process B
        assert (await receive(conn))["preparing"] == []
        order = await sell(staff["cashier"], Ledger(), menu, [("latte", 1)], customer="Dana Fox")  # sold on A
        board = await until(conn, lambda b: order["orderNumber"] in b["preparing"])
        assert board["firstNames"] == {order["orderNumber"]: "Dana"}
        move(app_server, app_settings, order["id"], "bar", "ready", clock())  # made on A too
        await until(conn, lambda b: b["ready"] == [order["orderNumber"]])
    finally:
        await other.stop()
