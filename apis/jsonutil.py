"""JSON in and out: Decimals stay exact both ways, times are ISO-8601 UTC with Z."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import simplejson


def iso_utc(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return iso_utc(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def dumps(obj: Any) -> str:
    # use_decimal writes Decimal('3.50') as the number 3.50, never through a float.
    return simplejson.dumps(obj, use_decimal=True, default=_default, ensure_ascii=False,
                            separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    return simplejson.loads(text, use_decimal=True)


def is_decimal(value: Any) -> bool:
    return isinstance(value, Decimal)
