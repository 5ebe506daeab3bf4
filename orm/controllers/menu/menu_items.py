"""Menu items: list, create, update, delete, recipes and images (categories.py, modifier_groups.py and
counted_stock.py hold the rest of the menu).

Every write bumps the store's menu revision in the same transaction
(`bump_revision`), which is what `GET /menu_items` keys its ETag cache on:
anything that changes menu rows must go through these controllers (or call
`bump_revision` itself).  The one exception is the counted
stock level a sale takes or a refund puts back: it is not a menu change (every
sale of a pastry would otherwise queue on the store's revision row until it
commits), so listings read those levels themselves (`menu_state`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.column_types import new_id, utcnow
from orm.controllers.identity.changes import record_change
from orm.controllers.menu import bulk_import as menu_import
from orm.controllers.menu import catalogue as menu_catalogue
from orm.controllers.menu import categories
from orm.controllers.menu import modifiers as menu_modifiers
from orm.controllers.menu import revision as menu_revision
from orm.controllers.menu.modifiers import FieldProblems
from orm.controllers.menu.stations import check_station
from orm.controllers.paging import Page
from orm.domain.csv_cells import RowErrors
from orm.domain.errors import Conflict, NotFound
from orm.domain.principal import Principal
from orm.domain.schemas.menu import (
    MenuItemCreate,
    MenuItemUpdate,
)
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_menu import MenuItem
from settings import Settings


def describe(name: str, size: str) -> str:
    """'Latte (Large)', or the name alone when the item has no size."""
    return f"{name} ({size})" if size else name


def list_menu(session: Session, settings: Settings, page: Page, *, store_id: str = DEFAULT_STORE_ID,
         category: str | None = None, search: str | None = None, active: bool | None = None) -> dict[str, Any]:
    """`{menu_items, total, page, perPage, pages}` sorted by category, sortOrder, name."""
    return menu_catalogue.list_items(session, settings, page, store_id=store_id, category=category,
                                     search=search, active=active)


def fingerprint(session: Session, settings: Settings, store_id: str = DEFAULT_STORE_ID) -> str:
    """A value that changes whenever the menu resource of the store would
    (revision, default tax rate, counted stock levels)."""
    return menu_catalogue.fingerprint(session, settings, store_id)


def menu_state(session: Session, settings: Settings,
               store_id: str = DEFAULT_STORE_ID) -> menu_catalogue.MenuState:
    """Revision, default tax rate and counted stock levels: what listings are cached under (one read)."""
    return menu_catalogue.menu_state(session, settings, store_id)


def get(session: Session, settings: Settings, item_id: str, *, store_id: str = DEFAULT_STORE_ID) -> dict:
    """The MenuItem resource; NotFound for unknown ids and other stores' items."""
    found = menu_catalogue.item_resources(session, settings, [item_id], store_id)
    if item_id not in found:
        raise NotFound("Menu item not found")
    return found[item_id]


def catalogue_for_order(session: Session, settings: Settings, item_ids: list[str],
                        store_id: str = DEFAULT_STORE_ID,
                        cache: menu_catalogue.CatalogueCache | None = None,
                        state: menu_catalogue.MenuState | None = None) -> dict[str, dict[str, Any]]:
    """Prices, effective tax rates, counted stock, recipes and allowed modifiers of `item_ids`.

    {item_id: {id, name, size, price, isActive, stockCount, taxRate, takeAwayTaxRate, category,
    recipe: [(inventory_item_id, quantity)], modifierGroups: [{id, name, minSelect, maxSelect,
    modifiers: [{id, name, priceDelta, recipe: [(inventory_item_id, quantity)]}]}]}} — unknown ids
    (and other stores' items) are absent; inactive items are present with isActive false.
    A fixed number of statements whatever the number of ids; with `cache` (a process's
    menu_catalogue.CatalogueCache) one while the menu is unchanged (then read-only entries), none
    when the caller already read the menu `state` in this transaction.
    """
    return menu_catalogue.catalogue_for_order(session, settings, item_ids, store_id, cache, state)

# ---- item writes --------------------------------------------------------------------------------------


