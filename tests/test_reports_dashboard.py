"""GET /sales/dashboard (and /reports/dashboard): every number against an independent expectation.

The sales (tests/reports_support.build_scenario) straddle the end of summer time in Berlin
and local midnights whose UTC date differs; they include discounts, tips, a split payment, line,
free-amount and whole-order refunds, and a void.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from tests import reports_support as support
from tests.reports_support import (
    BERLIN,
    CENT,
    COUNTED,
    D,
    avg,
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

METRIC_KEYS = {"totalRevenue", "dailyRevenue", "weeklyRevenue", "monthlyRevenue", "totalTransactions",
               "dailyTransactions", "averageOrderValue", "totalRefunds", "totalDiscounts", "totalTax",
               "totalCustomers", "returningCustomers", "newCustomers"}
WINDOW = "start_date=2026-10-24&end_date=2026-10-27"


@pytest.fixture
async def scenario(staff, menu, clock):
    return await build_scenario(staff, menu, clock)


def window_orders(orders: list[dict[str, Any]], first: date, last: date) -> list[dict[str, Any]]:
    start, end = local_day_bounds(first)[0], local_day_bounds(last)[1]
    return [o for o in orders if in_range(o, start, end)]


def change(now: Decimal | int, before: Decimal | int) -> Decimal:
    if before == 0:
        return D("100.00") if now > 0 else D("0.00")
    return ((D(now) - D(before)) * 100 / D(before)).quantize(CENT, rounding=ROUND_HALF_UP)


def days_between(by_day: dict[date, tuple[Decimal, int]], first: date, last: date) -> Decimal:
    return sum((rev for day, (rev, _n) in by_day.items() if first <= day <= last), D("0.00"))


async def test_dashboard_numbers_across_dst_and_midnight(staff, scenario) -> None:
    r = await staff["cashier"].get(f"/sales/dashboard?{WINDOW}")
    assert r.status == 200, r.body
    data = r.data
    assert set(data) >= {"metrics", "chartData", "topProducts", "categoryBreakdown", "hourlyBreakdown",
                         "paymentBreakdown", "staffBreakdown", "comparisonData"}
    orders = scenario.orders
    current = window_orders(orders, date(2026, 10, 24), date(2026, 10, 27))
    tot = expected_totals(current)
    by_day = expected_by_local_day(orders, BERLIN)
    m = data["metrics"]
    assert METRIC_KEYS <= set(m)
    assert (m["totalRevenue"], m["totalTransactions"], m["averageOrderValue"]) == \
        (tot["revenue"], tot["transactions"], tot["averageOrderValue"])
    assert (m["totalRefunds"], m["totalDiscounts"], m["totalTax"]) == (tot["refunds"], tot["discounts"], tot["tax"])
    # Daily = the window's last day (27 Oct), weekly = 21-27 Oct, monthly = 1-27 Oct.
    assert (m["dailyRevenue"], m["dailyTransactions"]) == by_day[date(2026, 10, 27)]
    assert m["weeklyRevenue"] == days_between(by_day, date(2026, 10, 21), date(2026, 10, 27))
    assert m["monthlyRevenue"] == days_between(by_day, date(2026, 10, 1), date(2026, 10, 27))
    assert m["weeklyRevenue"] != m["monthlyRevenue"] != m["totalRevenue"]  # the scenario tells them apart
    # Anna (three spellings, three sales) returns; Ben is new.
    assert (m["totalCustomers"], m["returningCustomers"], m["newCustomers"]) == (2, 1, 1)

    # Chart: one point per local day.  The Sunday holds the 00:15 CEST sale made on Saturday's
    # UTC date and both 02:30s; Monday holds 00:10 CET, made on Sunday's UTC date.
    assert [p["date"] for p in data["chartData"]] == ["2026-10-24", "2026-10-25", "2026-10-26", "2026-10-27"]
    for point in data["chartData"]:
        assert (point["revenue"], point["transactions"]) == by_day[date.fromisoformat(point["date"])]
    sunday = {scenario.named[k]["id"] for k in ("sun_early", "first_0230", "second_0230", "sun_late")}
    assert data["chartData"][1]["transactions"] == len(sunday)

    hours = expected_by_local_hour(current, BERLIN)
    assert [h["hour"] for h in data["hourlyBreakdown"]] == list(range(24))
    for h in data["hourlyBreakdown"]:
        assert (h["revenue"], h["transactions"]) == hours[h["hour"]], h
        assert h["label"] == f"{h['hour']:02d}:00"
    assert data["hourlyBreakdown"][2]["transactions"] == 2  # both 02:30s of the DST night

    products = expected_products(scenario.ledger, current)
    top = data["topProducts"]
    assert {p["id"]: (p["revenue"], p["quantitySold"]) for p in top} == products
    assert [p["revenue"] for p in top] == sorted((p["revenue"] for p in top), reverse=True)
    assert {p["name"] for p in top} == {"Latte", "Espresso", "Croissant", "Orange juice"}
    assert {p["category"] for p in top} == {"Coffee", "Bakery", "Drinks"}

    cats: dict[str, list[Any]] = defaultdict(lambda: [D("0.00"), set()])
    for o in current:
        if o["status"] in COUNTED:
            for item in o["items"]:
                cats[item["category"]][0] += products_line(scenario, item)
                cats[item["category"]][1].add(o["id"])
    whole = sum(v[0] for v in cats.values())
    got = {c["category"]: c for c in data["categoryBreakdown"]}
    assert set(got) == set(cats)
    for name, (revenue, ids) in cats.items():
        c = got[name]
        assert (c["revenue"], c["transactions"], c["averageOrderValue"]) == (revenue, len(ids), avg(revenue, len(ids)))
        assert c["percentage"] == (revenue * 100 / whole).quantize(CENT, rounding=ROUND_HALF_UP)

    pay: dict[str, list[Any]] = defaultdict(lambda: [D("0.00"), 0])
    people: dict[str, list[Any]] = defaultdict(lambda: [D("0.00"), 0, ""])
    for o in current:
        if o["status"] in COUNTED:
            pay[o["paymentMethod"]][0] += order_revenue(o)
            pay[o["paymentMethod"]][1] += 1
            people[o["createdBy"]][0] += order_revenue(o)
            people[o["createdBy"]][1] += 1
            people[o["createdBy"]][2] = o["createdByName"]
    assert {p["method"]: [p["revenue"], p["transactions"]] for p in data["paymentBreakdown"]} == dict(pay)
    assert {s["userId"]: [s["revenue"], s["transactions"], s["name"]] for s in data["staffBreakdown"]} == \
        dict(people)

    # Previous period: the 4 local days before (20-23 Oct).
    before = expected_totals(window_orders(orders, date(2026, 10, 20), date(2026, 10, 23)))
    comparison = data["comparisonData"]
    assert comparison["previousPeriod"] == {"revenue": before["revenue"], "transactions": before["transactions"],
                                            "averageOrderValue": before["averageOrderValue"]}
    assert before["transactions"] == 3
    assert comparison["change"] == {
        "revenue": change(tot["revenue"], before["revenue"]),
        "transactions": change(tot["transactions"], before["transactions"]),
        "averageOrderValue": change(tot["averageOrderValue"], before["averageOrderValue"]),
    }

    alias = await staff["manager"].get(f"/reports/dashboard?{WINDOW}")
    assert alias.status == 200 and alias.data["metrics"] == m


def products_line(scenario, item: dict[str, Any]) -> Decimal:
    return item["paidTotal"] - scenario.ledger.refunded_money[item["id"]]


async def test_default_window_is_this_month_to_date(staff, scenario) -> None:
    r = await staff["admin"].get("/sales/dashboard")
    assert r.status == 200, r.body
    orders = scenario.orders
    tot = expected_totals(orders)  # every sale of the scenario is in October
    m = r.data["metrics"]
    assert (m["totalRevenue"], m["totalTransactions"], m["totalRefunds"]) == \
        (tot["revenue"], tot["transactions"], tot["refunds"])
    assert m["monthlyRevenue"] == tot["revenue"]
    assert [p["date"] for p in r.data["chartData"]] == [f"2026-10-{d:02d}" for d in range(1, 28)]
    assert r.data["comparisonData"]["previousPeriod"]["transactions"] == 0  # 4-30 Sep
    assert r.data["period"]["startDate"] == "2026-10-01" and r.data["period"]["endDate"] == "2026-10-27"


async def test_payment_method_filter(staff, scenario) -> None:
    current = window_orders(scenario.orders, date(2026, 10, 24), date(2026, 10, 27))
    for method in ("cash", "card", "split"):
        r = await staff["manager"].get(f"/sales/dashboard?{WINDOW}&payment_method={method}")
        assert r.status == 200, r.body
        tot = expected_totals(current, method=method)
        m = r.data["metrics"]
        assert (m["totalRevenue"], m["totalTransactions"], m["totalRefunds"], m["totalTax"]) == \
            (tot["revenue"], tot["transactions"], tot["refunds"], tot["tax"]), method
        assert {p["method"] for p in r.data["paymentBreakdown"]} <= {method}
    everything = await staff["manager"].get(f"/sales/dashboard?{WINDOW}&payment_method=all")
    assert everything.data["metrics"]["totalRevenue"] == expected_totals(current)["revenue"]


async def test_category_filter_counts_that_categorys_lines(staff, scenario) -> None:
    current = window_orders(scenario.orders, date(2026, 10, 24), date(2026, 10, 27))
    r = await staff["manager"].get(f"/sales/dashboard?{WINDOW}&category=Coffee")
    assert r.status == 200, r.body
    coffee = expected_products(scenario.ledger, current, category="Coffee")
    revenue = sum((rev for rev, _units in coffee.values()), D("0.00"))
    with_coffee = [o for o in current if o["status"] in COUNTED and any(i["category"] == "Coffee" for i in o["items"])]
    m = r.data["metrics"]
    assert (m["totalRevenue"], m["totalTransactions"]) == (revenue, len(with_coffee))
    assert m["totalDiscounts"] == sum(
        (i["discountShare"] for o in with_coffee for i in o["items"] if i["category"] == "Coffee"), D("0.00"))
    assert {p["id"] for p in r.data["topProducts"]} == set(coffee)
    assert [c["category"] for c in r.data["categoryBreakdown"]] == ["Coffee"]
    assert sum(p["revenue"] for p in r.data["chartData"]) == revenue
    assert sum(h["transactions"] for h in r.data["hourlyBreakdown"]) == len(with_coffee)


async def test_datetime_bounds_and_whole_end_day(staff, scenario) -> None:
    # 25 Oct 02:00 CET (01:00 UTC) .. 26 Oct 00:00 local: the second 02:30 only, not the first.
    r = await staff["admin"].get("/sales/dashboard?start_date=2026-10-25T01:00:00Z&end_date=2026-10-25")
    assert r.status == 200, r.body
    start = local_day_bounds(date(2026, 10, 25))[0] + timedelta(hours=3)
    end = local_day_bounds(date(2026, 10, 25))[1]
    assert start.hour == 1 and start.day == 25  # 02:00 CET is 01:00 UTC
    chosen = [o for o in scenario.orders if in_range(o, start, end)]
    assert r.data["metrics"]["totalRevenue"] == expected_totals(chosen)["revenue"]
    assert scenario.named["second_0230"]["id"] in {o["id"] for o in chosen}
    assert scenario.named["first_0230"]["id"] not in {o["id"] for o in chosen}


@pytest.mark.parametrize("query, field", [
    ("start_date=yesterday", "start_date"),
    ("start_date=2026-13-01", "start_date"),
    ("end_date=2026-10-32", "end_date"),
    ("start_date=2026-10-27&end_date=2026-10-20", "end_date"),
    ("payment_method=bitcoin", "payment_method"),
    ("storeId=no-such-store", "storeId"),
    ("start_date=2020-01-01&end_date=2026-10-27", "start_date"),
])
async def test_bad_input_is_400(staff, query, field) -> None:
    r = await staff["manager"].get(f"/sales/dashboard?{query}")
    assert r.status == 400, r.body
    assert r.json["errorCode"] == "VALIDATION_ERROR" and field in r.json["fieldErrors"]


async def test_another_store_is_counted_apart(staff, scenario) -> None:
    r = await staff["admin"].post("/stores", {"name": "Second café", "timezone": "America/New_York"})
    assert r.status == 201, r.body
    other = r.data["store"]["id"]
    r = await staff["admin"].get(f"/sales/dashboard?{WINDOW}&storeId={other}")
    assert r.status == 200, r.body
    assert r.data["metrics"]["totalTransactions"] == 0 and r.data["topProducts"] == []
    assert r.data["period"]["timezone"] == "America/New_York"
    mine = await staff["admin"].get(f"/sales/dashboard?{WINDOW}&storeId={scenario.order('sat_late')['storeId']}")
    everything = await staff["admin"].get(f"/sales/dashboard?{WINDOW}")
    assert mine.data["metrics"] == everything.data["metrics"]


@pytest.mark.parametrize("path", ["/sales/dashboard", "/reports/dashboard", "/reports/daily-sales"])
async def test_permissions(staff, app_server, path) -> None:
    for role in ("admin", "manager", "cashier"):
        assert (await staff[role].get(path)).status == 200, role
    forbidden = await staff["trainee"].get(path)
    assert forbidden.status == 403 and forbidden.json["errorCode"] == "FORBIDDEN"
    anonymous = app_server.client()
    try:
        assert (await anonymous.get(path)).status == 401
    finally:
        anonymous.close()
