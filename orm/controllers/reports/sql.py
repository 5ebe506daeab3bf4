"""Small SQL building blocks shared by the report queries (SQLite and PostgreSQL alike).

Money columns are stored as integer cents (orm/column_types.Money); report sums are
computed on those integers in SQL - exact on both databases - and turned into
Decimals once, here, when the (few) aggregate rows come back.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import BigInteger, Integer, func, literal_column, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from orm.domain.money import from_cents, ratio, round_money

CENT = Decimal("0.01")
RATE_SCALE = 100_000  # orm/column_types.Rate stores 0.08 as 8000


class EpochBucket(FunctionElement):
    """floor(epoch seconds of a UTC timestamp / size): the report time bucket number."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_bucket"


@compiles(EpochBucket, "sqlite")
def _bucket_sqlite(element: EpochBucket, compiler: Any, **kw: Any) -> str:
    column, size = list(element.clauses)
    # Stored as 'YYYY-MM-DD HH:MM:SS[.ffffff]' UTC text; strftime('%s') is whole epoch
    # seconds, and epochs are positive, so integer division floors.
    return f"(CAST(strftime('%s', {compiler.process(column, **kw)}) AS INTEGER) / {compiler.process(size, **kw)})"


@compiles(EpochBucket, "postgresql")
def _bucket_pg(element: EpochBucket, compiler: Any, **kw: Any) -> str:
    column, size = list(element.clauses)
    return (f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(column, **kw)}) / "
            f"{compiler.process(size, **kw)}) AS BIGINT)")


def bucket_of(column: Any, size: int) -> ColumnElement[int]:
    # A literal (not a bound parameter) so GROUP BY and SELECT render the same text.
    return EpochBucket(column, literal_column(str(int(size)), Integer))


def cents(column: Any) -> ColumnElement[int]:
    """The raw integer behind a Money/Rate column (no Decimal conversion in SQL)."""
    return type_coerce(column, BigInteger)


def sum_cents(expr: Any) -> ColumnElement[int]:
    return func.coalesce(func.sum(expr), 0)


def money(value_cents: int | None) -> Decimal:
    """Integer cents from SQL -> Decimal with two places."""
    return from_cents(value_cents)


def money_from_scaled(value: int | None, scale: int) -> Decimal:
    """An exact integer of cents x scale (e.g. cents x rate units) -> Decimal, half-up to the cent."""
    return round_money(Fraction(int(value or 0), 100 * scale))




def percent_change(current: Decimal | int, previous: Decimal | int) -> Decimal:
    """Change in percent, 2 places.  From 0 there is no ratio; clients want a number, so
    growth from nothing reads +100 % (a drop to below 0 -100 %) and nothing to nothing 0 %."""
    if not previous:
        return round_money(100 if current > 0 else -100 if current < 0 else 0)
    return ratio((Fraction(current) - Fraction(previous)) * 100, Fraction(previous))
