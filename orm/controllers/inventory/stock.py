"""Stock levels change here and only here: atomic UPDATEs plus an append-only movement per item.

Every change is `current_stock = current_stock + :delta [WHERE current_stock + :delta >= 0]` in SQL,
never read-modify-write, so concurrent sales and adjustments never lose an update (PostgreSQL row
locks / SQLite's single writer serialise them), and each writes a `stock_movements` row with the level
it resulted in. The movements of an item therefore always sum to its current stock.

The same UPDATE sets the item's `movement_seq`, stored on the movement as `seq`: the apply-order stamp,
max(microseconds of the unit of work's clock, previous stamp + 1). Row locks make it strictly increase
per item in the order the changes were applied (whatever order the requests arrived in), and it stays
close to time across items, so the trail sorts by it (newest first) and each row's resulting level is
the previous row's of that item plus its delta.

A sale touches several items that every other sale touches too (beans, cups, lids): their row locks
are what sales queue on, held until commit. On PostgreSQL a sale changes them inside its own one
statement (orders/sale_statement.py, the same UPDATE and INSERT as below), and `apply_movements` changes all
items and writes all movements in ONE statement (rows locked in id order first, so two sales cannot
deadlock); elsewhere it runs one UPDATE per item and one multi-row INSERT.

The trail of movements is read in movements.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn, TypedDict

from sqlalchemy import BigInteger, Boolean, Date, String, bindparam, case, column, select, text, update
from sqlalchemy.orm import Session

from orm.column_types import Quantity, UTCDateTime, new_id
from orm.controllers.inventory import alerts
from orm.controllers.inventory.alerts import ItemState
from orm.controllers.inventory.rules import plain_number, stock_condition
from orm.domain.errors import Conflict, NotFound, ValidationFailed
from orm.domain.money import MILLI, round_to, to_minor
from orm.domain.principal import Principal
from orm.models.model_identity import User
from orm.models.model_inventory import MOVEMENT_TYPES, InventoryItem, StockMovement

ADJUSTMENT_TYPES = ("restock", "waste", "count", "correction")

# PostgreSQL: lock the items in id order (MATERIALIZED: evaluated on its own, rows locked as the sort
# emits them; an item is only updated once the CTE has locked it), change them, and write their
# movements, in one round trip. Arrays keep the text fixed, so it is compiled once, whatever the lines.
_PG_APPLY = text("""
WITH v AS (
    SELECT * FROM unnest(CAST(:item_ids AS varchar[]), CAST(:deltas AS bigint[]),
                         CAST(:movement_ids AS varchar[])) AS v(id, delta, movement_id)
), locked AS MATERIALIZED (
    SELECT i.id FROM inventory_items AS i
    WHERE i.store_id = :store_id AND i.id IN (SELECT v.id FROM v)
    ORDER BY i.id FOR UPDATE
), changed AS (
    UPDATE inventory_items AS i
    SET current_stock = i.current_stock + v.delta, updated_at = :now,
        movement_seq = CASE WHEN i.movement_seq >= :stamp THEN i.movement_seq + 1 ELSE :stamp END,
        last_restocked = CASE WHEN :restock THEN :now ELSE i.last_restocked END
    FROM v
    WHERE i.id = v.id AND i.id IN (SELECT locked.id FROM locked)
      AND (:allow_negative OR v.delta >= 0 OR i.current_stock + v.delta >= 0)
    RETURNING i.id, i.current_stock, i.min_stock_level, i.name, i.unit, i.expiry_date, i.is_active,
              i.movement_seq, v.delta, v.movement_id
), movements AS (
    INSERT INTO stock_movements (id, store_id, inventory_item_id, movement_type, delta, resulting_level, seq,
                                 user_id, reason, reference, created_at)
    SELECT changed.movement_id, :store_id, changed.id, :movement_type, changed.delta, changed.current_stock,
           changed.movement_seq, :user_id, :reason, :reference, :now
    FROM changed
)
SELECT changed.id, changed.current_stock, changed.min_stock_level, changed.name, changed.unit,
       changed.expiry_date, changed.is_active, changed.movement_id, changed.movement_seq,
       (SELECT users.username FROM users WHERE users.id = :user_id) AS user_name
