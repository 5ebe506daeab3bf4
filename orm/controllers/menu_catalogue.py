"""Reading the menu: the MenuItem resource, listings and the catalogue for orders.

Every read here issues a fixed number of statements whatever the number of
items (items, recipes, group links, groups with modifiers, modifier recipes),
never one per item: terminals fetch the whole menu often.  Plain column
selects are used instead of ORM entities because hydrating objects costs
more than the queries themselves at this size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from orm.controllers import menu_revision
from orm.controllers.paging import Page, listing
from orm.controllers.settings_controller import SettingsController
from orm.models.model_menu import (
    MenuCategory,
    MenuItem,
    MenuItemModifierGroup,
    MenuItemRecipeLine,
    Modifier,
    ModifierGroup,
    ModifierRecipeLine,
)
from settings import Settings

ITEM_COLUMNS = (
    MenuItem.id, MenuItem.name, MenuItem.description, MenuItem.size, MenuItem.price, MenuItem.tax_rate,
    MenuItem.take_away_tax_rate, MenuItem.is_active, MenuItem.stock_count, MenuItem.image_url,
    MenuItem.thumbnail_url, MenuItem.sku, MenuItem.barcode, MenuItem.sort_order, MenuItem.created_at,
    MenuItem.updated_at, MenuCategory.name.label("category"), MenuCategory.tax_rate.label("category_tax_rate"),
    MenuCategory.take_away_tax_rate.label("category_take_away_tax_rate"),
)


def effective_rates(item_rate: Decimal | None, item_take_away: Decimal | None, category_rate: Decimal | None,
                    category_take_away: Decimal | None, default_rate: Decimal) -> tuple[Decimal, Decimal]:
    """(eat-in, take-away): item override, else category, else the store default;
    take-away falls back to the category's take-away rate, then to the eat-in rate."""
    eat_in = next(r for r in (item_rate, category_rate, default_rate) if r is not None)
    take_away = next(r for r in (item_take_away, category_take_away, eat_in) if r is not None)
    return eat_in, take_away


def default_tax_rate(session: Session, settings: Settings, store_id: str) -> Decimal:
    return SettingsController.row(session, settings, store_id).default_tax_rate


def fingerprint(session: Session, settings: Settings, store_id: str) -> str:
    """Changes whenever anything the menu resource shows changes (two indexed reads)."""
    return f"{menu_revision.current(session, store_id)}:{default_tax_rate(session, settings, store_id)}"


def item_query(store_id: str) -> Select:
    return (
        select(*ITEM_COLUMNS)
        .outerjoin(MenuCategory, MenuCategory.id == MenuItem.category_id)
        .where(MenuItem.store_id == store_id)
    )


def filtered_query(store_id: str, *, category: str | None = None, search: str | None = None,
                   active: bool | None = None) -> Select:
    query = item_query(store_id)
    if category:
        query = query.where(or_(MenuCategory.name == category, func.lower(MenuCategory.name) == category.lower()))
    if search:
        query = query.where(or_(
            MenuItem.name.icontains(search, autoescape=True),
            MenuItem.description.icontains(search, autoescape=True),
            MenuItem.sku.icontains(search, autoescape=True),
            MenuItem.barcode == search,
        ))
    if active is not None:
        query = query.where(MenuItem.is_active.is_(active))
    # Items without a category come last; then category order, item order, name.
    return query.order_by(
        case((MenuItem.category_id.is_(None), 1), else_=0), MenuCategory.sort_order, MenuCategory.name,
        MenuItem.sort_order, MenuItem.name, MenuItem.size,
    )


def _recipes(session: Session, table: Any, key: Any, ids: list[str]) -> dict[str, list[tuple[str, Decimal]]]:
    out: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    if not ids:
        return out
    rows = session.execute(
        select(key, table.inventory_item_id, table.quantity).where(key.in_(ids)).order_by(key, table.position)
    )
    for owner, inventory_id, quantity in rows:
        out[owner].append((inventory_id, quantity))
    return out


