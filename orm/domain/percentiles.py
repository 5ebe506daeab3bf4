"""Exact percentiles of durations (service times), the same on every database.

Definition (the "linear" method: Hyndman & Fan type 7, numpy's default and PostgreSQL's
percentile_cont): for n sorted values x[0] <= ... <= x[n-1] and 0 <= p <= 1, take the rank
h = (n - 1) * p; the percentile is x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]).
So the median (p = 1/2) of an even count is the mean of the two middle values, and p90 of
[10, 20, ..., 100] is 91.  Arithmetic is on Fractions, so nothing depends on float rounding;
`seconds` turns the result into a Decimal of tenths of a second (half-up) for the API.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

MEDIAN = Fraction(1, 2)
P90 = Fraction(9, 10)


def percentile(values: Iterable[int | Fraction], p: Fraction) -> Fraction | None:
    """The p-th quantile (0 <= p <= 1) of `values` by linear interpolation; None when empty."""
    if not 0 <= p <= 1:
        raise ValueError(f"percentile rank {p} is outside 0..1")
    xs = sorted(values)  # ints sort fast; only the two values interpolated become Fractions
    if not xs:
        return None
    h = (len(xs) - 1) * Fraction(p)
    lo = h.numerator // h.denominator
    if lo + 1 >= len(xs):
        return Fraction(xs[-1])
    return Fraction(xs[lo]) + (h - lo) * (Fraction(xs[lo + 1]) - Fraction(xs[lo]))


def seconds(value: Fraction | None) -> Decimal | None:
    """A duration in seconds as a Decimal with one decimal place (half-up); None stays None."""
    if value is None:
        return None
    tenths = abs(value) * 10
    rounded = (tenths.numerator * 2 + tenths.denominator) // (tenths.denominator * 2)  # floor(x + 1/2)
    return Decimal(-rounded if value < 0 else rounded).scaleb(-1)
