"""Staff accounts: list, create, edit, (de)activate, roles and per-user permission overrides.

Rules that hold for every change (API.md "Roles and permissions"):
- nobody grants a permission they do not hold (a role's or a per-user grant);
- nobody changes a user who holds permissions they lack (so a manager never edits an
  admin), except that everyone may edit their own name, e-mail, password and PIN;
- the last active admin cannot be deactivated, deleted, demoted or stripped of permissions;
- a PIN is unique among active users (a partial unique index backs the check up).
Every change is written to the audit trail in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.controllers.identity.auth import permissions_of, principals_changed, revoke_sessions, serialize_user
from orm.controllers.identity.changes import diff, record_change
from orm.controllers.paging import Page, count_and_fetch, listing
from orm.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orm.domain.permissions import ROLE_IDS
from orm.domain.principal import Principal
from orm.domain.schemas.identity import PermissionOverrides, RoleAssignment, UserCreate, UserUpdate
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_identity import Role, User, UserPermissionOverride
from orm.models.model_store import Store

ADMIN_ROLE_ID = ROLE_IDS["admin"]
STAFF_FIELDS = frozenset({"username", "role", "roleId", "isActive", "storeId"})
# Who may place users in any store: those who may hire staff (users.create, the admin's by default).
# Others with users.edit (a manager) may place users only in their own store.
ANY_STORE_PERMISSION = "users.create"


@dataclass(frozen=True)
class HashedSecrets:
    """bcrypt work done by the handler off the IOLoop, before the transaction."""

    password_hash: str | None = None
    pin_hash: str | None = None
    pin_lookup: str | None = None

    def required_password_hash(self) -> str:
        """The hash of the password the request had to carry (a create, or an update that sent one)."""
        if self.password_hash is None:
            raise AssertionError("the handler hashed no password for this request")
        return self.password_hash


def like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


def resolve_role(session: Session, name: str | None, role_id: str | None) -> Role:
    role = session.get(Role, role_id) if role_id else session.scalar(select(Role).where(Role.name == name))
    if role is None:
        field = "roleId" if role_id else "role"
        raise ValidationFailed("No such role", field_errors={field: "no such role"})
    return role


def _snapshot(user: User) -> dict[str, Any]:
    return {"username": user.username, "firstName": user.first_name, "lastName": user.last_name,
            "email": user.email, "role": user.role.name, "isActive": user.is_active,
            "hasPin": user.pin_hash is not None, "storeId": user.store_id or DEFAULT_STORE_ID}


def resolve_store(session: Session, store_id: str | None, actor: Principal) -> str | None:
    """The `users.store_id` for a requested store (None = the default store, as stored).

    The store must exist and be active (400); an actor without users.create may place users only
    in their own store (403).
    """
    target = store_id or DEFAULT_STORE_ID
    store = session.get(Store, target)
    if store is None:
        raise ValidationFailed("No such store", field_errors={"storeId": "no such store"})
    if not store.is_active:
        raise ValidationFailed("This store is not active", field_errors={"storeId": "is not active"})
    if target != actor.store_id and not actor.has(ANY_STORE_PERMISSION):
        raise PermissionDenied("You can place users only in your own store")
    return None if target == DEFAULT_STORE_ID else target


def _forbid_granting(actor: Principal, permissions: set[str] | frozenset[str]) -> None:
    missing = set(permissions) - actor.permissions
    if missing:
        raise PermissionDenied(f"You cannot grant permissions you do not hold: {', '.join(sorted(missing))}")


def _guard_target(actor: Principal, user: User) -> None:
    if user.id != actor.user_id and permissions_of(user) - actor.permissions:
        raise PermissionDenied("You cannot change a user who holds permissions you do not have")


def _is_active_admin(user: User) -> bool:
    return user.is_active and user.role_id == ADMIN_ROLE_ID


def _ensure_another_admin(session: Session, user: User) -> None:
    if not _is_active_admin(user):
        return
    # Locking the admin role row serializes concurrent demotions on PostgreSQL
    # (SQLite already serializes writers with BEGIN IMMEDIATE).
    session.execute(select(Role.id).where(Role.id == ADMIN_ROLE_ID).with_for_update())
    others = session.scalar(select(func.count()).select_from(User).where(
        User.role_id == ADMIN_ROLE_ID, User.is_active.is_(True), User.id != user.id)) or 0
    if others == 0:
        raise Conflict("The last active admin cannot be removed, deactivated or demoted")


def _ensure_username_free(session: Session, username: str, user_id: str | None) -> None:
    taken = session.scalar(select(User.id).where(User.username == username))
    if taken is not None and taken != user_id:
        raise Conflict("This username is already taken", field_errors={"username": "is already taken"})


def _ensure_pin_free(session: Session, lookup: str | None, user_id: str | None) -> None:
    if lookup is None:
        return
    taken = session.scalar(select(User.id).where(User.pin_lookup == lookup, User.is_active.is_(True)))
    if taken is not None and taken != user_id:
        raise Conflict("This PIN is already in use; choose another", field_errors={"pin": "is already in use"})


def _flush(session: Session) -> None:
    """Flush so a race the checks above missed still ends as 409, not 500."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("Username or PIN is already in use") from None


