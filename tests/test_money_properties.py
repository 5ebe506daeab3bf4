"""Properties of orm/domain/money.py: THE rounding rule and THE allocation."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orm.domain.money import (
    CENT,
    allocate,
    cents_half_up,
    format_money,
    from_cents,
    from_minor,
    half_up,
    ratio,
    round_money,
    signed_allocate,
    to_cents,
    to_minor,
)

PROPS = settings(max_examples=300, deadline=None, database=None, derandomize=True)
cents = st.integers(min_value=0, max_value=10**12)
weights = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30)
amounts = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), allow_nan=False,
                      allow_infinity=False, places=6)


@PROPS
@given(cents, weights)
def test_allocation_sums_exactly_and_each_part_is_within_a_cent_of_its_share(total, ws) -> None:
    parts = allocate(total, ws)
    assert len(parts) == len(ws)
    if sum(ws) == 0:
        assert parts == [0] * len(ws)
        return
    assert sum(parts) == total
    for part, w in zip(parts, ws, strict=True):
        exact = Fraction(total * w, sum(ws))
        assert part >= 0 and abs(part - exact) < 1


@PROPS
@given(st.integers(min_value=-10**9, max_value=10**9), weights)
def test_signed_allocation_mirrors_the_positive_one(total, ws) -> None:
    parts = signed_allocate(total, ws)
    assert [abs(p) for p in parts] == allocate(abs(total), ws)
    if sum(ws):
        assert sum(parts) == total


@PROPS
@given(amounts)
def test_rounding_is_half_up_to_the_cent(value) -> None:
    # The documented rule, checked against the decimal module's ROUND_HALF_UP (exact here:
    # the inputs have few digits, far inside the context's precision).
    assert round_money(value) == value.quantize(CENT, rounding=ROUND_HALF_UP)
    assert round_money(value).as_tuple().exponent == -2
    assert cents_half_up(value) == int(value.quantize(CENT, rounding=ROUND_HALF_UP) * 100)
    assert abs(Fraction(round_money(value)) - Fraction(value)) <= Fraction(1, 200)


@pytest.mark.parametrize(("value", "expected"), [
    ("0.125", "0.13"), ("-0.125", "-0.13"), ("2.675", "2.68"), ("0.005", "0.01"), ("-0.004", "0.00"),
    ("0.0049999", "0.00"), ("1.5E-2", "0.02"),
])
def test_halves_go_away_from_zero_never_to_even(value, expected) -> None:
    assert str(round_money(Decimal(value))) == expected


def test_half_up_on_exact_fractions() -> None:
    assert [half_up(Fraction(n, 2)) for n in (-3, -1, 1, 3, 5)] == [-2, -1, 1, 2, 3]
    assert ratio(1, 3) == Decimal("0.33") and ratio(2, 3) == Decimal("0.67") and ratio(5, 0) == Decimal("0.00")


@PROPS
@given(st.integers(min_value=-10**15, max_value=10**15), st.sampled_from([100, 1000, 10_000, 100_000]))
def test_minor_units_round_trip_exactly(units, scale) -> None:
    value = from_minor(units, scale)
    assert value.as_tuple().exponent == -(len(str(scale)) - 1)
    assert to_minor(value, scale) == units
    assert from_cents(to_cents(from_cents(units))) == from_cents(units)


@pytest.mark.parametrize("bad", ["0.001", "abc", "NaN", "Infinity"])
def test_to_minor_refuses_to_lose_digits(bad) -> None:
    with pytest.raises(ValueError):
        to_cents(bad)


def test_format_money_uses_the_rule() -> None:
    # The daily e-mail used to format with the decimal context (half-even): 0.125 -> 0.12.
    assert format_money(Decimal("1234.125"), "EUR") == "EUR 1,234.13"
    assert format_money(Decimal("-0.001"), "EUR") == "EUR 0.00"
