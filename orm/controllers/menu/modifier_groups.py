"""Shared modifier groups: list, get, create (reviving a retired one), update and retire."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orm.controllers.menu import modifiers as menu_modifiers
from orm.controllers.menu import revision as menu_revision
from orm.controllers.menu.modifiers import FieldProblems
from orm.domain.errors import Conflict, NotFound
from orm.domain.schemas.menu import ModifierGroupCreate, ModifierGroupUpdate
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_menu import ModifierGroup


def modifier_groups(session: Session, *, store_id: str = DEFAULT_STORE_ID) -> dict[str, Any]:
    """{modifierGroups[{id, name, minSelect, maxSelect, itemCount, modifiers[...]}]} (active groups)."""
    return {"modifierGroups": menu_modifiers.group_resources(session, store_id)}


def get_modifier_group(session: Session, group_id: str, *, store_id: str = DEFAULT_STORE_ID) -> dict:
    found = menu_modifiers.group_resources(session, store_id, group_id)
    if not found:
        raise NotFound("Modifier group not found")
    return found[0]


def create_modifier_group(session: Session, body: ModifierGroupCreate, *,
                          store_id: str = DEFAULT_STORE_ID) -> dict[str, Any]:
    """A new shared group (a retired group of that name is revived); 409 if an active one exists."""
    problems = FieldProblems()
    menu_modifiers.check_recipes(session, store_id, menu_modifiers.recipes_in("", [body], None), problems)
    _rename_paths(problems, "modifierGroups[0].", "")
    problems.raise_if_any()
    key = body.name.casefold()
    existing = next((g for g in session.scalars(select(ModifierGroup).where(ModifierGroup.store_id == store_id))
                     if g.name.casefold() == key), None)
    if existing is not None and existing.is_active:
        raise Conflict(f"A modifier group named {body.name!r} already exists",
                       field_errors={"name": "is already used by another group"})
    spec = body.model_copy()
    spec.model_fields_set.add("modifiers")  # a definition, even with no modifiers yet
    ids = menu_modifiers.apply_groups(session, store_id, [spec], problems, prefix="")
    _rename_paths(problems, "[0].", "")
    problems.raise_if_any()
    menu_revision.bump(session, store_id)
    return get_modifier_group(session, ids[0], store_id=store_id)


def update_modifier_group(session: Session, group_id: str, body: ModifierGroupUpdate, *,
                          store_id: str = DEFAULT_STORE_ID) -> dict[str, Any]:
    """Partial update; `modifiers` replaces the list (matched by id, then name; missing ones retired)."""
    group = session.get(ModifierGroup, group_id, with_for_update=True)
    if group is None or group.store_id != store_id or not group.is_active:
        raise NotFound("Modifier group not found")
    problems = FieldProblems()
    menu_modifiers.check_recipes(session, store_id, [
        (f"modifiers[{i}].recipe", m.recipe) for i, m in enumerate(body.modifiers or [])], problems)
    problems.raise_if_any()
    groups = list(session.scalars(select(ModifierGroup).where(ModifierGroup.store_id == store_id)))
    menu_modifiers.define_group(session, groups, group, body, problems, "")
    problems.raise_if_any()
    menu_revision.bump(session, store_id)
    return get_modifier_group(session, group_id, store_id=store_id)


def delete_modifier_group(session: Session, group_id: str, *, store_id: str = DEFAULT_STORE_ID) -> dict:
    """Detach the group from every item and retire it (sold modifiers keep their ids)."""
    group = session.get(ModifierGroup, group_id, with_for_update=True)
    if group is None or group.store_id != store_id or not group.is_active:
        raise NotFound("Modifier group not found")
    menu_modifiers.retire_group(session, group)
    menu_revision.bump(session, store_id)
    return {"id": group_id, "deleted": True}


def _rename_paths(problems: FieldProblems, old: str, new: str) -> None:
    problems.fields = {k.replace(old, new, 1) if k.startswith(old) else k: v for k, v in problems.fields.items()}
