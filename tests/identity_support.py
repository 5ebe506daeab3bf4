"""Helpers for the identity tests: arranging users/roles in the DB."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orm.models.model_identity import (
    AuditChange,
    AuthSession,
    LoginAttempt,
    Role,
    RolePermission,
    User,
    UserPermissionOverride,
)
from orm.seed.identity import ensure_user
from settings import Settings
from tests.conftest import run_unit


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def matrix_targets(settings: Settings, caller: str) -> dict[str, str]:
    """In one transaction: an active and a deactivated trainee, an unused role, and the caller's id."""

    def arrange(session: Session) -> dict[str, str]:
        target = ensure_user(session, settings, unique("t"), "T", "U", "trainee", None, "password123")
        inactive = ensure_user(session, settings, unique("i"), "I", "U", "trainee", None, "password123")
        inactive.is_active = False
        role = Role(name=unique("role"), description="", permissions=[RolePermission(permission="menu.view")])
        session.add(role)
        session.flush()
        me = session.scalar(select(User.id).where(User.username == caller))
        return {"target": target.id, "inactive": inactive.id, "role": role.id, "self": me}

    return run_unit(settings, arrange)


def make_user(settings: Settings, *, role: str = "trainee", active: bool = True, pin: str | None = None,
              password: str = "password123", username: str | None = None, email: str | None = None) -> dict[str, Any]:
    """A user straight in the database: {id, username}."""
    name = username or unique("u")

    def arrange(session: Session) -> dict[str, Any]:
        user = ensure_user(session, settings, name, "Test", "User", role, pin, password, email=email)
        user.is_active = active
        return {"id": user.id, "username": user.username}

    return run_unit(settings, arrange)


def make_role(settings: Settings, permissions: list[str], name: str | None = None) -> dict[str, Any]:
    role_name = name or unique("role")

    def arrange(session: Session) -> dict[str, Any]:
        role = Role(name=role_name, description="test role",
                    permissions=[RolePermission(permission=p) for p in permissions])
        session.add(role)
        session.flush()
        return {"id": role.id, "name": role.name}

    return run_unit(settings, arrange)


def user_id(settings: Settings, username: str) -> str:
    return run_unit(settings, lambda s: s.scalar(select(User.id).where(User.username == username)))


def user_row(settings: Settings, user_id_: str) -> dict[str, Any]:
    def read(session: Session) -> dict[str, Any]:
        u = session.get(User, user_id_)
        return {"username": u.username, "firstName": u.first_name, "email": u.email, "isActive": u.is_active,
                "role": u.role.name, "passwordHash": u.password_hash, "pinHash": u.pin_hash,
                "pinLookup": u.pin_lookup}

    return run_unit(settings, read)


def count(settings: Settings, model: type, *where: Any) -> int:
    return run_unit(settings, lambda s: s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def counts(settings: Settings) -> dict[str, int]:
    """Row counts of everything an identity write could touch (for 'nothing written' checks)."""
    tables = (User, Role, RolePermission, UserPermissionOverride, AuditChange)
    return run_unit(settings, lambda s: {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                                         for m in tables})


def attempts(settings: Settings) -> list[dict[str, Any]]:
    def read(session: Session) -> list[dict[str, Any]]:
        rows = session.scalars(select(LoginAttempt).order_by(LoginAttempt.at))
        return [{"username": a.username, "method": a.method, "success": a.success, "reason": a.reason,
                 "address": a.address, "userAgent": a.user_agent, "at": a.at} for a in rows]

    return run_unit(settings, read)


def live_sessions(settings: Settings, user_id_: str) -> int:
    return count(settings, AuthSession, AuthSession.user_id == user_id_, AuthSession.revoked_at.is_(None))
