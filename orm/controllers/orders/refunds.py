"""Refunds and voids: never more than was paid, stock put back, each one journaled.

THE REFUND RULE (the arithmetic is line_money.py's)
* By line: q units of a line that sold Q units, r of them already refunded, return those units'
  parts of the line's paidTotal allocated over its Q units (largest remainder, the one allocation
  of the sale), never more than is still left on the line.  Refunding a line unit by unit
  therefore adds up to exactly paidTotal.  A part may be 0 (a free or nearly free sale): the
  goods still come back (and are restocked) while unreturned units remain, with 0 money.
* The refund that returns the order's last remaining units returns exactly what remains
  refundable of the order, so the tip and any cash rounding go back with the last item.
* Whole order (no items, no amount): every remaining unit, and everything that remains.
* Free amount (`amount` without items): that amount; with items, `amount` replaces the computed
  money (the items still say what came back and what is restocked).
* Every refund's money is booked on the order's lines (refund items; an amount-only refund gives
  items of quantity 0, allocated in proportion to what is left on each line), so per-line report
  figures add up to the order's revenue.
* Never beyond what remains (total - refundedAmount) or beyond a line's unrefunded units: 409.
  Money-only refunds of an order with nothing left: 409.
* Method: as asked, else the order's method; a split order refunds by its largest payment's method.
* Drawer: the refund counts on the refunder's open shift, else on the sale's shift if still open.
Status becomes refunded when refundedAmount reaches the total (for an order of total 0: once every
unit is back), else partially_refunded.

The order row is locked first (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers
with BEGIN IMMEDIATE), so two refunds of one order run one after the other and the second sees
what the first took.

VOID: only a completed, never-refunded order, on the business day of its sale (store time zone);
everything the sale took goes back to stock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orm.column_types import new_id
from orm.controllers.orders import journal, prep
from orm.controllers.orders.order_history import load_order, serialize_order
from orm.controllers.orders.sales import open_shift_id
from orm.controllers.orders.stock_deduction import put_back_stock
from orm.controllers.stores import store_settings
from orm.db import Event, events
from orm.domain.business_days import local_date, store_zone
from orm.domain.errors import Conflict, ValidationFailed
from orm.domain.line_money import LineState, spread_refund, unit_money
from orm.domain.money import from_cents, to_cents
from orm.domain.principal import Principal
from orm.domain.schemas.orders import RefundCreate, VoidRequest
from orm.models.model_orders import Order, Refund, RefundItem, Shift
from settings import Settings


def serialize_refund(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "orderId": refund.order_id,
        "amount": refund.amount,
        "reason": refund.reason,
        "method": refund.method,
        "restock": refund.restock,
        "items": [{"orderItemId": ri.order_item_id, "quantity": ri.quantity, "amount": ri.amount}
                  for ri in refund.items],
        "shiftId": refund.shift_id,
        "createdAt": refund.created_at,
        "createdBy": refund.created_by,
        "createdByName": refund.created_by_name,
    }


def _default_method(order: Order) -> str:
    if order.payment_method in ("cash", "card"):
        return order.payment_method
    biggest = max(order.payments, key=lambda p: (p.amount, -p.seq))
    return biggest.method


def _requested_units(order: Order, body: RefundCreate) -> dict[str, int]:
    """orderItemId -> units to refund; 400 for lines not on the order, 409 beyond what remains."""
    lines = {it.id: it for it in order.items}
    if body.items is None:
        if body.amount is not None:
            return {}
        return {it.id: it.quantity - it.refunded_quantity for it in order.items
                if it.quantity > it.refunded_quantity}
    wanted: dict[str, int] = {}
    problems: dict[str, str] = {}
    for i, entry in enumerate(body.items):
        if entry.orderItemId not in lines:
            problems[f"items[{i}].orderItemId"] = "is not a line of this order"
        elif entry.orderItemId in wanted:
            problems[f"items[{i}].orderItemId"] = "is listed more than once"
        else:
            wanted[entry.orderItemId] = entry.quantity
    if problems:
        raise ValidationFailed(next(iter(problems.values())), field_errors=problems,
                               errors=[f"{k}: {v}" for k, v in problems.items()])
    for item_id, units in wanted.items():
        line = lines[item_id]
        left = line.quantity - line.refunded_quantity
        if units > left:
            raise Conflict(f"Only {left} of {line.product_name} can still be refunded",
                           data={"orderItemId": item_id, "refundable": left})
    return wanted


def _refund_shift(session: Session, actor: Principal, order: Order) -> str | None:
    """The drawer the money leaves: the refunder's open shift, else the sale's shift while still open
    (a manager refunding at the cashier's till)."""
    own = open_shift_id(session, actor.user_id)
    if own is not None or order.shift_id is None:
        return own
    return session.scalar(select(Shift.id).where(Shift.id == order.shift_id, Shift.status == "open")
                          .with_for_update(read=True))


def _business_day(moment: datetime, timezone: str | None) -> Any:
    return local_date(moment, store_zone(timezone))


def refund_order(session: Session, order_id: str, body: RefundCreate, *, actor: Principal,
           now: datetime) -> dict[str, Any]:
    """POST /orders/{id}/refund -> {order, refund} (THE REFUND RULE in the module docstring)."""
    order = load_order(session, order_id, lock=True)
    if order.tab_name is not None:
        raise Conflict("A tab is not a sale: refund its payments (GET /tabs/{id} lists them)")
    if order.status == "voided":
        raise Conflict("A voided order cannot be refunded")
    remaining = order.total - order.refunded_amount
    units = _requested_units(order, body)
    if remaining <= 0 and not units:
        raise Conflict("This order has already been refunded in full")
    lines = sorted(order.items, key=lambda it: it.line_no)
    states = [LineState(to_cents(it.paid_total), to_cents(it.rounding_share), to_cents(it.refunded_amount))
              for it in lines]
    unit_parts = [min(unit_money(state.paid, it.quantity, it.refunded_quantity, units[it.id]), state.left)
                  if it.id in units else 0 for it, state in zip(lines, states, strict=True)]
    all_back = bool(units) and all(it.refunded_quantity + units.get(it.id, 0) >= it.quantity for it in lines)
    if body.amount is not None:
        amount = body.amount
    elif body.items is None or all_back:
        amount = remaining
    else:
        amount = from_cents(sum(unit_parts))
    if amount > remaining:
        raise Conflict(f"At most {remaining} of this order can still be refunded",
                       data={"refundable": remaining})
    if amount <= 0 and not units:
        raise Conflict("Nothing is left to refund on this order")
    parts = spread_refund(states, unit_parts, to_cents(amount))

    refund = Refund(
        id=new_id(), order_id=order.id, store_id=order.store_id, amount=amount, reason=body.reason,
        method=body.method or _default_method(order), restock=bool(body.restock and units),
        shift_id=_refund_shift(session, actor, order), created_at=now, created_by=actor.user_id,
        created_by_name=actor.display_name or actor.username,
        items=[RefundItem(id=new_id(), order_item_id=it.id, quantity=units.get(it.id, 0), amount=from_cents(part))
               for it, part in zip(lines, parts, strict=True) if it.id in units or part],
    )
    session.add(refund)
    for it, part in zip(lines, parts, strict=True):
        it.refunded_quantity += units.get(it.id, 0)
        it.refunded_amount = it.refunded_amount + from_cents(part)
    order.refunded_amount = order.refunded_amount + amount
    paid_back = order.refunded_amount >= order.total
    goods_back = all(it.refunded_quantity >= it.quantity for it in lines)
    order.status = "refunded" if paid_back and (goods_back or order.total > 0) else "partially_refunded"
    session.flush()
    # A line given back whole is no longer to be made (a partly refunded line is still made: the
    # guest keeps the rest of it).
    prep.cancel_lines(session, order.store_id, [it for it in lines if it.id in units
                                                and it.refunded_quantity >= it.quantity], now=now)
    if refund.restock:
        back = [(it, units[it.id]) for it in lines if it.id in units]
        put_back_stock(session, store_id=order.store_id, lines=back,
                       user_id=actor.user_id, reference=order.id, reason=f"refund: {body.reason}"[:255],
                       now=now)
    _, seq, head = journal.take_counter(session, order.store_id, receipt=False)
    journal.append_entry(session, store_id=order.store_id, seq=seq, prev_hash=head, entry_type="refund",
                         reference_id=refund.id, content=journal.refund_content(refund), now=now)
    session.flush()
    data = {"order": serialize_order(order), "refund": serialize_refund(refund)}
    events(session).add(Event("refund", order.store_id, {"orderId": order.id, "refundId": refund.id,
                                                          "amount": data["refund"]["amount"]}), first=True)
    return data


def void(session: Session, settings: Settings, order_id: str, body: VoidRequest, *, actor: Principal,
         now: datetime) -> dict[str, Any]:
    """POST /orders/{id}/void -> {order}: same business day, never after a refund."""
    order = load_order(session, order_id, lock=True)
    if order.status == "voided":
        raise Conflict("This order is already voided")
    if order.refunded_amount > 0 or order.status != "completed":
        raise Conflict("An order with refunds cannot be voided; refund the rest instead")
    zone = store_settings.current(session, settings, order.store_id).get("storeTimezone")
    if _business_day(order.sale_at, zone) != _business_day(now, zone):
        raise Conflict("Only orders of today's business day can be voided; refund it instead")
    order.status = "voided"
    order.voided_at = now
    order.voided_by = actor.user_id
    order.void_reason = body.reason
    session.flush()
    prep.cancel_lines(session, order.store_id, order.items, now=now)
    put_back_stock(session, store_id=order.store_id, lines=[(it, it.quantity) for it in order.items],
                   user_id=actor.user_id, reference=order.id, reason=f"void: {body.reason}"[:255], now=now)
    _, seq, head = journal.take_counter(session, order.store_id, receipt=False)
    journal.append_entry(session, store_id=order.store_id, seq=seq, prev_hash=head, entry_type="void",
                         reference_id=order.id, content=journal.void_content(order), now=now)
    session.flush()
    data = {"order": serialize_order(order)}
    events(session).add(Event("void", order.store_id, {"orderId": order.id, "total": data["order"]["total"]}),
                        first=True)
    return data
