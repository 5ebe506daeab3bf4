"""Exact numbers on SQLite and PostgreSQL alike.

SQLite has no decimal type, so money is stored as integer cents and stock
quantities as integer thousandths of their unit.  SQL sums and
`qty = qty + :delta` therefore stay exact on both databases; the conversion
to `Decimal` happens here, at the model boundary, and nowhere else.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")
MILLI = Decimal("0.001")


def to_minor(value: Decimal | int | str, scale: int) -> int:
    """Decimal -> integer units of 1/scale, refusing values that would lose digits."""
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    scaled = d * scale
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more precision than 1/{scale}")
    return int(scaled)


class Money(TypeDecorator):
    """A Decimal amount with 2 places, stored as integer cents."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else to_minor(value, 100)

    def process_result_value(self, value, dialect):
        return None if value is None else (Decimal(int(value)) / 100).quantize(CENT)


class Quantity(TypeDecorator):
    """A Decimal stock quantity with 3 places, stored as integer thousandths."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else to_minor(value, 1000)

    def process_result_value(self, value, dialect):
        return None if value is None else (Decimal(int(value)) / 1000).quantize(MILLI)


class UnitCost(TypeDecorator):
    """A cost per unit of stock with 4 places (a cup lid costs 0.0125), stored as 1/10,000s."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else to_minor(value, 10_000)

    def process_result_value(self, value, dialect):
        return None if value is None else (Decimal(int(value)) / 10_000).quantize(Decimal("0.0001"))


class Rate(TypeDecorator):
    """A tax rate such as 0.081, stored as integer parts per 100,000 (0.001 %)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else to_minor(value, 100_000)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100_000).normalize() if value else Decimal("0")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store times in UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


UUID_LEN = 36
IdColumn = String(UUID_LEN)
