"""Password reset by e-mail: single-use tokens, valid one hour, stored only as SHA-256 digests.

The request step never says whether an address belongs to anyone; it returns what to send
(`ResetMail`, plain data) and the handler answers the same either way, then has
services/password_reset_mail.py write and send the e-mails in the background.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from orm.controllers.identity import login_guard
from orm.controllers.identity.auth import display_name, revoke_sessions
from orm.controllers.identity.changes import record_change
from orm.db import rows_changed
from orm.domain import security
from orm.domain.errors import RateLimited, ValidationFailed
from orm.domain.principal import Principal
from orm.models.model_identity import PasswordResetToken, User
from settings import Settings

RESET_TOKEN_LIFETIME = timedelta(hours=1)
INVALID_TOKEN = "This reset link is invalid or has expired; please request a new one"


@dataclass(frozen=True)
class ResetMail:
    to: str
    username: str
    name: str
    token: str
    expires_at: datetime


def _live_token(session: Session, token: str, now: datetime) -> PasswordResetToken | None:
    row = session.scalar(select(PasswordResetToken)
                         .where(PasswordResetToken.token_hash == security.token_digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    return row if user is not None and user.is_active else None


def issue_tokens(session: Session, email: str, now: datetime) -> list[ResetMail]:
    """A fresh token for each active user with this address (earlier unused ones stop working)."""
    users = list(session.scalars(select(User).where(func.lower(User.email) == email.strip().lower(),
                                                    User.is_active.is_(True))))
    mails: list[ResetMail] = []
    for user in users:
        session.execute(update(PasswordResetToken)
                        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
                        .values(used_at=now))
        token = security.new_opaque_token()
        expires = now + RESET_TOKEN_LIFETIME
        session.add(PasswordResetToken(user_id=user.id, token_hash=security.token_digest(token),
                                       created_at=now, expires_at=expires))
        mails.append(ResetMail(to=user.email or email, username=user.username, name=display_name(user),
                               token=token, expires_at=expires))
    return mails


def token_is_valid(session: Session, token: str, now: datetime) -> bool:
    return _live_token(session, token, now) is not None


def confirm(session: Session, token: str, password_hash: str, now: datetime) -> str:
    """Use the token once: set the password and end every session of that user."""
    row = _live_token(session, token, now)
    if row is None or not rows_changed(
            session, update(PasswordResetToken)
            .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)):
        raise ValidationFailed(INVALID_TOKEN, field_errors={"token": "is invalid or has expired"})
    user = session.get_one(User, row.user_id)
    user.password_hash = password_hash
    user.updated_at = now
    ended = revoke_sessions(session, user.id, now, "password_reset")
    actor = Principal(user_id=user.id, username=user.username, role=user.role.name)
    record_change(session, actor, entity="user", entity_id=user.id, action="password_reset",
                  old=None, new={"passwordChanged": True, "sessionsRevoked": ended}, at=now)
    return user.id


def request(session: Session, email: str, *, address: str, now: datetime, settings: Settings) -> list[ResetMail]:
    """Rate-limited per client address like logins, so nobody floods an inbox from one place."""
    wait = login_guard.count_hit(session, f"reset:{address}", settings.login_rate_limit_per_minute, now)
    if wait is not None:
        raise RateLimited("Too many requests; try again shortly", retry_after_seconds=wait)
    return issue_tokens(session, email, now)