def _assign_role(session: Session, user: User, role: Role, actor: Principal) -> None:
    if role.id == user.role_id:
        return
    if role.id != ADMIN_ROLE_ID:
        _ensure_another_admin(session, user)
    new_perms = {rp.permission for rp in role.permissions}
    for o in user.overrides:
        (new_perms.add if o.granted else new_perms.discard)(o.permission)
    _forbid_granting(actor, new_perms)
    user.role_id, user.role = role.id, role


def _set_active(session: Session, user: User, active: bool, actor: Principal, now: datetime) -> bool:
    """True when something changed."""
    if user.is_active == active:
        return False
    if not active:
        if user.id == actor.user_id:
            raise Conflict("You cannot deactivate your own account")
        _ensure_another_admin(session, user)
        user.is_active = False
        revoke_sessions(session, user.id, now, "deactivated")
    else:
        _ensure_pin_free(session, user.pin_lookup, user.id)
        user.is_active = True
    return True


def user_resource(user: User) -> dict[str, Any]:
    return serialize_user(user, permissions_of(user))


def list_users(session: Session, page: Page, *, role: str | None = None, active: bool | None = None,
         search: str | None = None, store_id: str | None = None) -> dict[str, Any]:
    query = select(User).join(Role, Role.id == User.role_id)
    if store_id:
        query = query.where(User.store_id.is_(None) if store_id == DEFAULT_STORE_ID else User.store_id == store_id)
    if role:
        query = query.where(or_(Role.name == role, Role.id == role))
    if active is not None:
        query = query.where(User.is_active.is_(active))
    if search:
        pattern = like_pattern(search)
        query = query.where(or_(*(func.lower(col).like(pattern, escape="\\") for col in
                                  (User.username, User.first_name, User.last_name, User.email))))
    total, users = count_and_fetch(session, query.order_by(User.username), page)
    return listing("users", [user_resource(u) for u in users], total, page)


def get(session: Session, user_id: str, actor: Principal) -> dict[str, Any]:
    if user_id != actor.user_id and not actor.has("users.view"):
        raise PermissionDenied("Missing permission: users.view")
    return user_resource(find_user(session, user_id))


def password_hash_of(session: Session, user_id: str) -> str | None:
    user = session.get(User, user_id)
    return user.password_hash if user else None


def create(session: Session, body: UserCreate, secrets: HashedSecrets, *, actor: Principal,
           now: datetime) -> dict[str, Any]:
    role = resolve_role(session, body.role, body.roleId)
    _forbid_granting(actor, {rp.permission for rp in role.permissions})
    if body.pin is not None and not actor.has("users.edit"):
        raise PermissionDenied("Setting another user's PIN needs users.edit")
    store_id = resolve_store(session, body.storeId or actor.store_id, actor)
    return user_resource(add_user(session, body, secrets, role, actor=actor, now=now, store_id=store_id))


def add_user(session: Session, body: UserCreate, secrets: HashedSecrets, role: Role, *,
             actor: Principal | None, now: datetime, store_id: str | None = None) -> User:
    """Insert an active user (username and PIN checked free) and record the creation in the audit log."""
    _ensure_username_free(session, body.username, None)
    _ensure_pin_free(session, secrets.pin_lookup, None)
    user = User(username=body.username, first_name=body.firstName, last_name=body.lastName,
                email=body.email, password_hash=secrets.password_hash, pin_hash=secrets.pin_hash,
                pin_lookup=secrets.pin_lookup, role_id=role.id, store_id=store_id, is_active=True, created_at=now,
                updated_at=now)
    user.role = role
    session.add(user)
    _flush(session)
    record_change(session, actor, entity="user", entity_id=user.id, action="create", new=_snapshot(user), at=now)
    return user