FROM changed
""").bindparams(bindparam("now", type_=UTCDateTime()), bindparam("stamp", type_=BigInteger())).columns(
    column("id", String()), column("current_stock", Quantity()), column("min_stock_level", Quantity()),
    column("name", String()), column("unit", String()), column("expiry_date", Date()),
    column("is_active", Boolean()), column("movement_id", String()), column("movement_seq", BigInteger()),
    column("user_name", String()))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def apply_stamp(now: datetime) -> int:
    """The lowest apply-order stamp a change at `now` gets: whole microseconds since the epoch."""
    return (now - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class _Changed:
    """One item after its UPDATE: what the movement, the alert rules and the resource need."""

    item_id: str
    delta: Decimal
    level: Decimal
    min_level: Decimal
    name: str
    unit: str
    expiry: date | None
    is_active: bool
    movement_id: str
    seq: int


def after_one_statement_sale(session: Session, rows: Sequence[Any], *, store_id: str, user_id: str | None,
                             reference: str, now: datetime) -> None:
    """The alerts of a sale whose stock changes and movements were written by the sale's one statement
    (orders/sale_statement.py, PostgreSQL): `rows` are its changed items (item_id, delta, current_stock,
    min_stock_level, name, unit, expiry_date, is_active, movement_id, movement_seq), in id order."""
    changed = [_Changed(r.item_id, r.delta, r.current_stock, r.min_stock_level, r.name, r.unit, r.expiry_date,
                        r.is_active, r.movement_id, r.movement_seq) for r in rows]
    _after_change(session, changed, store_id=store_id, movement_type="sale", user_id=user_id, user_name=None,
                  reason="sale", reference=reference, now=now)


def refuse(session: Session, store_id: str, item_id: str, delta: Decimal) -> NoReturn:
    """Raise what taking `delta` of `item_id` met: NotFound, or Conflict (too little left)."""
    _refuse(session, store_id, item_id, delta)


def _user_name(session: Session, user_id: str | None) -> str | None:
    if not user_id:
        return None
    return session.scalar(select(User.username).where(User.id == user_id))


def _expire_loaded(session: Session, item_id: str) -> None:
    # The UPDATE bypasses the ORM; a copy of the item already loaded in this session is now stale.
    loaded = session.identity_map.get(session.identity_key(InventoryItem, item_id))
    if loaded is not None:
        session.expire(loaded)


def _refuse(session: Session, store_id: str, item_id: str, delta: Decimal) -> NoReturn:
    """The UPDATE of `item_id` changed nothing: the item is unknown, or too little is left."""
    found = session.execute(select(InventoryItem.name, InventoryItem.current_stock, InventoryItem.unit)
                            .where(InventoryItem.id == item_id, InventoryItem.store_id == store_id)).one_or_none()
    if found is None:
        raise NotFound(f"Inventory item {item_id} not found")
    name, level, unit = found
    raise Conflict(
        f"Not enough {name} in stock: {plain_number(level)} {unit} left, "
        f"{plain_number(-delta)} {unit} would be taken",
        data={"inventoryItemId": item_id, "currentStock": level, "requested": delta},
    )


def _update_one(session: Session, *, store_id: str, item_id: str, delta: Decimal, movement_type: str,
                now: datetime, allow_negative: bool) -> _Changed:
    """The portable path: one atomic UPDATE ... RETURNING (no movement yet)."""
    stamp, seq = apply_stamp(now), InventoryItem.movement_seq
    values: dict[str, Any] = {"current_stock": InventoryItem.current_stock + delta, "updated_at": now,
                              "movement_seq": case((seq >= stamp, seq + 1), else_=stamp)}
    if movement_type == "restock":
        values["last_restocked"] = now
    stmt = (update(InventoryItem)
            .where(InventoryItem.id == item_id, InventoryItem.store_id == store_id)
            .values(**values)
            .returning(InventoryItem.current_stock, InventoryItem.min_stock_level, InventoryItem.name,
                       InventoryItem.unit, InventoryItem.expiry_date, InventoryItem.is_active,
                       InventoryItem.movement_seq)
            .execution_options(synchronize_session=False))
    if delta < 0 and not allow_negative:
        # Taking stock away must not end below zero; adding to a negative level is always fine.
        stmt = stmt.where(InventoryItem.current_stock + delta >= Decimal("0"))
    row = session.execute(stmt).one_or_none()
    if row is None:
        _refuse(session, store_id, item_id, delta)
    level, min_level, name, unit, expiry, is_active, seq = row
    return _Changed(item_id, delta, level, min_level, name, unit, expiry, is_active, new_id(), seq)


def _update_all_pg(session: Session, *, store_id: str, changes: list[tuple[str, Decimal]], movement_type: str,
                   user_id: str | None, reason: str, reference: str | None, now: datetime,
                   allow_negative: bool) -> tuple[list[_Changed], str | None]:
    """PostgreSQL: every item and its movement in one statement -> (changes in id order, user name)."""
    ids = [item_id for item_id, _ in changes]
    movement_ids = [new_id() for _ in changes]
    rows = {row.id: row for row in session.execute(_PG_APPLY, {
        "item_ids": ids, "deltas": [to_minor(delta, 1000) for _, delta in changes], "movement_ids": movement_ids,
        "store_id": store_id, "now": now, "stamp": apply_stamp(now), "restock": movement_type == "restock",
        "allow_negative": allow_negative, "movement_type": movement_type, "user_id": user_id, "reason": reason[:255],
        "reference": (reference or None) and reference[:64]})}
    for item_id, delta in changes:
        if item_id not in rows:  # the first refused item in id order, as the one-by-one path would find it
            _refuse(session, store_id, item_id, delta)
    changed = [_Changed(item_id, delta, rows[item_id].current_stock, rows[item_id].min_stock_level,
                        rows[item_id].name, rows[item_id].unit, rows[item_id].expiry_date,
                        rows[item_id].is_active, rows[item_id].movement_id, rows[item_id].movement_seq)
               for item_id, delta in changes]
    user_name = rows[ids[0]].user_name if user_id else None
    return changed, user_name


def _insert_movements(session: Session, changed: list[_Changed], *, store_id: str, movement_type: str,
                      user_id: str | None, reason: str, reference: str | None, now: datetime) -> None:
    """One multi-row INSERT for the portable path."""
    session.execute(StockMovement.__table__.insert(), [
        {"id": c.movement_id, "store_id": store_id, "inventory_item_id": c.item_id,
         "movement_type": movement_type, "delta": c.delta, "resulting_level": c.level, "seq": c.seq,
         "user_id": user_id, "reason": reason[:255], "reference": (reference or None) and reference[:64],
         "created_at": now}
        for c in changed])


def _after_change(session: Session, changed: list[_Changed], *, store_id: str, movement_type: str,
                  user_id: str | None, user_name: str | None, reason: str, reference: str | None,
                  now: datetime) -> list[dict[str, Any]]:
    """Alerts for threshold crossings and the movement resources, in the order given."""
    movements = []
    for c in changed:
        _expire_loaded(session, c.item_id)
        before, after = stock_condition(c.level - c.delta, c.min_level), stock_condition(c.level, c.min_level)
        if before != after:
            state = ItemState(c.item_id, store_id, c.name, c.unit, c.level, c.min_level, c.expiry, c.is_active)
            alerts.on_stock_crossing(session, state, before, after, now)
        movements.append({
            "id": c.movement_id, "inventoryItemId": c.item_id, "itemName": c.name, "unit": c.unit,
            "type": movement_type, "delta": c.delta, "resultingLevel": c.level, "reason": reason[:255],
            "reference": (reference or None) and reference[:64], "userId": user_id, "userName": user_name,
            "createdAt": now,
        })
    return movements


class _Record(TypedDict):
    """What every movement of one change shares (keyword arguments of the helpers below)."""

    store_id: str
    movement_type: str
    user_id: str | None
    reason: str
    reference: str | None
    now: datetime


def _apply_one(session: Session, *, store_id: str, item_id: str, delta: Decimal, movement_type: str,
               user_id: str | None, user_name: str | None, reason: str, reference: str | None,
               now: datetime, allow_negative: bool) -> dict[str, Any]:
    changed = [_update_one(session, store_id=store_id, item_id=item_id, delta=delta, movement_type=movement_type,
                           now=now, allow_negative=allow_negative)]
    record: _Record = {"store_id": store_id, "movement_type": movement_type, "user_id": user_id,
                       "reason": reason, "reference": reference, "now": now}
    _insert_movements(session, changed, **record)
    return _after_change(session, changed, user_name=user_name, **record)[0]


def _quantity(value: Decimal | int | str) -> Decimal:
    return round_to(value, MILLI)


def apply_movements(session: Session, *, store_id: str, lines: Sequence[tuple[str, Decimal]],
                    movement_type: str, user_id: str | None, reason: str, reference: str | None,
                    now: datetime, allow_negative: bool) -> list[dict[str, Any]]:
    """Change stock of several items atomically and record one movement per item.

    The contract for sales, refunds and imports (runs in the caller's transaction, never commits):
    * `lines`: (inventory_item_id, signed delta) in the item's unit; a sale deducts (negative),
      a refund restocks (positive). Lines of the same item are summed first; each sum is rounded
      to 3 decimals (half up) and an item whose sum is zero is left alone (no movement).
    * Items are locked in ascending id order, so two orders sharing ingredients lock rows in
      the same order and cannot deadlock each other.
    * `movement_type` is one of sale, refund, restock, waste, count, correction, import
      (restock also sets lastRestocked); `reference` is e.g. the order id.
    * `allow_negative=False`: a line that would take an item below zero raises Conflict (409)
      with data {inventoryItemId, currentStock, requested} for the first such item in id order;
      other lines of this call may already be applied, so the caller's transaction must roll
      back (unit_of_work does that when the exception leaves the unit of work). Pass settings
      `allowNegativeStock` for sales.
    * An unknown item id raises NotFound.
    * Crossing into low_stock / out_of_stock raises the alert in the same transaction, and
      crossing out of it resolves it; what was raised is an event of the unit (orm.db.events).
    Returns the movement resources, in item id order.
    """
    if movement_type not in MOVEMENT_TYPES:
        raise ValueError(f"unknown movement type {movement_type!r}")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for item_id, delta in lines:
        totals[item_id] += Decimal(delta)
    changes = [(item_id, delta) for item_id in sorted(totals) if (delta := _quantity(totals[item_id])) != 0]
    if not changes:
        return []
    record: _Record = {"store_id": store_id, "movement_type": movement_type, "user_id": user_id,
                       "reason": reason, "reference": reference, "now": now}
    session.flush()  # the statements below bypass the ORM: pending rows go first, as autoflush would
    if session.get_bind().dialect.name == "postgresql":
        changed, user_name = _update_all_pg(session, changes=changes, allow_negative=allow_negative, **record)
    else:
        changed = [_update_one(session, store_id=store_id, item_id=item_id, delta=delta,
                               movement_type=movement_type, now=now, allow_negative=allow_negative)
                   for item_id, delta in changes]
        _insert_movements(session, changed, **record)
        user_name = _user_name(session, user_id)
    return _after_change(session, changed, user_name=user_name, **record)


def set_level(session: Session, *, store_id: str, item_id: str, new_level: Decimal, movement_type: str,
              user_id: str | None, reason: str, reference: str | None, now: datetime,
              keep_zero: bool = False) -> dict[str, Any] | None:
    """Set an item to a counted level: lock the row, then apply the difference atomically.

    The row lock (SELECT ... FOR UPDATE; SQLite has one writer anyway) keeps a concurrent sale
    from slipping between reading the level and applying the difference. A zero difference
    writes no movement unless `keep_zero` (a stock count that confirms the level is worth keeping).
    """
    if new_level < 0:
        raise ValidationFailed("newLevel must not be negative", field_errors={"newLevel": "must be at least 0"})
    current = session.scalar(select(InventoryItem.current_stock)
                             .where(InventoryItem.id == item_id, InventoryItem.store_id == store_id)
                             .with_for_update())
    if current is None:
        raise NotFound("Inventory item not found")
    delta = _quantity(new_level) - current
    if delta == 0 and not keep_zero:
        return None
    return _apply_one(session, store_id=store_id, item_id=item_id, delta=delta, movement_type=movement_type,
                      user_id=user_id, user_name=_user_name(session, user_id), reason=reason,
                      reference=reference, now=now, allow_negative=False)


def adjust(session: Session, principal: Principal, item_id: str, *, movement_type: str,
           quantity: Decimal | None, new_level: Decimal | None, reason: str, now: datetime) -> dict[str, Any]:
    """POST /inventory/{id}/adjust -> the movement (the handler adds the item).

    Exactly one of `quantity` (signed delta, not zero) or `new_level` (>= 0). A restock must add
    and waste must take away; count and correction go either way. Never below zero (409).
    """
    if movement_type not in ADJUSTMENT_TYPES:
        raise ValidationFailed("type must be one of " + ", ".join(ADJUSTMENT_TYPES),
                               field_errors={"type": "must be one of " + ", ".join(ADJUSTMENT_TYPES)})
    if (quantity is None) == (new_level is None):
        raise ValidationFailed("Send either quantity or newLevel",
                               field_errors={"quantity": "send either quantity or newLevel"})
    store_id = principal.store_id
    reason = reason.strip() or movement_type
    if new_level is not None:
        current = session.scalar(select(InventoryItem.current_stock)
                                 .where(InventoryItem.id == item_id, InventoryItem.store_id == store_id)
                                 .with_for_update())
        if current is None:
            raise NotFound("Inventory item not found")
        _check_direction(movement_type, _quantity(new_level) - current, "newLevel")
        movement = set_level(session, store_id=store_id, item_id=item_id, new_level=new_level,
                                             movement_type=movement_type, user_id=principal.user_id,
                                             reason=reason, reference=None, now=now, keep_zero=True)
        assert movement is not None
        return movement
    assert quantity is not None
    if quantity == 0:
        raise ValidationFailed("quantity must not be zero", field_errors={"quantity": "must not be zero"})
    _check_direction(movement_type, quantity, "quantity")
    if session.scalar(select(InventoryItem.id).where(InventoryItem.id == item_id,
                                                     InventoryItem.store_id == store_id)) is None:
        raise NotFound("Inventory item not found")
    return _apply_one(session, store_id=store_id, item_id=item_id, delta=_quantity(quantity),
                      movement_type=movement_type, user_id=principal.user_id,
                      user_name=_user_name(session, principal.user_id), reason=reason, reference=None,
                      now=now, allow_negative=False)


def _check_direction(movement_type: str, delta: Decimal, field: str) -> None:
    if movement_type == "restock" and delta <= 0:
        raise ValidationFailed("A restock must add stock", field_errors={field: "a restock must add stock"})
    if movement_type == "waste" and delta >= 0:
        raise ValidationFailed("Waste must take stock away (send a negative quantity)",
                               field_errors={field: "waste must take stock away (send a negative quantity)"})
