"""GET /reports/daily-sales and the CSV exports, against independent expectations."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests import reports_support as support
from tests.reports_support import (
    BERLIN,
    COUNTED,
    D,
    build_scenario,
    expected_by_local_day,
    expected_by_local_hour,
    expected_products,
    expected_totals,
    in_range,
    local_day_bounds,
    order_revenue,
)

# Fixtures (bound by assignment so they are not mistaken for unused imports).
CLOCK_START = support.NOW  # the `clock` fixture starts here

DAILY_KEYS = {"date", "totals", "hourly", "products", "payments", "staff", "taxBreakdown"}
TOTAL_KEYS = {"revenue", "transactions", "averageOrderValue", "refunds", "discounts", "tax", "tips"}


@pytest.fixture
async def scenario(staff, menu, clock):
    return await build_scenario(staff, menu, clock)


def day_orders(orders: list[dict[str, Any]], day: date) -> list[dict[str, Any]]:
    start, end = local_day_bounds(day)
    return [o for o in orders if in_range(o, start, end)]


@pytest.mark.parametrize("day", [date(2026, 10, 25), date(2026, 10, 26), date(2026, 10, 27)])
async def test_daily_sales_for_a_business_day(staff, scenario, day) -> None:
    r = await staff["cashier"].get(f"/reports/daily-sales?date={day.isoformat()}")
    assert r.status == 200, r.body
    data = r.data
    assert DAILY_KEYS <= set(data) and data["date"] == day.isoformat()
    orders = day_orders(scenario.orders, day)
    assert orders, "the scenario has sales on every tested day"
    tot = expected_totals(orders)
    assert set(data["totals"]) >= TOTAL_KEYS
    assert {k: data["totals"][k] for k in TOTAL_KEYS} == tot

    hours = expected_by_local_hour(orders, BERLIN)
    assert [h["hour"] for h in data["hourly"]] == list(range(24))
    assert {h["hour"]: (h["revenue"], h["transactions"]) for h in data["hourly"]} == \
        {h: hours[h] for h in range(24)}

    products = expected_products(scenario.ledger, orders)
    assert {p["id"]: (p["revenue"], p["quantitySold"]) for p in data["products"]} == products
    assert all(set(p) >= {"id", "name", "quantitySold", "revenue"} for p in data["products"])

    pay: dict[str, list[Any]] = defaultdict(lambda: [D("0.00"), 0])
    people: dict[str, list[Any]] = defaultdict(lambda: [D("0.00"), 0])
    taxes: dict[Decimal, list[Decimal]] = defaultdict(lambda: [D("0.00"), D("0.00")])
    for o in orders:
        if o["status"] not in COUNTED:
            continue
        for key, bucket in ((o["paymentMethod"], pay), (o["createdBy"], people)):
            bucket[key][0] += order_revenue(o)
            bucket[key][1] += 1
        for line in o["taxBreakdown"]:
            taxes[line["rate"]][0] += line["base"]
            taxes[line["rate"]][1] += line["tax"]
    assert {p["method"]: [p["revenue"], p["transactions"]] for p in data["payments"]} == dict(pay)
    assert {s["userId"]: [s["revenue"], s["transactions"]] for s in data["staff"]} == dict(people)
    assert [(t["rate"], [t["base"], t["tax"]]) for t in data["taxBreakdown"]] == sorted(taxes.items())


async def test_the_25_hour_day_holds_both_0230_sales(staff, scenario) -> None:
    r = await staff["manager"].get("/reports/daily-sales?date=2026-10-25")
    hour2 = r.data["hourly"][2]
    first, second = scenario.order("first_0230"), scenario.order("second_0230")
    assert hour2["transactions"] == 2
    assert hour2["revenue"] == order_revenue(first) + order_revenue(second)
    # The 00:15 CEST sale (Saturday 22:15 UTC) belongs to Sunday; Saturday 23:30 CEST does not.
    assert r.data["hourly"][0]["transactions"] == 1
    assert r.data["hourly"][23]["transactions"] == 1  # 23:45 CET


async def test_daily_sales_defaults_to_today_and_validates(staff, scenario) -> None:
    today = await staff["manager"].get("/reports/daily-sales")
    assert today.status == 200 and today.data["date"] == "2026-10-27"
    for bad in ("2026-02-30", "27.10.2026", "yesterday"):
        r = await staff["manager"].get(f"/reports/daily-sales?date={bad}")
        assert r.status == 400 and "date" in r.json["fieldErrors"], bad


def read_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf") and b"\r\n" in body
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def test_sales_csv_one_row_per_business_day(staff, scenario) -> None:
    r = await staff["manager"].get("/reports/sales.csv?start_date=2026-10-24&end_date=2026-10-27")
    assert r.status == 200, r.body
    assert r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    rows = read_csv(r.body)
    assert [row["date"] for row in rows] == ["2026-10-24", "2026-10-25", "2026-10-26", "2026-10-27"]
    by_day = expected_by_local_day(scenario.orders, BERLIN)
    for row in rows:
        day = date.fromisoformat(row["date"])
        tot = expected_totals(day_orders(scenario.orders, day))
        assert (D(row["revenue"]), int(row["transactions"])) == by_day[day]
        assert {k: D(row[k]) for k in ("refunds", "discounts", "tax", "tips", "averageOrderValue")} == \
            {k: tot[k] for k in ("refunds", "discounts", "tax", "tips", "averageOrderValue")}
    cash = read_csv((await staff["admin"].get(
        "/reports/sales.csv?start_date=2026-10-24&end_date=2026-10-27&payment_method=cash")).body)
    assert sum(D(row["revenue"]) for row in cash) == expected_totals(
        [o for d in range(24, 28) for o in day_orders(scenario.orders, date(2026, 10, d))], method="cash")["revenue"]


async def test_products_csv(staff, scenario) -> None:
    r = await staff["admin"].get("/reports/products.csv?start_date=2026-10-24&end_date=2026-10-27&category=Bakery")
    assert r.status == 200, r.body
    rows = read_csv(r.body)
    current = [o for d in range(24, 28) for o in day_orders(scenario.orders, date(2026, 10, d))]
    expected = expected_products(scenario.ledger, current, category="Bakery")
    assert {row["id"]: (D(row["revenue"]), int(row["quantitySold"])) for row in rows} == expected
    assert [row["name"] for row in rows] == ["Croissant"] and rows[0]["category"] == "Bakery"


@pytest.mark.parametrize("path", ["/reports/sales.csv", "/reports/products.csv"])
async def test_export_permissions_and_validation(staff, app_server, path) -> None:
    for role in ("admin", "manager"):
        assert (await staff[role].get(path)).status == 200, role
    for role in ("cashier", "trainee"):
        r = await staff[role].get(path)
        assert r.status == 403 and r.json["errorCode"] == "FORBIDDEN", role
    anonymous = app_server.client()
    try:
        assert (await anonymous.get(path)).status == 401
    finally:
        anonymous.close()
    bad = await staff["admin"].get(f"{path}?start_date=2026-10-27&end_date=2026-10-01")
    assert bad.status == 400 and bad.json["errorCode"] == "VALIDATION_ERROR"
