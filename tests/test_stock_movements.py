"""Stock changes: adjustments, inventory_stock.apply_movements, the movement trail, concurrency."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest

from orm.controllers.inventory import stock as inventory_stock
from orm.db import make_engine, make_session_factory, unit_of_work
from orm.domain.errors import Conflict, NotFound
from orm.models.model_inventory import StockMovement
from tests.conftest import run_unit
from tests.inventory_helpers import STORE, count, level, make_item, movement_sum, movements_of, open_alerts
from tests.support import suite_now

D = Decimal


def apply(settings, lines, *, movement_type="sale", allow_negative=True, reference="order-1", now=None):
    return run_unit(settings, inventory_stock.apply_movements, store_id=STORE, lines=lines,
                    movement_type=movement_type, user_id=None, reason="test", reference=reference,
                    now=now or suite_now(), allow_negative=allow_negative)


async def test_adjust_by_delta_records_movement_and_restock_time(settings, admin):
    item = make_item(settings, "Espresso beans", stock="2", min_level="1", max_level="10")
    resp = await admin.post(f"/inventory/{item['id']}/adjust", {"quantity": "5.250", "type": "restock",
                                                                "reason": "Delivery 4711"})
    assert resp.status == 200, resp.body
    data = resp.data
    assert set(data) == {"item", "movement"}
    assert data["item"]["currentStock"] == D("7.250") and data["item"]["lastRestocked"] is not None
    movement = data["movement"]
    assert set(movement) == {"id", "inventoryItemId", "itemName", "unit", "type", "delta", "resultingLevel",
                             "reason", "reference", "userId", "userName", "createdAt"}
    assert (movement["type"], movement["delta"], movement["resultingLevel"]) == ("restock", D("5.250"), D("7.250"))
    assert movement["reason"] == "Delivery 4711" and movement["userName"] == "admin"
    resp = await admin.post(f"/inventory/{item['id']}/adjust", {"quantity": -1, "type": "waste", "reason": "spilt"})
    assert resp.status == 200 and resp.data["item"]["currentStock"] == D("6.250")
    assert level(settings, item["id"]) == D("6.250")
    assert [m[0] for m in movements_of(settings, item["id"])] == ["count", "restock", "waste"]


async def test_adjust_by_count_sets_new_level(settings, admin):
    item = make_item(settings, "Whole milk", unit="l", stock="12")
    resp = await admin.post(f"/inventory/{item['id']}/adjust", {"newLevel": "9.5", "type": "count",
                                                                "reason": "Stock take"})
    assert resp.status == 200, resp.body
    assert resp.data["movement"]["delta"] == D("-2.500") and resp.data["item"]["currentStock"] == D("9.500")
    # A count that confirms the level is kept in the trail (delta 0).
    resp = await admin.post(f"/inventory/{item['id']}/adjust", {"newLevel": "9.5", "type": "count"})
    assert resp.status == 200 and resp.data["movement"]["delta"] == D("0")
    assert resp.data["movement"]["reason"] == "count"
    assert level(settings, item["id"]) == D("9.5") == movement_sum(settings, item["id"])


async def test_adjust_below_zero_is_409_and_writes_nothing(settings, admin):
    item = make_item(settings, "Oat milk", unit="l", stock="3")
    before = count(settings, StockMovement)
    resp = await admin.post(f"/inventory/{item['id']}/adjust", {"quantity": "-3.001", "type": "waste"})
    assert resp.status == 409 and resp.json["errorCode"] == "CONFLICT"
    assert "Oat milk" in resp.json["errors"][0]
    resp = await admin.post(f"/inventory/{item['id']}/adjust", {"quantity": "-5", "type": "correction"})
    assert resp.status == 409
    assert level(settings, item["id"]) == D("3") and count(settings, StockMovement) == before
    # Down to exactly zero is fine.
    resp = await admin.post(f"/inventory/{item['id']}/adjust", {"quantity": "-3", "type": "waste"})
    assert resp.status == 200 and resp.data["item"]["status"] == "out_of_stock"


async def test_adjust_bad_input_is_400_and_writes_nothing(settings, admin):
    item = make_item(settings, "Soy milk", unit="l", stock="4")
    before = count(settings, StockMovement)
    bad = [
        {"quantity": 1, "newLevel": 2, "type": "count"},        # both
        {"type": "count"},                                      # neither
        {"quantity": 1, "type": "sale"},                        # not an adjustment type
        {"quantity": 0, "type": "correction"},                  # no change
        {"quantity": "1.0001", "type": "restock"},              # more than 3 decimals
        {"quantity": -1, "type": "restock"},                    # a restock must add
        {"quantity": 1, "type": "waste"},                       # waste must take away
        {"newLevel": -1, "type": "count"},                      # a level below zero
        {"quantity": "abc", "type": "restock"},
        {"quantity": 1, "type": "restock", "extra": True},      # unknown field
    ]
    for body in bad:
        resp = await admin.post(f"/inventory/{item['id']}/adjust", body)
        assert resp.status == 400, body
        assert resp.json["errorCode"] == "VALIDATION_ERROR"
    resp = await admin.post("/inventory/no-such-item/adjust", {"quantity": 1, "type": "restock"})
    assert resp.status == 404
    assert count(settings, StockMovement) == before and level(settings, item["id"]) == D("4")


def test_apply_movements_aggregates_sorts_and_references(settings, demo_users):
    beans = make_item(settings, "Beans", stock="1")
    milk = make_item(settings, "Milk", unit="l", stock="2")
    result = apply(settings, [(milk["id"], D("-0.2")), (beans["id"], D("-0.018")), (milk["id"], D("-0.15")),
                              (beans["id"], D("0.018"))], reference="order-42")
    # Beans net to zero: no movement. Milk's two lines are one movement.
    assert [(m["inventoryItemId"], m["delta"], m["resultingLevel"]) for m in result] == \
        [(milk["id"], D("-0.350"), D("1.650"))]
    assert result[0]["reference"] == "order-42" and result[0]["type"] == "sale"
    assert level(settings, beans["id"]) == D("1")
    # Sums are rounded half up to the 3 places a quantity has.
    result = apply(settings, [(beans["id"], D("-0.0004")), (beans["id"], D("-0.0001"))])
    assert result[0]["delta"] == D("-0.001") and level(settings, beans["id"]) == D("0.999")
    lines = [(beans["id"], D("-0.5")), (milk["id"], D("-0.5"))]
    result = apply(settings, lines, movement_type="refund")
    assert [m["inventoryItemId"] for m in result] == sorted([beans["id"], milk["id"]])


def test_sale_below_zero_allowed_raises_out_of_stock_alert(settings):
    item = make_item(settings, "Croissant dough", unit="pcs", stock="2", min_level="1")
    result = apply(settings, [(item["id"], D("-3"))], allow_negative=True)
    assert result[0]["resultingLevel"] == D("-1")
    assert level(settings, item["id"]) == D("-1")
    assert open_alerts(settings, item["id"]) == ["out_of_stock"]


def test_sale_below_zero_refused_writes_nothing(settings):
    a = make_item(settings, "Aaa cups", unit="pcs", stock="10")
    b = make_item(settings, "Bbb lids", unit="pcs", stock="1")
    before = count(settings, StockMovement)
    first, second = sorted([a, b], key=lambda i: i["id"])
    # The second item (in id order) is short: the first was already updated, and the whole unit rolls back.
    with pytest.raises(Conflict) as info:
        apply(settings, [(first["id"], D("-1")), (second["id"], D("-50"))], allow_negative=False)
    assert info.value.data["inventoryItemId"] == second["id"]
    assert level(settings, a["id"]) == D("10") and level(settings, b["id"]) == D("1")
    assert count(settings, StockMovement) == before
    with pytest.raises(NotFound):
        apply(settings, [("missing", D("-1"))], allow_negative=False)
    with pytest.raises(ValueError):
        apply(settings, [(a["id"], D("-1"))], movement_type="theft")


def test_refund_onto_negative_stock_is_allowed_even_when_negatives_are_not(settings):
    item = make_item(settings, "Ham", stock="0")
    apply(settings, [(item["id"], D("-1"))], allow_negative=True)
    result = apply(settings, [(item["id"], D("0.4"))], movement_type="refund", allow_negative=False)
    assert result[0]["resultingLevel"] == D("-0.6")


async def test_movements_sum_to_level_after_mixed_sequence(settings, admin, demo_users):
    items = [make_item(settings, name, stock=stock) for name, stock in (("Flour", "10"), ("Sugar", "5"),
                                                                        ("Butter", "0"))]
    ids = [i["id"] for i in items]
    apply(settings, [(ids[0], D("-2.5")), (ids[1], D("-6")), (ids[2], D("-0.25"))])
    apply(settings, [(ids[1], D("1"))], movement_type="refund")
    await admin.post(f"/inventory/{ids[0]}/adjust", {"quantity": 4, "type": "restock"})
    await admin.post(f"/inventory/{ids[1]}/adjust", {"newLevel": 3, "type": "count"})
    await admin.post(f"/inventory/{ids[2]}/adjust", {"quantity": "0.75", "type": "correction"})
    await admin.put(f"/inventory/{ids[0]}", {"currentStock": "8.125"})
    csv = "name,currentStock\r\nSugar,7\r\n"
    resp = await admin.request("POST", "/inventory/import", body=csv, headers={"Content-Type": "text/csv"})
    assert resp.status == 200, resp.body
    for item_id in ids:
        assert movement_sum(settings, item_id) == level(settings, item_id)
        trail = movements_of(settings, item_id)
        running = D("0")
        for _type, delta, resulting in trail:  # each row's level follows from the previous one
            running += delta
            assert resulting == running
    assert level(settings, ids[0]) == D("8.125") and level(settings, ids[1]) == D("7")
    assert {t for t, _, _ in movements_of(settings, ids[1])} == {"count", "sale", "refund", "import"}


async def test_movement_lists_filters_and_paging(settings, admin, as_role):
    t0 = suite_now() - timedelta(days=3)
    # Stocked before the history below: the trail lists changes in the order they were applied.
    beans = make_item(settings, "Beans", stock="5", now=t0 - timedelta(days=1))
    milk = make_item(settings, "Milk", unit="l", stock="5", now=t0 - timedelta(days=1))
    apply(settings, [(beans["id"], D("-1"))], now=t0)
    apply(settings, [(beans["id"], D("-1"))], now=t0 + timedelta(days=1))
    apply(settings, [(milk["id"], D("-1"))], now=t0 + timedelta(days=2))
    cashier = as_role("cashier")
    resp = await cashier.get("/inventory/movements")
    assert resp.status == 200
    data = resp.data
    assert set(data) == {"movements", "total", "page", "perPage", "pages"}
    assert data["total"] == 5
    stamps = [m["createdAt"] for m in data["movements"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    resp = await cashier.get(f"/inventory/movements?itemId={beans['id']}&type=sale")
    assert [m["delta"] for m in resp.data["movements"]] == [D("-1"), D("-1")]
    resp = await cashier.get(f"/inventory/{beans['id']}/movements?perPage=2&page=1")
    assert resp.data["total"] == 3 and len(resp.data["movements"]) == 2 and resp.data["pages"] == 2
    day = (t0 + timedelta(days=1)).strftime("%Y-%m-%d")
    resp = await cashier.get(f"/inventory/movements?type=sale&from={day}&to={day}")
    assert resp.status == 200 and [m["inventoryItemId"] for m in resp.data["movements"]] == [beans["id"]]
    since = (t0 + timedelta(hours=36)).strftime("%Y-%m-%dT%H:%M:%SZ")
    resp = await cashier.get(f"/inventory/movements?type=sale&from={since}")
    assert [m["inventoryItemId"] for m in resp.data["movements"]] == [milk["id"]]
    for query in ("type=theft", "from=yesterday", "to=2026-11-23T10:00:00", "perPage=0"):
        resp = await cashier.get(f"/inventory/movements?{query}")
        assert resp.status == 400, query
    assert (await cashier.get("/inventory/no-such-item/movements")).status == 404
    resp = await cashier.get("/inventory/movements?itemId=no-such-item")
    assert resp.status == 200 and resp.data["total"] == 0


async def test_fifty_concurrent_http_adjustments_lose_nothing(settings, admin):
    item = make_item(settings, "Cups 12oz", unit="pcs", stock="100")

    async def take_one(i: int):
        return await admin.post(f"/inventory/{item['id']}/adjust", {"quantity": -1, "type": "waste",
                                                                    "reason": f"r{i}"})

    responses = await asyncio.gather(*(take_one(i) for i in range(50)))
    assert [r.status for r in responses] == [200] * 50
    assert level(settings, item["id"]) == D("50")
    sales = [m for m in movements_of(settings, item["id"]) if m[0] == "waste"]
    # Every request saw its own level: 99, 98, ... 50, each exactly once.
    assert sorted(m[2] for m in sales) == [D(n) for n in range(50, 100)]


def _thread_sale(settings, item_id: str, factory, allow_negative: bool) -> str:
    try:
        unit_of_work(factory, inventory_stock.apply_movements, store_id=STORE, lines=[(item_id, D("-1"))],
                     movement_type="sale", user_id=None, reason="thread", reference=None, now=suite_now(),
                     allow_negative=allow_negative)
        return "ok"
    except Conflict:
        return "conflict"


@pytest.mark.parametrize("allow_negative", [True, False])
def test_fifty_concurrent_units_of_work(settings, allow_negative):
    """Threads, each with its own connection and transaction (real row locks on PostgreSQL)."""
    item = make_item(settings, "Espresso shots", unit="pcs", stock="30")
    engine = make_engine(settings.database_url, pool_size=16, max_overflow=0)
    try:
        factory = make_session_factory(engine)
        with ThreadPoolExecutor(16) as pool:
            outcomes = list(pool.map(lambda _: _thread_sale(settings, item["id"], factory, allow_negative),
                                     range(50)))
    finally:
        engine.dispose()
    if allow_negative:
        assert outcomes.count("ok") == 50 and level(settings, item["id"]) == D("-20")
    else:
        assert outcomes.count("ok") == 30 and outcomes.count("conflict") == 20
        assert level(settings, item["id"]) == D("0")
    assert movement_sum(settings, item["id"]) == level(settings, item["id"])
    assert open_alerts(settings, item["id"]) == ["out_of_stock"]
