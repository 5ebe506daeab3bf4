"""Writing recipes and modifier groups (shared by item create/update and the group endpoints).

Modifier groups are shared by name within a store ("Milk" on every coffee).
An entry of an item's `modifierGroups` either references a group (id or name
alone) or defines it (minSelect/maxSelect/modifiers): a definition upserts
the group by id, else by name, and `modifiers` replaces its modifier list,
matching existing modifiers by id, else name, so their ids stay stable for
order lines.  Modifiers left out are retired, never deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.column_types import new_id
from orm.controllers.menu import catalogue as menu_catalogue
from orm.domain.errors import Conflict, ValidationFailed
from orm.domain.schemas.menu import ModifierGroupIn, ModifierIn, RecipeLineIn
from orm.models.model_inventory import InventoryItem
from orm.models.model_menu import (
    MenuItemModifierGroup,
    MenuItemRecipeLine,
    Modifier,
    ModifierGroup,
    ModifierRecipeLine,
)


class FieldProblems:
    """Field errors gathered over a whole body, raised once as one 400."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, message)

    def raise_if_any(self) -> None:
        if self.fields:
            messages = [f"{field}: {message}" for field, message in self.fields.items()]
            raise ValidationFailed(messages[0], field_errors=dict(self.fields), errors=messages)


def recipes_in(prefix: str, groups: Iterable[ModifierGroupIn] | None,
               recipe: list[RecipeLineIn] | None) -> list[tuple[str, list[RecipeLineIn]]]:
    """Every recipe of a body with the field path it came from."""
    found: list[tuple[str, list[RecipeLineIn]]] = []
    if recipe is not None:
        found.append((f"{prefix}recipe", recipe))
    for gi, group in enumerate(groups or []):
        for mi, modifier in enumerate(group.modifiers or []):
            found.append((f"{prefix}modifierGroups[{gi}].modifiers[{mi}].recipe", modifier.recipe))
    return found


def check_recipes(session: Session, store_id: str, recipes: list[tuple[str, list[RecipeLineIn]]],
                  problems: FieldProblems) -> None:
    """Each line names an inventory item of this store, at most once per recipe (one query)."""
    wanted = {line.inventoryItemId for _, lines in recipes for line in lines}
    known: set[str] = set()
    if wanted:
        known = set(session.scalars(select(InventoryItem.id).where(
            InventoryItem.id.in_(wanted), InventoryItem.store_id == store_id)))
    for path, lines in recipes:
        seen: set[str] = set()
        for index, line in enumerate(lines):
            field = f"{path}[{index}].inventoryItemId"
            if line.inventoryItemId not in known:
                problems.add(field, "no such inventory item")
            elif line.inventoryItemId in seen:
                problems.add(field, "is listed twice in this recipe")
            seen.add(line.inventoryItemId)


def replace_item_recipe(session: Session, item_id: str, recipe: list[RecipeLineIn]) -> None:
    session.execute(delete(MenuItemRecipeLine).where(MenuItemRecipeLine.menu_item_id == item_id))
    if recipe:
        session.execute(insert(MenuItemRecipeLine), [
            {"id": new_id(), "menu_item_id": item_id, "inventory_item_id": line.inventoryItemId,
             "quantity": line.quantity, "position": pos} for pos, line in enumerate(recipe)
        ])


def replace_item_groups(session: Session, item_id: str, group_ids: list[str]) -> None:
    session.execute(delete(MenuItemModifierGroup).where(MenuItemModifierGroup.menu_item_id == item_id))
    if group_ids:
        session.execute(insert(MenuItemModifierGroup), [
            {"menu_item_id": item_id, "group_id": gid, "sort_order": pos} for pos, gid in enumerate(group_ids)
        ])


def _store_groups(session: Session, store_id: str) -> list[ModifierGroup]:
    # A café has a handful of groups: load them all and match names in Python,
    # where casefold() agrees for every alphabet (SQLite's lower() is ASCII-only).
    return list(session.scalars(select(ModifierGroup).where(ModifierGroup.store_id == store_id)))


def _find(groups: list[ModifierGroup], spec: ModifierGroupIn) -> ModifierGroup | None:
    if spec.id:
        return next((g for g in groups if g.id == spec.id), None)
    key = (spec.name or "").casefold()
    return next((g for g in groups if g.name.casefold() == key), None)


def apply_groups(session: Session, store_id: str, specs: list[ModifierGroupIn], problems: FieldProblems,
                 *, prefix: str = "modifierGroups") -> list[str]:
    """Resolve/upsert each entry; returns the group ids in order. Adds field errors; the caller raises."""
    groups = _store_groups(session, store_id)
    ids: list[str] = []
    for index, spec in enumerate(specs):
        path = f"{prefix}[{index}]"
        group = _find(groups, spec)
        if spec.id and group is None:
            problems.add(f"{path}.id", "no such modifier group")
            continue
        if group is not None and group.id in ids:
            problems.add(path, "lists a group twice")
            continue
        if not spec.defines():
            if group is None or not group.is_active:
                problems.add(f"{path}.name", "no such modifier group (give minSelect/maxSelect/modifiers to create it)")
                continue
            ids.append(group.id)
            continue
        if group is None:
            group = _create_group(session, store_id, spec.name or "")
            if group not in groups:
                groups.append(group)
        # Matched by name, a definition never renames ("milk" must not turn "Milk" into "milk").
        define_group(session, groups, group, spec, problems, path, allow_rename=bool(spec.id))
        ids.append(group.id)
    return ids


