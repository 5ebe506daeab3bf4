"""Logins, login sessions, token refresh and who-is-calling.

A login is split in three steps so bcrypt never holds a database connection:
`begin_login` (DB: rate limit, lock check, credentials) -> `security.check_secret`
(CPU pool) -> `complete_login` or `record_failed_login` (DB).  The handler
orchestrates them: two short transactions and one hash check per attempt.

Session lifetime (API.md Auth): every request reads the login row, so revocation and
deactivation act at once and a short-lived access token would add no safety, only
lost sales on terminals that never refresh.  An access token therefore lives as long
as its login, which ends on logout/revocation, after SESSION_IDLE_MINUTES without a
request, or SESSION_MAX_HOURS after sign-in.  `rememberMe` is recorded on the login
but lengthens nothing: a remembered login that outlived the caps would be exactly the
forgotten, still-signed-in terminal they exist to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.orm import Session

from orm.controllers.identity import login_guard
from orm.controllers.stores import store_settings
from orm.db import Event, events, rows_changed
from orm.domain import security
from orm.domain.errors import TokenExpired, Unauthorized
from orm.domain.principal import Principal
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_identity import (
    AuthSession,
    LoginAttempt,
    RefreshToken,
    Role,
    RolePermission,
    User,
    UserPermissionOverride,
)
from settings import Settings

# One message for every wrong-credentials case, so answers never tell which part was wrong.
GENERIC_LOGIN_ERROR = "Invalid username, password or PIN"

_USERS, _LOGINS, _ROLES = User.__table__, AuthSession.__table__, Role.__table__
_ROLE_PERMS, _OVERRIDES = RolePermission.__table__, UserPermissionOverride.__table__
# Who is calling, asked on every request: user, login and effective permissions in one statement,
# built once (no per-request statement construction). Permission names never contain commas.
_PRINCIPAL = (
    select(
        _USERS.c.id, _USERS.c.username, _USERS.c.first_name, _USERS.c.last_name, _USERS.c.is_active,
        _USERS.c.store_id,
        _ROLES.c.name.label("role"), _LOGINS.c.revoked_at, _LOGINS.c.expires_at, _LOGINS.c.created_at,
        _LOGINS.c.last_seen_at,
        select(func.aggregate_strings(_ROLE_PERMS.c.permission, ","))
        .where(_ROLE_PERMS.c.role_id == _USERS.c.role_id).scalar_subquery().label("role_permissions"),
        select(func.aggregate_strings(case((_OVERRIDES.c.granted, "+"), else_="-") + _OVERRIDES.c.permission, ","))
        .where(_OVERRIDES.c.user_id == _USERS.c.id).scalar_subquery().label("overrides"),
    )
    .select_from(_USERS.join(_LOGINS, _LOGINS.c.user_id == _USERS.c.id).join(_ROLES, _ROLES.c.id == _USERS.c.role_id))
    .where(_USERS.c.id == bindparam("user_id"), _LOGINS.c.id == bindparam("session_id"))
)


# A login's last request is written at most this often, so idle tracking costs one small
# UPDATE per terminal a minute, not a write on every request; the idle timeout may run
# up to this much early.
LAST_SEEN_GRANULARITY = timedelta(minutes=1)


def session_end(*, created_at: datetime, expires_at: datetime, last_seen_at: datetime,
                settings: Settings) -> datetime:
    """When a login ends if no further request comes: idle limit or hard cap, whichever is first.

    The caps come from the current settings, so lowering them applies to logins already open.
    """
    return min(expires_at, created_at + timedelta(hours=settings.session_max_hours),
               last_seen_at + timedelta(minutes=settings.session_idle_minutes))


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


@dataclass(frozen=True)
class LoginGate:
    """What the handler may do before checking the secret."""

    credentials: Credentials | None = None
    rate_limited_for: int | None = None
    locked_for: int | None = None


def lock_policy(session: Session, settings: Settings, method: str) -> login_guard.LockPolicy:
    """Passwords: the store's lockoutAttempts/lockoutMinutes; PINs: a short per-address cool-down."""
    if method == "pin":
        return login_guard.LockPolicy(settings.pin_lockout_attempts,
                                      timedelta(seconds=settings.pin_lockout_seconds))
    store = store_settings.current(session, settings)
    return login_guard.LockPolicy(int(store["lockoutAttempts"]), timedelta(minutes=int(store["lockoutMinutes"])))


def _lock_seconds(session: Session, settings: Settings, method: str, username: str | None,
                  ctx: LoginContext) -> int | None:
    policy = lock_policy(session, settings, method)
    if method == "pin":
        return login_guard.lock_remaining(session, method=method, policy=policy, now=ctx.now, address=ctx.address)
    return login_guard.lock_remaining(session, method=method, policy=policy, now=ctx.now, username=username or "")


def revoke_sessions(session: Session, user_id: str, now: datetime, reason: str,
                    keep: str | None = None) -> int:
    """End every live login of a user (but `keep`); their access and refresh tokens die with them."""
    query = (update(AuthSession)
             .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
             .values(revoked_at=now, revoked_reason=reason))
    if keep:
        query = query.where(AuthSession.id != keep)
    ended = rows_changed(session, query)
    if ended:
        events(session).add(Event("session_revoked", None, {"userId": user_id, "keepSessionId": keep}))
    return ended


