"""Reading the menu: the MenuItem resource, listings and the catalogue for orders.

Every read here issues a fixed number of statements whatever the number of
items (items, recipes, group links, groups with modifiers, modifier recipes),
never one per item: terminals fetch the whole menu often.  Plain column
selects are used instead of ORM entities because hydrating objects costs
more than the queries themselves at this size.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from orm.controllers.paging import Page, listing
from orm.controllers.stores import store_settings
from orm.models.model_menu import (
    MenuCategory,
    MenuItem,
    MenuItemModifierGroup,
    MenuItemRecipeLine,
    MenuRevision,
    Modifier,
    ModifierGroup,
    ModifierRecipeLine,
)
from orm.models.model_settings import StoreSettings
from settings import Settings

ITEM_COLUMNS = (
    MenuItem.id, MenuItem.name, MenuItem.description, MenuItem.size, MenuItem.price, MenuItem.tax_rate,
    MenuItem.take_away_tax_rate, MenuItem.is_active, MenuItem.stock_count, MenuItem.image_url,
    MenuItem.thumbnail_url, MenuItem.sku, MenuItem.barcode, MenuItem.sort_order, MenuItem.created_at,
    MenuItem.updated_at, MenuCategory.name.label("category"), MenuCategory.tax_rate.label("category_tax_rate"),
    MenuCategory.take_away_tax_rate.label("category_take_away_tax_rate"), MenuItem.station,
    MenuCategory.station.label("category_station"),
)


def effective_station(item_station: str | None, category_station: str | None) -> str | None:
    """Where the item is prepared: its own station, else its category's; None (or an item's "",
    meaning "nothing to prepare" whatever the category says) for goods that are only handed over."""
    station = item_station if item_station is not None else category_station
    return station or None


def effective_rates(item_rate: Decimal | None, item_take_away: Decimal | None, category_rate: Decimal | None,
                    category_take_away: Decimal | None, default_rate: Decimal) -> tuple[Decimal, Decimal]:
    """(eat-in, take-away): item override, else category, else the store default;
    take-away falls back to the category's take-away rate, then to the eat-in rate."""
    eat_in = next(r for r in (item_rate, category_rate, default_rate) if r is not None)
    take_away = next(r for r in (item_take_away, category_take_away, eat_in) if r is not None)
    return eat_in, take_away


def default_tax_rate(session: Session, settings: Settings, store_id: str) -> Decimal:
    return store_settings.settings_row(session, settings, store_id).default_tax_rate


@dataclass(frozen=True)
class MenuState:
    """Everything the menu resource depends on besides its rows: read once per listing.

    `revision` counts menu changes; counted stock levels (pastries) are not menu changes (a sale
    must not queue on the store's revision row) and are read here directly instead.
    """

    revision: int
    default_tax_rate: Decimal
    stock_counts: tuple[tuple[str, int], ...]  # (menu item id, stockCount) of counted items, by id


_SETTINGS, _REVISIONS, _ITEMS = StoreSettings.__table__, MenuRevision.__table__, MenuItem.__table__
# Built once (the listing runs it on every request); one statement, so one snapshot on PostgreSQL too.
_STATE = (
    select(_REVISIONS.c.revision, _SETTINGS.c.default_tax_rate, _ITEMS.c.id, _ITEMS.c.stock_count)
    .select_from(_SETTINGS
                 .outerjoin(_REVISIONS, _REVISIONS.c.store_id == _SETTINGS.c.store_id)
                 .outerjoin(_ITEMS, (_ITEMS.c.store_id == _SETTINGS.c.store_id) & _ITEMS.c.stock_count.is_not(None)))
    .where(_SETTINGS.c.store_id == bindparam("store_id"))
    .order_by(_ITEMS.c.id)
)


def menu_state(session: Session, settings: Settings, store_id: str) -> MenuState:
    """Revision, default tax rate and counted stock levels of the store, in one indexed read."""
    rows = session.execute(_STATE, {"store_id": store_id}).all()
    if not rows:  # no settings row yet: made on first use (NotFound for an unknown store)
        store_settings.settings_row(session, settings, store_id)
        rows = session.execute(_STATE, {"store_id": store_id}).all()
    return state_of(rows)


def state_query() -> Select:
    """The statement menu_state runs (params: store_id), for a caller that reads more in the same trip."""
    return _STATE