def _create_group(session: Session, store_id: str, name: str) -> ModifierGroup:
    group = ModifierGroup(id=new_id(), store_id=store_id, name=name, min_select=0, max_select=1)
    try:
        with session.begin_nested():  # another request may be creating the same group right now
            session.add(group)
    except IntegrityError:
        found = session.scalar(select(ModifierGroup).where(ModifierGroup.store_id == store_id,
                                                           ModifierGroup.name == name))
        if found is None:
            raise Conflict("The menu changed at the same time; reload and try again") from None
        return found
    return group


def define_group(session: Session, groups: list[ModifierGroup], group: ModifierGroup, spec: Any,
                 problems: FieldProblems, path: str, *, allow_rename: bool = True) -> None:
    """Apply name/minSelect/maxSelect/modifiers from `spec` (only the fields it carries)."""
    given = spec.given()
    prefix = f"{path}." if path else ""
    # Two edits of one shared group take turns (PostgreSQL; SQLite writers are serial anyway).
    session.execute(select(ModifierGroup.id).where(ModifierGroup.id == group.id).with_for_update())
    if allow_rename and "name" in given and spec.name and spec.name != group.name:
        clash = next((g for g in groups if g is not group and g.name.casefold() == spec.name.casefold()), None)
        if clash is not None:
            raise Conflict(f"A modifier group named {spec.name!r} already exists",
                           field_errors={f"{prefix}name": "is already used by another group"})
        group.name = spec.name
    # An explicit null (allowed by ModifierGroupIn) leaves the bound as it is, like leaving it out.
    if "minSelect" in given and spec.minSelect is not None:
        group.min_select = spec.minSelect
    if "maxSelect" in given and spec.maxSelect is not None:
        group.max_select = spec.maxSelect
    if group.min_select > group.max_select:
        problems.add(f"{prefix}minSelect", "must not be greater than maxSelect")
    group.is_active = True
    session.flush()
    if "modifiers" in given and spec.modifiers is not None:
        _replace_modifiers(session, group, spec.modifiers, problems, prefix)


def _replace_modifiers(session: Session, group: ModifierGroup, specs: list[ModifierIn], problems: FieldProblems,
                       prefix: str) -> None:
    existing = list(session.scalars(select(Modifier).where(Modifier.group_id == group.id)))
    keep: set[str] = set()
    recipe_rows: list[dict[str, Any]] = []
    for index, spec in enumerate(specs):
        match = None
        if spec.id:
            match = next((m for m in existing if m.id == spec.id), None)
            if match is None:
                problems.add(f"{prefix}modifiers[{index}].id", "no such modifier in this group")
                continue
        else:
            match = next((m for m in existing if m.name.casefold() == spec.name.casefold() and m.id not in keep),
                         None)
        holder = next((m for m in existing if m is not match and m.name.casefold() == spec.name.casefold()), None)
        if holder is not None and holder.id not in keep:
            # A modifier being left out (or retired long ago) still holds the name: move it aside
            # first, so the unique (group, name) index never sees two at once.
            holder.name = f"{holder.name[:50]} ~{holder.id[:8]}"
            session.flush()
        if match is None:
            match = Modifier(id=new_id(), group_id=group.id)
            session.add(match)
            existing.append(match)
        match.name, match.price_delta, match.sort_order, match.is_active = spec.name, spec.priceDelta, index, True
        keep.add(match.id)
        session.flush()  # one rename at a time, so the names in the database never collide
        recipe_rows.extend({"id": new_id(), "modifier_id": match.id, "inventory_item_id": line.inventoryItemId,
                            "quantity": line.quantity, "position": pos} for pos, line in enumerate(spec.recipe))
    for modifier in existing:
        if modifier.id not in keep:
            modifier.is_active = False
    if problems.fields:
        return
    session.flush()
    session.execute(delete(ModifierRecipeLine).where(ModifierRecipeLine.modifier_id.in_(list(keep))))
    if recipe_rows:
        session.execute(insert(ModifierRecipeLine), recipe_rows)
    if group.min_select > 0 and not keep:
        problems.add(f"{prefix}modifiers", "a group with minSelect > 0 needs at least one modifier")


def group_resources(session: Session, store_id: str, group_id: str | None = None) -> list[dict[str, Any]]:
    """Active groups of the store (or the one asked for), by name, with how many items offer each."""
    query = select(ModifierGroup.id).where(ModifierGroup.store_id == store_id, ModifierGroup.is_active.is_(True))
    if group_id is not None:
        query = query.where(ModifierGroup.id == group_id)
    ids = list(session.scalars(query.order_by(ModifierGroup.name)))
    groups = menu_catalogue.modifier_groups(session, ids)
    counts = dict(session.execute(
        select(MenuItemModifierGroup.group_id, func.count()).where(MenuItemModifierGroup.group_id.in_(ids))
        .group_by(MenuItemModifierGroup.group_id)
    ).tuples().all()) if ids else {}
    return [_shape(groups[gid], counts.get(gid, 0)) for gid in ids if gid in groups]


def _shape(group: dict[str, Any], item_count: int) -> dict[str, Any]:
    return {
        **group, "itemCount": item_count,
        "modifiers": [{**m, "recipe": [{"inventoryItemId": i, "quantity": q} for i, q in m["recipe"]]}
                      for m in group["modifiers"]],
    }


def retire_group(session: Session, group: ModifierGroup) -> None:
    """Detach the group from every item and retire it with its modifiers (order lines keep their ids)."""
    session.execute(delete(MenuItemModifierGroup).where(MenuItemModifierGroup.group_id == group.id))
    session.execute(update(Modifier).where(Modifier.group_id == group.id).values(is_active=False))
    group.is_active = False
