"""Reports off the sale path (issue 17, item 6): their own pool, on REPORTS_DATABASE_URL.

* A second database stands in for a streaming replica: seeded with other sales, it is what the
  dashboard, the daily report and the CSV exports answer from, while sales go to DATABASE_URL.
* The reports engine cannot write (read-only transactions, as on a replica).
* With a reports pool of one connection held by a report that does not finish, POST /orders still
  answers: the sale path has its own pool and threads.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from main import make_app
from orm.models.model_store import Store
from settings import Settings
from tests import reports_support as support
from tests.conftest import DEMO_PASSWORD, run_unit
from tests.reports_support import MENU, Ledger, sell
from tests.support import DatabaseFactory, FakeClock, RunningServer

CLOCK_START = support.NOW  # the `clock` fixture starts here
TODAY = "start_date=2026-10-27&end_date=2026-10-27"


@pytest.fixture
def reports_override() -> dict[str, Any]:
    return {}


@pytest.fixture
def replica_url(db_factory: DatabaseFactory) -> Iterator[str]:
    url = db_factory.create()
    yield url
    db_factory.drop(url)


@pytest.fixture
def app_settings(settings: Settings, reports_override: dict[str, Any], request: pytest.FixtureRequest) -> Settings:
    changes = dict(reports_override)
    if changes.pop("replica", False):
        changes["reports_database_url"] = request.getfixturevalue("replica_url")
    return settings.with_overrides(**changes)


async def until(condition: Any, what: str) -> None:
    """Wait for a condition another thread makes true (bounded, so a bug fails instead of hanging)."""
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
async def replica_sales(app_settings: Settings, clock: FakeClock) -> AsyncIterator[list[dict[str, Any]]]:
    """Sales in the reports database only, placed through a server of its own on it."""
    from orm.seed.identity import seed_test

    other = app_settings.with_overrides(database_url=app_settings.reports_url, reports_database_url="")
    run_unit(other, seed_test, other)
    server = RunningServer(make_app(other, clock=clock))
    c = server.client()
    try:
        r = await c.post("/auth/login", {"username": "admin", "password": DEMO_PASSWORD})
        c.token = r.data["token"]
        r = await c.post("/menu_items", MENU["latte"])
        assert r.status == 201, r.body
        menu = {"latte": r.data["menuItem"]["id"]}
        ledger = Ledger()
        for _ in range(3):
            await sell(c, ledger, menu, [("latte", 2)], customer="Replica Rita")
        yield list(ledger.orders.values())
    finally:
        c.close()
        await server.stop()


@pytest.mark.parametrize("reports_override", [{"replica": True}])
async def test_reports_read_from_the_reports_database_and_sales_go_to_the_main_one(
        app_server: RunningServer, staff, menu, replica_sales) -> None:
    assert app_server.ctx.settings.reports_url != app_server.ctx.settings.database_url
    ledger = Ledger()
    sold = await sell(staff["cashier"], ledger, menu, [("espresso", 1)])
    # The sale path: written to and read from DATABASE_URL.
    assert (await staff["manager"].get(f"/orders/{sold['id']}")).status == 200
    # The reports: what the reports database holds (3 x 2 lattes), not the espresso.
    r = await staff["manager"].get(f"/sales/dashboard?{TODAY}")
    assert r.status == 200, r.body
    m = r.data["metrics"]
    assert m["totalTransactions"] == 3
    assert m["totalRevenue"] == sum(support.order_revenue(o) for o in replica_sales)
    assert (m["totalCustomers"], m["returningCustomers"]) == (1, 1)
    assert [p["name"] for p in r.data["topProducts"]] == ["Latte"]
    daily = await staff["manager"].get("/reports/daily-sales?date=2026-10-27")
    assert daily.data["totals"]["transactions"] == 3
    csv = await staff["manager"].get(f"/reports/products.csv?{TODAY}")
    assert csv.status == 200 and b"Latte" in csv.body and b"Espresso" not in csv.body


async def test_the_reports_engine_cannot_write(app_server: RunningServer, settings: Settings) -> None:
    def rename(session: Any) -> None:
        session.execute(text("UPDATE stores SET name = 'written by a report'"))

    with pytest.raises(DBAPIError):
        await app_server.ctx.run_report(rename)
    names = run_unit(settings, lambda s: list(s.scalars(select(Store.name))))
    assert "written by a report" not in names
    # Reading works, on the same pool.
    assert await app_server.ctx.run_report(lambda s: s.scalar(select(Store.id).limit(1)))


@pytest.mark.parametrize("reports_override", [{"reports_db_pool_size": 1}])
async def test_sales_are_answered_while_a_report_holds_the_whole_reports_pool(
        app_server: RunningServer, staff, menu) -> None:
    ctx = app_server.ctx
    entered, release = threading.Event(), threading.Event()

    def hold(*_args: Any) -> None:  # the report's first statement waits until the test lets it go
        entered.set()
        release.wait(120)

    event.listen(ctx.reports_engine, "before_cursor_execute", hold)
    try:
        slow = asyncio.ensure_future(staff["manager"].get(f"/sales/dashboard?{TODAY}"))
        await until(entered.is_set, "the report started")
        queued = asyncio.ensure_future(staff["manager"].get("/reports/daily-sales?date=2026-10-27"))
        ledger = Ledger()
        sold = await sell(staff["cashier"], ledger, menu, [("latte", 1)])
        again = await staff["cashier"].get(f"/orders/{sold['id']}")
        assert again.status == 200
        assert not slow.done() and not queued.done()  # still held: the sale did not wait for them
        release.set()
        first, second = await slow, await queued
    finally:
        release.set()
        # Removed once no report runs any more (removing it while one passes through it is not safe).
        await until(lambda: ctx.reports_pool._work_queue.qsize() == 0, "the reports finished")
        event.remove(ctx.reports_engine, "before_cursor_execute", hold)
    assert first.status == 200 and second.status == 200, (first.body, second.body)
    assert second.data["totals"]["transactions"] == 1