def principals_changed(session: Session, user_id: str | None = None) -> None:
    """Who a user is or may do changed (role, permissions, name, activity): after commit every
    process drops its cached principals (services/principal_cache.py); None = every user."""
    events(session).add(Event("principals_changed", None, {"userId": user_id} if user_id else {"all": True}))


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
        "storeId": user.store_id or DEFAULT_STORE_ID,
    }


def permissions_of(user: User) -> frozenset[str]:
    """Role permissions ± the user's grants and revokes.

    Both come from relationships the User load brings along (role joined, its
    permissions and the user's overrides by selectin), so no query runs here (none per user in listings).
    """
    perms = {rp.permission for rp in user.role.permissions}
    for o in user.overrides:
        if o.granted:
            perms.add(o.permission)
        else:
            perms.discard(o.permission)
    return frozenset(perms)


def display_name(user: User) -> str:
    return f"{user.first_name} {user.last_name}".strip() or user.username


def begin_login(session: Session, *, method: str, username: str | None, lookup: str | None,
                ctx: LoginContext, settings: Settings) -> LoginGate:
    """Count the attempt against the address's rate limit, check the lock, find the credentials.

    Refusals are logged here and committed (the handler raises afterwards), and the
    lock is checked before any hash: while locked even the right secret is refused.
    """
    wait = login_guard.count_hit(session, f"login:{ctx.address}", settings.login_rate_limit_per_minute, ctx.now)
    if wait is not None:
        record_failed_login(session, method=method, username=username, user_id=None,
                                           reason="rate_limited", ctx=ctx)
        return LoginGate(rate_limited_for=wait)
    locked = _lock_seconds(session, settings, method, username, ctx)
    if locked is not None:
        record_failed_login(session, method=method, username=username, user_id=None,
                                           reason="locked", ctx=ctx)
        return LoginGate(locked_for=locked)
    if method == "pin":
        creds = credentials_for_pin(session, lookup or "", username)
    else:
        creds = credentials_for_password(session, username or "")
    return LoginGate(credentials=creds)


def credentials_for_password(session: Session, username: str) -> Credentials | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        return None
    return Credentials(user.id, user.username, user.password_hash, user.is_active)


def credentials_for_pin(session: Session, lookup: str, username: str | None = None) -> Credentials | None:
    query = select(User).where(User.pin_lookup == lookup, User.is_active.is_(True))
    if username:
        query = query.where(User.username == username)
    user = session.scalar(query)
    if user is None:
        return None
    return Credentials(user.id, user.username, user.pin_hash, user.is_active)


def record_failed_login(session: Session, *, method: str, username: str | None, user_id: str | None,
                        reason: str, ctx: LoginContext, settings: Settings | None = None) -> int | None:
    """Log the failure; with `settings`, return the lock it triggered (seconds), if any."""
    session.add(LoginAttempt(method=method, username=(username or None) and username[:64], user_id=user_id,
                             address=ctx.address[:64], user_agent=ctx.user_agent[:300], success=False,
                             reason=reason, at=ctx.now))
    if settings is None:
        return None
    session.flush()
    return _lock_seconds(session, settings, method, username, ctx)


def complete_login(session: Session, *, user_id: str, method: str, remember_me: bool,
                   ctx: LoginContext, settings: Settings) -> dict[str, Any]:
    user = session.get(User, user_id)
    if user is None or not user.is_active:  # deactivated between the hash check and now
        raise Unauthorized(GENERIC_LOGIN_ERROR)
    login = AuthSession(user_id=user.id, method=method, remember_me=remember_me, address=ctx.address,
                        user_agent=ctx.user_agent[:300], created_at=ctx.now, last_seen_at=ctx.now,
                        expires_at=ctx.now + timedelta(hours=settings.session_max_hours))
    session.add(login)
    session.flush()
    user.last_login = ctx.now
    session.add(LoginAttempt(method=method, username=user.username, user_id=user.id, address=ctx.address,
                             user_agent=ctx.user_agent[:300], success=True, reason=None, at=ctx.now))
    return _token_pair(session, user, login, settings, ctx.now)


def _token_pair(session: Session, user: User, login: AuthSession, settings: Settings,
                now: datetime) -> dict[str, Any]:
    refresh = security.new_opaque_token()
    session.add(RefreshToken(session_id=login.id, token_hash=security.token_digest(refresh),
                             created_at=now, expires_at=login.expires_at))
    # The token's own expiry is the login's hard cap; the idle limit is checked per request.
    token, _expires = security.issue_access_token(
        user_id=user.id, session_id=login.id, secret=settings.jwt_secret, now=now,
        lifetime=login.expires_at - now)
    ends = session_end(created_at=login.created_at, expires_at=login.expires_at,
                       last_seen_at=login.last_seen_at, settings=settings)
    return {
        "user": serialize_user(user, permissions_of(user)),
        "token": token,
        "refreshToken": refresh,
        "expiresIn": max(0, int((ends - now).total_seconds())),
        "sessionExpiry": ends,
    }


