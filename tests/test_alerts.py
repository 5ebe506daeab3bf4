"""Stock alerts: raised once, resolved on recovery, the sweep (also across PostgreSQL processes), actions."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from orm.column_types import new_id
from orm.controllers.inventory import alerts as inventory_alerts
from orm.controllers.inventory import stock
from orm.controllers.inventory.alerts import period_key
from orm.controllers.stores import store_settings
from orm.db import make_engine, make_session_factory, unit_of_work
from orm.models.model_inventory import InventoryItem, JobRun, StockAlert
from orm.models.model_settings import StoreSettings
from services.stock_alerts_service import StockAlertsService, create_service
from tests.conftest import run_unit
from tests.inventory_helpers import STORE, alerts_of, count, make_item, open_alerts
from tests.support import PG_URL, suite_now

D = Decimal
ALERT_KEYS = {"id", "type", "severity", "title", "message", "inventoryItemId", "status", "createdAt",
              "acknowledgedAt", "resolvedAt"}


def sale(settings, item_id: str, qty: str, now=None, movement_type: str = "sale"):
    return run_unit(settings, stock.apply_movements, store_id=STORE, lines=[(item_id, D(qty))],
                    movement_type=movement_type, user_id=None, reason="", reference=None, now=now or suite_now(),
                    allow_negative=True)


def sweep(settings, now=None):
    return run_unit(settings, inventory_alerts.sweep, settings, now or suite_now())


async def test_raised_once_on_crossing_and_resolved_on_restock(settings, admin):
    item = make_item(settings, "Oat milk", unit="l", stock="10", min_level="3")
    sale(settings, item["id"], "-5")
    assert alerts_of(settings, item["id"]) == []
    sale(settings, item["id"], "-3")  # 2 l: at or below the minimum
    sale(settings, item["id"], "-1")
    assert sweep(settings)["raised"] == []
    assert alerts_of(settings, item["id"]) == [("low_stock", "active")]
    resp = await admin.get("/alerts?status=active")
    assert resp.status == 200 and resp.data["total"] == 1
    alert = resp.data["alerts"][0]
    assert set(alert) == ALERT_KEYS
    assert (alert["type"], alert["severity"], alert["inventoryItemId"]) == ("low_stock", "warning", item["id"])
    assert alert["title"] == "Low stock: Oat milk" and "at 2 l" in alert["message"] and alert["resolvedAt"] is None
    resp = await admin.post(f"/inventory/{item['id']}/adjust", {"quantity": 12, "type": "restock"})
    assert resp.status == 200
    one = (await admin.get(f"/alerts/{alert['id']}")).data["alert"]
    assert one["status"] == "resolved" and one["resolvedAt"] is not None


def test_low_then_out_then_back(settings):
    item = make_item(settings, "Butter", stock="2", min_level="1")
    sale(settings, item["id"], "-1.5")
    assert alerts_of(settings, item["id"]) == [("low_stock", "active")]
    sale(settings, item["id"], "-1")  # -0.5: out of stock supersedes low
    assert alerts_of(settings, item["id"]) == [("low_stock", "resolved"), ("out_of_stock", "active")]
    sale(settings, item["id"], "1", movement_type="refund")  # 0.5: low again
    assert open_alerts(settings, item["id"]) == ["low_stock"]
    sale(settings, item["id"], "5", movement_type="refund")
    assert open_alerts(settings, item["id"]) == []
    severities = run_unit(settings, lambda s: {t: sev for t, sev in s.execute(
        select(StockAlert.alert_type, StockAlert.severity))})
    assert severities == {"low_stock": "warning", "out_of_stock": "critical"}


def test_sweep_raises_what_no_movement_did_and_escalates_expiry(settings):
    today = suite_now().date()
    quiet = make_item(settings, "Ham", stock="2", min_level="0.5", expiry=today + timedelta(days=10))
    # A threshold changed behind the controllers' back: only the sweep notices.
    run_unit(settings, lambda s: s.execute(update(InventoryItem).where(InventoryItem.id == quiet["id"])
                                           .values(min_stock_level=D("5"))))
    result = sweep(settings)
    assert [(a["type"], a["inventoryItemId"]) for a in result["raised"]] == [("low_stock", quiet["id"])]
    assert sweep(settings)["raised"] == []  # nothing twice
    # Expiry warning days default to 3: day 8 before expiry nothing, day 2 before a warning, after it critical.
    now = suite_now()
    assert sweep(settings, now + timedelta(days=2))["raised"] == []
    raised = sweep(settings, now + timedelta(days=8))["raised"]
    assert [(a["type"], a["severity"], a["title"]) for a in raised] == [("expiring", "warning", "Expiring soon: Ham")]
    assert sweep(settings, now + timedelta(days=12))["raised"] == []
    expiring = run_unit(settings, lambda s: s.scalar(select(StockAlert).where(StockAlert.alert_type == "expiring")))
    assert (expiring.severity, expiring.title, expiring.status) == ("critical", "Expired: Ham", "active")


async def test_editing_expiry_or_deactivating_resolves(settings, admin):
    today = suite_now().date()
    item = make_item(settings, "Cream", unit="l", stock="0", expiry=today + timedelta(days=1))
    assert open_alerts(settings, item["id"]) == ["expiring", "out_of_stock"]
    resp = await admin.put(f"/inventory/{item['id']}", {"expiryDate": (today + timedelta(days=30)).isoformat()})
    assert resp.status == 200 and open_alerts(settings, item["id"]) == ["out_of_stock"]
    await admin.delete(f"/inventory/{item['id']}")
    assert open_alerts(settings, item["id"]) == []
    assert sweep(settings)["raised"] == []  # inactive items raise nothing


def test_partial_unique_index_is_enforced_by_the_database(settings):
    item = make_item(settings, "Lids", unit="pcs", stock="10")

    def insert(session, status: str):
        session.add(StockAlert(id=new_id(), store_id=STORE, inventory_item_id=item["id"], alert_type="low_stock",
                               severity="warning", title="t", message="", status=status, created_at=suite_now()))
        session.flush()

    run_unit(settings, insert, "resolved")
    run_unit(settings, insert, "dismissed")
    run_unit(settings, insert, "active")
    with pytest.raises(IntegrityError):
        run_unit(settings, insert, "acknowledged")
    with pytest.raises(IntegrityError):
        run_unit(settings, insert, "active")
    # raise_alert treats the violation as "already open".
    assert run_unit(settings, lambda s: inventory_alerts.raise_alert(
        s, store_id=STORE, item_id=item["id"], alert_type="low_stock", severity="warning", title="t",
        message="", now=suite_now())) is None
    assert count(settings, StockAlert) == 3


async def test_actions_and_filters(settings, as_role):
    item = make_item(settings, "Milk", unit="l", stock="0")
    make_item(settings, "Beans", stock="1", min_level="2")
    manager, cashier = as_role("manager"), as_role("cashier")
    alerts = (await cashier.get("/alerts")).data["alerts"]
    assert sorted(a["type"] for a in alerts) == ["low_stock", "out_of_stock"]
    out = next(a for a in alerts if a["type"] == "out_of_stock")
    resp = await manager.patch(f"/alerts/{out['id']}/acknowledge")
    assert resp.status == 200 and resp.data["alert"]["status"] == "acknowledged"
    acknowledged_at = resp.data["alert"]["acknowledgedAt"]
    assert acknowledged_at is not None
    again = await manager.patch(f"/alerts/{out['id']}/acknowledge")
    assert again.status == 200 and again.data["alert"]["acknowledgedAt"] == acknowledged_at
    assert sale(settings, item["id"], "-1") and open_alerts(settings, item["id"]) == ["out_of_stock"]  # still one
    resp = await manager.patch(f"/alerts/{out['id']}/dismiss")
    assert resp.status == 200 and resp.data["alert"]["status"] == "dismissed"
    for action in ("acknowledge", "resolve"):
        resp = await manager.patch(f"/alerts/{out['id']}/{action}")
        assert resp.status == 409 and resp.json["errorCode"] == "CONFLICT"
    assert (await manager.patch("/alerts/nope/resolve")).status == 404
    assert (await manager.patch(f"/alerts/{out['id']}/snooze")).status == 404
    assert (await cashier.get("/alerts/nope")).status == 404

    async def types(query: str) -> list[str]:
        r = await cashier.get(f"/alerts?{query}")
        assert r.status == 200, r.body
        return sorted(a["type"] for a in r.data["alerts"])

    assert await types("status=dismissed") == ["out_of_stock"]
    assert await types("status=active,acknowledged") == ["low_stock"]
    assert await types("severity=warning&type=low_stock") == ["low_stock"]
    assert await types("type=expiring") == []
    for query in ("status=open", "type=fire", "severity=loud"):
        assert (await cashier.get(f"/alerts?{query}")).status == 400
    page = (await cashier.get("/alerts?perPage=1&page=2")).data
    assert page["total"] == 2 and len(page["alerts"]) == 1 and page["pages"] == 2


def test_dismissed_alert_stays_quiet_until_the_condition_clears(settings):
    item = make_item(settings, "Green tea", stock="0.2", min_level="0.5")
    alert_id = run_unit(settings, lambda s: s.scalar(select(StockAlert.id)))
    run_unit(settings, inventory_alerts.act, _manager(), alert_id, "dismiss", suite_now())
    assert sweep(settings)["raised"] == [] and open_alerts(settings, item["id"]) == []
    sale(settings, item["id"], "-0.1")
    assert open_alerts(settings, item["id"]) == []
    sale(settings, item["id"], "1", movement_type="refund")  # recovered: the dismissal has done its job
    sale(settings, item["id"], "-1")
    assert alerts_of(settings, item["id"]) == [("low_stock", "dismissed"), ("low_stock", "active")]


def test_resolving_by_hand_while_still_low_lets_the_sweep_raise_again(settings):
    item = make_item(settings, "Black tea", stock="0.2", min_level="0.5")
    alert_id = run_unit(settings, lambda s: s.scalar(select(StockAlert.id)))
    run_unit(settings, inventory_alerts.act, _manager(), alert_id, "resolve", suite_now())
    assert [a["type"] for a in sweep(settings)["raised"]] == ["low_stock"]
    assert alerts_of(settings, item["id"]) == [("low_stock", "resolved"), ("low_stock", "active")]


def _manager():
    from tests.inventory_helpers import principal

    return principal("manager")


def test_scheduled_sweep_once_per_period(settings):
    make_item(settings, "Eggs", unit="pcs", stock="0")
    now = suite_now()
    first = run_unit(settings, inventory_alerts.run_scheduled_sweep, settings, now)
    second = run_unit(settings, inventory_alerts.run_scheduled_sweep, settings, now)
    assert first["ran"] and first["intervalMinutes"] == 15 and first["periodKey"] == period_key(now, 15)
    if PG_URL:
        assert not second["ran"] and second["skipped"] == "already swept in this period"
        later = run_unit(settings, inventory_alerts.run_scheduled_sweep, settings, now + timedelta(minutes=15))
        assert later["ran"]
        assert count(settings, JobRun) == 2
    else:  # one process on SQLite: it just sweeps, and nothing is recorded
        assert second["ran"] and count(settings, JobRun) == 0
    assert count(settings, StockAlert) == 1


def test_period_keys():
    from datetime import UTC, datetime

    at = datetime(2026, 11, 23, 10, 29, 59, tzinfo=UTC)
    assert period_key(at, 15) == "15m@2026-11-23T10:15Z"
    assert period_key(at + timedelta(seconds=1), 15) == "15m@2026-11-23T10:30Z"
    assert period_key(at, 60) == "60m@2026-11-23T10:00Z"


async def test_service_sweeps_publishes_and_follows_the_setting(settings, server):
    item = make_item(settings, "Bread", unit="pcs", stock="3", min_level="5")
    run_unit(settings, lambda s: s.execute(update(StockAlert).values(status="resolved")))
    run_unit(settings, lambda s: s.execute(update(StoreSettings).values(alert_sweep_minutes=5)))
    service = create_service(server.ctx)
    assert isinstance(service, StockAlertsService) and service.interval_seconds == 15 * 60
    received: list[dict] = []
    bus = server.ctx.event_bus
    assert bus is not None
    bus.subscribe(received.append)
    assert await service.tick()
    assert service.interval_seconds == 5 * 60 and service.last_result["ran"]
    assert open_alerts(settings, item["id"]) == ["low_stock"]
    assert [(e["type"], e["alertType"], e["inventoryItemId"]) for e in received] == \
        [("alert", "low_stock", item["id"])]
    assert received[0]["storeId"] == STORE
    assert run_unit(settings, store_settings.current, settings, STORE)["alertSweepMinutes"] == 5


# ---- PostgreSQL: several server processes share the database ------------------------------------------

def _wait_for_lock_waiter(url: str, deadline_s: float = 20.0) -> None:
    """Block until some other connection of this database waits on a lock."""
    engine = make_engine(url, pooled=False)
    try:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            with engine.connect() as conn:
                waiting = conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND wait_event_type = 'Lock'"))
            if waiting:
                return
            time.sleep(0.02)
        raise AssertionError("no transaction ever waited on the lock")
    finally:
        engine.dispose()


@pytest.mark.skipif(not PG_URL, reason="concurrent sweeps need PostgreSQL")
def test_two_concurrent_sweeps_on_postgres_run_once(settings):
    items = [make_item(settings, f"Item {n}", stock="0") for n in range(5)]
    run_unit(settings, lambda s: s.execute(update(StockAlert).values(status="resolved")))
    engine = make_engine(settings.database_url, pool_size=4, max_overflow=0)
    factory = make_session_factory(engine)
    now = suite_now()
    first_done, second_done = threading.Event(), threading.Event()
    results: dict[str, dict] = {}

    def first(session):
        results["first"] = inventory_alerts.run_scheduled_sweep(session, settings, now)
        first_done.set()
        assert second_done.wait(20), "the second sweep never finished"  # hold the transaction (and the lock) open

    def second():
        assert first_done.wait(20)
        results["second"] = unit_of_work(factory, inventory_alerts.run_scheduled_sweep, settings, now)
        second_done.set()

    try:
        worker = threading.Thread(target=second)
        worker.start()
        unit_of_work(factory, first)
        worker.join(20)
    finally:
        engine.dispose()
    assert results["first"]["ran"] and len(results["first"]["raised"]) == 5
    assert not results["second"]["ran"] and results["second"]["skipped"] == "another process is sweeping"
    for item in items:
        assert open_alerts(settings, item["id"]) == ["out_of_stock"]
    assert count(settings, JobRun) == 1


@pytest.mark.skipif(not PG_URL, reason="concurrent sweeps need PostgreSQL")
def test_overlapping_unlocked_sweeps_never_duplicate_an_alert(settings):
    """Without the advisory lock the partial unique index still keeps the second insert out."""
    items = [make_item(settings, f"Item {n}", stock="0") for n in range(3)]
    run_unit(settings, lambda s: s.execute(update(StockAlert).values(status="resolved")))
    engine = make_engine(settings.database_url, pool_size=4, max_overflow=0)
    factory = make_session_factory(engine)
    first_swept, may_commit = threading.Event(), threading.Event()
    results: dict[str, dict] = {}

    def first(session):
        results["first"] = inventory_alerts.sweep(session, settings, suite_now())
        first_swept.set()
        assert may_commit.wait(20)

    def second():
        assert first_swept.wait(20)
        # Its read sees no open alerts (not committed yet), so it inserts and waits on the index entry.
        results["second"] = unit_of_work(factory, inventory_alerts.sweep, settings, suite_now())

    try:
        t1 = threading.Thread(target=lambda: unit_of_work(factory, first))
        t2 = threading.Thread(target=second)
        t1.start()
        t2.start()
        first_swept.wait(20)
        _wait_for_lock_waiter(settings.database_url)
        may_commit.set()
        t1.join(20)
        t2.join(20)
    finally:
        engine.dispose()
    assert len(results["first"]["raised"]) == 3 and results["second"]["raised"] == []
    for item in items:
        assert open_alerts(settings, item["id"]) == ["out_of_stock"]
