"""The first admin of a real deployment (`python main.py create-admin`), in one unit of work.

Idempotent: an existing active admin of that name is left alone (a message, not an error) unless
the password is to be reset, which also reactivates the account and ends its logins.  A name that
belongs to a non-admin is refused: roles change through the users API, with its rules.  Same
validation as `POST /users` (UserCreate), same uniqueness checks, and an audit row in the same
transaction, recorded as done by the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orm.controllers.identity.auth import revoke_sessions
from orm.controllers.identity.changes import diff, record_change
from orm.controllers.identity.users import (
    ADMIN_ROLE_ID,
    HashedSecrets,
    _ensure_pin_free,
    _flush,
    _snapshot,
    add_user,
    resolve_role,
)
from orm.domain.errors import Conflict
from orm.domain.principal import Principal
from orm.domain.schemas.identity import UserCreate
from orm.models.model_identity import User

# The audit trail's actor for changes made on the server's command line (no user is logged in).
CLI_ACTOR = Principal(user_id=None, username="command line: main.py create-admin",  # type: ignore[arg-type]
                      role="system")


@dataclass(frozen=True)
class AdminOutcome:
    action: str  # "created", "unchanged" or "password reset"
    user_id: str
    message: str


def ensure_admin(session: Session, body: UserCreate, secrets: HashedSecrets, *, reset_password: bool,
                 now: datetime) -> AdminOutcome:
    user = session.scalar(select(User).where(User.username == body.username))
    if user is None:
        return _create(session, body, secrets, now)
    if user.role_id != ADMIN_ROLE_ID:
        raise Conflict(f"User {user.username!r} exists with the role {user.role.name!r}; nothing changed. "
                       "Choose another username, or change the role through PUT /users/{id}/role.")
    if not reset_password:
        state = "an active admin" if user.is_active else "an admin, but deactivated"
        hint = "" if user.is_active else " Use --reset-password to reactivate it with a new password."
        return AdminOutcome("unchanged", user.id, f"User {user.username!r} already exists and is {state}; "
                            f"nothing changed (--reset-password sets a new password).{hint}")
    return _reset(session, user, body, secrets, now)


def _create(session: Session, body: UserCreate, secrets: HashedSecrets, now: datetime) -> AdminOutcome:
    role = resolve_role(session, "admin", None)
    user = add_user(session, body, secrets, role, actor=CLI_ACTOR, now=now)
    return AdminOutcome("created", user.id, f"Created admin {user.username!r}.")


def _reset(session: Session, user: User, body: UserCreate, secrets: HashedSecrets, now: datetime) -> AdminOutcome:
    before = _snapshot(user)
    if secrets.pin_lookup is not None:
        _ensure_pin_free(session, secrets.pin_lookup, user.id)
        user.pin_hash, user.pin_lookup = secrets.pin_hash, secrets.pin_lookup
    if secrets.password_hash is None:  # UserCreate requires a password; the command hashed it
        raise AssertionError("the admin command hashed no password")
    user.password_hash = secrets.password_hash
    user.is_active = True
    user.updated_at = now
    _flush(session)
    # As with PUT /users/{id}: a new password ends every login made with the old one.
    ended = revoke_sessions(session, user.id, now, "password_changed")
    old, new = diff(before, _snapshot(user))
    new["passwordChanged"] = True
    record_change(session, CLI_ACTOR, entity="user", entity_id=user.id, action="update", old=old, new=new, at=now)
    return AdminOutcome("password reset", user.id,
                        f"Reset the password of admin {user.username!r}; {ended} login(s) ended.")
