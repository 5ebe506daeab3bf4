"""The customer-facing pickup board (WS /ws/pickup): which orders are being made, which are ready.

What a screen facing the customers may show - order numbers and first names, nothing else (no
items, prices, last names, staff or tables):

    {preparing: ["A-000124", ...], ready: ["A-000123", ...], firstNames: {"A-000123": "Anna"}}

* preparing: orders of the store with a ticket line still queued or in progress, oldest send
  first (the order they will be called in), at most PREPARING_LIMIT.
* ready: orders none of whose open ticket lines is still being made and at least one is ready
  for pickup (not yet collected) - most recently ready first, at most READY_LIMIT, and only
  those ready within READY_FOR (a ticket nobody marked collected drops off the screen).
* Only tickets sent within SENT_WITHIN count: a line forgotten on the queue since yesterday is
  the bar's business (GET /prep/tickets), not the customers'.
* Cancelled and collected lines are gone from both lists; voided orders never appear.
* The order's number is `orderNumber` (a tab's own number; its name when it has none);
  `firstNames` maps an order number to the first word of the order's customer name (a tab's
  name when it has no customer name), cut to FIRST_NAME_MAX characters; orders without a name
  have no entry.

One grouped read over the open ticket lines (the partial index ix_order_items_prep_open holds
exactly those), one row per order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.orm import Session

from orm.column_types import UTCDateTime
from orm.models.model_orders import Order, OrderItem

OPEN = ("queued", "in_progress", "ready")
MAKING = ("queued", "in_progress")
PREPARING_LIMIT = 50
READY_LIMIT = 20
READY_FOR = timedelta(hours=2)
SENT_WITHIN = timedelta(hours=12)
FIRST_NAME_MAX = 24


def first_name(*names: str | None) -> str | None:
    """The first word of the first non-blank name, at most FIRST_NAME_MAX characters."""
    for name in names:
        words = (name or "").split()
        if words:
            return words[0][:FIRST_NAME_MAX]
    return None


def board(session: Session, store_id: str, *, now: datetime) -> dict[str, Any]:
    """The pickup board of one store at `now` (module docstring)."""
    making = func.sum(case((OrderItem.prep_status.in_(MAKING), 1), else_=0))
    query = (
        select(Order.order_number, Order.tab_name, Order.customer_name, making.label("making"),
               type_coerce(func.min(OrderItem.sent_at), UTCDateTime()).label("sent_at"),
               type_coerce(func.max(OrderItem.ready_at), UTCDateTime()).label("ready_at"))
        .join(Order, Order.id == OrderItem.order_id)
        .where(OrderItem.prep_status.in_(OPEN), OrderItem.sent_at >= now - SENT_WITHIN,
               Order.store_id == store_id, Order.status != "voided")
        .group_by(Order.id, Order.order_number, Order.tab_name, Order.customer_name)
    )
    preparing, ready = [], []
    for row in session.execute(query):
        number = row.order_number or row.tab_name
        if not number:
            continue
        if row.making:
            preparing.append((row.sent_at, number, row))
        elif row.ready_at is not None and row.ready_at >= now - READY_FOR:
            ready.append((row.ready_at, number, row))
    preparing.sort(key=lambda entry: (entry[0], entry[1]))
    ready.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    shown = preparing[:PREPARING_LIMIT] + ready[:READY_LIMIT]
    names = {number: name for _at, number, row in shown
             if (name := first_name(row.customer_name, row.tab_name if number != row.tab_name else None))}
    return {"preparing": [number for _at, number, _row in preparing[:PREPARING_LIMIT]],
            "ready": [number for _at, number, _row in ready[:READY_LIMIT]],
            "firstNames": names}