def state_of(rows: Sequence[Any]) -> MenuState:
    """The MenuState of the (non-empty) rows of `state_query()`."""
    first = rows[0]
    return MenuState(first.revision or 0, first.default_tax_rate,
                     tuple((r.id, r.stock_count) for r in rows if r.id is not None))


def fingerprint(session: Session, settings: Settings, store_id: str) -> str:
    """Changes whenever anything the menu resource shows changes (one indexed read)."""
    state = menu_state(session, settings, store_id)
    counts = hashlib.blake2b(repr(state.stock_counts).encode(), digest_size=8).hexdigest()
    return f"{state.revision}:{state.default_tax_rate}:{counts}"


def with_stock_counts(listing: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    """A listing whose counted items show `counts` (the rest of the listing is shared, not copied)."""
    if not counts:
        return listing
    items = [{**item, "stockCount": counts[item["id"]]} if item["id"] in counts else item
             for item in listing["menu_items"]]
    return {**listing, "menu_items": items}


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


def resources(session: Session, rows: Sequence[Any], default_rate: Decimal) -> list[dict[str, Any]]:
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
            "station": effective_station(r.station, r.category_station), "modifierGroups": item_groups,
            "recipe": _recipe_resource(recipes.get(r.id, [])),
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


class CatalogueCache:
    """The catalogue of every item of a store, filed under (revision, default tax rate): what sales read.

    One entry per store, per process.  The key is read in the sale's own transaction (menu_state)
    before the entry is used, so an entry is never used once the menu has changed; an entry is
    at least as new as its key (loaded after reading it).  Counted stock levels are not in it:
    they come with the key, from the same read.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[int, Decimal], dict[str, dict[str, Any]]]] = {}
        self._lock = threading.Lock()  # used from DB executor threads

    def get(self, store_id: str, key: tuple[int, Decimal]) -> dict[str, dict[str, Any]] | None:
        with self._lock:
            entry = self._entries.get(store_id)
        return entry[1] if entry is not None and entry[0] == key else None

    def put(self, store_id: str, key: tuple[int, Decimal], catalogue: dict[str, dict[str, Any]]) -> None:
        with self._lock:
            self._entries[store_id] = (key, catalogue)


def catalogue_for_order(session: Session, settings: Settings, item_ids: list[str], store_id: str,
                        cache: CatalogueCache | None = None,
                        state: MenuState | None = None) -> dict[str, dict[str, Any]]:
    """What the orders controller needs to price and fulfil a sale, for the given ids.

    Returns {item_id: {id, name, size, price, isActive, stockCount, taxRate, takeAwayTaxRate, category,
    recipe: [(inventory_item_id, quantity)], modifierGroups: [{id, name, minSelect, maxSelect,
    modifiers: [{id, name, priceDelta, recipe: [(inventory_item_id, quantity)]}]}]}}.
    Unknown ids, and items of other stores, are simply absent; inactive items are
    present with isActive false (the caller decides).  Retired modifiers and groups
    are absent.  A fixed number of statements, whatever the number of ids.

    With `cache`, one statement while the menu is unchanged (the entries then share their
    recipe and modifier lists with the cache: read them, never change them), and none when the
    caller read `state` (menu_state's answer) in this transaction already.
    """
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        return {}
    if cache is None:
        return _catalogue(session, store_id, ids, default_tax_rate(session, settings, store_id))
    if state is None:
        state = menu_state(session, settings, store_id)
    key = (state.revision, state.default_tax_rate)
    whole = cache.get(store_id, key)
    if whole is None:
        whole = _catalogue(session, store_id, None, state.default_tax_rate)
        cache.put(store_id, key, whole)
    counts = dict(state.stock_counts)
    return {i: {**whole[i], "stockCount": counts.get(i)} for i in ids if i in whole}


def _catalogue(session: Session, store_id: str, ids: list[str] | None,
               default_rate: Decimal) -> dict[str, dict[str, Any]]:
    """Catalogue entries of `ids` (None: every item of the store)."""
    query = item_query(store_id)
    rows = session.execute(query.where(MenuItem.id.in_(ids)) if ids is not None else query).all()
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
            "station": effective_station(r.station, r.category_station), "recipe": list(recipes.get(r.id, [])),
            "modifierGroups": [
                {**g, "modifiers": [dict(m, recipe=list(m["recipe"])) for m in g["modifiers"]]}
                for g in groups.get(r.id, [])
            ],
        }
    return out
