"""Inventory items (API.md InventoryItem): list, read, create, edit, deactivate.

* `costPerUnit` is null for callers without inventory.view_costs (the key stays, so every response
  has the same shape; a null cost therefore also reads as "hidden" to such a caller).
* `status` and `daysOfCover` are derived (inventory_rules, forecast_controller); `?status=` filters
  with the same rule in SQL.
* Deleting deactivates (`is_active = false`): movements and recipes keep pointing at the row. Lists
  hide inactive items unless `?active=false` (only inactive) or `?active=all`; `PUT {isActive: true}`
  restores one. Names are unique per store, case-insensitively, inactive items included.
* Stock never changes here directly: the initial level is a `count` movement, an edited
  currentStock a `correction` movement (StockController).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.column_types import new_id
from orm.controllers.identity.changes import record_change
from orm.controllers.inventory import alerts, forecast, stock
from orm.controllers.inventory.forecast import cover_for
from orm.controllers.inventory.rules import STATUSES, item_status, status_expression, store_today
from orm.controllers.paging import Page, listing
from orm.controllers.stores import store_settings
from orm.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orm.domain.principal import Principal
from orm.domain.schemas.inventory import InventoryItemCreate, InventoryItemUpdate
from orm.models.model_inventory import InventoryItem
from settings import Settings

ZERO = Decimal("0")
# Model attribute for each camelCase field a client may set.
FIELDS = {
    "name": "name", "category": "category", "supplier": "supplier", "unit": "unit", "location": "location",
    "minStockLevel": "min_stock_level", "maxStockLevel": "max_stock_level", "costPerUnit": "cost_per_unit",
    "barcode": "barcode", "expiryDate": "expiry_date", "isActive": "is_active",
}


def serialize_item(item: InventoryItem, *, today: date, show_costs: bool, usage: Decimal) -> dict[str, Any]:
    cover = cover_for(item.current_stock, item.min_stock_level, item.max_stock_level, item.unit, usage)
    return {
        "id": item.id,
        "name": item.name,
        "category": item.category,
        "supplier": item.supplier,
        "currentStock": item.current_stock,
        "minStockLevel": item.min_stock_level,
        "maxStockLevel": item.max_stock_level,
        "unit": item.unit,
        "costPerUnit": item.cost_per_unit if show_costs else None,
        "location": item.location,
        "barcode": item.barcode,
        "lastRestocked": item.last_restocked,
        "expiryDate": item.expiry_date,
        "status": item_status(item.current_stock, item.min_stock_level, item.expiry_date, today),
        "daysOfCover": cover.days_of_cover,
    }


def shows_costs(principal: Principal | None) -> bool:
    return principal is None or principal.has("inventory.view_costs")


def _today(session: Session, settings: Settings, store_id: str, now: datetime) -> date:
    return store_today(now, store_settings.current(session, settings, store_id)["storeTimezone"])


def _load(session: Session, store_id: str, item_id: str) -> InventoryItem:
    item = session.scalar(select(InventoryItem).where(InventoryItem.id == item_id, InventoryItem.store_id == store_id))
    if item is None:
        raise NotFound("Inventory item not found")
    return item


def find_by_name(session: Session, store_id: str, name: str) -> InventoryItem | None:
    return session.scalar(select(InventoryItem).where(InventoryItem.store_id == store_id,
                                                      func.lower(InventoryItem.name) == name.lower()))


def _check_levels(min_level: Decimal, max_level: Decimal | None) -> None:
    if max_level is not None and max_level < min_level:
        raise ValidationFailed("maxStockLevel must be at least minStockLevel",
                               field_errors={"maxStockLevel": "must be at least minStockLevel"})


def _flush_unique(session: Session, name: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"An inventory item named {name!r} already exists") from None


def _snapshot(item: InventoryItem) -> dict[str, Any]:
    return {field: getattr(item, attr) for field, attr in FIELDS.items()}


def list_items(session: Session, settings: Settings, principal: Principal, page: Page, *, now: datetime,
         category: str | None = None, status: str | None = None, search: str | None = None,
         location: str | None = None, active: str | None = None) -> dict[str, Any]:
    """{inventory: [...], total, page, perPage, pages}, sorted by category then name."""
    store_id = principal.store_id
    today = _today(session, settings, store_id, now)
    query = select(InventoryItem).where(InventoryItem.store_id == store_id)
    active_mode = (active or "true").strip().lower()
    if active_mode not in ("true", "false", "all"):
        raise ValidationFailed("active must be true, false or all",
                               field_errors={"active": "must be true, false or all"})
    if active_mode != "all":
        query = query.where(InventoryItem.is_active.is_(active_mode == "true"))
    if category:
        query = query.where(func.lower(InventoryItem.category) == category.strip().lower())
    if location:
        query = query.where(func.lower(InventoryItem.location) == location.strip().lower())
    if search and search.strip():
        term = search.strip().lower()
        query = query.where(or_(*(func.lower(col).contains(term, autoescape=True) for col in (
            InventoryItem.name, InventoryItem.supplier, InventoryItem.category, InventoryItem.barcode))))
    statuses = [s.strip() for s in (status or "").split(",") if s.strip()]
    if any(s not in STATUSES for s in statuses):
        message = "must be one of " + ", ".join(STATUSES)
        raise ValidationFailed(f"status {message}", field_errors={"status": message})
    if statuses:
        query = query.where(status_expression(today).in_(statuses))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(InventoryItem.category, InventoryItem.name, InventoryItem.id)
    if not page.everything:
        query = query.limit(page.per_page).offset(page.offset)
    items = list(session.scalars(query))
    usage = forecast.usage_by_item(session, store_id, now, [i.id for i in items]) if items else {}
    costs = shows_costs(principal)
    return listing("inventory", [serialize_item(i, today=today, show_costs=costs, usage=usage.get(i.id, ZERO))
                                 for i in items], total, page)


def get(session: Session, settings: Settings, principal: Principal | None, item_id: str, now: datetime,
        store_id: str | None = None) -> dict[str, Any]:
    store_id = store_id or (principal.store_id if principal else None)
    assert store_id is not None, "a principal or a store_id is needed"
    item = _load(session, store_id, item_id)
    usage = forecast.usage_by_item(session, store_id, now, [item_id]).get(item_id, ZERO)
    return serialize_item(item, today=_today(session, settings, store_id, now),
                          show_costs=shows_costs(principal), usage=usage)


def create(session: Session, settings: Settings, principal: Principal | None, body: InventoryItemCreate,
           now: datetime, *, store_id: str | None = None, movement_type: str = "count",
           reason: str = "Initial stock") -> dict[str, Any]:
    """A new item; its starting stock is a movement (`count` here, `import` from an import)."""
    store_id = store_id or (principal.store_id if principal else None)
    assert store_id is not None, "a principal or a store_id is needed"
    if find_by_name(session, store_id, body.name) is not None:
        raise Conflict(f"An inventory item named {body.name!r} already exists",
                       field_errors={"name": "already exists"})
    min_level = body.minStockLevel
    if min_level is None:
        min_level = store_settings.current(session, settings, store_id)["lowStockDefaultMin"]
    _check_levels(min_level, body.maxStockLevel)
    item = InventoryItem(id=new_id(), store_id=store_id, name=body.name, category=body.category,
                         supplier=body.supplier, unit=body.unit, current_stock=ZERO, min_stock_level=min_level,
                         max_stock_level=body.maxStockLevel, cost_per_unit=body.costPerUnit,
                         location=body.location, barcode=body.barcode, expiry_date=body.expiryDate,
                         is_active=True, created_at=now, updated_at=now)
    session.add(item)
    _flush_unique(session, body.name)
    if body.currentStock > 0:
        stock.apply_movements(session, store_id=store_id, lines=[(item.id, body.currentStock)],
                                         movement_type=movement_type,
                                         user_id=principal.user_id if principal else None, reason=reason,
                                         reference=None, now=now, allow_negative=False)
    alerts.reconcile_items(session, settings, store_id, now, [item.id])
    if principal is not None:
        record_change(session, principal, entity="inventory_item", entity_id=item.id, action="create",
                      new={**_snapshot(item), "currentStock": body.currentStock}, at=now)
    return get(session, settings, principal, item.id, now, store_id=store_id)


def update(session: Session, settings: Settings, principal: Principal, item_id: str,
           body: InventoryItemUpdate, now: datetime) -> dict[str, Any]:
    store_id = principal.store_id
    item = _load(session, store_id, item_id)
    changes = body.changes()
    new_level = changes.pop("currentStock", None)
    if new_level is not None and new_level != item.current_stock and not principal.has("inventory.adjust_stock"):
        raise PermissionDenied("Missing permission: inventory.adjust_stock (to change currentStock)")
    name = changes.get("name")
    if name is not None and name.lower() != item.name.lower():
        other = find_by_name(session, store_id, name)
        if other is not None and other.id != item.id:
            raise Conflict(f"An inventory item named {name!r} already exists",
                           field_errors={"name": "already exists"})
    old = _snapshot(item)
    merged_min = changes.get("minStockLevel", item.min_stock_level)
    merged_max = changes["maxStockLevel"] if "maxStockLevel" in changes else item.max_stock_level
    _check_levels(merged_min, merged_max)
    for field, value in changes.items():
        setattr(item, FIELDS[field], value)
    item.updated_at = now
    _flush_unique(session, item.name)
    if new_level is not None:
        stock.set_level(session, store_id=store_id, item_id=item.id, new_level=new_level,
                                  movement_type="correction", user_id=principal.user_id,
                                  reason="Edited on the item", reference=None, now=now)
    alerts.reconcile_items(session, settings, store_id, now, [item.id])
    session.refresh(item)
    before, after = old, _snapshot(item)
    changed_old = {k: v for k, v in before.items() if after.get(k) != v}
    if changed_old:
        record_change(session, principal, entity="inventory_item", entity_id=item.id, action="update",
                      old=changed_old, new={k: after[k] for k in changed_old}, at=now)
    return get(session, settings, principal, item.id, now)


def adjust_stock(session: Session, settings: Settings, principal: Principal, item_id: str, *,
                 movement_type: str, quantity: Decimal | None, new_level: Decimal | None, reason: str,
                 now: datetime) -> dict[str, Any]:
    """POST /inventory/{id}/adjust -> {item, movement}."""
    movement = stock.adjust(session, principal, item_id, movement_type=movement_type,
                                      quantity=quantity, new_level=new_level, reason=reason, now=now)
    item = get(session, settings, principal, item_id, now)
    return {"item": item, "movement": movement}


def deactivate(session: Session, settings: Settings, principal: Principal, item_id: str,
               now: datetime) -> dict[str, Any]:
    """DELETE: always a soft delete; its open alerts resolve."""
    item = _load(session, principal.store_id, item_id)
    if item.is_active:
        item.is_active = False
        item.updated_at = now
        session.flush()
        alerts.reconcile_items(session, settings, principal.store_id, now, [item.id])
        record_change(session, principal, entity="inventory_item", entity_id=item.id, action="deactivate",
                      old={"isActive": True}, new={"isActive": False}, at=now)
    return get(session, settings, principal, item.id, now)
