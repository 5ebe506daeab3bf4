"""The dashboard as the web client asks for it (issue 13, item 6).

The client's "This Month" runs to the month's end, in the future, and labels dailyRevenue "Today";
it sends an unset category as the literal text "undefined".  The clock is fixed at Tuesday 27 Oct
2026, 10:00 in Berlin (tests/reports_support.py), with sales on the 27th and the days before.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests import reports_support as support
from tests.reports_support import BERLIN, D, build_scenario, expected_by_local_day

CLOCK_START = support.NOW  # the `clock` fixture starts here
TODAY = date(2026, 10, 27)


@pytest.fixture
async def scenario(staff, menu, clock):
    return await build_scenario(staff, menu, clock)


def between(by_day, first: date, last: date):
    return sum((revenue for day, (revenue, _n) in by_day.items() if first <= day <= last), D("0.00"))


@pytest.mark.parametrize("window", ["start_date=2026-10-01&end_date=2026-10-31",
                                    "start_date=2026-10-01T00:00:00&end_date=2026-11-01T00:00:00",
                                    "start_date=2026-10-20&end_date=2026-11-15"])
async def test_a_window_running_into_the_future_reports_today(staff, scenario, window) -> None:
    by_day = expected_by_local_day(scenario.orders, BERLIN)
    assert by_day[TODAY][1] > 0  # there is something to see today
    r = await staff["manager"].get(f"/sales/dashboard?{window}")
    assert r.status == 200, r.body
    m = r.data["metrics"]
    assert (m["dailyRevenue"], m["dailyTransactions"]) == by_day[TODAY]
    assert m["weeklyRevenue"] == between(by_day, date(2026, 10, 21), TODAY)
    assert m["monthlyRevenue"] == between(by_day, date(2026, 10, 1), TODAY)
    assert r.data["period"]["endDate"] > TODAY.isoformat()  # the window itself is unchanged


async def test_a_window_in_the_past_reports_its_last_day(staff, scenario) -> None:
    by_day = expected_by_local_day(scenario.orders, BERLIN)
    last = date(2026, 10, 25)  # the 25-hour Sunday
    assert by_day[last][1] > 0
    r = await staff["manager"].get("/sales/dashboard?start_date=2026-10-20&end_date=2026-10-25")
    m = r.data["metrics"]
    assert (m["dailyRevenue"], m["dailyTransactions"]) == by_day[last]
    assert m["weeklyRevenue"] == between(by_day, date(2026, 10, 19), last)
    assert m["monthlyRevenue"] == between(by_day, date(2026, 10, 1), last)
    assert m["dailyRevenue"] != between(by_day, TODAY, TODAY)


async def test_a_window_wholly_in_the_future_reports_its_last_day(staff, scenario) -> None:
    r = await staff["manager"].get("/sales/dashboard?start_date=2026-11-01&end_date=2026-11-30")
    m = r.data["metrics"]
    assert (m["dailyRevenue"], m["dailyTransactions"], m["weeklyRevenue"], m["monthlyRevenue"]) == (0, 0, 0, 0)


NO_FILTER = ["undefined", "null", "all", "", "Undefined", "%20null%20"]


@pytest.mark.parametrize("path", ["/sales/dashboard", "/reports/dashboard"])
async def test_unset_filters_sent_as_text_mean_no_filter(staff, scenario, path) -> None:
    window = "start_date=2026-10-01&end_date=2026-10-31"
    plain = await staff["manager"].get(f"{path}?{window}")
    assert plain.status == 200 and plain.data["metrics"]["totalTransactions"] > 0
    for value in NO_FILTER:
        for query in (f"category={value}", f"payment_method={value}", f"category={value}&payment_method={value}"):
            r = await staff["manager"].get(f"{path}?{window}&{query}")
            assert r.status == 200, (query, r.body)
            assert r.data["metrics"] == plain.data["metrics"], query
            assert r.data["categoryBreakdown"] == plain.data["categoryBreakdown"], query
    # A real filter still filters, and an unknown method is still refused.
    coffee = await staff["manager"].get(f"{path}?{window}&category=Coffee&payment_method=undefined")
    assert 0 < coffee.data["metrics"]["totalRevenue"] < plain.data["metrics"]["totalRevenue"]
    assert (await staff["manager"].get(f"{path}?{window}&payment_method=bitcoin")).status == 400


async def test_the_csv_exports_read_unset_filters_the_same_way(staff, scenario) -> None:
    window = "start_date=2026-10-01&end_date=2026-10-31"
    for name in ("sales.csv", "products.csv"):
        plain = await staff["manager"].get(f"/reports/{name}?{window}")
        unset = await staff["manager"].get(f"/reports/{name}?{window}&category=undefined&payment_method=null")
        assert plain.status == unset.status == 200
        assert unset.body == plain.body and len(plain.body.splitlines()) > 1
