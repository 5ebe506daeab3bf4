"""The demo data tells the same story at every hour (issue 18), and keeps the money invariants.

Each test seeds a whole demo database (`run_seed`, as `make run` does) with the clock injected at
an instant in store time (Europe/Berlin): several hours, a Monday, a Sunday and the days after
both DST changes.  Nothing here reads the wall clock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from main import make_app
from orm.controllers.orders import journal
from orm.controllers.reports import sales_reports
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_identity import User
from orm.models.model_inventory import InventoryItem, StockAlert, StockMovement
from orm.models.model_menu import MenuItem
from orm.models.model_orders import Order, Refund, Shift
from orm.seed.runner import run_seed
from services.daily_summary_email import render_summary
from settings import Settings
from tests.conftest import run_unit
from tests.support import FakeClock, RunningServer

BERLIN = ZoneInfo("Europe/Berlin")
WARNING_DAYS = 3  # the store setting's default


def berlin(y: int, m: int, d: int, hh: int, mm: int) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BERLIN).astimezone(UTC)


MONDAY, SUNDAY = (2026, 11, 23), (2026, 11, 22)
AFTER_AUTUMN_DST, AFTER_SPRING_DST = (2026, 10, 26), (2026, 3, 30)


def seed(settings: Settings, now: datetime, progress: Any = None) -> dict[str, int]:
    return run_seed(settings, "test", now=now, progress=progress)


def story(session: Session, now: datetime) -> dict[str, Any]:
    """What the inventory screen and the alerts list show, and the money invariants."""
    today = now.astimezone(BERLIN).date()
    items = session.scalars(select(InventoryItem).where(InventoryItem.is_active.is_(True))).all()
    active = defaultdict(set)
    for item_id, kind in session.execute(select(StockAlert.inventory_item_id, StockAlert.alert_type)
                                         .where(StockAlert.status == "active")):
        active[item_id].add(kind)
    moved = dict(session.execute(select(StockMovement.inventory_item_id, func.sum(StockMovement.delta))
                                 .group_by(StockMovement.inventory_item_id)).all())
    latest = max(session.scalar(select(func.max(Order.sale_at))) or now,
                 session.scalar(select(func.max(Refund.created_at))) or now,
                 session.scalar(select(func.max(StockMovement.created_at))) or now,
                 session.scalar(select(func.max(Shift.opened_at))) or now)
    return {
        "low": sorted(i.name for i in items if 0 < i.current_stock < i.min_stock_level and i.min_stock_level > 0
                      and "low_stock" in active[i.id]),
        "out": sorted(i.name for i in items if i.current_stock == 0 < i.min_stock_level
                      and "out_of_stock" in active[i.id]),
        "expiring": sorted(i.name for i in items if i.expiry_date is not None
                           and today <= i.expiry_date <= today + timedelta(days=WARNING_DAYS)
                           and "expiring" in active[i.id]),
        "zero_minimum": sorted(i.name for i in items if i.min_stock_level <= 0),
        "incomplete": sorted(i.name for i in items if None in (i.max_stock_level, i.cost_per_unit, i.supplier)),
        "sizeless": session.scalar(select(func.count()).select_from(MenuItem).where(
            (MenuItem.size.is_(None)) | (MenuItem.size == ""))),
        "numbers": list(session.scalars(select(Order.receipt_number).order_by(Order.receipt_number))),
        "journal": journal.verify(session),
        "stock_adds_up": all(moved.get(i.id, Decimal(0)) == i.current_stock for i in items),
        "negative_counts": session.scalar(select(func.count()).select_from(MenuItem)
                                          .where(MenuItem.stock_count < 0)),
        "latest_event": latest,
    }


def check_story(settings: Settings, now: datetime) -> dict[str, Any]:
    counts = seed(settings, now)
    facts = run_unit(settings, story, now)
    assert len(facts["low"]) >= 3, facts["low"]
    assert len(facts["out"]) >= 1 and len(facts["expiring"]) >= 1, facts
    assert facts["zero_minimum"] == [] and facts["incomplete"] == [] and facts["sizeless"] == 0
    assert facts["numbers"] == list(range(1, counts["orders"] + 1))  # gapless
    assert facts["journal"]["valid"] is True
    assert facts["journal"]["count"] == counts["journal_entries"] >= counts["orders"]
    assert facts["stock_adds_up"] and facts["negative_counts"] == 0
    assert facts["latest_event"] <= now  # nothing is dated after the injected clock
    return {"counts": counts, **facts}


SAME_STORY = {"low", "out", "expiring"}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("day, hour", [(MONDAY, (7, 0)), (MONDAY, (13, 0)), (SUNDAY, (13, 0)),
                                       (AFTER_AUTUMN_DST, (0, 30)), (AFTER_SPRING_DST, (2, 30))])
def test_the_story_holds_at_any_hour_and_date(settings: Settings, day: tuple[int, int, int],
                                              hour: tuple[int, int]) -> None:
    facts = check_story(settings, berlin(*day, *hour))
    # The same items are low, out and expiring whenever the seed runs (the closing stock take).
    assert {k: facts[k] for k in SAME_STORY} == {
        "low": ["Bread loaves", "Caramel syrup", "Cups 12oz", "Green tea", "Oat milk"],
        "out": ["Cocoa powder"], "expiring": ["Bread loaves", "Whole milk"]}


def history(session: Session, today: date) -> dict[str, Any]:
    """Everything sold before `today` (store time), and the catalogue and staff."""
    start = datetime.combine(today, datetime.min.time(), BERLIN).astimezone(UTC)
    orders = session.scalars(select(Order).where(Order.sale_at < start).order_by(Order.receipt_number)).all()
    return {
        "orders": [(o.receipt_number, o.sale_at, o.total, o.tip_amount, o.discount_amount, o.payment_method,
                    o.order_type, o.created_by_name, o.status, tuple(sorted((i.product_name, i.size, i.quantity)
                                                                           for i in o.items)))
                   for o in orders],
        "refunds": sorted((r.created_at, r.amount, r.reason) for r in session.scalars(
            select(Refund).where(Refund.created_at < start))),
        "shifts": sorted((s.opened_at, s.closed_at, s.counted_cash) for s in session.scalars(
            select(Shift).where(Shift.opened_at < start))),
        "menu": sorted(session.execute(select(MenuItem.name, MenuItem.size, MenuItem.price)).all()),
        "users": sorted(session.scalars(select(User.username))),
    }


@pytest.mark.timeout(300)
def test_days_before_today_are_the_same_at_any_hour(settings: Settings, db_factory) -> None:
    """00:30 and 23:59 of one day: the same catalogue, staff and history; today has only what sold by then."""
    late_url = db_factory.create()
    try:
        late_settings = replace(settings, database_url=late_url)
        early = check_story(settings, berlin(*MONDAY, 0, 30))
        late = check_story(late_settings, berlin(*MONDAY, 23, 59))
        today = date(*MONDAY)
        before = run_unit(settings, history, today)
        assert before == run_unit(late_settings, history, today)
        assert len(before["orders"]) > 900 and before["refunds"] and len(before["shifts"]) == 29
        assert late["counts"]["orders"] > early["counts"]["orders"] == len(before["orders"])
        assert {k: early[k] for k in SAME_STORY} == {k: late[k] for k in SAME_STORY}
    finally:
        db_factory.drop(late_url)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("hour", [(0, 30), (23, 59)])
async def test_yesterday_and_the_dashboard_show_a_real_cafe(settings: Settings, hour: tuple[int, int]) -> None:
    now = berlin(*SUNDAY, *hour)
    said: list[str] = []
    seed(settings, now, said.append)  # and it says what it is doing
    assert [line for line in said if line.startswith("Seeding ")] == [
        f"Seeding {area} ..." for area in ("stores", "identity", "inventory", "menu", "orders")]
    assert "  orders: 30/30 days" in "\n".join(said) and said[-1].startswith("Seeded in ")
    running = RunningServer(make_app(settings, clock=FakeClock(now)))
    c = running.client()
    try:
        login = await c.post("/auth/login", {"username": "manager", "password": "password123"})
        c.token = login.data["token"]
        yesterday = (date(*SUNDAY) - timedelta(days=1)).isoformat()
        report = (await c.get(f"/reports/daily-sales?date={yesterday}")).data
        totals = report["totals"]
        assert totals["transactions"] > 20 and totals["revenue"] > 0
        assert totals["refunds"] > 0 and totals["discounts"] > 0 and totals["tips"] > 0
        assert {"cash", "card"} <= {p["method"] for p in report["payments"]}
        assert len(report["staff"]) >= 2 and len(report["products"]) >= 10
        board = (await c.get(f"/reports/dashboard?start_date={yesterday}&end_date={yesterday}")).data
        assert len(board["categoryBreakdown"]) >= 3 and len(board["staffBreakdown"]) >= 2
        assert board["metrics"]["totalRefunds"] > 0 and board["metrics"]["totalDiscounts"] > 0
        assert len([h for h in board["hourlyBreakdown"] if h["transactions"]]) >= 8
        month = (await c.get("/reports/dashboard")).data
        assert len([d for d in month["chartData"] if d["transactions"]]) >= 20
        admin = running.client()
        admin.token = (await admin.post("/auth/login", {"username": "admin", "password": "password123"})).data["token"]
        assert (await admin.get("/journal/verify")).data["valid"] is True
        admin.close()
        take_away = run_unit(settings, lambda s: s.scalar(select(func.count()).select_from(Order).where(
            Order.order_type == "take_away", Order.sale_at >= berlin(*SUNDAY, 0, 0) - timedelta(days=1),
            Order.sale_at < berlin(*SUNDAY, 0, 0))))
        assert take_away > 0
        alerts = (await c.get("/alerts?status=active")).data
        kinds = {a["type"] for a in alerts["alerts"]}
        assert {"low_stock", "out_of_stock", "expiring"} <= kinds
        # The daily e-mail of yesterday (as the scheduler builds it): products, busy hours, stock to reorder.
        data = run_unit(settings, sales_reports.summary_data, settings, store_id=DEFAULT_STORE_ID,
                        day=yesterday, now=now)
        mail = render_summary(data, sender="cafe@example.com", recipients=["manager@example.com"])
        text = mail.get_body(("plain",)).get_content()
        assert "(no sales)" not in text and "Nothing to reorder." not in text, text
        assert "Oat milk" in text and "Refunds" in text
    finally:
        c.close()
        await running.stop()
