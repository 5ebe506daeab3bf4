"""Stock alerts (API.md Alert): raised when stock crosses a threshold, by the periodic sweep, resolved
when the condition goes away.

Rules:
* One open (active or acknowledged) alert per item and condition. The partial unique index
  `uq_stock_alerts_open_item_type` enforces it; inserts run in a SAVEPOINT and a violation means
  "already open" (a concurrent sale or sweep got there first).
* Conditions: low_stock (0 < level <= min, warning), out_of_stock (level <= 0, critical),
  expiring (expiry date within expiryWarningDays of today in the store's time zone: warning;
  already expired: critical). `system` alerts have no item and are only raised explicitly.
* When the condition goes away, open alerts become `resolved` with `resolvedAt` (resolvedBy empty).
* A dismissed alert keeps `resolvedAt` empty while its condition still holds, and the sweep does not
  raise that condition again until it has cleared (then `resolvedAt` is set on the dismissed alert
  too). Resolving by hand while the condition still holds lets the sweep raise it afresh.
* Actions: acknowledge (active -> acknowledged), dismiss / resolve (open -> dismissed / resolved).
  Repeating an action on an alert already in that state answers the alert unchanged; any other
  transition is a 409.
* Every raised alert is an "alert" event of the unit of work (orm.db.events): the live dashboard
  hears of it once the transaction committed, whoever raised it (a sale, an edit, an import, the sweep).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.column_types import new_id
from orm.controllers.inventory.rules import is_expired, is_expiring, plain_number, stock_condition, store_today
from orm.controllers.orders import tab_alerts
from orm.controllers.paging import Page, listing
from orm.controllers.stores import store_settings
from orm.db import Event, events, rows_changed
from orm.domain.errors import Conflict, NotFound, ValidationFailed
from orm.domain.principal import Principal
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_inventory import (
    ALERT_SEVERITIES,
    ALERT_STATUSES,
    ALERT_TYPES,
    OPEN_ALERT_STATUSES,
    InventoryItem,
    JobRun,
    StockAlert,
)
from orm.models.model_store import Store
from settings import Settings

ITEM_CONDITIONS = ("low_stock", "out_of_stock", "expiring")
SWEEP_JOB = "stock_alert_sweep"
# Any constant shared by every server process; "CAFE" followed by the issue number.
SWEEP_LOCK_KEY = 0x43414645_0006
DEFAULT_SWEEP_MINUTES = 15
ACTIONS = {
    # action: (statuses it may start from, resulting status)
    "acknowledge": (("active",), "acknowledged"),
    "dismiss": (OPEN_ALERT_STATUSES, "dismissed"),
    "resolve": (OPEN_ALERT_STATUSES, "resolved"),
}


@dataclass(frozen=True)
class ItemState:
    """What the alert rules need to know about one item."""

    id: str
    store_id: str
    name: str
    unit: str
    level: Decimal
    min_level: Decimal
    expiry: date | None
    is_active: bool


def serialize(alert: StockAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "type": alert.alert_type,
        "severity": alert.severity,
        "title": alert.title,
        "message": alert.message,
        "inventoryItemId": alert.inventory_item_id,
        "status": alert.status,
        "createdAt": alert.created_at,
        "acknowledgedAt": alert.acknowledged_at,
        "resolvedAt": alert.resolved_at,
    }


def _texts(condition: str, item: ItemState, today: date) -> tuple[str, str, str]:
    """(severity, title, message) for an item condition."""
    unit = item.unit
    if condition == "out_of_stock":
        return ("critical", f"Out of stock: {item.name}",
                f"{item.name} is at {plain_number(item.level)} {unit}.")
    if condition == "low_stock":
        return ("warning", f"Low stock: {item.name}",
                f"{item.name} is at {plain_number(item.level)} {unit}, at or below the minimum of "
                f"{plain_number(item.min_level)} {unit}.")
    assert item.expiry is not None
    if is_expired(item.expiry, today):
        return "critical", f"Expired: {item.name}", f"{item.name} expired on {item.expiry.isoformat()}."
    return "warning", f"Expiring soon: {item.name}", f"{item.name} expires on {item.expiry.isoformat()}."


def _wanted(item: ItemState, today: date, warning_days: int) -> set[str]:
    if not item.is_active:
        return set()
    wanted = set()
    stock = stock_condition(item.level, item.min_level)
    if stock:
        wanted.add(stock)
    if is_expiring(item.expiry, today, warning_days):
        wanted.add("expiring")
    return wanted


def _item_states(session: Session, store_id: str, item_ids: list[str] | None = None) -> list[ItemState]:
    query = select(InventoryItem.id, InventoryItem.store_id, InventoryItem.name, InventoryItem.unit,
                   InventoryItem.current_stock, InventoryItem.min_stock_level, InventoryItem.expiry_date,
                   InventoryItem.is_active).where(InventoryItem.store_id == store_id)
    if item_ids is not None:
        query = query.where(InventoryItem.id.in_(item_ids))
    return [ItemState(*row) for row in session.execute(query.order_by(InventoryItem.id))]


def _existing(session: Session, store_id: str, item_ids: list[str] | None) -> dict[tuple[str, str], StockAlert]:
    """Per (item, condition): the open alert, or a dismissed one whose condition has not cleared."""
    query = select(StockAlert).where(
        StockAlert.store_id == store_id,
        StockAlert.inventory_item_id.is_not(None),
        or_(StockAlert.status.in_(OPEN_ALERT_STATUSES),
            and_(StockAlert.status == "dismissed", StockAlert.resolved_at.is_(None))),
    )
    if item_ids is not None:
        query = query.where(StockAlert.inventory_item_id.in_(item_ids))
    found: dict[tuple[str, str], StockAlert] = {}
    for alert in session.scalars(query.order_by(StockAlert.created_at)):
        key = (alert.inventory_item_id or "", alert.alert_type)
        # An open alert wins over a dismissed one for the same condition.
        if key not in found or alert.status in OPEN_ALERT_STATUSES:
            found[key] = alert
    return found


def raise_alert(session: Session, *, store_id: str, item_id: str | None, alert_type: str, severity: str,
                title: str, message: str, now: datetime) -> dict[str, Any] | None:
    """Insert an active alert; None when one is already open for this item and condition."""
    if item_id is not None and session.scalar(
            select(StockAlert.id).where(StockAlert.inventory_item_id == item_id,
                                        StockAlert.alert_type == alert_type,
                                        StockAlert.status == "dismissed",
                                        StockAlert.resolved_at.is_(None)).limit(1)):
        return None  # dismissed while the condition still holds
    alert = StockAlert(id=new_id(), store_id=store_id, inventory_item_id=item_id, alert_type=alert_type,
                       severity=severity, title=title[:200], message=message[:500], status="active",
                       created_at=now)
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        return None  # the partial unique index: already open (maybe by a concurrent transaction)
    data = serialize(alert)
    # Small: the dashboard fetches GET /alerts for the rest.
    events(session).add(Event("alert", store_id, {
        "alertId": data["id"], "alertType": data["type"], "severity": data["severity"], "title": data["title"],
        "inventoryItemId": data["inventoryItemId"], "status": data["status"]}))
    return data


def resolve_condition(session: Session, item_id: str, alert_type: str, now: datetime) -> int:
    """The condition went away: resolve its open alerts and clear dismissed ones."""
    resolved = rows_changed(
        session,
        update(StockAlert)
        .where(StockAlert.inventory_item_id == item_id, StockAlert.alert_type == alert_type,
               StockAlert.status.in_(OPEN_ALERT_STATUSES))
        .values(status="resolved", resolved_at=now)
        .execution_options(synchronize_session="fetch"))
    session.execute(
        update(StockAlert)
        .where(StockAlert.inventory_item_id == item_id, StockAlert.alert_type == alert_type,
               StockAlert.status == "dismissed", StockAlert.resolved_at.is_(None))
        .values(resolved_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return resolved or 0


def on_stock_crossing(session: Session, item: ItemState, before: str | None, after: str | None,
                      now: datetime) -> None:
    """A movement moved the item from stock condition `before` to `after` (both may be None)."""
    if before == after:
        return
    if before:
        resolve_condition(session, item.id, before, now)
    if after and item.is_active:
        severity, title, message = _texts(after, item, now.date())
        raise_alert(session, store_id=item.store_id, item_id=item.id, alert_type=after,
                                     severity=severity, title=title, message=message, now=now)


def reconcile_items(session: Session, settings: Settings, store_id: str, now: datetime,
                    item_ids: list[str] | None = None) -> dict[str, Any]:
    """Bring the alerts of these items (all of the store's when None) in line with their state."""
    cfg = store_settings.current(session, settings, store_id)
    today = store_today(now, cfg["storeTimezone"])
    warning_days = int(cfg["expiryWarningDays"])
    items = _item_states(session, store_id, item_ids)
    existing = _existing(session, store_id, [i.id for i in items] if item_ids is not None else None)
    raised: list[dict[str, Any]] = []
    resolved = 0
    for item in items:  # in id order, like stock updates, so concurrent writers do not deadlock
        wanted = _wanted(item, today, warning_days)
        for condition in ITEM_CONDITIONS:
            alert = existing.get((item.id, condition))
            if condition not in wanted:
                if alert is not None:
                    resolved += resolve_condition(session, item.id, condition, now)
                continue
            severity, title, message = _texts(condition, item, today)
            if alert is None:
                data = raise_alert(session, store_id=store_id, item_id=item.id,
                                                    alert_type=condition, severity=severity, title=title,
                                                    message=message, now=now)
                if data:
                    raised.append({**data, "storeId": store_id})
            elif alert.status in OPEN_ALERT_STATUSES and condition == "expiring" \
                    and alert.severity != severity:
                # The expiry date passed (or moved) while the alert was open.
                alert.severity, alert.title, alert.message = severity, title, message
    return {"raised": raised, "resolved": resolved}

# ---- the periodic sweep ---------------------------------------------------------------------


def sweep(session: Session, settings: Settings, now: datetime, store_id: str | None = None) -> dict[str, Any]:
    """Reconcile every active store's items (or one store's); no locking, see run_scheduled_sweep."""
    stores = [store_id] if store_id else list(
        session.scalars(select(Store.id).where(Store.is_active.is_(True)).order_by(Store.id)))
    raised: list[dict[str, Any]] = []
    resolved = 0
    for sid in stores:
        result = reconcile_items(session, settings, sid, now)
        raised.extend(result["raised"])
        raised.extend(tab_alerts.raise_old_tabs(session, sid, now))  # tabs open longer than tabMaxHours
        resolved += result["resolved"]
    return {"raised": raised, "resolved": resolved}


def run_scheduled_sweep(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    """The background service's job: at most one sweep per period across server processes.

    On PostgreSQL it takes `pg_try_advisory_xact_lock(SWEEP_LOCK_KEY)` (held until this transaction
    ends) and records the period in `job_runs` (unique name + period key): a process that finds the
    lock taken, or the period already recorded, skips. SQLite serves one process: it just sweeps.
    Answers {ran, skipped, periodKey, intervalMinutes, raised[Alert + storeId], resolved}.
    """
    cfg = store_settings.current(session, settings, DEFAULT_STORE_ID)
    minutes = max(1, int(cfg["alertSweepMinutes"] or DEFAULT_SWEEP_MINUTES))
    key = period_key(now, minutes)
    result: dict[str, Any] = {"ran": False, "skipped": None, "periodKey": key, "intervalMinutes": minutes,
                              "raised": [], "resolved": 0}
    job: JobRun | None = None
    if session.get_bind().dialect.name == "postgresql":
        if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SWEEP_LOCK_KEY}):
            result["skipped"] = "another process is sweeping"
            return result
        job = JobRun(id=new_id(), name=SWEEP_JOB, period_key=key, started_at=now)
        try:
            with session.begin_nested():
                session.add(job)
        except IntegrityError:
            result["skipped"] = "already swept in this period"
            return result
    swept = sweep(session, settings, now)
    if job is not None:
        job.finished_at = now
        job.details = {"raised": len(swept["raised"]), "resolved": swept["resolved"]}
    result.update(ran=True, **swept)
    return result