def modifier_groups(session: Session, group_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Active groups by id with their active modifiers: {id, name, minSelect, maxSelect, modifiers[...]}.

    Modifier recipes are (inventory_item_id, quantity) tuples here; callers shape them.
    """
    ids = list(dict.fromkeys(group_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(ModifierGroup.id, ModifierGroup.name, ModifierGroup.min_select, ModifierGroup.max_select,
               Modifier.id, Modifier.name, Modifier.price_delta)
        .outerjoin(Modifier, (Modifier.group_id == ModifierGroup.id) & Modifier.is_active.is_(True))
        .where(ModifierGroup.id.in_(ids), ModifierGroup.is_active.is_(True))
        .order_by(ModifierGroup.id, Modifier.sort_order, Modifier.name)
    ).all()
    groups: dict[str, dict[str, Any]] = {}
    modifier_ids = [r[4] for r in rows if r[4] is not None]
    recipes = _recipes(session, ModifierRecipeLine, ModifierRecipeLine.modifier_id, modifier_ids)
    for gid, gname, min_select, max_select, mid, mname, delta in rows:
        group = groups.setdefault(gid, {"id": gid, "name": gname, "minSelect": min_select,
                                        "maxSelect": max_select, "modifiers": []})
        if mid is not None:
            group["modifiers"].append({"id": mid, "name": mname, "priceDelta": delta, "recipe": recipes.get(mid, [])})
    return groups


def _groups_by_item(session: Session, item_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    if not item_ids:
        return {}
    links = session.execute(
        select(MenuItemModifierGroup.menu_item_id, MenuItemModifierGroup.group_id)
        .where(MenuItemModifierGroup.menu_item_id.in_(item_ids))
        .order_by(MenuItemModifierGroup.menu_item_id, MenuItemModifierGroup.sort_order)
    ).all()
    groups = modifier_groups(session, (g for _, g in links))
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item_id, group_id in links:
        if group_id in groups:  # retired groups are not offered
            out[item_id].append(groups[group_id])
    return out


def _recipe_resource(lines: list[tuple[str, Decimal]]) -> list[dict[str, Any]]:
    return [{"inventoryItemId": inv, "quantity": qty} for inv, qty in lines]


def _group_resource(group: dict[str, Any]) -> dict[str, Any]:
    return {**group, "modifiers": [{**m, "recipe": _recipe_resource(m["recipe"])} for m in group["modifiers"]]}


def resources(session: Session, rows: list[Any], default_rate: Decimal) -> list[dict[str, Any]]:
    """MenuItem resources (API.md) for rows of `item_query`, in the rows' order."""
    ids = [r.id for r in rows]
    recipes = _recipes(session, MenuItemRecipeLine, MenuItemRecipeLine.menu_item_id, ids)
    groups = _groups_by_item(session, ids)
    shaped: dict[str, dict[str, Any]] = {}  # a shared group is shaped once, reused by every item
    items = []
    for r in rows:
        eat_in, take_away = effective_rates(r.tax_rate, r.take_away_tax_rate, r.category_tax_rate,
                                            r.category_take_away_tax_rate, default_rate)
        item_groups = []
        for g in groups.get(r.id, []):
            if g["id"] not in shaped:
                shaped[g["id"]] = _group_resource(g)
            item_groups.append(shaped[g["id"]])
        items.append({
            "id": r.id, "name": r.name, "description": r.description, "category": r.category,
            "size": r.size or None, "price": r.price, "taxRate": eat_in, "takeAwayTaxRate": take_away,
            "isActive": r.is_active, "stockCount": r.stock_count, "imageUrl": r.image_url,
            "thumbnailUrl": r.thumbnail_url, "sku": r.sku, "barcode": r.barcode, "sortOrder": r.sort_order,
            "modifierGroups": item_groups, "recipe": _recipe_resource(recipes.get(r.id, [])),
            "createdAt": r.created_at, "updatedAt": r.updated_at,
        })
    return items


def list_items(session: Session, settings: Settings, page: Page, *, store_id: str, category: str | None = None,
               search: str | None = None, active: bool | None = None) -> dict[str, Any]:
    query = filtered_query(store_id, category=category, search=search, active=active)
    if page.everything:
        rows = session.execute(query).all()
        total = len(rows)
    else:
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        rows = session.execute(query.limit(page.per_page).offset(page.offset)).all()
    items = resources(session, rows, default_tax_rate(session, settings, store_id))
    return listing("menu_items", items, total, page)


def item_resources(session: Session, settings: Settings, item_ids: list[str], store_id: str) -> dict[str, dict]:
    rows = session.execute(item_query(store_id).where(MenuItem.id.in_(item_ids))).all() if item_ids else []
    return {i["id"]: i for i in resources(session, rows, default_tax_rate(session, settings, store_id))}


def catalogue_for_order(session: Session, settings: Settings, item_ids: list[str],
                        store_id: str) -> dict[str, dict[str, Any]]:
    """What the orders controller needs to price and fulfil a sale, for the given ids.

    Returns {item_id: {id, name, size, price, isActive, stockCount, taxRate, takeAwayTaxRate, category,
    recipe: [(inventory_item_id, quantity)], modifierGroups: [{id, name, minSelect, maxSelect,
    modifiers: [{id, name, priceDelta, recipe: [(inventory_item_id, quantity)]}]}]}}.
    Unknown ids, and items of other stores, are simply absent; inactive items are
    present with isActive false (the caller decides).  Retired modifiers and groups
    are absent.  A fixed number of statements, whatever the number of ids.
    """
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        return {}
    rows = session.execute(item_query(store_id).where(MenuItem.id.in_(ids))).all()
    default_rate = default_tax_rate(session, settings, store_id)
    found = [r.id for r in rows]
    recipes = _recipes(session, MenuItemRecipeLine, MenuItemRecipeLine.menu_item_id, found)
    groups = _groups_by_item(session, found)
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        eat_in, take_away = effective_rates(r.tax_rate, r.take_away_tax_rate, r.category_tax_rate,
                                            r.category_take_away_tax_rate, default_rate)
        out[r.id] = {
            "id": r.id, "name": r.name, "size": r.size or None, "price": r.price, "isActive": r.is_active,
            "stockCount": r.stock_count, "taxRate": eat_in, "takeAwayTaxRate": take_away, "category": r.category,
            "recipe": list(recipes.get(r.id, [])),
            "modifierGroups": [
                {**g, "modifiers": [dict(m, recipe=list(m["recipe"])) for m in g["modifiers"]]}
                for g in groups.get(r.id, [])
            ],
        }
    return out