def create(session: Session, settings: Settings, body: MenuItemCreate, *, actor: Principal | None,
           store_id: str = DEFAULT_STORE_ID, now: datetime | None = None) -> dict[str, Any]:
    """Create an item (its category, new modifier groups and recipe included) -> MenuItem resource."""
    now = now or utcnow()
    size = body.size or ""
    problems = FieldProblems()
    menu_modifiers.check_recipes(session, store_id, menu_modifiers.recipes_in("", body.modifierGroups,
                                                                              body.recipe), problems)
    problems.raise_if_any()
    check_station(session, store_id, body.station)
    _check_unique(session, store_id, body.name, size, body.sku)
    category = categories.ensure_category(session, store_id, body.category)
    item = MenuItem(
        id=new_id(), store_id=store_id, category_id=category.id if category else None, name=body.name,
        size=size, description=body.description, price=body.price, tax_rate=body.taxRate,
        take_away_tax_rate=body.takeAwayTaxRate, is_active=body.isActive, sort_order=body.sortOrder,
        sku=body.sku, barcode=body.barcode, stock_count=body.stockCount, station=body.station,
        created_at=now, updated_at=now,
    )
    menu_revision.save(session, item)
    menu_modifiers.replace_item_recipe(session, item.id, body.recipe)
    group_ids = menu_modifiers.apply_groups(session, store_id, body.modifierGroups, problems)
    problems.raise_if_any()
    menu_modifiers.replace_item_groups(session, item.id, group_ids)
    bump_revision(session, store_id)
    return get(session, settings, item.id, store_id=store_id)


def update_item(session: Session, settings: Settings, item_id: str, body: MenuItemUpdate, *,
           actor: Principal | None, store_id: str = DEFAULT_STORE_ID,
           now: datetime | None = None) -> dict[str, Any]:
    """Partial update (only fields sent change); a price change goes to the audit trail."""
    item = _locked_item(session, item_id, store_id)
    given = body.given()
    problems = FieldProblems()
    menu_modifiers.check_recipes(session, store_id, menu_modifiers.recipes_in(
        "", body.modifierGroups, body.recipe if "recipe" in given else None), problems)
    problems.raise_if_any()
    name = body.name if body.name is not None else item.name  # the schema refuses an explicit null
    size = (body.size or "") if "size" in given else item.size
    sku = body.sku if "sku" in given else item.sku
    _check_unique(session, store_id, name, size, sku if sku != item.sku else None, exclude_id=item.id)
    old_price = item.price
    item.name, item.size, item.sku = name, size, sku
    if "category" in given:
        category = categories.ensure_category(session, store_id, body.category)
        item.category_id = category.id if category else None
    simple = {"price": "price", "description": "description", "taxRate": "tax_rate",
              "takeAwayTaxRate": "take_away_tax_rate", "isActive": "is_active", "sortOrder": "sort_order",
              "barcode": "barcode", "stockCount": "stock_count", "station": "station"}
    if "station" in given:
        check_station(session, store_id, body.station)
    for field, column in simple.items():
        if field in given:
            setattr(item, column, getattr(body, field))
    item.updated_at = now or utcnow()
    menu_revision.save(session, item)
    if "recipe" in given and body.recipe is not None:
        menu_modifiers.replace_item_recipe(session, item.id, body.recipe)
    if "modifierGroups" in given and body.modifierGroups is not None:
        group_ids = menu_modifiers.apply_groups(session, store_id, body.modifierGroups, problems)
        problems.raise_if_any()
        menu_modifiers.replace_item_groups(session, item.id, group_ids)
    if item.price != old_price:
        record_change(session, actor, entity="menu_item", entity_id=item.id, action="price_change",
                      old={"price": old_price}, new={"price": item.price}, at=now)
    bump_revision(session, store_id)
    return get(session, settings, item.id, store_id=store_id)


def delete(session: Session, settings: Settings, item_id: str, *, actor: Principal | None,
           store_id: str = DEFAULT_STORE_ID, now: datetime | None = None) -> dict[str, Any]:
    """Delete an item, or deactivate it when sales still reference it.

    The delete runs in a SAVEPOINT: order lines reference items with a RESTRICT
    foreign key, so an item that was ever sold makes it fail, and the item is
    deactivated instead (history keeps pointing at it).  Returns
    {id, deleted, deactivated, menuItem|None, imageUrls}; the caller removes the
    image files of a deleted item once the transaction has committed.
    """
    item = _locked_item(session, item_id, store_id)
    images = [u for u in (item.image_url, item.thumbnail_url) if u]
    gone = {"name": item.name, "size": item.size, "price": item.price}
    try:
        with session.begin_nested():
            session.delete(item)
            session.flush()
    except IntegrityError:
        session.expire_all()  # the savepoint rolled back: reload what is really there
        item = _locked_item(session, item_id, store_id)
        item.is_active = False
        item.updated_at = now or utcnow()
        session.flush()
        bump_revision(session, store_id)
        return {"id": item_id, "deleted": False, "deactivated": True, "imageUrls": [],
                "menuItem": get(session, settings, item_id, store_id=store_id)}
    record_change(session, actor, entity="menu_item", entity_id=item_id, action="delete",
                  old=gone, new=None, at=now)
    bump_revision(session, store_id)
    return {"id": item_id, "deleted": True, "deactivated": False, "menuItem": None,
            "imageUrls": _unreferenced(session, images)}

