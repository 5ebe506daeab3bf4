"""Stock forecast: how long each item lasts at the recent pace, and what to reorder.

Rules (all computed from movements in SQL, one GROUP BY per call):
* usage = -(sum of deltas of `sale` and `refund` movements created in (now - 28 days, now]), i.e.
  what was sold minus what came back; negative usage counts as 0.
* avgDailyUsage = usage / 28, rounded half up to 3 decimals.
* daysOfCover = currentStock / (usage / 28), rounded half up to 1 decimal; 0 when the stock is at or
  below zero; null when there was no usage (nothing to divide by).
* suggestedReorder is needed when daysOfCover < 7 (REORDER_HORIZON_DAYS) or currentStock <=
  minStockLevel; it is then max(0, target - currentStock) with target = maxStockLevel, or, for items
  without a maximum, minStockLevel + 14 days of average usage. Pieces (pcs) round up to whole
  pieces. Otherwise it is 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orm.domain.money import MILLI, ceil_to, round_to
from orm.models.model_inventory import InventoryItem, StockMovement

WINDOW_DAYS = 28
REORDER_HORIZON_DAYS = 7
TARGET_DAYS_WITHOUT_MAX = 14
ZERO = Decimal("0")


@dataclass(frozen=True)
class Cover:
    avg_daily_usage: Decimal
    days_of_cover: Decimal | None
    suggested_reorder: Decimal


def cover_for(level: Decimal, min_level: Decimal, max_level: Decimal | None, unit: str,
              usage: Decimal) -> Cover:
    """The forecast numbers of one item from its 28-day usage (pure, see the module rules)."""
    usage = max(usage, ZERO)
    avg_exact = usage / WINDOW_DAYS
    days: Decimal | None = None
    if usage > 0:
        days = Decimal("0.0") if level <= 0 else \
            round_to(Fraction(level) * WINDOW_DAYS / Fraction(usage), Decimal("0.1"))
    reorder = ZERO
    if (days is not None and days < REORDER_HORIZON_DAYS) or level <= min_level:
        target = max_level if max_level is not None else min_level + avg_exact * TARGET_DAYS_WITHOUT_MAX
        reorder = max(ZERO, target - level)
        step = Decimal("1") if unit == "pcs" else MILLI
        reorder = ceil_to(reorder, step)
    return Cover(round_to(Fraction(usage) / WINDOW_DAYS, MILLI), days,
                 round_to(reorder, MILLI))


def usage_by_item(session: Session, store_id: str, now: datetime,
                  item_ids: list[str] | None = None) -> dict[str, Decimal]:
    """Net units used per item over the last 28 days (items without sales are absent)."""
    query = (select(StockMovement.inventory_item_id, func.sum(StockMovement.delta))
             .where(StockMovement.store_id == store_id,
                    StockMovement.movement_type.in_(("sale", "refund")),
                    StockMovement.created_at > now - timedelta(days=WINDOW_DAYS),
                    StockMovement.created_at <= now)
             .group_by(StockMovement.inventory_item_id))
    if item_ids is not None:
        query = query.where(StockMovement.inventory_item_id.in_(item_ids))
    return {item_id: -total for item_id, total in session.execute(query) if total is not None}


def forecast(session: Session, store_id: str, now: datetime) -> list[dict[str, Any]]:
    """Every active item, by name: {inventoryItemId, name, unit, currentStock, avgDailyUsage,
    daysOfCover, suggestedReorder} (the daily e-mail uses this too)."""
    usage = usage_by_item(session, store_id, now)
    rows = session.execute(
        select(InventoryItem.id, InventoryItem.name, InventoryItem.unit, InventoryItem.current_stock,
               InventoryItem.min_stock_level, InventoryItem.max_stock_level)
        .where(InventoryItem.store_id == store_id, InventoryItem.is_active.is_(True))
        .order_by(InventoryItem.name, InventoryItem.id))
    out = []
    for item_id, name, unit, level, min_level, max_level in rows:
        cover = cover_for(level, min_level, max_level, unit, usage.get(item_id, ZERO))
        out.append({
            "inventoryItemId": item_id,
            "name": name,
            "unit": unit,
            "currentStock": level,
            "avgDailyUsage": cover.avg_daily_usage,
            "daysOfCover": cover.days_of_cover,
            "suggestedReorder": cover.suggested_reorder,
        })
    return out
