"""Cash-drawer shifts: open, paid in/out, X report (running), close with the Z report.

expectedCash = openingCash + cash taken for sales (net of change, tips paid in cash included)
               + paid in - paid out - cash refunds made during the shift
variance     = countedCash - expectedCash  (negative: the drawer is short)
totals       = {sales: Σ(total - tip), tips: Σ tip, cash / card: Σ payments applied by method,
                orders: count, refunds: Σ refunds made during the shift} over the shift's orders,
               voided orders left out (their money went back).  sales + tips = cash + card.

Who may act on a shift: its owner, or a manager — anyone holding sales.refund (the
permission that already trusts a user with the till's money).  One open shift per user is
enforced by a partial unique index, not only by the check here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.column_types import new_id
from orm.controllers.paging import Page, count_and_fetch, listing
from orm.domain.errors import Conflict, NotFound, PermissionDenied
from orm.domain.principal import Principal
from orm.domain.schemas.orders import ShiftCashIn, ShiftClose, ShiftOpen
from orm.models.model_identity import User
from orm.models.model_orders import Order, Payment, Refund, Shift, ShiftCashMovement

ZERO = Decimal("0.00")
MANAGER_PERMISSION = "sales.refund"


def _empty() -> dict[str, Any]:
    return {"sales": ZERO, "refunds": ZERO, "cash": ZERO, "card": ZERO, "tips": ZERO, "orders": 0,
            "cashRefunds": ZERO, "paidIn": ZERO, "paidOut": ZERO}


def _figures(session: Session, shift_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Running figures of several shifts in four grouped queries."""
    out: dict[str, dict[str, Any]] = defaultdict(_empty)
    if not shift_ids:
        return out
    live = (Order.shift_id.in_(shift_ids), Order.status != "voided")
    for sid, count, total, tips in session.execute(
            select(Order.shift_id, func.count(Order.id), func.coalesce(func.sum(Order.total), 0),
                   func.coalesce(func.sum(Order.tip_amount), 0)).where(*live).group_by(Order.shift_id)):
        out[sid].update(orders=int(count), sales=total - tips, tips=tips)
    for sid, method, amount in session.execute(
            select(Order.shift_id, Payment.method, func.coalesce(func.sum(Payment.amount), 0))
            .join(Order, Payment.order_id == Order.id).where(*live).group_by(Order.shift_id, Payment.method)):
        if method in ("cash", "card"):
            out[sid][method] = amount
    for sid, method, amount in session.execute(
            select(Refund.shift_id, Refund.method, func.coalesce(func.sum(Refund.amount), 0))
            .where(Refund.shift_id.in_(shift_ids)).group_by(Refund.shift_id, Refund.method)):
        out[sid]["refunds"] += amount
        if method == "cash":
            out[sid]["cashRefunds"] += amount
    for sid, kind, amount in session.execute(
            select(ShiftCashMovement.shift_id, ShiftCashMovement.type,
                   func.coalesce(func.sum(ShiftCashMovement.amount), 0))
            .where(ShiftCashMovement.shift_id.in_(shift_ids))
            .group_by(ShiftCashMovement.shift_id, ShiftCashMovement.type)):
        out[sid]["paidIn" if kind == "paid_in" else "paidOut"] += amount
    return out


def expected_cash(shift: Shift, figures: dict[str, Any]) -> Decimal:
    cash: Decimal = (shift.opening_cash + figures["cash"] + figures["paidIn"] - figures["paidOut"]
                     - figures["cashRefunds"])
    return cash


def serialize_shift(shift: Shift, figures: dict[str, Any], user_name: str | None = None) -> dict[str, Any]:
    """The Shift resource; an open shift shows its running (X report) expectedCash."""
    return {
        "id": shift.id,
        "userId": shift.user_id,
        "userName": user_name,
        "storeId": shift.store_id,
        "status": shift.status,
        "openedAt": shift.opened_at,
        "closedAt": shift.closed_at,
        "openingCash": shift.opening_cash,
        "expectedCash": shift.expected_cash if shift.status == "closed" else expected_cash(shift, figures),
        "countedCash": shift.counted_cash,
        "variance": shift.variance,
        "notes": shift.notes,
        "closedBy": shift.closed_by,
        "totals": {k: figures[k] for k in ("sales", "refunds", "cash", "card", "tips", "orders")},
        "drawer": {"openingCash": shift.opening_cash, "cashSales": figures["cash"], "paidIn": figures["paidIn"],
                   "paidOut": figures["paidOut"], "cashRefunds": figures["cashRefunds"]},
    }


def _names(session: Session, user_ids: set[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.first_name, User.last_name, User.username)
                           .where(User.id.in_(user_ids)))
    return {uid: (f"{first} {last}".strip() or username) for uid, first, last, username in rows}


