"""Events after commit, in one place: what a unit of work raises (orm.db.events) reaches the live
dashboard once it committed - alerts from inventory create/update and the CSV import too - and
nothing of a unit that failed or of a failed attempt of a retried one."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from orm.db import Event, events
from orm.domain.errors import ValidationFailed
from orm.domain.stores import DEFAULT_STORE_ID as STORE
from tests import reports_support as support
from tests.test_ws_dashboard import connect, receive

CLOCK_START = support.NOW  # the `clock` fixture starts here
WAIT = 10.0  # upper bound for an event to arrive; never a timing assertion


async def hello(app_server, staff, opened) -> Any:
    conn = await connect(app_server, staff["manager"].token, opened)
    assert (await receive(conn))["type"] == "hello"
    return conn


async def test_alert_of_an_inventory_create_reaches_the_dashboard(app_server, staff, sockets) -> None:
    conn = await hello(app_server, staff, sockets)
    r = await staff["admin"].post("/inventory", {"name": "Oat milk", "unit": "l", "currentStock": 2,
                                                 "minStockLevel": 5})
    assert r.status == 201, r.body
    event = await receive(conn)
    assert (event["type"], event["alertType"], event["inventoryItemId"]) == ("alert", "low_stock",
                                                                            r.data["item"]["id"])
    assert event["status"] == "active" and event["storeId"] == STORE
    assert event["metrics"] is not None


async def test_alert_of_an_inventory_update_reaches_the_dashboard(app_server, staff, sockets) -> None:
    r = await staff["admin"].post("/inventory", {"name": "Cups", "unit": "pcs", "currentStock": 50,
                                                 "minStockLevel": 10})
    assert r.status == 201, r.body
    item_id = r.data["item"]["id"]
    conn = await hello(app_server, staff, sockets)
    r = await staff["admin"].put(f"/inventory/{item_id}", {"minStockLevel": 60})
    assert r.status == 200, r.body
    event = await receive(conn)
    assert (event["type"], event["alertType"], event["inventoryItemId"]) == ("alert", "low_stock", item_id)


async def test_alerts_of_a_csv_import_reach_the_dashboard(app_server, staff, sockets) -> None:
    conn = await hello(app_server, staff, sockets)
    csv = "name,unit,currentStock,minStockLevel\r\nSugar,kg,1,4\r\nLids,pcs,0,10\r\n"
    r = await staff["admin"].request("POST", "/inventory/import", body=csv,
                                     headers={"Content-Type": "text/csv; charset=utf-8"})
    assert r.status == 200, r.body
    got = {(e["type"], e["alertType"], e["title"]) for e in [await receive(conn), await receive(conn)]}
    assert got == {("alert", "low_stock", "Low stock: Sugar"), ("alert", "out_of_stock", "Out of stock: Lids")}


async def test_a_dry_run_import_raises_nothing(app_server, staff, sockets) -> None:
    conn = await hello(app_server, staff, sockets)
    r = await staff["admin"].post("/inventory/import?dryRun=true", {"rows": [{"name": "Salt", "unit": "kg",
                                                                              "currentStock": "0"}]})
    assert r.status == 200, r.body
    marker = await app_server.ctx.run_db(_raise, Event("alert", None, {"marker": "after"}))
    assert marker == 1
    assert (await receive(conn)).get("marker") == "after"  # the first event is the one after the dry run


def _raise(session: Session, event: Event, *, then: BaseException | None = None) -> int:
    events(session).add(event)
    if then is not None:
        raise then
    return len(events(session))


async def _listen(app_server) -> asyncio.Queue[dict[str, Any]]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    app_server.ctx.event_bus.subscribe(queue.put_nowait)
    return queue


async def test_a_failed_unit_publishes_nothing(app_server) -> None:
    queue = await _listen(app_server)
    failed = Event("order", None, {"orderId": "rolled-back"})
    try:
        await app_server.ctx.run_db(_raise, failed, then=ValidationFailed("no"))
    except ValidationFailed:
        pass
    else:
        raise AssertionError("the unit should have failed")
    await app_server.ctx.run_db(_raise, Event("order", None, {"orderId": "committed"}))
    first = await asyncio.wait_for(queue.get(), WAIT)
    assert first["orderId"] == "committed" and queue.empty()


def _locked_once(attempts: list[int]):
    """Raises an event, then - on the first attempt only - the error of a SQLite write lock (retried)."""
    def fn(session: Session) -> int:
        attempts.append(1)
        events(session).add(Event("order", None, {"orderId": f"attempt-{len(attempts)}"}))
        if len(attempts) == 1:
            raise OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
        return len(attempts)
    return fn


async def test_a_retried_unit_publishes_only_the_committed_attempt(app_server) -> None:
    queue = await _listen(app_server)
    attempts: list[int] = []
    assert await app_server.ctx.run_db(_locked_once(attempts)) == 2
    await app_server.ctx.run_db(_raise, Event("order", None, {"orderId": "next"}))
    got = [await asyncio.wait_for(queue.get(), WAIT) for _ in range(2)]
    assert [e["orderId"] for e in got] == ["attempt-2", "next"]


def test_event_message_and_order() -> None:
    unit = events(Session())  # no connection needed: the collector lives in session.info
    unit.add(Event("alert", "s1", {"alertId": "a"}))
    unit.add(Event("order", "s1", {"orderId": "o", "total": Decimal("1.50")}), first=True)
    assert [e.message() for e in unit] == [
        {"type": "order", "storeId": "s1", "orderId": "o", "total": Decimal("1.50")},
        {"type": "alert", "storeId": "s1", "alertId": "a"}]
