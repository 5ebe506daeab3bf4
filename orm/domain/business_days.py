"""Business days and report windows in the store's time zone, DST-correct.

Reports count by local day and local hour, but orders keep their sale time in
UTC.  Everything here turns local calendar notions into UTC instants (so SQL
filters stay plain range conditions on the indexed `sale_at`) and maps UTC
bucket numbers back to local days and hours.

Why buckets: SQL groups sales by `floor(epoch / bucket_seconds)` - the same
expression on SQLite and PostgreSQL, no time-zone database needed inside SQL -
and Python maps each bucket to its local day and hour with zoneinfo.  A bucket
never straddles a local hour as long as the bucket size divides every UTC
offset the zone uses in the window (DST transitions happen on such
boundaries too); `bucket_seconds` picks 1 h for whole-hour zones (nearly all)
and 30/15 min for zones like Asia/Kolkata or Asia/Kathmandu.  At most
24 x 4 rows per day come back, never order rows.

Every date and date-time a client sends (report windows, order and audit filters, stock
movement filters, `clientCreatedAt`, the e-mail summary's day) is read here: `parse_day`,
`parse_bound` and `check_instant` are the one place where text becomes a time, so a value
the calendar cannot hold - or that our own arithmetic (the day after, the week before, a
time-zone offset) would push off the calendar - is a 400, never an OverflowError and a 500.
Supported: 1970-01-01 to 2999-12-31, far from both ends of Python's calendar (year 1 to
9999), so two years of windows either side stay on it, and never before the Unix epoch, so
SQL's epoch buckets are never negative.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orm.domain.errors import ValidationFailed

MAX_WINDOW_DAYS = 731  # two years of daily chart points is plenty for one response
_DATE_ONLY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# An unencoded "+02:00" in a query string arrives as " 02:00".
_SPACED_OFFSET = re.compile(r" ([0-9]{2}(:?[0-9]{2})?)$")
EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(2999, 12, 31)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)  # exclusive
UTC_ZONE = ZoneInfo("UTC")
OUT_OF_RANGE = f"must be between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}"


def out_of_range(field: str) -> ValidationFailed:
    return ValidationFailed(f"{field} {OUT_OF_RANGE}", field_errors={field: OUT_OF_RANGE})


def day_in_range(day: date) -> date:
    """`day` if it lies in the supported range, else ValueError (pydantic validators use this)."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError(OUT_OF_RANGE)
    return day


def instant_in_range(moment: datetime) -> datetime:
    """An aware datetime, unchanged, if it lies in the supported range, else ValueError.

    Converting 0001-01-01T00:00+05:00 to UTC leaves the calendar (OverflowError): that is
    out of range too.
    """
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(OUT_OF_RANGE) from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(OUT_OF_RANGE)
    return moment


def check_day(day: date, field: str) -> date:
    """`day_in_range`, failing as a 400 that names `field`."""
    try:
        return day_in_range(day)
    except ValueError:
        raise out_of_range(field) from None


def check_instant(moment: datetime, field: str) -> datetime:
    """`instant_in_range` as UTC, failing as a 400 that names `field`."""
    try:
        return instant_in_range(moment).astimezone(UTC)
    except ValueError:
        raise out_of_range(field) from None


def is_date_only(text: str | None) -> bool:
    return bool(text) and _DATE_ONLY.match(text.strip()) is not None  # type: ignore[union-attr]


def store_zone(name: str | None) -> ZoneInfo:
    """THE store zone lookup: an IANA name -> ZoneInfo; no name (None, "") means UTC.

    An unknown name is always a 400 naming `storeTimezone`, never a silent fall back to UTC
    (which would count sales on the wrong business day): every path that stores a zone
    (settings, stores, the environment) validates it, so only a damaged row gets here.
    """
    try:
        return ZoneInfo(name) if name else UTC_ZONE
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"Unknown store time zone {name!r}",
                               field_errors={"storeTimezone": "is not a known IANA time zone"}) from None


@lru_cache(maxsize=8192)
def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) of `day` in `zone` (remembered: a year-long report asks for each
    of its days several times, and the answer never changes).

    When midnight falls into a DST gap (a few zones switch at 00:00), fold=0
    resolves it with the offset in force before the switch, which is exactly
    the instant the clocks jumped - the first real instant of the day.
    """
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local business day in UTC; 23 or 25 hours on DST days."""
    return local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The business day (local calendar date in `zone`) of an aware instant."""
    return instant.astimezone(zone).date()


def hour_bounds(day: date, hour: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of local hour `hour` (0-23) of `day`; on DST days an hour the clocks
    skip is empty and the repeated hour is two hours long."""
    start = datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)
    end = local_midnight(day + timedelta(days=1), zone) if hour == 23 else \
        datetime.combine(day, time(hour + 1), tzinfo=zone).astimezone(UTC)
    return start, max(start, end)