# ---- images -------------------------------------------------------------------------------------------


def set_image(session: Session, item_id: str, image_url: str | None, thumbnail_url: str | None, *,
              store_id: str = DEFAULT_STORE_ID, now: datetime | None = None) -> list[str]:
    """Point the item at new image files (or none).

    Returns the URLs it had that no item uses any more (a bulk upload may share one
    image between the sizes of an item): the caller deletes those files after commit.
    """
    item = _locked_item(session, item_id, store_id)
    old = [u for u in (item.image_url, item.thumbnail_url) if u and u not in (image_url, thumbnail_url)]
    item.image_url, item.thumbnail_url = image_url, thumbnail_url
    item.updated_at = now or utcnow()
    session.flush()
    bump_revision(session, store_id)
    return _unreferenced(session, old)


def require_item(session: Session, item_id: str, *, store_id: str = DEFAULT_STORE_ID) -> None:
    """NotFound unless the item exists in the store (checked before expensive work)."""
    found = session.scalar(select(MenuItem.id).where(MenuItem.id == item_id, MenuItem.store_id == store_id))
    if found is None:
        raise NotFound("Menu item not found", field_errors={"menuItemId": "no such menu item"})


def image_candidates(session: Session, *, store_id: str = DEFAULT_STORE_ID) -> list[dict[str, Any]]:
    """Every item with its image state: [{id, name, size, sku, category, imageUrl, thumbnailUrl, isActive}]."""
    rows = session.execute(menu_catalogue.filtered_query(store_id)).all()
    return [{"id": r.id, "name": r.name, "size": r.size or None, "sku": r.sku, "category": r.category,
             "isActive": r.is_active, "imageUrl": r.image_url, "thumbnailUrl": r.thumbnail_url} for r in rows]

# ---- bulk import ----------------------------------------------------------------------------------------


def bulk_import(session: Session, rows: list[menu_import.ImportRow], errors: RowErrors, *, mode: str = "upsert",
                dry_run: bool = False, actor: Principal | None, store_id: str = DEFAULT_STORE_ID,
                now: datetime | None = None) -> dict[str, Any]:
    """Apply rows from `menu_import.parse_source`: all or nothing -> {created, updated, skipped, rowErrors,
    dryRun}; any problem raises ValidationFailed carrying that summary and every row error."""
    return menu_import.import_rows(session, rows, errors, mode=mode, dry_run=dry_run, actor=actor,
                                   store_id=store_id, now=now)

# ---- bookkeeping --------------------------------------------------------------------------------------


def bump_revision(session: Session, store_id: str = DEFAULT_STORE_ID) -> None:
    """Mark the store's menu as changed (same transaction as the change: the ETag cache key)."""
    menu_revision.bump(session, store_id)


def _unreferenced(session: Session, urls: list[str]) -> list[str]:
    """The URLs among `urls` that no menu item (of any store) points at any more."""
    if not urls:
        return []
    used = session.execute(select(MenuItem.image_url, MenuItem.thumbnail_url).where(
        or_(MenuItem.image_url.in_(urls), MenuItem.thumbnail_url.in_(urls)))).all()
    in_use = {u for row in used for u in row}
    return [u for u in urls if u not in in_use]


def _locked_item(session: Session, item_id: str, store_id: str) -> MenuItem:
    item = session.get(MenuItem, item_id, with_for_update=True)
    if item is None or item.store_id != store_id:
        raise NotFound("Menu item not found")
    return item


def _check_unique(session: Session, store_id: str, name: str, size: str, sku: str | None,
                  exclude_id: str | None = None) -> None:
    query = select(MenuItem.id).where(MenuItem.store_id == store_id, MenuItem.name == name, MenuItem.size == size)
    if exclude_id:
        query = query.where(MenuItem.id != exclude_id)
    if session.scalar(query) is not None:
        raise Conflict(f"A menu item named {describe(name, size)} already exists",
                       field_errors={"name": "an item with this name and size already exists"})
    if sku:
        query = select(MenuItem.id).where(MenuItem.store_id == store_id, MenuItem.sku == sku)
        if exclude_id:
            query = query.where(MenuItem.id != exclude_id)
        if session.scalar(query) is not None:
            raise Conflict(f"SKU {sku} is already used by another menu item",
                           field_errors={"sku": "is already used by another menu item"})
