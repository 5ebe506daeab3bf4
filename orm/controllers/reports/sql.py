"""Small SQL building blocks shared by the report queries (SQLite and PostgreSQL alike).

Money columns are stored as integer cents (orm/column_types.Money); report sums are
computed on those integers in SQL - exact on both databases - and turned into
Decimals once, here, when the (few) aggregate rows come back.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, Integer, func, literal_column, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

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
    return (Decimal(int(value_cents or 0)) / 100).quantize(CENT)


def money_from_scaled(value: int | None, scale: int) -> Decimal:
    """An exact integer of cents x scale (e.g. cents x rate units) -> Decimal, half-up to the cent."""
    return (Decimal(int(value or 0)) / (100 * scale)).quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(numerator: Decimal, denominator: int | Decimal) -> Decimal:
    """numerator / denominator to the cent (0 when there is nothing to divide by)."""
    if not denominator:
        return Decimal("0.00")
    return (Decimal(numerator) / Decimal(denominator)).quantize(CENT, rounding=ROUND_HALF_UP)


def percent_change(current: Decimal | int, previous: Decimal | int) -> Decimal:
    """Change in percent, 2 places.  From 0 there is no ratio; clients want a number, so
    growth from nothing reads +100 % (a drop to below 0 -100 %) and nothing to nothing 0 %."""
    if not previous:
        return Decimal(100 if current > 0 else -100 if current < 0 else 0).quantize(CENT)
    return ((Decimal(current) - Decimal(previous)) * 100 / Decimal(previous)).quantize(CENT, rounding=ROUND_HALF_UP)
