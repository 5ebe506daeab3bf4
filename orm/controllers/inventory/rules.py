"""Pure inventory rules shared by items, stock movements, alerts and the forecast.

Status of an item (API.md InventoryItem.status), first match wins:
  expired       expiry date before today in the store's time zone (an expired item is unusable
                whatever its level, so this outranks the stock conditions)
  out_of_stock  current stock <= 0 (sales may take it below zero)
  low_stock     current stock <= minStockLevel
  in_stock      otherwise
The stock conditions are exclusive: an item is out of stock OR low, never both, so it carries at
most one stock alert at a time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, case
from sqlalchemy.sql.elements import ColumnElement

from orm.domain.business_days import local_date, store_zone
from orm.models.model_inventory import InventoryItem

STATUSES = ("in_stock", "low_stock", "out_of_stock", "expired")
ZERO = Decimal("0")


def store_today(now: datetime, timezone: str) -> date:
    """The calendar day in the store's time zone (business_days.store_zone)."""
    return local_date(now, store_zone(timezone))


def stock_condition(level: Decimal, min_level: Decimal) -> str | None:
    """"out_of_stock", "low_stock" or None (enough stock)."""
    if level <= ZERO:
        return "out_of_stock"
    if level <= min_level:
        return "low_stock"
    return None


def is_expired(expiry: date | None, today: date) -> bool:
    return expiry is not None and expiry < today


def is_expiring(expiry: date | None, today: date, warning_days: int) -> bool:
    """Expires within the warning window, or already has."""
    return expiry is not None and expiry <= today + timedelta(days=max(0, warning_days))


def item_status(level: Decimal, min_level: Decimal, expiry: date | None, today: date) -> str:
    if is_expired(expiry, today):
        return "expired"
    return stock_condition(level, min_level) or "in_stock"


def status_expression(today: date) -> ColumnElement[str]:
    """The same status as a SQL CASE, so `?status=` filters in the database."""
    return case(
        (and_(InventoryItem.expiry_date.is_not(None), InventoryItem.expiry_date < today), "expired"),
        (InventoryItem.current_stock <= ZERO, "out_of_stock"),
        (InventoryItem.current_stock <= InventoryItem.min_stock_level, "low_stock"),
        else_="in_stock",
    )


def plain_number(value: Decimal) -> str:
    """12.500 -> "12.5", 10.000 -> "10": for messages, never an exponent."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text