def refresh_session(session: Session, token: str, *, ctx: LoginContext, settings: Settings) -> dict[str, Any] | None:
    """Rotate a refresh token: the new pair, or None when refused.

    A token presented a second time means it was copied: the whole login is
    revoked (every token of it dies) and the reuse is logged.  The refusal is
    returned, not raised, so that revocation commits.
    """
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == security.token_digest(token)))
    if row is None:
        return None
    login = session.get(AuthSession, row.session_id)
    user = session.get(User, login.user_id) if login else None
    if login is None or user is None:
        return None
    claimed = rows_changed(session, update(RefreshToken).where(RefreshToken.id == row.id,
                                                               RefreshToken.used_at.is_(None))
                           .values(used_at=ctx.now))
    if not claimed:
        if login.revoked_at is None:
            login.revoked_at, login.revoked_reason = ctx.now, "refresh_reuse"
            events(session).add(Event("session_revoked", None, {"userId": login.user_id, "sessionId": login.id}))
        record_failed_login(session, method="refresh", username=user.username, user_id=user.id,
                                           reason="refresh_reuse", ctx=ctx)
        return None
    ends = session_end(created_at=login.created_at, expires_at=login.expires_at,
                       last_seen_at=login.last_seen_at, settings=settings)
    if row.expires_at <= ctx.now or login.revoked_at is not None or ends <= ctx.now or not user.is_active:
        return None
    login.last_seen_at = max(login.last_seen_at, ctx.now)  # a refresh is a request too
    return _token_pair(session, user, login, settings, ctx.now)


def logout(session: Session, session_id: str | None, now: datetime) -> None:
    if session_id:
        ended = rows_changed(session, update(AuthSession)
                             .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
                             .values(revoked_at=now, revoked_reason="logout"))
        if ended:
            events(session).add(Event("session_revoked", None, {"sessionId": session_id}))


def validate_session(session: Session, principal: Principal, settings: Settings) -> dict[str, Any]:
    login = session.get(AuthSession, principal.session_id)
    ends = session_end(created_at=login.created_at, expires_at=login.expires_at,
                       last_seen_at=login.last_seen_at, settings=settings) if login else None
    return {"valid": True, "user": me(session, principal.user_id), "sessionExpiry": ends}


@dataclass(frozen=True)
class Login:
    """A live login as one request found it: who is calling, and what its end depends on
    (services/principal_cache.py keeps it to answer the next requests without a read)."""

    principal: Principal
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime  # as stored once this request's unit of work commits

    def usable_at(self, now: datetime, settings: Settings) -> bool:
        """Still the same answer at `now` as a fresh read would give: not ended, and not due for
        its last-seen write (so the once-a-minute touch still happens, on a read)."""
        return (self.last_seen_at <= now < self.last_seen_at + LAST_SEEN_GRANULARITY
                and now < session_end(created_at=self.created_at, expires_at=self.expires_at,
                                      last_seen_at=self.last_seen_at, settings=settings))


def principal_for(session: Session, user_id: str, session_id: str, now: datetime,
                  settings: Settings) -> Principal:
    return login_for(session, user_id, session_id, now, settings).principal


def login_for(session: Session, user_id: str, session_id: str, now: datetime, settings: Settings) -> Login:
    """Checked on every request that the cache cannot answer: a revoked, idle or too old login or
    a deactivated user is refused at once.  A live login's last-seen time moves forward, at most
    once a minute."""
    row = session.execute(_PRINCIPAL, {"user_id": user_id, "session_id": session_id}).first()
    if row is None:
        raise Unauthorized("Invalid token")
    if not row.is_active:
        raise Unauthorized("This account is deactivated")
    if row.revoked_at is not None:
        raise Unauthorized("This session has ended; please sign in again")
    if session_end(created_at=row.created_at, expires_at=row.expires_at, last_seen_at=row.last_seen_at,
                   settings=settings) <= now:
        raise TokenExpired("This session has expired; please sign in again")
    last_seen = row.last_seen_at
    if now - row.last_seen_at >= LAST_SEEN_GRANULARITY:
        session.execute(update(AuthSession)
                        .where(AuthSession.id == session_id, AuthSession.last_seen_at < now)
                        .values(last_seen_at=now))
        last_seen = now
    permissions = set(row.role_permissions.split(",")) if row.role_permissions else set()
    for override in row.overrides.split(",") if row.overrides else ():
        if override[0] == "+":
            permissions.add(override[1:])
        else:
            permissions.discard(override[1:])
    name = f"{row.first_name} {row.last_name}".strip() or row.username
    principal = Principal(user_id=row.id, username=row.username, role=row.role,
                          permissions=frozenset(permissions), session_id=session_id, display_name=name,
                          store_id=row.store_id or DEFAULT_STORE_ID)
    return Login(principal, row.created_at, row.expires_at, last_seen)


def me(session: Session, user_id: str) -> dict[str, Any]:
    user = session.get(User, user_id)
    if user is None:
        raise Unauthorized("Invalid token")
    return serialize_user(user, permissions_of(user))
