"""serviceTimes in GET /sales/dashboard and GET /reports/daily-sales: from sale (or a tab's send) to ready,
per station, median and p90 (linear interpolation, exact), by local hour; and the percentile maths
against known vectors and Python's own statistics module."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from orm.controllers.reports.queries import Scope
from orm.controllers.reports.service_times import summarise
from orm.domain.percentiles import MEDIAN, P90, percentile, seconds
from tests import reports_support as support
from tests.prep_support import move, set_stations, update_lines, update_order
from tests.reports_support import Ledger, sell, void

CLOCK_START = support.NOW  # Tuesday 27 Oct 2026, 10:00 in Berlin (CET)
D = Decimal


# ---- the maths -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "p", "expected"), [
    ([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], P90, 91),
    ([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], MEDIAN, 55),
    ([30, 45, 60, 90], MEDIAN, Fraction(105, 2)),
    ([90, 30, 60, 45], P90, 81),  # unsorted input: 60 + 0.7 x (90 - 60)
    ([300], MEDIAN, 300),
    ([300], P90, 300),
    ([1, 2], P90, Fraction(19, 10)),
    ([5, 5, 5], P90, 5),
    ([0, 100], Fraction(0), 0),
    ([0, 100], Fraction(1), 100),
])
def test_percentile_known_vectors(values, p, expected) -> None:
    assert percentile(values, p) == expected


def test_percentile_of_nothing_and_out_of_range() -> None:
    assert percentile([], MEDIAN) is None and seconds(None) is None
    with pytest.raises(ValueError):
        percentile([1], Fraction(11, 10))


def test_percentile_matches_statistics_inclusive() -> None:
    """Python's statistics.quantiles(method="inclusive") is the same definition (type 7)."""
    rng = random.Random(16)
    for _ in range(300):
        values = [Fraction(rng.randint(0, 3_600_000), 1000) for _ in range(rng.randint(2, 60))]
        deciles = statistics.quantiles(values, n=10, method="inclusive")
        assert percentile(values, P90) == deciles[8]
        assert percentile(values, MEDIAN) == statistics.median(values)


def test_seconds_are_tenths_half_up() -> None:
    assert seconds(Fraction(105, 2)) == D("52.5") and seconds(Fraction(1, 20)) == D("0.1")
    assert seconds(Fraction(1, 3)) == D("0.3") and seconds(Fraction(90)) == D("90.0")
    assert seconds(Fraction(-1, 20)) == D("-0.1") and seconds(Fraction(0)) == D("0.0")
    assert seconds(Fraction(1234549, 1000)) == D("1234.5") and seconds(Fraction(1234550, 1000)) == D("1234.6")


def test_summary_lists_configured_stations_first_then_others() -> None:
    zone = ZoneInfo("Europe/Berlin")
    at = datetime(2026, 10, 27, 9, 30, tzinfo=UTC)  # 10:30 Berlin
    s = 1_000_000  # durations in microseconds
    rows = [("grill", at, 60 * s), ("bar", at, 30 * s), ("bar", at + timedelta(hours=1), 50 * s)]
    out = summarise(rows, Scope((), zone), ["bar", "kitchen"])
    assert [s["station"] for s in out] == ["bar", "kitchen", "grill"]
    assert out[0] == {"station": "bar", "tickets": 2, "medianSecondsToReady": D("40.0"),
                      "p90SecondsToReady": D("48.0"),
                      "byHour": [{"hour": 10, "tickets": 1, "medianSecondsToReady": D("30.0")},
                                 {"hour": 11, "tickets": 1, "medianSecondsToReady": D("50.0")}]}
    assert out[1] == {"station": "kitchen", "tickets": 0, "medianSecondsToReady": None,
                      "p90SecondsToReady": None, "byHour": []}
    # Kolkata is UTC+5:30: 09:10 and 09:40 UTC are 14:40 and 15:10 there - two local hours.
    india = summarise([("bar", at - timedelta(minutes=20), s), ("bar", at + timedelta(minutes=10), 3 * s)],
                      Scope((), ZoneInfo("Asia/Kolkata")), ["bar"])
    assert india[0]["byHour"] == [{"hour": 14, "tickets": 1, "medianSecondsToReady": D("1.0")},
                                  {"hour": 15, "tickets": 1, "medianSecondsToReady": D("3.0")}]
    # Microseconds count: 0.05 s rounds half-up to 0.1 s.
    assert summarise([("bar", at, 50_000)], Scope((), zone), [])[0]["medianSecondsToReady"] == D("0.1")


# ---- through the API ---------------------------------------------------------------------------------------


