"""Boundary-value strategies (hypothesis) for the three kinds of input that once answered 500.

Dates and date-times at and past the ends of the calendar (year 1 and 9999, with offsets that push
them over), numbers at the edges of 32/64-bit integers and of floats, and free text with the digits
`str.isdigit()` accepts but `int()` refuses, NULs, surrogates, wildcards and sheer length.  Each
strategy mixes such edge values with ordinary generated ones, so a run also covers the middle.

Used by tests/test_fuzz_properties.py (hypothesis over real HTTP, per parameter kind) and by
scripts/fuzz.py (schemathesis: `boundary_hooks` swaps these into every parameter of those kinds).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

# ---- dates and date-times ------------------------------------------------------------------------

EDGE_DATES = [
    "0001-01-01", "9999-12-31", "1969-12-31", "1970-01-01", "2999-12-31", "3000-01-01", "2024-02-29",
    "2026-02-29", "2026-13-01", "2026-00-10", "2026-01-32", "0000-01-01", "10000-01-01", "-2026-01-01",
    "2026-1-1", "20261123", "２０２６-01-01", "२०२६-01-01", "²⁰²⁶-01-01", "", " ", "null", "undefined", "today",
]
EDGE_DATETIMES = [
    "0001-01-01T00:00:00", "0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00-05:00",
    "9999-12-31T23:59:59", "9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59+14:00",
    "1969-12-31T23:59:59Z", "1970-01-01T00:00:00+01:00", "2999-12-31T23:59:59-12:00", "3000-01-01T00:00:00Z",
    "2026-11-23T10:00:00 02:00", "2026-11-23T10:00:00+24:00", "2026-11-23T24:00:00Z", "2026-11-23T10:00:60Z",
    "2026-11-23T10", "2026-11-23T", "2026-11-23Tnoon", "2026-11-23T10:00:00+99:99", "2026-11-23T10:00:00.1234567Z",
    "2026-03-29T02:30:00", "2026-10-25T02:30:00",  # a wall time Berlin skips, and one it has twice
]
_OFFSETS = st.one_of(st.none(), st.just(UTC),
                     st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59)
                     .map(lambda m: timezone(timedelta(minutes=m))))


def _datetime_text(moment: datetime, style: int) -> str:
    text = moment.isoformat()
    if style == 1:
        return text.replace("+00:00", "Z")
    if style == 2:
        return text.replace("T", " ")
    return text


def date_texts() -> st.SearchStrategy[str]:
    """A date parameter: edge values, any calendar date, or nearly-dates."""
    return st.one_of(st.sampled_from(EDGE_DATES), st.dates().map(date.isoformat),
                     st.text(alphabet="0123456789-", max_size=12))


def datetime_texts() -> st.SearchStrategy[str]:
    """A date-time parameter: edge values, any datetime with any offset (or none), in a few spellings."""
    return st.one_of(st.sampled_from(EDGE_DATETIMES),
                     st.builds(_datetime_text, st.datetimes(timezones=_OFFSETS), st.integers(0, 2)))


def date_or_datetime_texts() -> st.SearchStrategy[str]:
    return st.one_of(date_texts(), datetime_texts())


# ---- numbers --------------------------------------------------------------------------------------

EDGE_INTEGERS = [0, -1, 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**23,
                 -(10**23), 10**400]
EDGE_NUMBER_TEXTS = ["0", "-0", "-1", "1.5", "0.001", "1.005", "1e3", "1e309", "-1e309", "1e-400", "NaN", "nan",
                     "Infinity", "-Infinity", "inf", "0x10", "1_000", " 7", "7 ", "+7", "²", "١٢", "½", "٣.٥",
                     "", "true", "null", "9" * 30, "3.50", "3,50"]


def number_texts() -> st.SearchStrategy[str]:
    """A number in a query string."""
    return st.one_of(st.sampled_from(EDGE_NUMBER_TEXTS), st.sampled_from(EDGE_INTEGERS).map(str),
                     st.integers().map(str), st.decimals(allow_nan=True, allow_infinity=True).map(str))


def json_numbers() -> st.SearchStrategy[Any]:
    """A number in a JSON body (plus the non-numbers clients send where numbers belong)."""
    return st.one_of(st.sampled_from(EDGE_INTEGERS), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                     st.decimals(allow_nan=False, allow_infinity=False).map(str),
                     st.sampled_from(EDGE_NUMBER_TEXTS), st.sampled_from([True, False, None, [], {}]))


# ---- free text ------------------------------------------------------------------------------------

EDGE_TEXTS = ["", " ", "²", "١٢٣", "½", "12345678901234567890123", "0" * 19, "%", "_", "%_%", "\\", "'", "\"",
              "' OR '1'='1", "\u202e", "\u0301", "e\u0301", "🙂", "\r\n", "\t", "null", "undefined", "NaN",
              "a" * 5000, "Ǆ", "ß", "İ", "\ufeff", "<script>", "${x}", "../..", "\u00a0"]
# NUL and lone surrogates cannot ride in a URL, but can in JSON (as \u0000, \ud800).
EDGE_JSON_TEXTS = EDGE_TEXTS + ["\x00", "a\x00b", "\ud800", "x\udfff"]


def query_texts() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(EDGE_TEXTS),
                     st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40))


def json_texts() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(EDGE_JSON_TEXTS), st.text(max_size=40))


# ---- which parameter is which kind ----------------------------------------------------------------

DATE_PARAMETERS = {"date", "expiryDate"}
DATETIME_PARAMETERS = {"clientCreatedAt", "lastRestocked"}
DATE_OR_DATETIME_PARAMETERS = {"start_date", "end_date", "from", "to", "since", "until"}
NUMBER_PARAMETERS = {"page", "perPage", "per_page", "limit", "offset", "quantity", "amount", "price", "tipAmount",
                     "amountPaid", "openingCash", "countedCash", "newLevel", "value", "discountAmount",
                     "currentStock", "minStockLevel", "maxStockLevel", "costPerUnit", "taxRate", "defaultTaxRate",
                     "lockoutAttempts", "lockoutMinutes", "receiptWidth", "tabMaxHours", "sortOrder", "stockCount",
                     "priceDelta", "minSelect", "maxSelect", "tendered", "alertSweepMinutes", "expiryWarningDays"}
TEXT_PARAMETERS = {"search", "category", "name", "username", "password", "pinCode", "email", "customerName",
                   "orderNotes", "reason", "notes",
                   "description", "supplier", "location", "status", "type", "sort", "payment_method",
                   "paymentMethod", "method", "address", "severity", "station", "storeId", "createdBy", "shiftId"}


def for_query(name: str) -> st.SearchStrategy[str] | None:
    """The boundary strategy for a query parameter of this name, or None."""
    if name in DATE_PARAMETERS:
        return date_texts()
    if name in DATETIME_PARAMETERS or name in DATE_OR_DATETIME_PARAMETERS:
        return date_or_datetime_texts()
    if name in NUMBER_PARAMETERS:
        return number_texts()
    if name in TEXT_PARAMETERS:
        return query_texts()
    return None


def for_json(name: str) -> st.SearchStrategy[Any] | None:
    """The boundary strategy for a JSON body field of this name, or None."""
    if name in DATE_PARAMETERS:
        return date_texts()
    if name in DATETIME_PARAMETERS or name in DATE_OR_DATETIME_PARAMETERS:
        return date_or_datetime_texts()
    if name in NUMBER_PARAMETERS:
        return json_numbers()
    if name in TEXT_PARAMETERS:
        return json_texts()
    return None


# The values that once answered 500, tried on every parameter of their kind (explicit examples),
# before any generated ones.
CRITICAL_DATES = ["0001-01-01", "9999-12-31", "2026-02-30", "1969-12-31"]
CRITICAL_DATETIMES = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59.999999Z",
                      "0001-01-01T00:00:00"]
CRITICAL_NUMBER_TEXTS = [str(2**63), str(10**23), "²", "1e309", "NaN", "-1"]
CRITICAL_JSON_NUMBERS: list[Any] = [2**63, 10**23, "1e309", "NaN", True, -1]
CRITICAL_TEXTS = ["²", "١٢٣", "12345678901234567890123", "%_", "a" * 5000]
CRITICAL_JSON_TEXTS = CRITICAL_TEXTS + ["a\x00b", "\ud800"]


def critical_query(name: str) -> list[str]:
    if name in DATE_PARAMETERS:
        return CRITICAL_DATES
    if name in DATETIME_PARAMETERS or name in DATE_OR_DATETIME_PARAMETERS:
        return CRITICAL_DATES + CRITICAL_DATETIMES
    if name in NUMBER_PARAMETERS:
        return CRITICAL_NUMBER_TEXTS
    return CRITICAL_TEXTS if name in TEXT_PARAMETERS else []


def critical_json(name: str) -> list[Any]:
    if name in NUMBER_PARAMETERS:
        return CRITICAL_JSON_NUMBERS
    return CRITICAL_JSON_TEXTS if name in TEXT_PARAMETERS else critical_query(name)


def with_boundaries(values: dict[str, Any], pick: Any, declared: list[str] | None = None) -> st.SearchStrategy:
    """`values` with some of its known-kind keys (and of `declared`, when given) replaced by boundary values.

    `pick(name)` gives the strategy for a name (for_query or for_json).  Each candidate key is
    independently left alone or replaced, so most requests still carry ordinary values elsewhere.
    """
    names = sorted({*values, *(declared or [])})
    candidates = [(n, s) for n in names if (s := pick(n)) is not None]
    if not candidates:
        return st.just(values)

    def draw(choices: list[Any]) -> dict[str, Any]:
        out = dict(values)
        for (name, _), choice in zip(candidates, choices, strict=True):
            if choice is not _KEEP:
                out[name] = choice
        return out

    return st.tuples(*(st.one_of(st.just(_KEEP), s) for _, s in candidates)).map(lambda t: draw(list(t)))


_KEEP = object()