def update(session: Session, user_id: str, body: UserUpdate, secrets: HashedSecrets, *, actor: Principal,
           now: datetime, current_password_ok: bool = False) -> dict[str, Any]:
    user = find_user(session, user_id)
    sent = body.model_fields_set
    is_self = user.id == actor.user_id
    if not is_self:
        if not actor.has("users.edit"):
            raise PermissionDenied("Missing permission: users.edit")
        _guard_target(actor, user)
        if "password" in sent and not actor.has("users.reset_password"):
            raise PermissionDenied("Setting another user's password needs users.reset_password")
    elif sent & STAFF_FIELDS and not actor.has("users.edit"):
        raise PermissionDenied("You may change only your own name, e-mail, password and PIN")
    if is_self and "password" in sent and not current_password_ok:
        raise ValidationFailed("Your current password is needed to change it",
                               field_errors={"currentPassword": "is missing or incorrect"})
    old = _snapshot(user)
    if body.username is not None and body.username != user.username:
        _ensure_username_free(session, body.username, user.id)
        user.username = body.username
    if body.firstName is not None:
        user.first_name = body.firstName
    if body.lastName is not None:
        user.last_name = body.lastName.strip()
    if body.email is not None:
        user.email = body.email
    if body.changes_pin:
        if user.is_active:
            _ensure_pin_free(session, secrets.pin_lookup, user.id)
        user.pin_hash, user.pin_lookup = secrets.pin_hash, secrets.pin_lookup
    if body.role or body.roleId:
        _assign_role(session, user, resolve_role(session, body.role, body.roleId), actor)
    if body.isActive is not None:
        _set_active(session, user, body.isActive, actor, now)
    if "storeId" in sent:
        user.store_id = resolve_store(session, body.storeId, actor)
    if "password" in sent:
        user.password_hash = secrets.required_password_hash()
        # A new password ends the other logins (a stolen session dies with the old password).
        revoke_sessions(session, user.id, now, "password_changed", keep=actor.session_id if is_self else None)
    user.updated_at = now
    _flush(session)
    before, after = diff(old, _snapshot(user))
    if "password" in sent:
        after["passwordChanged"] = True
    if after:
        principals_changed(session, user.id)
        record_change(session, actor, entity="user", entity_id=user.id, action="update", old=before, new=after,
                      at=now)
    return user_resource(user)


def set_active(session: Session, user_id: str, active: bool, *, actor: Principal, now: datetime,
               action: str | None = None) -> dict[str, Any]:
    """PATCH activate/deactivate, and the soft DELETE (action "delete")."""
    user = find_user(session, user_id)
    _guard_target(actor, user)
    if _set_active(session, user, active, actor, now):
        user.updated_at = now
        _flush(session)
        principals_changed(session, user.id)
        record_change(session, actor, entity="user", entity_id=user.id,
                      action=action or ("activate" if active else "deactivate"),
                      old={"isActive": not active}, new={"isActive": active}, at=now)
    return user_resource(user)


def set_role(session: Session, user_id: str, body: RoleAssignment, *, actor: Principal,
             now: datetime) -> dict[str, Any]:
    user = find_user(session, user_id)
    _guard_target(actor, user)
    old_role = user.role.name
    _assign_role(session, user, resolve_role(session, body.role, body.roleId), actor)
    if user.role.name != old_role:
        user.updated_at = now
        _flush(session)
        principals_changed(session, user.id)
        record_change(session, actor, entity="user", entity_id=user.id, action="set_role",
                      old={"role": old_role}, new={"role": user.role.name}, at=now)
    return user_resource(user)


def get_permissions(session: Session, user_id: str) -> dict[str, Any]:
    user = find_user(session, user_id)
    return {
        "userId": user.id,
        "role": user.role.name,
        "roleId": user.role_id,
        "rolePermissions": sorted(rp.permission for rp in user.role.permissions),
        "grants": sorted(o.permission for o in user.overrides if o.granted),
        "revokes": sorted(o.permission for o in user.overrides if not o.granted),
        "permissions": sorted(permissions_of(user)),
    }


def set_permissions(session: Session, user_id: str, body: PermissionOverrides, *, actor: Principal,
                    now: datetime) -> dict[str, Any]:
    user = find_user(session, user_id)
    _guard_target(actor, user)
    old_grants = sorted(o.permission for o in user.overrides if o.granted)
    old_revokes = sorted(o.permission for o in user.overrides if not o.granted)
    grants = body.grants if body.grants is not None else old_grants
    revokes = body.revokes if body.revokes is not None else old_revokes
    if set(grants) & set(revokes):
        raise ValidationFailed("A permission cannot be granted and revoked at once",
                               field_errors={"grants": "overlaps revokes"})
    _forbid_granting(actor, set(grants) - set(old_grants))
    if set(revokes) - set(old_revokes):
        _ensure_another_admin(session, user)
    user.overrides.clear()
    session.flush()  # the old rows go before new ones with the same keys arrive
    user.overrides.extend([UserPermissionOverride(permission=p, granted=True) for p in grants]
                          + [UserPermissionOverride(permission=p, granted=False) for p in revokes])
    user.updated_at = now
    _flush(session)
    principals_changed(session, user.id)
    record_change(session, actor, entity="user", entity_id=user.id, action="set_permissions",
                  old={"grants": old_grants, "revokes": old_revokes},
                  new={"grants": sorted(grants), "revokes": sorted(revokes)}, at=now)
    return get_permissions(session, user.id)
