"""Logins, login sessions and who-is-calling.

A login is split in three steps so bcrypt never holds a database connection:
`credentials_for_*` (DB) -> `security.check_secret` (CPU pool) -> `complete_login`
or `record_failed_login` (DB).  The handler orchestrates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orm.controllers import security
from orm.controllers.errors import Unauthorized
from orm.controllers.principal import Principal
from orm.models.model_identity import (
    AuthSession,
    LoginAttempt,
    RefreshToken,
    RolePermission,
    User,
    UserPermissionOverride,
)
from settings import Settings


@dataclass(frozen=True)
class Credentials:
    user_id: str
    username: str
    secret_hash: str | None
    is_active: bool


@dataclass(frozen=True)
class LoginContext:
    address: str
    user_agent: str
    now: datetime


def effective_permissions(session: Session, user: User) -> frozenset[str]:
    role_perms = set(session.scalars(
        select(RolePermission.permission).where(RolePermission.role_id == user.role_id)))
    for o in session.scalars(select(UserPermissionOverride).where(UserPermissionOverride.user_id == user.id)):
        if o.granted:
            role_perms.add(o.permission)
        else:
            role_perms.discard(o.permission)
    return frozenset(role_perms)


def serialize_user(user: User, permissions: frozenset[str]) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "email": user.email,
        "role": user.role.name,
        "roleId": user.role_id,
        "permissions": sorted(permissions),
        "isActive": user.is_active,
        "createdAt": user.created_at,
        "lastLogin": user.last_login,
        "hasPin": user.pin_hash is not None,
    }


def display_name(user: User) -> str:
    return f"{user.first_name} {user.last_name}".strip() or user.username


class AuthController:
    @staticmethod
    def credentials_for_password(session: Session, username: str) -> Credentials | None:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            return None
        return Credentials(user.id, user.username, user.password_hash, user.is_active)

    @staticmethod
    def credentials_for_pin(session: Session, lookup: str, username: str | None = None) -> Credentials | None:
        query = select(User).where(User.pin_lookup == lookup, User.is_active.is_(True))
        if username:
            query = query.where(User.username == username)
        user = session.scalar(query)
        if user is None:
            return None
        return Credentials(user.id, user.username, user.pin_hash, user.is_active)

    @staticmethod
    def record_failed_login(session: Session, *, method: str, username: str | None, user_id: str | None,
                            reason: str, ctx: LoginContext) -> None:
        session.add(LoginAttempt(method=method, username=username, user_id=user_id, address=ctx.address,
                                 user_agent=ctx.user_agent[:300], success=False, reason=reason, at=ctx.now))

    @staticmethod
    def complete_login(session: Session, *, user_id: str, method: str, remember_me: bool,
                       ctx: LoginContext, settings: Settings) -> dict[str, Any]:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            raise Unauthorized("Invalid credentials")
        lifetime = (timedelta(days=settings.remember_me_days) if remember_me
                    else timedelta(hours=settings.refresh_token_hours))
        login = AuthSession(user_id=user.id, method=method, remember_me=remember_me, address=ctx.address,
                            user_agent=ctx.user_agent[:300], created_at=ctx.now,
                            expires_at=ctx.now + lifetime)
        session.add(login)
        session.flush()
        user.last_login = ctx.now
        session.add(LoginAttempt(method=method, username=user.username, user_id=user.id, address=ctx.address,
                                 user_agent=ctx.user_agent[:300], success=True, reason=None, at=ctx.now))
        return AuthController._token_pair(session, user, login, settings, ctx.now)

    @staticmethod
    def _token_pair(session: Session, user: User, login: AuthSession, settings: Settings,
                    now: datetime) -> dict[str, Any]:
        refresh = security.new_opaque_token()
        session.add(RefreshToken(session_id=login.id, token_hash=security.token_digest(refresh),
                                 created_at=now, expires_at=login.expires_at))
        token, _expires = security.issue_access_token(
            user_id=user.id, session_id=login.id, secret=settings.jwt_secret, now=now,
            lifetime=timedelta(minutes=settings.access_token_minutes))
        return {
            "user": serialize_user(user, effective_permissions(session, user)),
            "token": token,
            "refreshToken": refresh,
            "expiresIn": settings.access_token_minutes * 60,
            "sessionExpiry": login.expires_at,
        }

    @staticmethod
    def principal_for(session: Session, user_id: str, session_id: str, now: datetime) -> Principal:
        """Checked on every request: a revoked login or deactivated user is refused at once."""
        row = session.execute(
            select(User, AuthSession)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(User.id == user_id, AuthSession.id == session_id)
        ).first()
        if row is None:
            raise Unauthorized("Invalid token")
        user, login = row
        if not user.is_active:
            raise Unauthorized("This account is deactivated")
        if login.revoked_at is not None or login.expires_at <= now:
            raise Unauthorized("This session has ended; please sign in again")
        return Principal(user_id=user.id, username=user.username, role=user.role.name,
                         permissions=effective_permissions(session, user), session_id=login.id,
                         display_name=display_name(user))

    @staticmethod
    def me(session: Session, user_id: str) -> dict[str, Any]:
        user = session.get(User, user_id)
        if user is None:
            raise Unauthorized("Invalid token")
        return serialize_user(user, effective_permissions(session, user))
