"""The bulk import's `modifierGroups` and `recipe` columns (cells: menu_csv_cells): check, plan, write.

An empty cell leaves the item's groups / recipe as they are (like every
column of the import).  A group definition is written only when it differs
from the stored group, links and recipes only when they differ from the
item's, so re-importing an export writes nothing.  Names resolve
case-insensitively: groups within the store (shared, as in the item
endpoints), recipe lines against the store's inventory items.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orm.controllers.menu import catalogue as menu_catalogue
from orm.controllers.menu.modifiers import FieldProblems, apply_groups, replace_item_groups, replace_item_recipe
from orm.domain.csv_cells import RowErrors
from orm.domain.menu_csv_cells import GroupCell, RecipeCell, group_name
from orm.domain.schemas.menu import ModifierGroupIn, ModifierIn, RecipeLineIn
from orm.models.model_inventory import InventoryItem
from orm.models.model_menu import MenuItemModifierGroup, MenuItemRecipeLine, ModifierGroup

GROUPS, RECIPE = "modifierGroups", "recipe"
Key = tuple[str, str]  # (name, size) of a menu item
Resolved = list[tuple[str, Decimal]]  # (inventory item id, quantity)


def check_definitions(rows: list[Any], errors: RowErrors) -> None:
    """A group defined on several rows must be defined the same way on each (no database)."""
    first: dict[str, tuple[int, GroupCell]] = {}
    for row in rows:
        for entry in row.values.get(GROUPS, ()):
            if not isinstance(entry, GroupCell):
                continue
            seen = first.setdefault(entry.name.casefold(), (row.line, entry))
            if seen[1] != entry:
                errors.add(row.line, GROUPS, f"defines modifier group {entry.name!r} differently from line {seen[0]}")


@dataclass
class LinkPlan:
    groups: list[ModifierGroupIn] = field(default_factory=list)  # definitions to write
    item_groups: dict[Key, list[str]] = field(default_factory=dict)  # item -> casefolded group names
    item_recipes: dict[Key, Resolved] = field(default_factory=dict)
    changed_lines: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.groups or self.item_groups or self.item_recipes)


class _Inventory:
    """The store's inventory items by name: the exact name first, else case-insensitively."""

    def __init__(self, session: Session, store_id: str) -> None:
        self.exact: dict[str, str] = {}
        self.folded: dict[str, str] = {}
        for item_id, name in session.execute(select(InventoryItem.id, InventoryItem.name)
                                             .where(InventoryItem.store_id == store_id).order_by(InventoryItem.name)):
            self.exact[name] = item_id
            self.folded.setdefault(name.casefold(), item_id)

    def id(self, name: str) -> str | None:
        return self.exact.get(name) or self.folded.get(name.casefold())


def _stored(group: dict[str, Any] | None) -> tuple | None:
    if group is None:
        return None
    return (group["minSelect"], group["maxSelect"],
            [(m["name"], m["priceDelta"], list(m["recipe"])) for m in group["modifiers"]])


