"""Properties of orm/domain/business_days.py: one zone lookup, bounds that agree, DST included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orm.domain.business_days import (
    day_bounds,
    hour_bounds,
    local_date,
    local_midnight,
    parse_bound,
    store_zone,
)
from orm.domain.errors import ValidationFailed

PROPS = settings(max_examples=300, deadline=None, database=None, derandomize=True)
# Zones with DST at 02:00/03:00, at midnight (Santiago, Havana), half hours and no DST at all.
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "America/Santiago", "America/Havana",
         "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Apia", "Europe/London"]
days = st.dates(min_value=date(1971, 1, 1), max_value=date(2100, 12, 30))
zones = st.sampled_from(ZONES).map(ZoneInfo)
DST_DAYS = [date(2026, 3, 29), date(2026, 10, 25), date(2026, 3, 8), date(2026, 11, 1), date(2026, 9, 6),
            date(2026, 4, 5)]


@PROPS
@given(days, zones)
def test_start_of_the_next_day_is_the_exclusive_end_of_the_day(day, zone) -> None:
    start, end = day_bounds(day, zone)
    next_start, _ = day_bounds(day + timedelta(days=1), zone)
    assert end == next_start and start < end
    assert parse_bound(day.isoformat(), "to", zone, is_end=True) == end
    assert parse_bound((day + timedelta(days=1)).isoformat(), "from", zone, is_end=False) == end
    assert local_date(start, zone) == day and local_date(end - timedelta(microseconds=1), zone) == day
    assert timedelta(hours=20) <= end - start <= timedelta(hours=26)


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("day", DST_DAYS)
def test_dst_days_hold_the_same_bounds(day, zone) -> None:
    z = ZoneInfo(zone)
    start, end = day_bounds(day, z)
    assert parse_bound(day.isoformat(), "from", z, is_end=False) == start
    assert parse_bound(day.isoformat(), "to", z, is_end=True) == end
    hours = [hour_bounds(day, h, z) for h in range(24)]
    assert hours[0][0] == start and hours[-1][1] == end
    assert all(a[1] == b[0] for a, b in pairwise(hours))  # the hours tile the day


@PROPS
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)), zones)
def test_an_instant_lies_in_its_business_day(naive, zone) -> None:
    instant = naive.replace(tzinfo=UTC)
    start, end = day_bounds(local_date(instant, zone), zone)
    assert start <= instant < end


@PROPS
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)), zones)
def test_a_date_time_end_bound_includes_that_instant(naive, zone) -> None:
    instant = naive.replace(tzinfo=UTC)
    text = instant.isoformat()
    end = parse_bound(text, "to", zone, is_end=True)
    start = parse_bound(text, "from", zone, is_end=False)
    assert start == instant and start < end == instant + timedelta(microseconds=1)


def test_one_behaviour_for_zones() -> None:
    assert store_zone(None) == store_zone("") == ZoneInfo("UTC")
    assert store_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    for bad in ("Mars/Olympus", "../etc", "Europe/"):
        with pytest.raises(ValidationFailed) as err:
            store_zone(bad)
        assert err.value.field_errors == {"storeTimezone": "is not a known IANA time zone"}


def test_midnight_in_a_dst_gap_is_the_first_real_instant() -> None:
    # Havana skips 00:00-01:00 on 2026-03-08: the day starts when the clocks jump.
    havana = ZoneInfo("America/Havana")
    assert local_midnight(date(2026, 3, 8), havana) == datetime(2026, 3, 8, 5, tzinfo=UTC)
