"""Business days, windows and time buckets in the store's zone (orm/domain/business_days.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orm.domain.business_days import (
    Window,
    bucket_local_start,
    bucket_seconds,
    business_day,
    day_bounds,
    local_midnight,
    parse_bound,
    parse_day,
    resolve_window,
)
from orm.domain.errors import ValidationFailed
from tests.support import suite_now

BERLIN = ZoneInfo("Europe/Berlin")
MICROSECOND = timedelta(microseconds=1)


@pytest.mark.parametrize("day, hours", [(date(2026, 10, 25), 25), (date(2026, 3, 29), 23), (date(2026, 10, 26), 24)])
def test_business_days_last_23_24_or_25_hours(day, hours) -> None:
    start, end = day_bounds(day, BERLIN)
    assert end - start == timedelta(hours=hours)
    assert start.astimezone(BERLIN).time().hour == 0 and end.astimezone(BERLIN).date() == day + timedelta(days=1)


def test_midnight_inside_a_dst_gap_starts_the_day_when_the_clocks_jump() -> None:
    santiago = ZoneInfo("America/Santiago")  # 6 Sep 2026: 00:00 -> 01:00
    start = local_midnight(date(2026, 9, 6), santiago)
    assert start == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)
    assert start.astimezone(santiago).hour == 1
    assert day_bounds(date(2026, 9, 6), santiago)[1] - start == timedelta(hours=23)


def test_buckets_follow_the_zones_offsets() -> None:
    assert bucket_seconds(business_day(date(2026, 10, 25), BERLIN)) == 3600
    assert bucket_seconds(business_day(date(2026, 10, 25), ZoneInfo("Asia/Kolkata"))) == 1800
    assert bucket_seconds(business_day(date(2026, 10, 25), ZoneInfo("Asia/Kathmandu"))) == 900
    # Hour buckets on the DST night: 00:00-01:00 UTC is 02:xx CEST, 01:00-02:00 UTC is 02:xx CET.
    first = int(datetime(2026, 10, 25, 0, 0, tzinfo=UTC).timestamp()) // 3600
    assert bucket_local_start(first, 3600, BERLIN).hour == 2
    assert bucket_local_start(first + 1, 3600, BERLIN).hour == 2
    assert bucket_local_start(first + 2, 3600, BERLIN).hour == 3


def test_bounds_dates_datetimes_and_naive_local_times() -> None:
    assert parse_bound("2026-10-25", "start_date", BERLIN, is_end=False) == datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert parse_bound("2026-10-25", "end_date", BERLIN, is_end=True) == datetime(2026, 10, 25, 23, tzinfo=UTC)
    # A date-time end bound includes its instant and comes back exclusive (the one end-bound rule).
    assert parse_bound("2026-10-25T08:00:00Z", "end_date", BERLIN, is_end=True) == \
        datetime(2026, 10, 25, 8, tzinfo=UTC) + MICROSECOND
    assert parse_bound("2026-10-25T08:00:00+05:30", "x", BERLIN, is_end=False) == \
        datetime(2026, 10, 25, 2, 30, tzinfo=UTC)
    assert parse_bound("2026-10-26T08:00", "x", BERLIN, is_end=False) == datetime(2026, 10, 26, 7, tzinfo=UTC)
    for bad in ("25.10.2026", "2026-10-25T", "2026-10-25Tnoon", "soon", "2026-02-30"):
        with pytest.raises(ValidationFailed) as info:
            parse_bound(bad, "start_date", BERLIN, is_end=False)
        assert "start_date" in info.value.field_errors


def test_default_window_is_month_to_date_and_previous_period_has_as_many_days() -> None:
    now = datetime(2026, 10, 27, 9, 0, tzinfo=UTC)
    w = resolve_window(None, None, BERLIN, now)
    assert (w.first_day, w.last_day) == (date(2026, 10, 1), date(2026, 10, 27))
    assert len(w.days()) == 27 and w.day_aligned
    prev = w.previous()
    assert (prev.first_day, prev.last_day, prev.end) == (date(2026, 9, 4), date(2026, 9, 30), w.start)
    # A month starting late on the 31st local still belongs to that month.
    late = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)  # 1 Nov 00:30 CET
    assert resolve_window(None, None, BERLIN, late).first_day == date(2026, 11, 1)


def test_datetime_windows_compare_with_the_same_duration_before() -> None:
    w = resolve_window("2026-10-25T06:00:00Z", "2026-10-25T10:00:00Z", BERLIN, suite_now())
    assert not w.day_aligned
    # 06:00..10:00 inclusive: 4 h and the instant 10:00 itself.
    assert w.previous() == Window(datetime(2026, 10, 25, 2, tzinfo=UTC) - MICROSECOND, w.start, BERLIN)


@pytest.mark.parametrize("start, end, field", [
    ("2026-10-27", "2026-10-20", "end_date"),
    ("2026-10-27T10:00:00Z", "2026-10-27T09:59:59.999999Z", "end_date"),
    ("2020-01-01", "2026-10-27", "start_date"),
])
def test_bad_windows(start, end, field) -> None:
    with pytest.raises(ValidationFailed) as info:
        resolve_window(start, end, BERLIN, datetime(2026, 10, 27, tzinfo=UTC))
    assert field in info.value.field_errors


def test_parse_day() -> None:
    now = datetime(2026, 10, 25, 23, 30, tzinfo=UTC)  # 00:30 CET: already the 26th in Berlin
    assert parse_day(None, "date", BERLIN, now) == date(2026, 10, 26)
    assert parse_day("2026-10-25", "date", BERLIN, now) == date(2026, 10, 25)
    with pytest.raises(ValidationFailed):
        parse_day("2026-10-25T00:00", "date", BERLIN, now)
