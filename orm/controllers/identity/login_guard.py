"""Login throttling shared by every server process (both live in the database).

- Rate limit: fixed one-minute windows per key in `rate_limit_hits`, counted with
  one atomic upsert (`INSERT ... ON CONFLICT DO UPDATE SET hits = hits + 1 RETURNING
  hits`), so concurrent processes never lose a hit.
- Lockout: read from `login_attempts`.  A key (username for passwords, client
  address for PINs) is locked for `duration` after the failure that made
  `attempts` counted failures within `duration`.  Attempts refused while locked
  are logged with reason "locked" and do not count, so a lock ends on time and
  the failures that caused it have left the window by then: the user gets in
  again without anything being deleted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from orm.models.model_identity import LoginAttempt, RateLimitHit

RATE_WINDOW_SECONDS = 60
# Failures that count towards a lock; "locked" and "rate_limited" refusals do not.
COUNTED_FAILURES = ("bad_password", "bad_pin", "unknown_user", "inactive")


@dataclass(frozen=True)
class LockPolicy:
    attempts: int
    duration: timedelta


def _window(now: datetime) -> int:
    # Minutes since the epoch: fits the Integer column for millennia (seconds would overflow in 2038).
    return int(now.timestamp()) // RATE_WINDOW_SECONDS


def count_hit(session: Session, key: str, limit: int, now: datetime) -> int | None:
    """Count one hit for `key`; seconds until the window ends when over `limit`, else None."""
    window = _window(now)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (insert(RateLimitHit)
            .values(key=key[:100], window_start=window, hits=1)
            .on_conflict_do_update(index_elements=[RateLimitHit.key, RateLimitHit.window_start],
                                   set_={"hits": RateLimitHit.hits + 1})
            .returning(RateLimitHit.hits))
    hits = session.execute(stmt).scalar_one()
    if hits == 1:
        # First hit of this key in a new window: a cheap moment to drop finished windows.
        session.execute(delete(RateLimitHit).where(RateLimitHit.window_start < window - 1))
    if hits <= limit:
        return None
    window_end = (window + 1) * RATE_WINDOW_SECONDS
    return max(1, math.ceil(window_end - now.timestamp()))


def lock_remaining(session: Session, *, method: str, policy: LockPolicy, now: datetime,
                   username: str | None = None, address: str | None = None) -> int | None:
    """Seconds left on the lock of this username (passwords) or address (PINs), or None.

    Only the newest counted failure can hold a lock: any later counted failure
    happened after the previous lock had ended.  For passwords, failures before
    the user's last successful password login do not count (only the owner can
    succeed); for PINs a success on the terminal resets nothing, since anyone's
    own PIN would otherwise reset the guesser's count.
    """
    if policy.attempts < 1:
        return None
    query = (select(LoginAttempt.at)
             .where(LoginAttempt.method == method, LoginAttempt.success.is_(False),
                    LoginAttempt.reason.in_(COUNTED_FAILURES),
                    LoginAttempt.at > now - 2 * policy.duration)
             .order_by(LoginAttempt.at.desc())
             .limit(policy.attempts))
    if username is not None:
        query = query.where(LoginAttempt.username == username)
        last_success = session.scalar(
            select(func.max(LoginAttempt.at))
            .where(LoginAttempt.username == username, LoginAttempt.method == method,
                   LoginAttempt.success.is_(True)))
        if last_success is not None:
            query = query.where(LoginAttempt.at > last_success)
    else:
        query = query.where(LoginAttempt.address == (address or ""))
    failures = list(session.scalars(query))
    if len(failures) < policy.attempts:
        return None
    newest, oldest = failures[0], failures[-1]
    if newest - oldest > policy.duration:
        return None
    left = (newest + policy.duration - now).total_seconds()
    return math.ceil(left) if left > 0 else None
