"""Shared arrangements for the report, dashboard, daily e-mail and live-dashboard tests (no tests here).

The fixtures they use (clock, app_settings, app_server, staff, menu) are in conftest.py; a module sets
`CLOCK_START = NOW` to start the clock here.

The app runs on a fake clock (make_app(settings, clock=...)); sales are placed through the real
POST /orders, back-dated with clientCreatedAt (up to 72 h), refunded and voided through the
real endpoints.  `expected_*` recompute every report number in plain Python from the order
and refund resources the API returned - never from the report code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests.support import Client, FakeClock

D = Decimal
CENT = D("0.01")
BERLIN = ZoneInfo("Europe/Berlin")
# Tuesday 27 Oct 2026, 10:00 in Berlin (CET, UTC+1).  Berlin left summer time on Sunday 25 Oct
# at 03:00 CEST -> 02:00 CET, so the last 72 h hold a 25-hour business day.
NOW = datetime(2026, 10, 27, 9, 0, tzinfo=UTC)
ROLES = ("admin", "manager", "cashier", "trainee")


def local(y: int, mo: int, d: int, h: int, mi: int = 0, *, fold: int = 0) -> datetime:
    """A Berlin wall-clock time as an aware UTC instant (fold=1: the second 02:xx of 25 Oct)."""
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN, fold=fold).astimezone(UTC)


MENU = {
    "latte": {"name": "Latte", "price": "4.50", "category": "Coffee", "taxRate": "0.08"},
    "espresso": {"name": "Espresso", "price": "2.40", "category": "Coffee", "taxRate": "0.08"},
    "croissant": {"name": "Croissant", "price": "3.20", "category": "Bakery", "taxRate": "0.07"},
    "juice": {"name": "Orange juice", "price": "3.90", "category": "Drinks", "taxRate": "0.19"},
}


@dataclass
class Ledger:
    """Every order as the API last returned it, plus the refund resources per line."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunded_money: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def keep(self, order: dict[str, Any]) -> dict[str, Any]:
        self.orders[order["id"]] = order
        return order


async def sell(c: Client, ledger: Ledger, menu: dict[str, str], lines: Iterable[tuple[str, int]], *,
               at: datetime | None = None, method: str = "card", tip: str = "0", customer: str | None = None,
               discount: dict[str, Any] | None = None, split: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"items": [{"menuItemId": menu[k], "quantity": n} for k, n in lines],
                            "tipAmount": tip}
    if split:
        body["payments"] = [{"method": "cash", "amount": "1.00"}, {"method": "card"}]
    elif method == "cash":
        body["payments"] = [{"method": "cash", "tendered": "500.00"}]
    else:
        body["payments"] = [{"method": "card"}]
    if at is not None:
        body["clientCreatedAt"] = at.isoformat().replace("+00:00", "Z")
    if customer is not None:
        body["customerName"] = customer
    if discount is not None:
        body["discount"] = discount
    r = await c.post("/orders", body)
    assert r.status == 201, r.body
    return ledger.keep(r.data["order"])


async def refund(c: Client, ledger: Ledger, order: dict[str, Any], lines: list[tuple[int, int]] | None = None,
                 amount: str | None = None) -> dict[str, Any]:
    """lines: (line index, units); None + amount None = the whole order."""
    body: dict[str, Any] = {"reason": "test refund"}
    if lines is not None:
        body["items"] = [{"orderItemId": order["items"][i]["id"], "quantity": n} for i, n in lines]
    if amount is not None:
        body["amount"] = amount
    r = await c.post(f"/orders/{order['id']}/refund", body)
    assert r.status == 200, r.body
    for entry in r.data["refund"]["items"]:
        ledger.refunded_money[entry["orderItemId"]] += entry["amount"]
    ledger.keep(r.data["order"])
    return r.data["refund"]


