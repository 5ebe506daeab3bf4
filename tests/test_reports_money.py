"""Categories, products and staff always add up to total revenue exactly - after item refunds,
amount-only (goodwill) refunds, a refund reaching into the tip and cash rounding - in the dashboard
(also per category filter), the daily report, both CSV exports, and again when the days are read
from the rollup."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests import reports_support as support
from tests.reports_support import Ledger, expected_totals, in_range, local, refund, relogin, sell
from tests.test_reports_rollup import refresh_until_done

CLOCK_START = support.NOW  # the `clock` fixture starts here
D = Decimal
WINDOW = "start_date=2026-10-25&end_date=2026-10-26"
DAYS = ("2026-10-25", "2026-10-26")
LATER = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # both days closed: the rollup takes them


async def build(staff, menu) -> Ledger:
    led = Ledger()
    cashier, manager = staff["cashier"], staff["manager"]
    assert (await staff["admin"].put("/settings", {"cashRounding": "0.05"})).status == 200
    a = await sell(manager, led, menu, [("latte", 3), ("juice", 1)], at=local(2026, 10, 25, 10, 0), method="cash",
                   discount={"type": "percent", "value": "10", "reason": "regular"})
    b = await sell(cashier, led, menu, [("croissant", 2), ("espresso", 1)], at=local(2026, 10, 25, 12, 30),
                   tip="0.50")
    c = await sell(cashier, led, menu, [("espresso", 4)], at=local(2026, 10, 25, 15, 0), method="cash")
    d = await sell(manager, led, menu, [("latte", 1), ("croissant", 1), ("juice", 2)], at=local(2026, 10, 26, 9, 0),
                   tip="1.00")
    e = await sell(cashier, led, menu, [("juice", 1)], at=local(2026, 10, 26, 11, 0), method="cash")
    f = await sell(manager, led, menu, [("latte", 2), ("croissant", 1)], at=local(2026, 10, 26, 13, 0),
                   method="cash", discount={"type": "fixed", "value": "1.11", "reason": "voucher"})
    assert any(o["roundingAdjustment"] != 0 for o in led.orders.values())

    await refund(manager, led, a, amount="1.23")  # goodwill: booked on both lines
    await refund(manager, led, a, [(0, 1)])
    await refund(manager, led, b, amount="0.77")
    await refund(manager, led, d, [(2, 1)])
    d_now = led.orders[d["id"]]
    await refund(manager, led, d, amount=str(d_now["total"] - d_now["refundedAmount"] - D("0.30")))  # into the tip
    await refund(manager, led, c, amount="0.50")
    await refund(manager, led, c, [(0, 4)])  # the rest: refunded in full
    await refund(manager, led, e)  # whole order
    await refund(manager, led, f, [(1, 1)])
    await refund(manager, led, f, amount="0.05")
    return led


def total(rows: list[dict[str, Any]], key: str = "revenue") -> Decimal:
    return sum((D(str(r[key])) for r in rows), D("0.00"))


def csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


async def check_sums(c, led: Ledger) -> int:
    """Every per-line figure adds up to the total revenue; returns the dashboard's rolled-up days."""
    lo, hi = local(2026, 10, 25, 0, 0), local(2026, 10, 27, 0, 0)
    expected = expected_totals([o for o in led.orders.values() if in_range(o, lo, hi)])["revenue"]
    r = await c.get(f"/sales/dashboard?{WINDOW}")
    assert r.status == 200, r.body
    dash = r.data
    revenue = dash["metrics"]["totalRevenue"]
    assert revenue == expected
    assert total(dash["categoryBreakdown"]) == revenue
    assert total(dash["topProducts"]) == revenue
    assert total(dash["staffBreakdown"]) == revenue
    assert total(dash["paymentBreakdown"]) == revenue
    for row in dash["categoryBreakdown"]:
        only = await c.get(f"/sales/dashboard?{WINDOW}&category={row['category']}")
        assert only.status == 200
        assert only.data["metrics"]["totalRevenue"] == row["revenue"], row["category"]
        assert total(only.data["staffBreakdown"]) == row["revenue"]
    days = D("0.00")
    for day in DAYS:
        daily = (await c.get(f"/reports/daily-sales?date={day}")).data
        assert total(daily["products"]) == total(daily["staff"]) == total(daily["payments"]) \
            == daily["totals"]["revenue"], day
        days += daily["totals"]["revenue"]
    assert days == revenue
    sales_csv = await c.get(f"/reports/sales.csv?{WINDOW}")
    products_csv = await c.get(f"/reports/products.csv?{WINDOW}")
    assert sales_csv.status == products_csv.status == 200
    assert total(csv_rows(sales_csv.body)) == revenue
    assert total(csv_rows(products_csv.body)) == revenue
    return dash["period"]["rolledUpDays"]


async def test_per_line_figures_add_up_to_revenue_raw_and_rolled_up(app_server, staff, menu, clock) -> None:
    led = await build(staff, menu)
    # Every refund's money is booked on the lines of its order, to the cent.
    for order in led.orders.values():
        assert sum((led.refunded_money[it["id"]] for it in order["items"]), D("0.00")) == order["refundedAmount"]
    assert await check_sums(staff["manager"], led) == 0

    clock.now = LATER
    await relogin(staff)
    await refresh_until_done(app_server)
    assert await check_sums(staff["manager"], led) == 2