def _describe(session: Session, shift: Shift) -> dict[str, Any]:
    figures = _figures(session, [shift.id])[shift.id]
    return serialize_shift(shift, figures, _names(session, {shift.user_id}).get(shift.user_id))


def _shift_for(session: Session, shift_id: str, actor: Principal, *, lock: bool = False) -> Shift:
    query = select(Shift).where(Shift.id == shift_id)
    if lock:
        query = query.with_for_update()
    shift = session.scalar(query)
    if shift is None:
        raise NotFound("Shift not found")
    if shift.user_id != actor.user_id and not actor.has(MANAGER_PERMISSION):
        raise PermissionDenied("Only the shift's owner or a manager may do this")
    return shift


def open_shift(session: Session, body: ShiftOpen, *, actor: Principal, now: datetime) -> dict[str, Any]:
    """POST /shifts/open -> the new shift; 409 when the user already has one open."""
    if session.scalar(select(Shift.id).where(Shift.user_id == actor.user_id, Shift.status == "open")):
        raise Conflict("You already have an open shift; close it first")
    shift = Shift(id=new_id(), store_id=actor.store_id, user_id=actor.user_id, status="open", opened_at=now,
                  opening_cash=body.openingCash, notes="")
    try:
        with session.begin_nested():  # the partial unique index decides a race between two terminals
            session.add(shift)
            session.flush()
    except IntegrityError:
        raise Conflict("You already have an open shift; close it first") from None
    return _describe(session, shift)


def current(session: Session, *, actor: Principal) -> dict[str, Any] | None:
    shift = session.scalar(select(Shift).where(Shift.user_id == actor.user_id, Shift.status == "open"))
    return _describe(session, shift) if shift else None


def report(session: Session, shift_id: str, *, actor: Principal) -> dict[str, Any]:
    """The shift with its running totals (X report) or its final figures (Z report) + drawer movements."""
    shift = _shift_for(session, shift_id, actor)
    data = _describe(session, shift)
    data["cashMovements"] = [
        {"id": m.id, "type": m.type, "amount": m.amount, "reason": m.reason, "createdAt": m.created_at,
         "createdBy": m.created_by}
        for m in session.scalars(select(ShiftCashMovement).where(ShiftCashMovement.shift_id == shift.id)
                                 .order_by(ShiftCashMovement.created_at, ShiftCashMovement.id))]
    return data


def cash_movement(session: Session, shift_id: str, body: ShiftCashIn, *, actor: Principal,
                  now: datetime) -> dict[str, Any]:
    """POST /shifts/{id}/cash -> {shift, movement}; only while the shift is open."""
    shift = _shift_for(session, shift_id, actor, lock=True)
    if shift.status != "open":
        raise Conflict("The shift is closed")
    movement = ShiftCashMovement(id=new_id(), shift_id=shift.id, type=body.type, amount=body.amount,
                                 reason=body.reason, created_at=now, created_by=actor.user_id)
    session.add(movement)
    session.flush()
    return {"shift": _describe(session, shift),
            "movement": {"id": movement.id, "type": movement.type, "amount": movement.amount,
                         "reason": movement.reason, "createdAt": movement.created_at,
                         "createdBy": movement.created_by}}


def close(session: Session, shift_id: str, body: ShiftClose, *, actor: Principal, now: datetime) -> dict[str, Any]:
    """POST /shifts/{id}/close -> the shift with its Z report; 409 when already closed."""
    # The row lock waits for sales still being written against this shift (they hold a share lock).
    shift = _shift_for(session, shift_id, actor, lock=True)
    if shift.status != "open":
        raise Conflict("The shift is already closed")
    figures = _figures(session, [shift.id])[shift.id]
    shift.expected_cash = expected_cash(shift, figures)
    shift.counted_cash = body.countedCash
    shift.variance = body.countedCash - shift.expected_cash
    shift.notes = body.notes or ""
    shift.status = "closed"
    shift.closed_at = now
    shift.closed_by = actor.user_id
    session.flush()
    return serialize_shift(shift, figures, _names(session, {shift.user_id}).get(shift.user_id))


def list_shifts(session: Session, page: Page, *, store_id: str, status: str | None = None,
         user_id: str | None = None) -> dict[str, Any]:
    """GET /shifts, newest first, totals for the whole page in a fixed number of queries."""
    query = select(Shift).where(Shift.store_id == store_id)
    if status:
        query = query.where(Shift.status == status)
    if user_id:
        query = query.where(Shift.user_id == user_id)
    total, rows = count_and_fetch(session, query.order_by(Shift.opened_at.desc(), Shift.id), page)
    figures = _figures(session, [s.id for s in rows])
    names = _names(session, {s.user_id for s in rows})
    return listing("shifts", [serialize_shift(s, figures[s.id], names.get(s.user_id)) for s in rows],
                   total, page)
