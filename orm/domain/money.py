"""Money and exact quantities: THE rounding rule, THE allocation, minor-unit conversions.

THE RULE.  Whenever an amount has to lose digits it is rounded HALF UP (halves away from
zero: 0.125 -> 0.13, -0.125 -> -0.13) to the cent - what a café's customers expect on a
receipt.  Every rounding in the code base goes through `half_up` (to an integer) or
`round_to` / `round_money` (to a Decimal exponent); all are exact and independent of the
ambient `decimal` context (they work on `Fraction`s, never on a precision-limited division).

THE ALLOCATION.  `allocate` splits whole cents in proportion to weights by largest
remainder: discounts over lines, tax over lines, cash rounding over lines, a line's money
over its units, refunds over lines.  The parts add up to the total exactly and each is
within one cent of its exact share.

Storage.  Money is kept as integer cents, stock quantities as integer thousandths, unit
costs as 1/10,000 and rates as 1/100,000 (orm/column_types.py wraps these conversions in
SQLAlchemy types): `to_minor` refuses a value that would lose digits, `from_minor` is exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction

CENT = Decimal("0.01")
MILLI = Decimal("0.001")
CENTS = 100  # minor units of money per unit
Number = Decimal | int | Fraction


def _exact(value: Number | str) -> Fraction:
    if isinstance(value, (bool, float)):
        raise TypeError(f"expected Decimal, int or Fraction, got {type(value).__name__}")
    return Fraction(Decimal(value)) if isinstance(value, str) else Fraction(value)


def _decimal(units: int, places: int) -> Decimal:
    # The string constructor is exact and ignores the ambient context (scaleb would round).
    return Decimal(f"{units}E-{places}")


def half_up(value: Number) -> int:
    """Round to the nearest integer, halves away from zero (ROUND_HALF_UP)."""
    exact = _exact(value)
    magnitude = math.floor(abs(exact) + Fraction(1, 2))
    return magnitude if exact >= 0 else -magnitude


def round_to(value: Number | str, exponent: Decimal) -> Decimal:
    """`value` rounded half up to the places of `exponent` (CENT, MILLI, Decimal("0.1"), ...)."""
    places = -int(exponent.as_tuple().exponent)
    return _decimal(half_up(_exact(value) * 10 ** places), places)


def round_money(value: Number | str) -> Decimal:
    """An amount rounded half up to the cent, always two places ("-0.00" never appears)."""
    return round_to(value, CENT)


def cents_half_up(value: Number | str) -> int:
    """An amount as whole cents, rounded half up."""
    return half_up(_exact(value) * CENTS)


def ratio(numerator: Number, denominator: Number) -> Decimal:
    """numerator / denominator half up to the cent, exactly (0.00 when there is nothing to divide by)."""
    if not denominator:
        return round_money(0)
    return round_money(_exact(numerator) / _exact(denominator))


def to_minor(value: Decimal | int | str, scale: int) -> int:
    """Decimal -> integer units of 1/scale, refusing values that would lose digits."""
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    scaled = Fraction(d) * scale
    if scaled.denominator != 1:
        raise ValueError(f"{value} has more precision than 1/{scale}")
    return int(scaled)


def from_minor(units: int, scale: int) -> Decimal:
    """Integer units of 1/scale (a power of ten) -> Decimal with exactly that many places."""
    places = len(str(scale)) - 1
    if scale != 10 ** places:
        raise ValueError(f"scale must be a power of ten, not {scale}")
    return _decimal(int(units), places)


def to_cents(value: Decimal | int | str) -> int:
    """An amount that is a whole number of cents -> int cents (ValueError otherwise)."""
    return to_minor(value, CENTS)


def from_cents(cents: int | None) -> Decimal:
    """Integer cents -> Decimal with two places (None counts as 0)."""
    return from_minor(int(cents or 0), CENTS)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` (>= 0) cents in proportion to `weights` (>= 0) by largest remainder.

    Every part gets floor(total * w / W); the cents left over go one each to the largest
    remainders, ties to the earlier part.  Parts add up to `total` exactly.  All weights 0
    (or total 0): every part 0.
    """
    whole = sum(weights)
    if total == 0 or whole == 0:
        return [0] * len(weights)
    parts = [divmod(total * w, whole) for w in weights]
    shares = [q for q, _ in parts]
    left = total - sum(shares)
    # Ties go to the earlier part, so the result never depends on sort stability quirks.
    for i in sorted(range(len(parts)), key=lambda k: (-parts[k][1], k))[:left]:
        shares[i] += 1
    return shares


def signed_allocate(total: int, weights: Sequence[int]) -> list[int]:
    """allocate() for a total of either sign (a negative cash rounding)."""
    parts = allocate(abs(total), weights)
    return parts if total >= 0 else [-p for p in parts]


def format_money(value: Number, currency: str) -> str:
    """"EUR 1,234.50": the amount rounded by THE RULE, grouped by thousands."""
    return f"{currency} {round_money(value):,}"


def ceil_to(value: Number | str, exponent: Decimal) -> Decimal:
    """`value` rounded UP (towards +infinity) to the places of `exponent`: the one deliberate
    exception to THE RULE, for quantities to reorder (never suggest too little stock)."""
    places = -int(exponent.as_tuple().exponent)
    return _decimal(math.ceil(_exact(value) * 10 ** places), places)
