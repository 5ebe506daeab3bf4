"""Users, roles, permissions, login sessions, login attempts, audit trail, reset tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orm.column_types import UTCDateTime
from orm.models.base import Base, created_at_column, id_column, updated_at_column


class Permission(Base):
    __tablename__ = "permissions"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(String(200), nullable=False, default="")


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    is_builtin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    permissions: Mapped[list[RolePermission]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="role")


class RolePermission(Base):
    __tablename__ = "role_permissions"

    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(ForeignKey("permissions.name", ondelete="CASCADE"),
                                            primary_key=True)
    role: Mapped[Role] = relationship(back_populates="permissions")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # A PIN identifies its user by one indexed lookup: HMAC(pepper, pin), unique among active users.
        Index("uq_users_pin_lookup_active", "pin_lookup", unique=True,
              sqlite_where=text("is_active = 1 AND pin_lookup IS NOT NULL"),
              postgresql_where=text("is_active AND pin_lookup IS NOT NULL")),
    )

    id: Mapped[str] = id_column()
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True, index=True)
    first_name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    last_name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    password_hash: Mapped[str] = mapped_column(String(100), nullable=False)
    pin_hash: Mapped[str | None] = mapped_column(String(100), nullable=True)
    pin_lookup: Mapped[str | None] = mapped_column(String(64), nullable=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id"), nullable=False, index=True)
    # The store the user works in; NULL = the default store. No foreign key (migration 0018 adds the
    # column in place on SQLite): the users controller accepts only an existing, active store.
    store_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    last_login: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    role: Mapped[Role] = relationship(lazy="joined")
    overrides: Mapped[list[UserPermissionOverride]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")


class UserPermissionOverride(Base):
    """A per-user grant (granted=True) or revoke (granted=False) on top of the role."""

    __tablename__ = "user_permission_overrides"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(ForeignKey("permissions.name", ondelete="CASCADE"),
                                            primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean, nullable=False)


class AuthSession(Base):
    """One login. Access tokens name it (sid); revoking it ends every token of that login.

    It also ends `SESSION_IDLE_MINUTES` after `last_seen_at` (moved forward at most once a
    minute, see auth_controller.principal_for) or `SESSION_MAX_HOURS` after `created_at`;
    `expires_at` is that hard cap as computed at sign-in.
    """

    __tablename__ = "auth_sessions"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                                         index=True)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    remember_me: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)


class RefreshToken(Base):
    """Opaque refresh tokens, stored hashed; each is used once (rotation)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = id_column()
    session_id: Mapped[str] = mapped_column(ForeignKey("auth_sessions.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LoginAttempt(Base):
    """Every login attempt: the access log, the failed-login log and the lockout counter."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[str] = id_column()
    method: Mapped[str] = mapped_column(String(16), nullable=False)  # password | pin | refresh
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    address: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    success: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)


class AuditChange(Base):
    """Who changed which user, role, permission, setting or price: old and new values."""

    __tablename__ = "audit_changes"
    __table_args__ = (Index("ix_audit_changes_entity", "entity", "entity_id"),)

    id: Mapped[str] = id_column()
    actor_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    actor_name: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    entity: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    old_values: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    new_values: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)


class PasswordResetToken(Base):
    __tablename__ = "password_reset_tokens"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                                         index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RateLimitHit(Base):
    """Login rate limiting shared by every server process: one row per attempt window."""

    __tablename__ = "rate_limit_hits"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


__all__ = [
    "AuditChange", "AuthSession", "LoginAttempt", "PasswordResetToken", "Permission",
    "RateLimitHit", "RefreshToken", "Role", "RolePermission", "ServerSecret", "User", "UserPermissionOverride",
]


class ServerSecret(Base):
    """Generated keys every process must agree on (DEBUG JWT secret, PIN pepper)."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), nullable=False)
