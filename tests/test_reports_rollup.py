"""The sales rollup gives exactly what the raw queries give - before and after refunds and late
offline sales, across the end of summer time, with every filter - and reports stay exact while
it lags behind."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from main import make_app
from orm.controllers.reports import rollup
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_reports import (
    ReportRollupCategoryDay,
    ReportRollupCustomer,
    ReportRollupDay,
    ReportRollupSales,
    ReportRollupSalesDay,
    ReportRollupState,
)
from services.report_rollup_service import ReportRollupService
from tests import reports_support as support
from tests.conftest import run_unit
from tests.reports_support import (
    build_scenario,
    expected_products,
    expected_totals,
    in_range,
    local,
    local_day_bounds,
    refund,
    relogin,
    sell,
)
from tests.support import RunningServer

CLOCK_START = support.NOW  # the `clock` fixture starts here
LATER = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # 20 Oct - 1 Nov are closed (1 h after their end)
CLOSED = [date(2026, 10, 20) + timedelta(days=i) for i in range(13)]
QUERIES = [
    "/sales/dashboard?start_date=2026-10-20&end_date=2026-10-27",
    "/sales/dashboard?start_date=2026-10-20&end_date=2026-10-27&payment_method=cash",
    "/sales/dashboard?start_date=2026-10-20&end_date=2026-10-27&payment_method=split",
    "/sales/dashboard?start_date=2026-10-20&end_date=2026-10-27&category=Coffee",
    "/sales/dashboard?start_date=2026-10-20&end_date=2026-10-27&category=Bakery&payment_method=cash",
    "/sales/dashboard?start_date=2026-10-24&end_date=2026-10-26",  # previous period 21-23 Oct
    "/sales/dashboard?start_date=2026-10-21T10:00:00Z&end_date=2026-10-26T12:00:00",  # partial edge days
    "/sales/dashboard?start_date=2026-10-01&end_date=2026-10-31",
    "/reports/sales.csv?start_date=2026-10-19&end_date=2026-10-30",
    "/reports/products.csv?start_date=2026-10-19&end_date=2026-10-30",
    "/reports/products.csv?start_date=2026-10-19&end_date=2026-10-30&category=Drinks",
]


async def read_all(c) -> dict[str, Any]:
    out = {}
    for path in QUERIES:
        r = await c.get(path)
        assert r.status == 200, (path, r.body)
        out[path] = r.data if path.startswith("/sales") else r.body
    return out


def rolled_up_days(results: dict[str, Any]) -> dict[str, int]:
    return {p: v["period"].pop("rolledUpDays") for p, v in results.items() if p.startswith("/sales")}


async def refresh_until_done(server: RunningServer) -> ReportRollupService:
    service = ReportRollupService(server.ctx)
    service.days_per_run = 4  # several rounds, to exercise the backlog
    for _ in range(10):
        assert await service.tick()
        if not service.backlog:
            return service
    raise AssertionError("the rollup backlog never emptied")


def rolled_days(settings) -> list[date]:
    return run_unit(settings, lambda s: list(s.scalars(select(ReportRollupDay.day).order_by(ReportRollupDay.day))))


async def test_rollup_equals_raw_and_stays_exact_after_refunds(app_server, app_settings, staff, menu,
                                                               clock) -> None:
    scenario = await build_scenario(staff, menu, clock)
    clock.now = LATER
    await relogin(staff)
    raw = await read_all(staff["manager"])
    assert set(rolled_up_days(raw).values()) == {0}

    await refresh_until_done(app_server)
    assert rolled_days(app_settings) == CLOSED
    rolled = await read_all(staff["manager"])
    used = rolled_up_days(rolled)
    assert used[QUERIES[0]] == 8 and used[QUERIES[6]] == 4  # 22-25 Oct whole; 21 and 26 partly raw
    assert all(n > 0 for n in used.values())
    for path in QUERIES:
        assert rolled[path] == raw[path], path
    # Every rollup table took part: customers ("Anna", "anna ", "ANNA" on several days) included.
    metrics = rolled[QUERIES[0]]["metrics"]
    assert metrics["totalCustomers"] >= 2 and metrics["returningCustomers"] >= 1
    for table in (ReportRollupSalesDay, ReportRollupCategoryDay, ReportRollupCustomer):
        assert run_unit(app_settings, lambda s, t=table: s.scalar(select(func.count()).select_from(t))) > 0, table

    # A refund of a rolled day is exact at once (the day is read raw until re-rolled)...
    await refund(staff["manager"], scenario.ledger, scenario.order("sat_late"), [(0, 1)])
    after = await read_all(staff["manager"])
    after_used = rolled_up_days(after)
    assert after_used[QUERIES[0]] == 7
    current = [o for o in scenario.orders
               if in_range(o, local_day_bounds(date(2026, 10, 20))[0], local_day_bounds(date(2026, 10, 27))[1])]
    tot = expected_totals(current)
    metrics = after[QUERIES[0]]["metrics"]
    assert (metrics["totalRevenue"], metrics["totalRefunds"], metrics["totalTransactions"]) == \
        (tot["revenue"], tot["refunds"], tot["transactions"])
    assert {p["id"]: (p["revenue"], p["quantitySold"]) for p in after[QUERIES[0]]["topProducts"]} == \
        expected_products(scenario.ledger, current)
    assert metrics["totalRevenue"] < rolled[QUERIES[0]]["metrics"]["totalRevenue"]

    # ...and the same once the service has folded it into the rollup.
    clock.now += timedelta(minutes=10)
    await relogin(staff)
    service = await refresh_until_done(app_server)
    assert service.backlog == 0
    again = await read_all(staff["manager"])
    assert rolled_up_days(again) == used
    for path in QUERIES:
        assert again[path] == after[path], path


async def test_a_new_time_zone_rebuilds_the_rollup(app_server, app_settings, staff, menu, clock) -> None:
    await build_scenario(staff, menu, clock)
    clock.now = LATER
    await relogin(staff)
    await refresh_until_done(app_server)
    r = await staff["admin"].put("/settings", {"storeTimezone": "Asia/Kolkata"})
    assert r.status == 200, r.body
    raw = await read_all(staff["manager"])  # days are Kolkata days now; the Berlin rollup is unusable
    assert set(rolled_up_days(raw).values()) == {0}
    await refresh_until_done(app_server)
    state = run_unit(app_settings, lambda s: s.get(ReportRollupState, DEFAULT_STORE_ID).timezone)
    assert state == "Asia/Kolkata"
    rebuilt = await read_all(staff["manager"])
    assert rolled_up_days(rebuilt)[QUERIES[0]] == 8
    for path in QUERIES:
        assert rebuilt[path] == raw[path], path


async def test_concurrent_refreshes_do_not_double_count(app_server, app_settings, staff, menu, clock) -> None:
    await build_scenario(staff, menu, clock)
    clock.now = LATER
    others = [RunningServer(make_app(app_settings, clock=clock, with_services=False)) for _ in range(2)]
    try:
        results = await asyncio.gather(*(
            s.ctx.run_db(rollup.refresh, app_settings, store_id=DEFAULT_STORE_ID, now=LATER)
            for s in [app_server, *others] for _ in range(2)))
    finally:
        for o in others:
            await o.stop()
    assert sum(r["rolled"] for r in results) == len(CLOSED)  # each day rolled by exactly one of them
    await relogin(staff)
    orders = run_unit(app_settings, lambda s: s.scalar(select(func.sum(ReportRollupSales.orders))))
    raw = await staff["manager"].get("/sales/dashboard?start_date=2026-10-20&end_date=2026-10-29")
    assert orders == raw.data["metrics"]["totalTransactions"] > 0


@pytest.mark.parametrize("now, last", [
    (datetime(2026, 10, 28, 0, 0, tzinfo=UTC), date(2026, 10, 27)),  # 27 Oct (CET) ended an hour ago
    (datetime(2026, 10, 27, 23, 59, tzinfo=UTC), date(2026, 10, 26)),
])
async def test_only_closed_days_are_rolled(app_server, app_settings, staff, menu, clock, now, last) -> None:
    await build_scenario(staff, menu, clock)
    result = run_unit(app_settings, rollup.refresh, app_settings, store_id=DEFAULT_STORE_ID, now=now)
    assert result["rolled"] == (last - date(2026, 10, 20)).days + 1
    assert rolled_days(app_settings)[-1] == last


async def test_a_late_offline_sale_for_a_rolled_day_counts_at_once(app_server, app_settings, staff, menu,
                                                                  clock) -> None:
    scenario = await build_scenario(staff, menu, clock)
    clock.now = datetime(2026, 10, 28, 12, 0, tzinfo=UTC)
    await relogin(staff)
    await refresh_until_done(app_server)
    assert rolled_days(app_settings)[-1] == date(2026, 10, 27)
    path = "/sales/dashboard?start_date=2026-10-20&end_date=2026-10-27"
    before = (await staff["manager"].get(path)).data
    assert before["period"]["rolledUpDays"] == 8
    # A terminal that was offline since Tuesday evening sends its sale now.
    late = await sell(staff["cashier"], scenario.ledger, menu, [("latte", 3)], at=local(2026, 10, 27, 20, 15))
    after = (await staff["manager"].get(path)).data
    assert after["period"]["rolledUpDays"] == 7  # 27 Oct is read raw until re-rolled
    window = [o for o in scenario.orders
              if in_range(o, local_day_bounds(date(2026, 10, 20))[0], local_day_bounds(date(2026, 10, 27))[1])]
    assert after["metrics"]["totalRevenue"] == expected_totals(window)["revenue"] == \
        before["metrics"]["totalRevenue"] + late["total"]
    clock.now += timedelta(minutes=10)
    await relogin(staff)
    await refresh_until_done(app_server)
    again = (await staff["manager"].get(path)).data
    assert again["period"].pop("rolledUpDays") == 8
    after["period"].pop("rolledUpDays")
    assert again == after
