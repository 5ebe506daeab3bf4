"""Forecast: 28 days of sales minus refunds, days of cover, suggested reorder (clock injected)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from orm.controllers.inventory import forecast, inventory_items, stock
from orm.controllers.inventory.forecast import cover_for
from tests.conftest import run_unit
from tests.inventory_helpers import NOW, STORE, make_item, principal
from tests.support import suite_now

D = Decimal
DAY = timedelta(days=1)


def move(settings, item_id: str, qty: str, at, movement_type: str = "sale"):
    run_unit(settings, stock.apply_movements, store_id=STORE, lines=[(item_id, D(qty))],
             movement_type=movement_type, user_id=None, reason="history", reference=None, now=at,
             allow_negative=True)


def _history(settings) -> dict[str, str]:
    t = NOW
    beans = make_item(settings, "Beans", stock="0", min_level="2", max_level="20", now=t - 50 * DAY)["id"]
    move(settings, beans, "120", t - 40 * DAY, "restock")
    move(settings, beans, "-0.5", t - 30 * DAY)          # before the window
    move(settings, beans, "-100", t - 28 * DAY)          # exactly 28 days ago: outside (window is (now-28d, now])
    move(settings, beans, "-1.4", t - 27 * DAY)
    move(settings, beans, "-2.8", t - 10 * DAY)
    move(settings, beans, "-3", t - 9 * DAY, "waste")    # waste is not usage
    move(settings, beans, "0.7", t - 5 * DAY, "refund")
    move(settings, beans, "-0.5", t)                     # now: inside
    move(settings, beans, "-9", t + timedelta(hours=1))  # the future: outside
    milk = make_item(settings, "Milk", unit="l", stock="66", min_level="5", max_level="30", now=t - 30 * DAY)["id"]
    move(settings, milk, "-28", t - 20 * DAY)
    move(settings, milk, "-28", t - 2 * DAY)             # 56 l in 28 days: 2 l a day, 10 l left
    cups = make_item(settings, "Cups", unit="pcs", stock="96", min_level="10", now=t - 30 * DAY)["id"]
    move(settings, cups, "-91", t - DAY)                 # no maximum: target = min + 14 days of usage
    lids = make_item(settings, "Lids", unit="pcs", stock="1", min_level="2", max_level="5", now=t - 30 * DAY)["id"]
    ham = make_item(settings, "Ham", stock="1", now=t - 30 * DAY)["id"]
    move(settings, ham, "-3", t - DAY)
    return {"beans": beans, "milk": milk, "cups": cups, "lids": lids, "ham": ham}


def test_forecast_numbers_for_a_constructed_history(settings):
    ids = _history(settings)
    rows = run_unit(settings, forecast.forecast, STORE, NOW)
    by_id = {r["inventoryItemId"]: r for r in rows}
    assert [r["name"] for r in rows] == ["Beans", "Cups", "Ham", "Lids", "Milk"]
    assert set(rows[0]) == {"inventoryItemId", "name", "unit", "currentStock", "avgDailyUsage", "daysOfCover",
                            "suggestedReorder"}
    beans = by_id[ids["beans"]]
    # usage 1.4 + 2.8 - 0.7 + 0.5 = 4.0 kg -> 0.143 a day; 3.5 kg left (the future sale already happened)
    assert (beans["currentStock"], beans["avgDailyUsage"], beans["daysOfCover"], beans["suggestedReorder"]) == \
        (D("3.500"), D("0.143"), D("24.5"), D("0"))
    milk = by_id[ids["milk"]]
    assert (milk["avgDailyUsage"], milk["daysOfCover"], milk["suggestedReorder"]) == (D("2"), D("5.0"), D("20"))
    cups = by_id[ids["cups"]]
    # 91/28 = 3.25 a day; 5 left = 1.5 days; target 10 + 45.5 = 55.5 -> 50.5 -> whole pieces: 51
    assert (cups["avgDailyUsage"], cups["daysOfCover"], cups["suggestedReorder"]) == (D("3.25"), D("1.5"), D("51"))
    lids = by_id[ids["lids"]]
    # No sales: no cover figure, but at/below minimum -> fill up to the maximum.
    assert (lids["avgDailyUsage"], lids["daysOfCover"], lids["suggestedReorder"]) == (D("0"), None, D("4"))
    ham = by_id[ids["ham"]]
    assert (ham["currentStock"], ham["daysOfCover"]) == (D("-2"), D("0"))
    # The item resource carries the same days of cover.
    item = run_unit(settings, inventory_items.get, settings, principal("cashier"), ids["cups"], NOW)
    assert item["daysOfCover"] == D("1.5")


def test_window_moves_with_now(settings):
    ids = _history(settings)
    later = run_unit(settings, forecast.usage_by_item, STORE, NOW + 11 * DAY)
    # Window (NOW-17d, NOW+11d]: beans 2.8 - 0.7 + 0.5 + 9 (the sale that was "future" before), milk's second
    # sale, the cups and ham sales.
    assert later == {ids["milk"]: D("28"), ids["cups"]: D("91"), ids["ham"]: D("3"), ids["beans"]: D("11.6")}


def test_cover_rules_directly():
    assert cover_for(D("10"), D("2"), D("20"), "kg", D("0")) == cover_for(D("10"), D("2"), D("20"), "kg", D("-3"))
    assert cover_for(D("10"), D("2"), D("20"), "kg", D("28")).days_of_cover == D("10.0")
    horizon = cover_for(D("6.9"), D("0"), D("20"), "kg", D("28"))
    assert (horizon.days_of_cover, horizon.suggested_reorder) == (D("6.9"), D("13.1"))
    assert cover_for(D("7"), D("0"), D("20"), "kg", D("28")).suggested_reorder == D("0")
    assert cover_for(D("25"), D("30"), D("20"), "kg", D("0")).suggested_reorder == D("0")  # never negative


async def test_forecast_endpoint(settings, as_role):
    item = make_item(settings, "Oat milk", unit="l", stock="30", min_level="5", max_level="40")
    now = suite_now()
    for days, qty in ((20, "-7"), (10, "-7"), (1, "-7")):
        move(settings, item["id"], qty, now - days * DAY)
    resp = await as_role("trainee").get("/inventory/forecast")
    assert resp.status == 200
    (row,) = resp.data["forecast"]
    assert row == {"inventoryItemId": item["id"], "name": "Oat milk", "unit": "l", "currentStock": D("9"),
                   "avgDailyUsage": D("0.75"), "daysOfCover": D("12.0"), "suggestedReorder": D("0")}
    listed = (await as_role("cashier").get("/inventory")).data["inventory"][0]
    assert listed["daysOfCover"] == D("12.0")