async def void(c: Client, ledger: Ledger, order: dict[str, Any]) -> None:
    r = await c.post(f"/orders/{order['id']}/void", {"reason": "wrong order"})
    assert r.status == 200, r.body
    ledger.keep(r.data["order"])


# ---- the independent expectation -------------------------------------------------------------

COUNTED = ("completed", "partially_refunded")


def sale_time(order: dict[str, Any]) -> datetime:
    value = order["saleAt"]
    return value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))


def in_range(order: dict[str, Any], start: datetime, end: datetime) -> bool:
    return start <= sale_time(order) < end


def order_revenue(order: dict[str, Any]) -> Decimal:
    return order["total"] - order["tipAmount"] - order["refundedAmount"]


def avg(total: Decimal, n: int) -> Decimal:
    return (total / n).quantize(CENT, rounding=ROUND_HALF_UP) if n else D("0.00")


def expected_totals(orders: Iterable[dict[str, Any]], *, method: str | None = None) -> dict[str, Any]:
    chosen = [o for o in orders if o["status"] != "voided" and (method is None or o["paymentMethod"] == method)]
    counted = [o for o in chosen if o["status"] in COUNTED]
    revenue = sum((order_revenue(o) for o in counted), D("0.00"))
    return {
        "revenue": revenue, "transactions": len(counted), "averageOrderValue": avg(revenue, len(counted)),
        "refunds": sum((o["refundedAmount"] for o in chosen), D("0.00")),
        "discounts": sum((o["discountAmount"] for o in counted), D("0.00")),
        "tax": sum((o["taxAmount"] for o in counted), D("0.00")),
        "tips": sum((o["tipAmount"] for o in counted), D("0.00")),
    }


def expected_by_local_day(orders: Iterable[dict[str, Any]], zone: ZoneInfo) -> dict[date, tuple[Decimal, int]]:
    out: dict[date, tuple[Decimal, int]] = defaultdict(lambda: (D("0.00"), 0))
    for o in orders:
        if o["status"] in COUNTED:
            day = sale_time(o).astimezone(zone).date()
            revenue, n = out[day]
            out[day] = (revenue + order_revenue(o), n + 1)
    return out


def expected_by_local_hour(orders: Iterable[dict[str, Any]], zone: ZoneInfo) -> dict[int, tuple[Decimal, int]]:
    out: dict[int, tuple[Decimal, int]] = defaultdict(lambda: (D("0.00"), 0))
    for o in orders:
        if o["status"] in COUNTED:
            hour = sale_time(o).astimezone(zone).hour
            revenue, n = out[hour]
            out[hour] = (revenue + order_revenue(o), n + 1)
    return out


def expected_products(ledger: Ledger, orders: Iterable[dict[str, Any]], *,
                      category: str | None = None) -> dict[str, tuple[Decimal, int]]:
    """menuItemId -> (revenue, units): what each line cost minus the money its refunds returned."""
    out: dict[str, tuple[Decimal, int]] = defaultdict(lambda: (D("0.00"), 0))
    for o in orders:
        if o["status"] not in COUNTED:
            continue
        for item in o["items"]:
            if category is not None and item["category"] != category:
                continue
            revenue, units = out[item["menuItemId"]]
            out[item["menuItemId"]] = (revenue + item["paidTotal"] - ledger.refunded_money[item["id"]],
                                       units + item["quantity"] - item["refundedQuantity"])
    return out


def local_day_bounds(day: date, zone: ZoneInfo = BERLIN) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    nxt = day + timedelta(days=1)
    return start, datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone).astimezone(UTC)


async def relogin(staff: dict[str, Client]) -> None:
    """New tokens after the fake clock jumped (tokens carry the clock's issue time)."""
    for role, c in staff.items():
        r = await c.post("/auth/login", {"username": role, "password": "password123"}, auth=False)
        assert r.status == 200, r.body
        c.token = r.data["token"]


