"""Claims that make a scheduled report e-mail go out once per store and business day.

A sender first claims (store, kind, day) in its own committed transaction, then sends, then
marks the claim sent.  Two processes racing for the same day: on PostgreSQL the second
INSERT waits for the first to commit and then hits the unique constraint; the take-over
UPDATE below re-checks its condition on the row the winner committed, so it matches for at
most one of them.  SQLite serialises writers (BEGIN IMMEDIATE) to the same effect.

A claim that did not end in `sent` - the process died mid-send, or SMTP failed - may be
taken over once it is older than `stale_after`; a crash after the SMTP server accepted the
message but before `mark_sent` committed therefore re-sends once (at least once beats never
for a summary).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.db import rows_changed
from orm.models.model_reports import ReportEmailRun

DAILY_SUMMARY = "daily_summary"
MAX_ERROR_LEN = 500


def _key(store_id: str, kind: str, day: date) -> list[Any]:
    return [ReportEmailRun.store_id == store_id, ReportEmailRun.kind == kind, ReportEmailRun.business_date == day]


def claim(session: Session, *, store_id: str, day: date, now: datetime, worker: str,
          stale_after: timedelta, kind: str = DAILY_SUMMARY) -> bool:
    """True when this caller may send now (it holds the claim once the transaction commits)."""
    existing = session.scalar(select(ReportEmailRun.status).where(*_key(store_id, kind, day)))
    if existing is None:
        try:
            with session.begin_nested():
                session.add(ReportEmailRun(store_id=store_id, kind=kind, business_date=day, status="claimed",
                                           claimed_at=now, claimed_by=worker, attempts=1))
            return True
        except IntegrityError:
            pass  # someone else claimed it first; fall through to the take-over check
    elif existing == "sent":
        return False
    taken = rows_changed(
        session,
        update(ReportEmailRun)
        .where(*_key(store_id, kind, day), ReportEmailRun.status != "sent",
               ReportEmailRun.claimed_at <= now - stale_after)
        .values(status="claimed", claimed_at=now, claimed_by=worker, attempts=ReportEmailRun.attempts + 1,
                last_error=None)
        .execution_options(synchronize_session=False))
    return taken == 1


def mark_sent(session: Session, *, store_id: str, day: date, now: datetime, recipients: int,
              kind: str = DAILY_SUMMARY) -> None:
    session.execute(update(ReportEmailRun).where(*_key(store_id, kind, day))
                    .values(status="sent", sent_at=now, recipients=recipients, last_error=None)
                    .execution_options(synchronize_session=False))


def mark_failed(session: Session, *, store_id: str, day: date, error: str, kind: str = DAILY_SUMMARY) -> None:
    session.execute(update(ReportEmailRun).where(*_key(store_id, kind, day), ReportEmailRun.status != "sent")
                    .values(status="failed", last_error=error[:MAX_ERROR_LEN])
                    .execution_options(synchronize_session=False))


def get(session: Session, *, store_id: str, day: date, kind: str = DAILY_SUMMARY) -> dict[str, Any] | None:
    row = session.scalar(select(ReportEmailRun).where(*_key(store_id, kind, day)))
    if row is None:
        return None
    return {"storeId": row.store_id, "kind": row.kind, "businessDate": row.business_date.isoformat(),
            "status": row.status, "claimedAt": row.claimed_at, "claimedBy": row.claimed_by,
            "attempts": row.attempts, "sentAt": row.sent_at, "recipients": row.recipients,
            "lastError": row.last_error}
