"""The stock movement trail: the Movement resource and its listing (written only by stock.py).

Movement resource: {id, inventoryItemId, itemName, unit, type, delta, resultingLevel, reason,
reference, userId, userName, createdAt}; `delta` is signed (a sale of 18 g of beans is -0.018 kg).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orm.controllers.paging import Page, listing
from orm.controllers.stores import store_settings
from orm.domain.business_days import parse_bound, store_zone
from orm.domain.errors import NotFound, ValidationFailed
from orm.models.model_identity import User
from orm.models.model_inventory import MOVEMENT_TYPES, InventoryItem, StockMovement
from settings import Settings


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


def list_movements(session: Session, settings: Settings, store_id: str, page: Page, *, item_id: str | None = None,
              require_item: bool = False, movement_type: str | None = None,
              since: str | None = None, until: str | None = None) -> dict[str, Any]:
    """The audit trail, newest applied first -> {movements, total, page, perPage, pages}.

    `since`/`until` are ISO date-times with a zone, or dates meaning whole days in the store's
    time zone (`until` includes its day), parsed by business_days.parse_bound.
    `require_item`: an unknown item_id is a 404, not an empty list.
    """
    if require_item and item_id is not None and session.scalar(
            select(InventoryItem.id).where(InventoryItem.id == item_id,
                                           InventoryItem.store_id == store_id)) is None:
        raise NotFound("Inventory item not found")
    timezone = store_settings.current(session, settings, store_id)["storeTimezone"]
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
    zone = store_zone(timezone)
    if since:
        query = query.where(StockMovement.created_at >= parse_bound(since, "from", zone, is_end=False,
                                                                     allow_naive=False))
    if until:
        end = parse_bound(until, "to", zone, is_end=True, allow_naive=False)
        query = query.where(StockMovement.created_at < end)
    total = session.scalar(select(func.count()).select_from(query.with_only_columns(StockMovement.id)
                                                            .subquery())) or 0
    query = query.order_by(StockMovement.seq.desc(), StockMovement.id.desc())
    if not page.everything:
        query = query.limit(page.per_page).offset(page.offset)
    rows = [serialize_movement(mv, name, unit, username) for mv, name, unit, username in session.execute(query)]
    return listing("movements", rows, total, page)