# ---- the HTTP resource ----------------------------------------------------------------------


def list_alerts(session: Session, principal: Principal, page: Page, *, status: str | None = None,
         alert_type: str | None = None, severity: str | None = None) -> dict[str, Any]:
    """Newest first; each filter takes one value or a comma-separated list."""
    query = select(StockAlert).where(StockAlert.store_id == principal.store_id)
    for name, column, allowed, raw in (("status", StockAlert.status, ALERT_STATUSES, status),
                                        ("type", StockAlert.alert_type, ALERT_TYPES, alert_type),
                                        ("severity", StockAlert.severity, ALERT_SEVERITIES, severity)):
        values = _choices(name, raw, allowed)
        if values:
            query = query.where(column.in_(values))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(StockAlert.created_at.desc(), StockAlert.id.desc())
    if not page.everything:
        query = query.limit(page.per_page).offset(page.offset)
    return listing("alerts", [serialize(a) for a in session.scalars(query)], total, page)


def get(session: Session, principal: Principal, alert_id: str) -> dict[str, Any]:
    return serialize(_load(session, principal, alert_id))


def act(session: Session, principal: Principal, alert_id: str, action: str, now: datetime) -> dict[str, Any]:
    """acknowledge | dismiss | resolve -> the alert."""
    if action not in ACTIONS:
        raise NotFound("No such alert action")
    alert = _load(session, principal, alert_id, for_update=True)
    allowed_from, target = ACTIONS[action]
    if alert.status == target:
        return serialize(alert)
    if alert.status not in allowed_from:
        raise Conflict(f"A {alert.status} alert cannot be {target}")
    alert.status = target
    if target == "acknowledged":
        alert.acknowledged_at, alert.acknowledged_by = now, principal.user_id
    elif target == "dismissed":
        alert.dismissed_at = now
    else:
        alert.resolved_at, alert.resolved_by = now, principal.user_id
    session.flush()
    return serialize(alert)


def _choices(name: str, raw: str | None, allowed: tuple[str, ...]) -> list[str]:
    values = [v.strip() for v in (raw or "").split(",") if v.strip()]
    bad = [v for v in values if v not in allowed]
    if bad:
        message = f"must be one of {', '.join(allowed)}"
        raise ValidationFailed(f"{name} {message}", field_errors={name: message})
    return values


def _load(session: Session, principal: Principal, alert_id: str, *, for_update: bool = False) -> StockAlert:
    query = select(StockAlert).where(StockAlert.id == alert_id, StockAlert.store_id == principal.store_id)
    if for_update:
        query = query.with_for_update()
    alert = session.scalar(query)
    if alert is None:
        raise NotFound("Alert not found")
    return alert


def period_key(now: datetime, minutes: int) -> str:
    """The sweep period `now` falls in, e.g. "15m@2026-11-23T10:15Z" (periods aligned to the epoch)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    step = timedelta(minutes=minutes)
    start = epoch + ((now.astimezone(UTC) - epoch) // step) * step
    return f"{minutes}m@{start.strftime('%Y-%m-%dT%H:%MZ')}"
