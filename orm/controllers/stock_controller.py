"""Stock levels change here and only here: one atomic UPDATE per item plus an append-only movement.

Every change is `UPDATE inventory_items SET current_stock = current_stock + :delta WHERE id = :id
[AND current_stock + :delta >= 0] RETURNING ...` — never read-modify-write — so concurrent sales and
adjustments never lose an update (PostgreSQL row locks / SQLite's single writer serialise them), and
each writes a `stock_movements` row with the level it resulted in. The movements of an item therefore
always sum to its current stock.

Movement resource: {id, inventoryItemId, itemName, unit, type, delta, resultingLevel, reason,
reference, userId, userName, createdAt}; `delta` is signed (a sale of 18 g of beans is -0.018 kg).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from orm.controllers.alerts_controller import AlertsController, ItemState
from orm.controllers.errors import Conflict, NotFound, ValidationFailed
from orm.controllers.inventory_rules import plain_number, stock_condition
from orm.controllers.paging import Page, listing
from orm.controllers.principal import Principal
from orm.controllers.settings_controller import SettingsController
from orm.models.model_identity import User
from orm.models.model_inventory import MOVEMENT_TYPES, InventoryItem, StockMovement
from orm.types import MILLI, new_id
from settings import Settings

ADJUSTMENT_TYPES = ("restock", "waste", "count", "correction")


def serialize_movement(mv: StockMovement, item_name: str, unit: str, user_name: str | None) -> dict[str, Any]:
    return {
        "id": mv.id,
        "inventoryItemId": mv.inventory_item_id,
        "itemName": item_name,
        "unit": unit,
        "type": mv.movement_type,
        "delta": mv.delta,
        "resultingLevel": mv.resulting_level,
        "reason": mv.reason,
        "reference": mv.reference,
        "userId": mv.user_id,
        "userName": user_name,
        "createdAt": mv.created_at,
    }


def _user_name(session: Session, user_id: str | None) -> str | None:
    if not user_id:
        return None
    return session.scalar(select(User.username).where(User.id == user_id))


def _expire_loaded(session: Session, item_id: str) -> None:
    # The UPDATE bypasses the ORM; a copy of the item already loaded in this session is now stale.
    loaded = session.identity_map.get(session.identity_key(InventoryItem, item_id))
    if loaded is not None:
        session.expire(loaded)


def _apply_one(session: Session, *, store_id: str, item_id: str, delta: Decimal, movement_type: str,
               user_id: str | None, user_name: str | None, reason: str, reference: str | None,
               now: datetime, allow_negative: bool) -> dict[str, Any]:
    values: dict[str, Any] = {"current_stock": InventoryItem.current_stock + delta, "updated_at": now}
    if movement_type == "restock":
        values["last_restocked"] = now
    stmt = (update(InventoryItem)
            .where(InventoryItem.id == item_id, InventoryItem.store_id == store_id)
            .values(**values)
            .returning(InventoryItem.current_stock, InventoryItem.min_stock_level, InventoryItem.name,
                       InventoryItem.unit, InventoryItem.expiry_date, InventoryItem.is_active)
            .execution_options(synchronize_session=False))
    if delta < 0 and not allow_negative:
        # Taking stock away must not end below zero; adding to a negative level is always fine.
        stmt = stmt.where(InventoryItem.current_stock + delta >= Decimal("0"))
    row = session.execute(stmt).one_or_none()
    if row is None:
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
    _expire_loaded(session, item_id)
    level, min_level, name, unit, expiry, is_active = row
    movement = StockMovement(id=new_id(), store_id=store_id, inventory_item_id=item_id, movement_type=movement_type,
                             delta=delta, resulting_level=level, user_id=user_id, reason=reason[:255],
                             reference=(reference or None) and reference[:64], created_at=now)
    session.add(movement)
    state = ItemState(item_id, store_id, name, unit, level, min_level, expiry, is_active)
    AlertsController.on_stock_crossing(session, state, stock_condition(level - delta, min_level),
                                       stock_condition(level, min_level), now)
    return serialize_movement(movement, name, unit, user_name)


def _quantity(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(MILLI, rounding=ROUND_HALF_UP)


def _bound(value: date | datetime | None, timezone: str, *, end: bool) -> datetime | None:
    """A date means the whole day in the store's time zone (`to` includes it)."""
    if value is None or isinstance(value, datetime):
        return value
    start = datetime.combine(value, time(0), tzinfo=ZoneInfo(timezone))
    return start + timedelta(days=1) if end else start


