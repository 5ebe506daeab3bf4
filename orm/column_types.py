"""Exact numbers on SQLite and PostgreSQL alike.

SQLite has no decimal type, so money is stored as integer cents and stock
quantities as integer thousandths of their unit.  SQL sums and
`qty = qty + :delta` therefore stay exact on both databases; the conversion
to `Decimal` happens here, at the model boundary (by orm.domain.money's exact
`to_minor`/`from_minor`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from orm.domain.money import from_minor, to_minor


class Money(TypeDecorator[Decimal]):
    """A Decimal amount with 2 places, stored as integer cents."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> int | None:
        return None if value is None else to_minor(value, 100)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_minor(value, 100)


class Quantity(TypeDecorator[Decimal]):
    """A Decimal stock quantity with 3 places, stored as integer thousandths."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> int | None:
        return None if value is None else to_minor(value, 1000)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_minor(value, 1000)


class UnitCost(TypeDecorator[Decimal]):
    """A cost per unit of stock with 4 places (a cup lid costs 0.0125), stored as 1/10,000s."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> int | None:
        return None if value is None else to_minor(value, 10_000)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_minor(value, 10_000)


class Rate(TypeDecorator[Decimal]):
    """A tax rate such as 0.081, stored as integer parts per 100,000 (0.001 %)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> int | None:
        return None if value is None else to_minor(value, 100_000)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return from_minor(value, 100_000).normalize() if value else Decimal("0")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store times in UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


UUID_LEN = 36
IdColumn = String(UUID_LEN)
