"""The movement trail lists changes in the order they were applied (issue 13, item 5).

Under load the request stamped first is not always the one applied first, so a trail sorted by request
time contradicts itself.  These tests make stamps and apply order disagree on purpose - units of work
whose injected clocks run backwards, and a burst of HTTP requests against a server whose clock stands
still - and check the invariant API.md promises: listed newest first, each row's resultingLevel is the
previous (older) row's of that item plus its delta, and the newest row shows the current stock.
Real parallel transactions on PostgreSQL; SQLite serialises the same work.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from alembic import command
from sqlalchemy import column, insert, select, table

from main import make_app
from orm.controllers.inventory import stock
from orm.controllers.inventory.stock import apply_stamp
from orm.db import make_engine, make_session_factory, unit_of_work
from orm.migrate import alembic_config, upgrade_to_head
from orm.models.model_inventory import InventoryItem, StockMovement
from tests.inventory_helpers import NOW, STORE, level, make_item, principal
from tests.support import PG_URL, RunningServer, _admin_engine, _with_db
from tests.test_concurrency_stock import burst, ingredient, menu_item, no_server_errors, sale

CLOCK_START = NOW  # the `clock` fixture (conftest) starts here
D = Decimal


def assert_one_unbroken_trail(rows: list[dict[str, Any]], current: dict[str, Decimal]) -> None:
    """rows: a movement list, newest first, possibly of several items interleaved."""
    by_item: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_item[row["inventoryItemId"]].append(row)
    assert set(by_item) == set(current)
    for item_id, trail in by_item.items():
        assert D(trail[0]["resultingLevel"]) == current[item_id], item_id
        for newer, older in pairwise(trail):
            assert D(newer["resultingLevel"]) == D(older["resultingLevel"]) + D(newer["delta"]), (newer, older)
        assert D(trail[-1]["resultingLevel"]) == D(trail[-1]["delta"])  # the opening stock, from zero


def _change(factory, n: int, beans: str, milk: str) -> None:
    """One of four kinds of change, stamped with a clock that runs backwards as the work goes on."""
    now = NOW - timedelta(seconds=n)
    kind = n % 4
    if kind == 0:  # a sale: both items in one statement
        unit_of_work(factory, stock.apply_movements, store_id=STORE,
                     lines=[(beans, D("-0.018")), (milk, D("-0.2"))], movement_type="sale", user_id=None,
                     reason="sale", reference=f"order-{n}", now=now, allow_negative=True)
    elif kind == 1:  # a refund puts some back
        unit_of_work(factory, stock.apply_movements, store_id=STORE, lines=[(beans, D("0.018"))],
                     movement_type="refund", user_id=None, reason="refund", reference=f"order-{n}", now=now,
                     allow_negative=True)
    elif kind == 2:  # a manager's adjustment
        unit_of_work(factory, stock.adjust, principal("manager"), milk, movement_type="waste",
                     quantity=D("-0.1"), new_level=None, reason=f"spilt {n}", now=now)
    else:  # a count sets a level (read under a row lock, then changed)
        unit_of_work(factory, stock.set_level, store_id=STORE, item_id=beans, new_level=D("20") + n,
                     movement_type="count", user_id=None, reason=f"count {n}", reference=None, now=now)


@pytest.mark.timeout(300)
async def test_parallel_units_of_work_with_backward_clocks_leave_a_consistent_trail(settings, admin):
    beans = make_item(settings, "Beans", stock="50", now=NOW - timedelta(days=1))["id"]
    milk = make_item(settings, "Milk", unit="l", stock="80", now=NOW - timedelta(days=1))["id"]
    engine = make_engine(settings.database_url, pool_size=12, max_overflow=0)
    try:
        factory = make_session_factory(engine)
        with ThreadPoolExecutor(12) as pool:
            list(pool.map(lambda n: _change(factory, n, beans, milk), range(120)))
    finally:
        engine.dispose()
    current = {beans: level(settings, beans), milk: level(settings, milk)}
    # beans: opening, 30 sales, 30 refunds, 30 counts; milk: opening, 30 sales, 30 wastes
    for item_id, total in ((beans, 91), (milk, 61)):
        resp = await admin.get(f"/inventory/{item_id}/movements?perPage=200")
        assert resp.status == 200 and resp.data["total"] == total
        assert_one_unbroken_trail(resp.data["movements"], {item_id: current[item_id]})
    resp = await admin.get("/inventory/movements?perPage=200")
    assert resp.data["total"] == 152
    assert_one_unbroken_trail(resp.data["movements"], current)
    # Paging follows the same order: two pages of the item's list are the one long list cut in two.
    first = await admin.get(f"/inventory/movements?itemId={beans}&perPage=50&page=1")
    second = await admin.get(f"/inventory/movements?itemId={beans}&perPage=50&page=2")
    whole = await admin.get(f"/inventory/{beans}/movements?perPage=200")
    assert [m["id"] for m in first.data["movements"] + second.data["movements"]] == \
        [m["id"] for m in whole.data["movements"]]


@pytest.fixture
async def server(settings, clock) -> AsyncIterator[RunningServer]:
    """The shared fixtures (tokens, as_role, admin) talk to this server, whose clock stands still."""
    running = RunningServer(make_app(settings, clock=clock))
    yield running
    await running.stop()


@pytest.mark.timeout(300)
async def test_a_burst_of_sales_and_adjustments_at_one_instant_lists_in_applied_order(server, tokens, admin):
    """Every request carries the same time; only the order they were applied in tells them apart."""
    beans = await ingredient(admin, "Beans", "10")
    cups = await ingredient(admin, "Cups", "500")
    latte = await menu_item(admin, "Latte", [(beans, "0.018"), (cups, "1")])
    work: list[tuple[str, str, Any]] = []
    for i in range(80):
        if i % 3:
            work.append(("POST", "/orders", sale(latte, 1 + i % 2)))
        else:
            work.append(("POST", f"/inventory/{beans}/adjust", {"quantity": "0.5", "type": "restock",
                                                                "reason": f"delivery {i}"}))
    answers = await burst(server, tokens["manager"], work, clients=16)
    no_server_errors(answers)
    assert {a.status for a in answers} == {200, 201}
    items = {i["id"]: D(i["currentStock"]) for i in (await admin.get("/inventory")).data["inventory"]}
    resp = await admin.get("/inventory/movements?perPage=200")
    assert resp.data["total"] == 2 + 27 + 53 * 2  # openings, restocks, one movement per item per sale
    assert_one_unbroken_trail(resp.data["movements"], items)
    for item_id in (beans, cups):
        resp = await admin.get(f"/inventory/{item_id}/movements?perPage=200")
        assert_one_unbroken_trail(resp.data["movements"], {item_id: items[item_id]})


def test_the_migration_stamps_existing_movements_in_their_old_order(tmp_path):
    """0011_movement_seq: old rows get stamps from created_at (ties in id order) and each item's counter
    continues after its last one, so the trail of a running café keeps its order across the upgrade."""
    if PG_URL:
        name = f"cafepos_mig10_{os.getpid()}"
        admin_engine = _admin_engine(PG_URL)
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = _with_db(PG_URL, name)
    else:
        url = f"sqlite:///{tmp_path / 'old.db'}"
    at = NOW.replace(microsecond=250)
    engine = None
    try:
        command.upgrade(alembic_config(url), "0009_reports")
        engine = make_engine(url, pooled=False)
        with engine.begin() as conn:  # the 0009 schema, spelt out: the models are already at head
            item = table("inventory_items", *map(column, (
                "id", "store_id", "name", "category", "supplier", "unit", "current_stock", "min_stock_level",
                "location", "is_active", "created_at", "updated_at")))
            moves = table("stock_movements", *map(column, ("id", "store_id", "inventory_item_id", "movement_type",
                                                           "delta", "resulting_level", "reason", "created_at")))
            stored = at.replace(tzinfo=None) if not PG_URL else at
            conn.execute(insert(item).values(id="item-1", store_id=STORE, name="Beans", category="", supplier="",
                                             unit="kg", current_stock=3000, min_stock_level=0, location="",
                                             is_active=True, created_at=stored, updated_at=stored))
            for n, (movement_id, when) in enumerate([("b", 0), ("a", 0), ("c", 1)]):
                conn.execute(insert(moves).values(id=movement_id, store_id=STORE, inventory_item_id="item-1",
                                                  movement_type="restock", delta=1000, resulting_level=1000 * (n + 1),
                                                  reason="", created_at=stored + timedelta(seconds=when)))
        upgrade_to_head(url)
        with engine.connect() as conn:
            stamps = conn.execute(select(StockMovement.id, StockMovement.seq).order_by(StockMovement.seq)).all()
            counter = conn.scalar(select(InventoryItem.movement_seq))
        first = apply_stamp(at)
        assert [tuple(r) for r in stamps] == [("a", first), ("b", first + 1), ("c", first + 1_000_000)]
        assert counter == first + 1_000_000
    finally:
        if engine is not None:
            engine.dispose()
        if PG_URL:
            with admin_engine.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin_engine.dispose()