@dataclass
class Scenario:
    ledger: Ledger
    named: dict[str, dict[str, Any]]

    def order(self, name: str) -> dict[str, Any]:
        return self.ledger.orders[self.named[name]["id"]]

    @property
    def orders(self) -> list[dict[str, Any]]:
        return list(self.ledger.orders.values())


async def build_scenario(staff: dict[str, Client], menu: dict[str, str], clock: FakeClock) -> Scenario:
    """Sales around the end of summer time in Berlin (Sun 25 Oct 2026, 03:00 CEST -> 02:00 CET) and
    across local midnights whose UTC dates differ, plus a few days earlier for the previous period;
    with discounts, tips, a split payment, line, amount and whole-order refunds, and a void."""
    led, named = Ledger(), {}
    cashier, manager = staff["cashier"], staff["manager"]

    # The previous period (20-23 Oct): the clock is set back so clientCreatedAt stays within 72 h.
    clock.now = datetime(2026, 10, 22, 12, 0, tzinfo=UTC)
    await relogin(staff)
    named["prev_cash"] = await sell(cashier, led, menu, [("latte", 1), ("croissant", 1)],
                                    at=local(2026, 10, 20, 18, 0), method="cash")
    named["prev_anna"] = await sell(manager, led, menu, [("espresso", 2)], at=local(2026, 10, 21, 9, 15),
                                    customer="Anna")
    named["prev_now"] = await sell(cashier, led, menu, [("juice", 1)], tip="0.50")

    clock.now = NOW
    await relogin(staff)
    # Sat 24 Oct 23:30 CEST = 21:30 UTC
    named["sat_late"] = await sell(cashier, led, menu, [("latte", 2)], at=local(2026, 10, 24, 23, 30),
                                   customer="Anna")
    # Sun 25 Oct 00:15 CEST = Sat 22:15 UTC: a Sunday sale on a Saturday UTC date
    named["sun_early"] = await sell(cashier, led, menu, [("croissant", 1)], at=local(2026, 10, 25, 0, 15),
                                    method="cash")
    # 02:30 happens twice on 25 Oct: 00:30 UTC (CEST) and 01:30 UTC (CET); both are local hour 2.
    named["first_0230"] = await sell(cashier, led, menu, [("espresso", 1)], at=local(2026, 10, 25, 2, 30))
    named["second_0230"] = await sell(cashier, led, menu, [("juice", 1), ("latte", 1)],
                                      at=local(2026, 10, 25, 2, 30, fold=1), tip="1.00", customer="anna ")
    # Sun 23:45 CET = 22:45 UTC, 10 % off
    named["sun_late"] = await sell(cashier, led, menu, [("latte", 1), ("croissant", 2)],
                                   at=local(2026, 10, 25, 23, 45), method="cash",
                                   discount={"type": "percent", "value": "10", "reason": "regular"})
    # Mon 26 Oct 00:10 CET = Sun 23:10 UTC
    named["mon_early"] = await sell(cashier, led, menu, [("juice", 2), ("croissant", 1)],
                                    at=local(2026, 10, 26, 0, 10), customer="Ben")
    named["mon_split"] = await sell(manager, led, menu, [("espresso", 3)], at=local(2026, 10, 26, 12, 0),
                                    split=True)
    named["tue_void"] = await sell(cashier, led, menu, [("latte", 1)], at=local(2026, 10, 27, 8, 0))
    named["tue_now"] = await sell(cashier, led, menu, [("croissant", 2), ("espresso", 1)], method="cash",
                                  customer="ANNA", tip="0.40")

    await refund(manager, led, named["mon_early"], [(0, 1)])  # one of two juices
    await refund(manager, led, named["second_0230"], amount="2.00")  # free amount: no line touched
    await refund(manager, led, named["mon_split"])  # everything: status refunded
    await refund(manager, led, named["prev_cash"], [(1, 1)])  # the croissant of the previous period
    await void(manager, led, named["tue_void"])
    return Scenario(led, named)
