"""Roles and the permission catalogue.

Built-in roles (admin, manager, cashier, trainee) may be edited but not deleted or
renamed (code and seeds know them by name), and the admin role always keeps
roles.manage so roles can be repaired.  A role someone holds cannot be deleted.
Nobody puts a permission into a role that they do not hold themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.controllers.identity.auth import principals_changed
from orm.controllers.identity.changes import record_change
from orm.controllers.paging import Page, count_and_fetch, listing
from orm.domain.errors import Conflict, NotFound, PermissionDenied
from orm.domain.permissions import ROLE_IDS
from orm.domain.principal import Principal
from orm.domain.schemas.identity import RoleCreate, RoleUpdate
from orm.models.model_identity import Permission, Role, RolePermission, User

ADMIN_KEEPS = frozenset({"roles.manage"})


def _user_counts(session: Session, role_ids: list[str]) -> dict[str, int]:
    if not role_ids:
        return {}
    rows = session.execute(select(User.role_id, func.count()).where(User.role_id.in_(role_ids))
                           .group_by(User.role_id))
    return {role_id: count for role_id, count in rows}


def serialize_role(role: Role, user_count: int) -> dict[str, Any]:
    return {
        "id": role.id,
        "name": role.name,
        "description": role.description,
        "permissions": sorted(rp.permission for rp in role.permissions),
        "isBuiltin": role.is_builtin,
        # Every user holding the role, deactivated ones included: they also keep it from being deleted.
        "userCount": user_count,
        "createdAt": role.created_at,
        "updatedAt": role.updated_at,
    }


def find_role(session: Session, ref: str) -> Role:
    """A role by id, or by name (GET /permissions/role/{role} accepts either)."""
    role = session.get(Role, ref) or session.scalar(select(Role).where(Role.name == ref))
    if role is None:
        raise NotFound("Role not found")
    return role


def _resource(session: Session, role: Role) -> dict[str, Any]:
    return serialize_role(role, _user_counts(session, [role.id]).get(role.id, 0))


def _ensure_name_free(session: Session, name: str, role_id: str | None) -> None:
    taken = session.scalar(select(Role.id).where(func.lower(Role.name) == name.lower()))
    if taken is not None and taken != role_id:
        raise Conflict("A role with this name already exists", field_errors={"name": "is already taken"})


def _flush(session: Session, message: str) -> None:
    """A concurrent change the checks missed (same name, a user just given the role) -> 409, not 500."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(message) from None


def _forbid_granting(actor: Principal, permissions: set[str]) -> None:
    missing = permissions - actor.permissions
    if missing:
        raise PermissionDenied(f"You cannot grant permissions you do not hold: {', '.join(sorted(missing))}")


def list_roles(session: Session, page: Page) -> dict[str, Any]:
    total, roles = count_and_fetch(session, select(Role).order_by(Role.is_builtin.desc(), Role.name), page)
    counts = _user_counts(session, [r.id for r in roles])
    return listing("roles", [serialize_role(r, counts.get(r.id, 0)) for r in roles], total, page)


def get(session: Session, role_id: str) -> dict[str, Any]:
    role = session.get(Role, role_id)
    if role is None:
        raise NotFound("Role not found")
    return _resource(session, role)


def create(session: Session, body: RoleCreate, *, actor: Principal, now: datetime) -> dict[str, Any]:
    _forbid_granting(actor, set(body.permissions))
    _ensure_name_free(session, body.name, None)
    role = Role(name=body.name, description=body.description, is_builtin=False, created_at=now, updated_at=now,
                permissions=[RolePermission(permission=p) for p in body.permissions])
    session.add(role)
    _flush(session, "A role with this name already exists")
    record_change(session, actor, entity="role", entity_id=role.id, action="create",
                  new={"name": role.name, "description": role.description, "permissions": body.permissions},
                  at=now)
    return serialize_role(role, 0)


def update(session: Session, role_id: str, body: RoleUpdate, *, actor: Principal, now: datetime) -> dict[str, Any]:
    role = session.get(Role, role_id)
    if role is None:
        raise NotFound("Role not found")
    old_perms = {rp.permission for rp in role.permissions}
    old = {"name": role.name, "description": role.description, "permissions": sorted(old_perms)}
    if body.name is not None and body.name != role.name:
        if role.is_builtin:
            raise Conflict("Built-in roles keep their names", field_errors={"name": "cannot be changed"})
        _ensure_name_free(session, body.name, role.id)
        role.name = body.name
    if body.description is not None:
        role.description = body.description
    if body.permissions is not None:
        new_perms = set(body.permissions)
        _forbid_granting(actor, new_perms - old_perms)
        if role.id == ROLE_IDS["admin"] and ADMIN_KEEPS - new_perms:
            raise Conflict("The admin role must keep roles.manage",
                           field_errors={"permissions": "must include roles.manage"})
        role.permissions = [rp for rp in role.permissions if rp.permission in new_perms]
        role.permissions.extend(RolePermission(permission=p) for p in sorted(new_perms - old_perms))
    new = {"name": role.name, "description": role.description,
           "permissions": sorted(rp.permission for rp in role.permissions)}
    changed = [k for k in new if new[k] != old[k]]
    if changed:
        role.updated_at = now
        _flush(session, "A role with this name already exists")
        principals_changed(session)  # every holder of the role
        record_change(session, actor, entity="role", entity_id=role.id, action="update",
                      old={k: old[k] for k in changed}, new={k: new[k] for k in changed}, at=now)
    return _resource(session, role)


def delete(session: Session, role_id: str, *, actor: Principal, now: datetime) -> dict[str, Any]:
    role = session.get(Role, role_id)
    if role is None:
        raise NotFound("Role not found")
    if role.is_builtin:
        raise Conflict("Built-in roles cannot be deleted")
    in_use = _user_counts(session, [role.id]).get(role.id, 0)
    if in_use:
        raise Conflict(f"This role is held by {in_use} user(s); move them to another role first")
    gone = serialize_role(role, 0)
    session.delete(role)
    _flush(session, "This role is in use; move its users to another role first")
    principals_changed(session)
    record_change(session, actor, entity="role", entity_id=role_id, action="delete",
                  old={"name": gone["name"], "permissions": gone["permissions"]}, at=now)
    return gone


def permissions_catalogue(session: Session) -> dict[str, Any]:
    rows = session.scalars(select(Permission).order_by(Permission.name))
    return {"permissions": [{"name": p.name, "description": p.description,
                             "category": p.name.split(".", 1)[0]} for p in rows]}


def permissions_of_role(session: Session, ref: str) -> dict[str, Any]:
    role = find_role(session, ref)
    return {"role": role.name, "roleId": role.id,
            "permissions": sorted(rp.permission for rp in role.permissions)}