@dataclass(frozen=True)
class Window:
    """A half-open UTC interval [start, end) and the zone its days are counted in."""

    start: datetime
    end: datetime
    zone: ZoneInfo

    @property
    def first_day(self) -> date:
        return local_date(self.start, self.zone)

    @property
    def last_day(self) -> date:
        return local_date(self.end - timedelta(microseconds=1), self.zone)

    def days(self) -> list[date]:
        """Every local date the window touches, in order."""
        first, last = self.first_day, self.last_day
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    @property
    def day_aligned(self) -> bool:
        return (self.start == local_midnight(self.first_day, self.zone)
                and self.end == local_midnight(self.last_day + timedelta(days=1), self.zone))

    def previous(self) -> Window:
        """The period of the same length just before: same number of local days when
        the window is whole days (so a 31-day month compares with the 31 days before,
        DST or not), otherwise the same duration."""
        if self.day_aligned:
            n = len(self.days())
            return Window(local_midnight(self.first_day - timedelta(days=n), self.zone), self.start, self.zone)
        return Window(self.start - (self.end - self.start), self.start, self.zone)


def business_day(day: date, zone: ZoneInfo) -> Window:
    start, end = day_bounds(day, zone)
    return Window(start, end, zone)


def parse_day(raw: str | None, field: str, zone: ZoneInfo, now: datetime) -> date:
    """`YYYY-MM-DD`, or today in the store zone when absent."""
    if raw is None or raw.strip() == "":
        return local_date(now, zone)
    raw = raw.strip()
    try:
        if not _DATE_ONLY.match(raw):
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"{field} must be a date like 2026-10-25",
                               field_errors={field: "must be a date YYYY-MM-DD"}) from None
    return check_day(day, field)


def parse_bound(raw: str, field: str, zone: ZoneInfo, *, is_end: bool, allow_naive: bool = True) -> datetime:
    """An ISO date or datetime -> UTC instant, in the supported range (else a 400).

    THE END-BOUND RULE: an end bound is inclusive as written and returned EXCLUSIVE, so every
    caller filters `start <= t < end`:
    * a date means its whole local day: a start bound is the local midnight starting it, an
      end bound the local midnight after it (`end_date=2026-10-25` includes that whole day);
    * a date-time includes that instant: an end bound is returned 1 microsecond after it (the
      resolution of the stored times).
    A date-time with an offset (or Z) is taken as is; one without is local time in `zone`
    (refused when not `allow_naive`).
    """
    text = raw.strip()
    problem = "must be an ISO date (2026-10-25) or date-time (2026-10-25T08:00:00Z)"
    if not allow_naive:
        problem = "must be an ISO date (2026-10-25) or a date-time with a time zone (2026-10-25T08:00:00Z)"
    try:
        if _DATE_ONLY.match(text):
            day = check_day(date.fromisoformat(text), field)
            return local_midnight(day + timedelta(days=1) if is_end else day, zone)
        if len(text) < 13 or text[10] not in "Tt " or not text.isascii():
            raise ValueError
        text = _SPACED_OFFSET.sub(r"+\1", text) if len(text) > 19 else text
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except ValueError:
        raise ValidationFailed(f"{field} {problem}", field_errors={field: problem}) from None
    if parsed.tzinfo is None:
        if not allow_naive:
            raise ValidationFailed(f"{field} {problem}", field_errors={field: problem})
        parsed = parsed.replace(tzinfo=zone)
    moment = check_instant(parsed, field)
    return moment + timedelta(microseconds=1) if is_end else moment


def month_start(day: date) -> date:
    return day.replace(day=1)


def resolve_window(start_raw: str | None, end_raw: str | None, zone: ZoneInfo, now: datetime) -> Window:
    """The dashboard window. Default: the current month to date (1st 00:00 local up to the
    end of today), so the comparison with the previous period compares like with like."""
    start_raw = (start_raw or "").strip() or None
    end_raw = (end_raw or "").strip() or None
    today = local_date(now, zone)
    end = parse_bound(end_raw, "end_date", zone, is_end=True) if end_raw \
        else local_midnight(today + timedelta(days=1), zone)
    if start_raw:
        start = parse_bound(start_raw, "start_date", zone, is_end=False)
    else:
        start = local_midnight(month_start(local_date(end - timedelta(microseconds=1), zone)), zone)
    if end <= start:
        raise ValidationFailed("end_date must be after start_date",
                               field_errors={"end_date": "must be after start_date"})
    window = Window(start, end, zone)
    if len(window.days()) > MAX_WINDOW_DAYS:
        raise ValidationFailed(f"The window may span at most {MAX_WINDOW_DAYS} days",
                               field_errors={"start_date": f"at most {MAX_WINDOW_DAYS} days before end_date"})
    return window


def bucket_seconds(window: Window) -> int:
    """The largest bucket (1 h, 30 min, 15 min) dividing every UTC offset used in the window.

    Offsets are sampled at every local midnight of the window (and its ends):
    a zone changes offset at most a few times a year, never twice within a day,
    so every offset in force somewhere in the window is seen.
    """
    instants = [window.start, window.end] + [local_midnight(d, window.zone) for d in window.days()]
    offsets = {int(i.astimezone(window.zone).utcoffset().total_seconds()) for i in instants}  # type: ignore[union-attr]
    for size in (3600, 1800, 900):
        if all(o % size == 0 for o in offsets):
            return size
    return 900


def bucket_local_start(bucket: int, size: int, zone: ZoneInfo) -> datetime:
    """Local wall time at which the UTC bucket number `bucket` (of `size` seconds) starts."""
    return datetime.fromtimestamp(bucket * size, UTC).astimezone(zone)
