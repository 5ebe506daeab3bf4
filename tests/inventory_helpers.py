"""Arrange/assert helpers for the inventory, stock, alert and forecast tests (real DB, no mocks)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from orm.controllers.inventory import inventory_items
from orm.domain.permissions import BUILTIN_ROLES
from orm.domain.principal import Principal
from orm.domain.schemas.inventory import InventoryItemCreate
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_inventory import InventoryItem, StockAlert, StockMovement
from settings import Settings
from tests.conftest import run_unit
from tests.support import suite_now

STORE = DEFAULT_STORE_ID
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def principal(role: str = "manager", user_id: str | None = None) -> Principal:
    return Principal(user_id=user_id or f"user-{role}", username=role, role=role,
                     permissions=BUILTIN_ROLES[role][1])


def make_item(settings: Settings, name: str, *, unit: str = "kg", stock: str = "0", min_level: str = "0",
              max_level: str | None = None, cost: str | None = None, expiry: date | None = None,
              category: str = "", location: str = "", supplier: str = "",
              now: datetime | None = None) -> dict[str, Any]:
    body = InventoryItemCreate(name=name, unit=unit, currentStock=Decimal(stock), minStockLevel=Decimal(min_level),
                               maxStockLevel=Decimal(max_level) if max_level is not None else None,
                               costPerUnit=Decimal(cost) if cost is not None else None, expiryDate=expiry,
                               category=category, location=location, supplier=supplier)
    return run_unit(settings, inventory_items.create, settings, None, body, now or suite_now(), store_id=STORE)


def level(settings: Settings, item_id: str) -> Decimal:
    return run_unit(settings, lambda s: s.scalar(select(InventoryItem.current_stock)
                                                 .where(InventoryItem.id == item_id)))


def movements_of(settings: Settings, item_id: str) -> list[tuple[str, Decimal, Decimal]]:
    """(type, delta, resulting level) oldest first."""
    return run_unit(settings, lambda s: [tuple(r) for r in s.execute(
        select(StockMovement.movement_type, StockMovement.delta, StockMovement.resulting_level)
        .where(StockMovement.inventory_item_id == item_id)
        .order_by(StockMovement.created_at, StockMovement.resulting_level))])


def movement_sum(settings: Settings, item_id: str) -> Decimal:
    return run_unit(settings, lambda s: s.scalar(select(func.coalesce(func.sum(StockMovement.delta), 0))
                                                  .where(StockMovement.inventory_item_id == item_id)))


def count(settings: Settings, model: Any) -> int:
    return run_unit(settings, lambda s: s.scalar(select(func.count()).select_from(model)) or 0)


def alerts_of(settings: Settings, item_id: str) -> list[tuple[str, str]]:
    """(type, status) of an item's alerts, oldest first."""
    return run_unit(settings, lambda s: [tuple(r) for r in s.execute(
        select(StockAlert.alert_type, StockAlert.status).where(StockAlert.inventory_item_id == item_id)
        .order_by(StockAlert.created_at, StockAlert.id))])


def open_alerts(settings: Settings, item_id: str) -> list[str]:
    return sorted(t for t, status in alerts_of(settings, item_id) if status in ("active", "acknowledged"))