async def test_service_times_in_dashboard_and_daily_report(app_server, app_settings, clock, staff, menu) -> None:
    set_stations(app_settings)
    cashier, manager, led = staff["cashier"], staff["manager"], Ledger()
    t0 = clock()  # 10:00 Berlin

    # 10:00 - latte and croissant: the bar takes 90 s, the kitchen 300 s.
    first = await sell(cashier, led, menu, [("latte", 1), ("croissant", 1)])
    move(app_server, app_settings, first["id"], "bar", "ready", t0 + timedelta(seconds=90))
    move(app_server, app_settings, first["id"], "kitchen", "ready", t0 + timedelta(seconds=300))
    # 10:10 - two coffees, ready after 30 s; the croissant is still in the oven (unfinished: not counted).
    clock.now = t0 + timedelta(minutes=10)
    second = await sell(cashier, led, menu, [("latte", 1), ("espresso", 1), ("croissant", 1)])
    move(app_server, app_settings, second["id"], "bar", "ready", clock() + timedelta(seconds=30))
    # 10:15 - voided after the coffee was made: a voided sale never counts.
    clock.now = t0 + timedelta(minutes=15)
    voided = await sell(cashier, led, menu, [("espresso", 1)])
    move(app_server, app_settings, voided["id"], "bar", "ready", clock() + timedelta(seconds=5))
    await void(manager, led, voided)
    # 10:20 - a tab (an open order): its first round was sent at 10:20 and ready 45 s later; the
    # espresso was never sent (no ticket yet).  A tab's send is timed from the send (API.md).
    clock.now = t0 + timedelta(minutes=20)
    tab = await sell(cashier, led, menu, [("latte", 1), ("espresso", 1)])
    latte_line, espresso_line = (line["id"] for line in tab["items"])
    update_order(app_settings, tab["id"], status="open")
    update_lines(app_settings, [latte_line], sent_at=t0 + timedelta(minutes=25))
    update_lines(app_settings, [espresso_line], prep_status=None, sent_at=None)
    move(app_server, app_settings, tab["id"], "bar", "ready", t0 + timedelta(minutes=25, seconds=45))
    # A line of a tab's paid child order is a payment, not a ticket.
    child = await sell(cashier, led, menu, [("latte", 1)])
    update_lines(app_settings, [child["items"][0]["id"]], tab_line_id=latte_line)
    move(app_server, app_settings, child["id"], "bar", "ready", clock() + timedelta(seconds=1))
    # 11:05 - collected without ever being marked ready: ready when collected, 60 s.
    clock.now = t0 + timedelta(hours=1, minutes=5)
    third = await sell(cashier, led, menu, [("espresso", 2), ("juice", 1)])
    move(app_server, app_settings, third["id"], "bar", "collected", clock() + timedelta(seconds=60))
    # 11:30 - still queued: not counted.
    clock.now = t0 + timedelta(hours=1, minutes=30)
    await sell(cashier, led, menu, [("latte", 1)])

    # bar: 90 (10:00), 30 (10:10), 45 (10:25), 60 (11:05) -> median 52.5, p90 60 + 0.7 x 30 = 81.
    expected = [
        {"station": "bar", "tickets": 4, "medianSecondsToReady": D("52.5"), "p90SecondsToReady": D("81.0"),
         "byHour": [{"hour": 10, "tickets": 3, "medianSecondsToReady": D("45.0")},
                    {"hour": 11, "tickets": 1, "medianSecondsToReady": D("60.0")}]},
        {"station": "kitchen", "tickets": 1, "medianSecondsToReady": D("300.0"), "p90SecondsToReady": D("300.0"),
         "byHour": [{"hour": 10, "tickets": 1, "medianSecondsToReady": D("300.0")}]},
    ]
    r = await manager.get("/sales/dashboard")
    assert r.status == 200, r.body
    assert r.data["serviceTimes"] == expected
    r = await manager.get("/reports/daily-sales?date=2026-10-27")
    assert r.status == 200, r.body
    assert r.data["serviceTimes"] == expected

    # The payment-method filter applies (every sale above was by card).
    r = await manager.get("/sales/dashboard?payment_method=cash")
    assert [s["tickets"] for s in r.data["serviceTimes"]] == [0, 0]
    # A day without tickets: every configured station, nothing measured.
    r = await manager.get("/reports/daily-sales?date=2026-10-26")
    assert r.data["serviceTimes"] == [
        {"station": "bar", "tickets": 0, "medianSecondsToReady": None, "p90SecondsToReady": None, "byHour": []},
        {"station": "kitchen", "tickets": 0, "medianSecondsToReady": None, "p90SecondsToReady": None,
         "byHour": []},
    ]
    # Hours are the store's: in New York the same tickets were sent at 05:xx and 06:xx.
    r = await manager.put("/settings", {"storeTimezone": "America/New_York"})
    assert r.status == 200, r.body
    r = await manager.get("/reports/daily-sales?date=2026-10-27")
    assert [h["hour"] for h in r.data["serviceTimes"][0]["byHour"]] == [5, 6]
