"""The tab-age alert: a tab open longer than the store's tabMaxHours raises ONE system alert.

The alert names the tab in its title and carries `[tab:<id>]` in its message (system alerts have no
inventory item, so that marker is how a tab's alert is found again): it is not raised again while
one exists for the tab (active, acknowledged or dismissed), and it resolves when the tab is paid or
voided.  The alert sweep (inventory/alerts.py, services/stock_alerts_service.py) runs it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orm.column_types import new_id
from orm.db import Event, events
from orm.models.model_inventory import OPEN_ALERT_STATUSES, StockAlert
from orm.models.model_orders import Order
from orm.models.model_settings import StoreSettings

DEFAULT_TAB_MAX_HOURS = 16


def marker(tab_id: str) -> str:
    return f"[tab:{tab_id}]"


def raise_old_tabs(session: Session, store_id: str, now: datetime) -> list[dict[str, Any]]:
    """Raise the alert for every open tab of the store older than tabMaxHours that has none yet."""
    hours = session.scalar(select(StoreSettings.tab_max_hours).where(StoreSettings.store_id == store_id))
    hours = int(hours or DEFAULT_TAB_MAX_HOURS)
    old = session.execute(select(Order.id, Order.tab_name, Order.order_number, Order.created_at).where(
        Order.store_id == store_id, Order.tab_name.is_not(None), Order.status == "open",
        Order.created_at <= now - timedelta(hours=hours)).order_by(Order.created_at)).all()
    raised = []
    for tab_id, name, number, created in old:
        known = session.scalar(select(StockAlert.id).where(
            StockAlert.store_id == store_id, StockAlert.alert_type == "system",
            StockAlert.status.in_((*OPEN_ALERT_STATUSES, "dismissed")),
            StockAlert.message.contains(marker(tab_id), autoescape=True)).limit(1))
        if known:
            continue
        alert = StockAlert(id=new_id(), store_id=store_id, inventory_item_id=None, alert_type="system",
                           severity="warning", title=f"Tab {name} ({number}) open over {hours} h"[:200],
                           message=(f"Tab {name} ({number}) has been open since "
                                    f"{created.isoformat(timespec='minutes')} UTC; settle or void it. "
                                    f"{marker(tab_id)}")[:500],
                           status="active", created_at=now)
        session.add(alert)
        session.flush()
        events(session).add(Event("alert", store_id, {
            "alertId": alert.id, "alertType": "system", "severity": "warning", "title": alert.title,
            "inventoryItemId": None, "status": "active"}))
        raised.append({"id": alert.id, "title": alert.title, "tabId": tab_id, "storeId": store_id})
    return raised


def resolve(session: Session, tab_id: str, now: datetime) -> None:
    """The tab was paid or voided: its alert is resolved."""
    session.execute(update(StockAlert).where(
        StockAlert.alert_type == "system", StockAlert.status.in_(OPEN_ALERT_STATUSES),
        StockAlert.message.contains(marker(tab_id), autoescape=True))
        .values(status="resolved", resolved_at=now).execution_options(synchronize_session=False))
