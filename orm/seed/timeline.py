"""The seeds' clock: demo data is dated relative to one injected `now`, in the store's own days.

`now` is what the caller passes (the app's clock, or a test's); None means the real time. The
history ends at `now` and starts DAYS store-local days earlier, so the days before today come
out the same whatever the hour the seed runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from orm.column_types import utcnow
from orm.controllers.stores import store_settings
from orm.domain.business_days import local_date
from orm.domain.business_days import store_zone as zone_named
from orm.domain.stores import DEFAULT_STORE_ID
from settings import Settings

DAYS = 30
OPENING = time(6, 0)  # the opening stock count, on the history's first morning


def resolve_now(now: datetime | None) -> datetime:
    return (now or utcnow()).astimezone(UTC)


def store_zone(session: Session, settings: Settings) -> ZoneInfo:
    cfg = store_settings.current(session, settings, DEFAULT_STORE_ID)
    return zone_named(cfg.get("storeTimezone") or settings.store_timezone)


def at_local(day: date, moment: time, zone: ZoneInfo) -> datetime:
    """That wall-clock time of that store day, in UTC (a time the clocks skipped lands after the jump)."""
    return datetime.combine(day, moment, zone).astimezone(UTC)


def history_start(now: datetime, zone: ZoneInfo, days: int = DAYS) -> datetime:
    return at_local(local_date(now, zone) - timedelta(days=days - 1), OPENING, zone)
