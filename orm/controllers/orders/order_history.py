"""Order history and detail: the Order resource, loading an order with its details, GET /orders."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from orm.controllers.paging import Page, count_and_fetch, listing
from orm.domain import business_days
from orm.domain.errors import NotFound, ValidationFailed
from orm.domain.schemas.orders import OrderQuery
from orm.models.model_orders import Order, OrderItem

# A search that is a receipt number: ASCII digits only (str.isdigit also takes "²", which int()
# refuses) and few enough to fit the 32-bit column (a longer one would overflow SQLite's binding).
RECEIPT_NUMBER = re.compile(r"[0-9]{1,9}")
SORTS = {"createdAt": Order.created_at, "timestamp": Order.created_at, "saleAt": Order.sale_at,
         "total": Order.total, "receiptNumber": Order.receipt_number}


def serialize_order(order: Order) -> dict[str, Any]:
    """The Order resource (API.md), plus taxMode, saleAt and the void fields."""
    return {
        "id": order.id,
        "orderNumber": order.order_number,
        "receiptNumber": order.receipt_number,
        "storeId": order.store_id,
        "terminalId": order.terminal_id,
        "orderType": order.order_type,
        "status": order.status,
        "taxMode": order.tax_mode,
        "items": [
            {"id": it.id, "menuItemId": it.menu_item_id, "productName": it.product_name, "size": it.size or None,
             "category": it.category, "quantity": it.quantity, "unitPrice": it.unit_price,
             "modifiers": [{"id": m.modifier_id, "name": m.name, "priceDelta": m.price_delta}
                           for m in it.modifiers],
             "lineTotal": it.line_total, "discountShare": it.discount_share, "taxRate": it.tax_rate,
             "paidTotal": it.paid_total, "priceOverridden": it.price_overridden, "notes": it.notes,
             "refundedQuantity": it.refunded_quantity, "station": it.station, "prepStatus": it.prep_status}
            for it in sorted(order.items, key=lambda i: i.line_no)
        ],
        "subtotal": order.subtotal,
        "discountAmount": order.discount_amount,
        "discountReason": order.discount_reason,
        "taxAmount": order.tax_amount,
        "taxBreakdown": [{"rate": t.rate, "base": t.base, "tax": t.tax}
                         for t in sorted(order.tax_lines, key=lambda t: t.rate)],
        "tipAmount": order.tip_amount,
        "roundingAdjustment": order.rounding_adjustment,
        "total": order.total,
        "payments": [{"method": p.method, "amount": p.amount, "tendered": p.tendered, "change": p.change,
                      "reference": p.reference} for p in sorted(order.payments, key=lambda p: p.seq)],
        "paymentMethod": order.payment_method,
        "amountPaid": order.amount_paid,
        "changeGiven": order.change_given,
        "refundedAmount": order.refunded_amount,
        "createdAt": order.created_at,
        "saleAt": order.sale_at,
        "clientCreatedAt": order.client_created_at,
        "createdBy": order.created_by,
        "createdByName": order.created_by_name,
        "shiftId": order.shift_id,
        "customerName": order.customer_name,
        "orderNotes": order.order_notes,
        "reprintCount": order.reprint_count,
        "lastReprint": order.last_reprint,
        "voidedAt": order.voided_at,
        "voidedBy": order.voided_by,
        "voidReason": order.void_reason,
        "tabId": order.tab_id,
    }


def with_details(query: Select) -> Select:
    """Lines, modifiers, tax lines and payments in a fixed number of queries, whatever the page size."""
    return query.options(selectinload(Order.items).selectinload(OrderItem.modifiers),
                         selectinload(Order.payments), selectinload(Order.tax_lines))


def load_order(session: Session, order_id: str, *, lock: bool = False) -> Order:
    """The order with its details; `lock` takes the row for update (refunds, voids, reprints)."""
    query = with_details(select(Order).where(Order.id == order_id))
    if lock:
        # FOR UPDATE on PostgreSQL (SQLite: BEGIN IMMEDIATE already serialises writers).
        query = query.with_for_update(of=Order)
    order: Order | None = session.scalar(query)
    if order is None:
        raise NotFound("Order not found")
    return order


def parse_bound(raw: str | None, timezone: str | None, *, end: bool, field: str) -> datetime | None:
    """business_days.parse_bound in the store's zone; None when absent (an end bound is exclusive)."""
    if not raw:
        return None
    return business_days.parse_bound(raw, field, business_days.store_zone(timezone), is_end=end)


def get(session: Session, order_id: str) -> dict[str, Any]:
    return serialize_order(load_order(session, order_id))


def list_orders(session: Session, page: Page, query: OrderQuery, *, store_id: str, timezone: str | None,
         sort: str | None = None) -> dict[str, Any]:
    """GET /orders: filters on indexed columns, newest first by default."""
    # Tabs are not in the history (GET /tabs lists them); their paid child orders are.
    q = select(Order).where(Order.store_id == (query.storeId or store_id), Order.tab_name.is_(None))
    if query.status:
        q = q.where(Order.status == query.status)
    start = parse_bound(query.from_, timezone, end=False, field="from")
    end = parse_bound(query.to, timezone, end=True, field="to")
    if start:
        q = q.where(Order.sale_at >= start)
    if end:
        q = q.where(Order.sale_at < end)
    if query.createdBy:
        q = q.where(Order.created_by == query.createdBy)
    if query.paymentMethod:
        q = q.where(Order.payment_method == query.paymentMethod)
    if query.shiftId:
        q = q.where(Order.shift_id == query.shiftId)
    if query.search:
        term = re.sub(r"([\\%_])", r"\\\1", query.search.strip())
        conditions: list[ColumnElement[bool]] = [Order.order_number.ilike(f"%{term}%", escape="\\"),
                      Order.customer_name.ilike(f"%{term}%", escape="\\")]
        if RECEIPT_NUMBER.fullmatch(query.search.strip()):  # ASCII digits that fit the column
            conditions.append(Order.receipt_number == int(query.search.strip()))
        q = q.where(or_(*conditions))
    field = (sort or "-createdAt").strip()
    column = SORTS.get(field.lstrip("-"))
    if column is None:
        raise ValidationFailed(f"sort must be one of {', '.join(sorted(SORTS))} (prefix - for descending)",
                               field_errors={"sort": "unknown sort field"})
    q = q.order_by(column.desc() if field.startswith("-") else column.asc(), Order.id)
    total, rows = count_and_fetch(session, with_details(q), page)
    return listing("orders", [serialize_order(o) for o in rows], total, page)