def plan_links(session: Session, rows: list[Any], existing: dict[Key, Any], store_id: str,
               errors: RowErrors) -> LinkPlan:
    """Compare the rows' groups and recipes with the store's; row errors for unknown names."""
    plan = LinkPlan()
    with_groups = [r for r in rows if r.values.get(GROUPS)]
    with_recipe = [r for r in rows if r.values.get(RECIPE)]
    if not with_groups and not with_recipe:
        return plan
    inventory = _Inventory(session, store_id)
    stored_groups = {g.name.casefold(): g for g in session.scalars(
        select(ModifierGroup).where(ModifierGroup.store_id == store_id))}
    active = {g.id: key for key, g in stored_groups.items() if g.is_active}
    current = menu_catalogue.modifier_groups(session, list(active))

    defined: set[str] = set()
    for row in with_groups:
        for entry in row.values[GROUPS]:
            if not isinstance(entry, GroupCell) or entry.name.casefold() in defined:
                continue
            key = entry.name.casefold()
            defined.add(key)
            modifiers, missing = [], False
            for m in entry.modifiers:
                for name, _ in m.recipe:
                    if inventory.id(name) is None:
                        missing = True
                        errors.add(row.line, GROUPS, f"modifier {m.name!r}: no inventory item named {name!r}")
                modifiers.append((m.name, m.price_delta, [(inventory.id(n) or "", q) for n, q in m.recipe]))
            group = stored_groups.get(key)
            stored = _stored(current.get(group.id)) if group is not None and group.is_active else None
            if not missing and stored != (entry.min_select, entry.max_select, modifiers):
                plan.changed_lines.add(row.line)
                plan.groups.append(ModifierGroupIn(
                    name=entry.name, minSelect=entry.min_select, maxSelect=entry.max_select,
                    modifiers=[ModifierIn(name=n, priceDelta=d, recipe=[
                        RecipeLineIn(inventoryItemId=i, quantity=q) for i, q in r]) for n, d, r in modifiers]))

    def known(name: str) -> bool:
        key = name.casefold()
        return key in defined or (key in stored_groups and stored_groups[key].is_active)

    item_ids = [existing[(r.name, r.size)].id for r in rows if (r.name, r.size) in existing]
    links, recipes = _current_links(session, item_ids)
    for row in with_groups:
        names = [group_name(e).casefold() for e in row.values[GROUPS]]
        unknown = [group_name(e) for e in row.values[GROUPS] if not known(group_name(e))]
        for name in unknown:
            errors.add(row.line, GROUPS, f"no modifier group named {name!r}: define it on one of the rows as "
                                         f"{name} (min-max): modifier = price | ...")
        item = existing.get((row.name, row.size))
        now_names = [active.get(gid) for gid in links.get(item.id, [])] if item is not None else []
        if not unknown and names != now_names:
            plan.item_groups[(row.name, row.size)] = names
            plan.changed_lines.add(row.line)
    for row in with_recipe:
        cell: RecipeCell = row.values[RECIPE]
        absent = [name for name, _ in cell if inventory.id(name) is None]
        for name in absent:
            errors.add(row.line, RECIPE, f"no inventory item named {name!r}")
        wanted = [(inventory.id(name) or "", qty) for name, qty in cell]
        item = existing.get((row.name, row.size))
        if not absent and (item is None or recipes.get(item.id, []) != wanted):
            plan.item_recipes[(row.name, row.size)] = wanted
            plan.changed_lines.add(row.line)
    return plan


def _current_links(session: Session, item_ids: list[str]) -> tuple[dict[str, list[str]], dict[str, Resolved]]:
    links: dict[str, list[str]] = defaultdict(list)
    recipes: dict[str, Resolved] = defaultdict(list)
    if not item_ids:
        return links, recipes
    for item_id, group_id in session.execute(
            select(MenuItemModifierGroup.menu_item_id, MenuItemModifierGroup.group_id)
            .where(MenuItemModifierGroup.menu_item_id.in_(item_ids)).order_by(MenuItemModifierGroup.sort_order)):
        links[item_id].append(group_id)
    for item_id, inventory_id, quantity in session.execute(
            select(MenuItemRecipeLine.menu_item_id, MenuItemRecipeLine.inventory_item_id, MenuItemRecipeLine.quantity)
            .where(MenuItemRecipeLine.menu_item_id.in_(item_ids)).order_by(MenuItemRecipeLine.position)):
        recipes[item_id].append((inventory_id, quantity))
    return links, recipes


def apply_links(session: Session, plan: LinkPlan, item_ids: dict[Key, str], store_id: str) -> None:
    """Write the planned definitions, then the items' group lists and recipes (items exist by now)."""
    if plan.groups:
        problems = FieldProblems()
        apply_groups(session, store_id, plan.groups, problems, prefix=GROUPS)
        problems.raise_if_any()
    ids = {name.casefold(): gid for gid, name in session.execute(
        select(ModifierGroup.id, ModifierGroup.name).where(ModifierGroup.store_id == store_id))}
    for key, names in plan.item_groups.items():
        replace_item_groups(session, item_ids[key], [ids[name] for name in names])
    for key, lines in plan.item_recipes.items():
        replace_item_recipe(session, item_ids[key], [RecipeLineIn(inventoryItemId=i, quantity=q) for i, q in lines])