class StockController:
    @staticmethod
    def apply_movements(session: Session, *, store_id: str, lines: Sequence[tuple[str, Decimal]],
                        movement_type: str, user_id: str | None, reason: str, reference: str | None,
                        now: datetime, allow_negative: bool) -> list[dict[str, Any]]:
        """Change stock of several items atomically and record one movement per item.

        The contract for sales, refunds and imports (runs in the caller's transaction, never commits):
        * `lines`: (inventory_item_id, signed delta) in the item's unit; a sale deducts (negative),
          a refund restocks (positive). Lines of the same item are summed first; each sum is rounded
          to 3 decimals (half up) and an item whose sum is zero is left alone (no movement).
        * Items are updated in ascending id order, so two orders sharing ingredients lock rows in
          the same order and cannot deadlock each other.
        * `movement_type` is one of sale, refund, restock, waste, count, correction, import
          (restock also sets lastRestocked); `reference` is e.g. the order id.
        * `allow_negative=False`: a line that would take an item below zero raises Conflict (409)
          with data {inventoryItemId, currentStock, requested}; earlier lines of this call are
          already applied, so the caller's transaction must roll back (unit_of_work does that when
          the exception leaves the unit of work). Pass settings `allowNegativeStock` for sales.
        * An unknown item id raises NotFound.
        * Crossing into low_stock / out_of_stock raises the alert in the same transaction, and
          crossing out of it resolves it; `AlertsController.raised_in(session)` lists what was raised.
        Returns the movement resources, in item id order.
        """
        if movement_type not in MOVEMENT_TYPES:
            raise ValueError(f"unknown movement type {movement_type!r}")
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for item_id, delta in lines:
            totals[item_id] += Decimal(delta)
        user_name = _user_name(session, user_id)
        movements = []
        for item_id in sorted(totals):
            delta = _quantity(totals[item_id])
            if delta == 0:
                continue
            movements.append(_apply_one(session, store_id=store_id, item_id=item_id, delta=delta,
                                        movement_type=movement_type, user_id=user_id, user_name=user_name,
                                        reason=reason, reference=reference, now=now,
                                        allow_negative=allow_negative))
        return movements

    @staticmethod
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

    @staticmethod
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
            movement = StockController.set_level(session, store_id=store_id, item_id=item_id, new_level=new_level,
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

    @staticmethod
    def movements(session: Session, settings: Settings, store_id: str, page: Page, *, item_id: str | None = None,
                  require_item: bool = False, movement_type: str | None = None,
                  since: date | datetime | None = None, until: date | datetime | None = None) -> dict[str, Any]:
        """The audit trail, newest first -> {movements, total, page, perPage, pages}.

        `since`/`until` are datetimes, or dates meaning whole days in the store's time zone
        (`until` includes its day). `require_item`: an unknown item_id is a 404, not an empty list.
        """
        if require_item and item_id is not None and session.scalar(
                select(InventoryItem.id).where(InventoryItem.id == item_id,
                                               InventoryItem.store_id == store_id)) is None:
            raise NotFound("Inventory item not found")
        timezone = SettingsController.current(session, settings, store_id)["storeTimezone"]
        if movement_type is not None and movement_type not in MOVEMENT_TYPES:
            message = "must be one of " + ", ".join(MOVEMENT_TYPES)
            raise ValidationFailed(f"type {message}", field_errors={"type": message})
        query = (select(StockMovement, InventoryItem.name, InventoryItem.unit, User.username)
                 .join(InventoryItem, InventoryItem.id == StockMovement.inventory_item_id)
                 .outerjoin(User, User.id == StockMovement.user_id)
                 .where(StockMovement.store_id == store_id))
        if item_id:
            query = query.where(StockMovement.inventory_item_id == item_id)
        if movement_type:
            query = query.where(StockMovement.movement_type == movement_type)
        start = _bound(since, timezone, end=False)
        if start is not None:
            query = query.where(StockMovement.created_at >= start)
        if isinstance(until, datetime):
            query = query.where(StockMovement.created_at <= until)
        elif until is not None:
            query = query.where(StockMovement.created_at < _bound(until, timezone, end=True))
        total = session.scalar(select(func.count()).select_from(query.with_only_columns(StockMovement.id)
                                                                .subquery())) or 0
        query = query.order_by(StockMovement.created_at.desc(), StockMovement.id.desc())
        if not page.everything:
            query = query.limit(page.per_page).offset(page.offset)
        rows = [serialize_movement(mv, name, unit, username) for mv, name, unit, username in session.execute(query)]
        return listing("movements", rows, total, page)


def _check_direction(movement_type: str, delta: Decimal, field: str) -> None:
    if movement_type == "restock" and delta <= 0:
        raise ValidationFailed("A restock must add stock", field_errors={field: "a restock must add stock"})
    if movement_type == "waste" and delta >= 0:
        raise ValidationFailed("Waste must take stock away (send a negative quantity)",
                               field_errors={field: "waste must take stock away (send a negative quantity)"})
