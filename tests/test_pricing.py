"""The pricing engine against hand-computed vectors, bad input, and invariants.

Every expected amount below was worked out by hand from THE RULE in
orm/domain/pricing.py; the arithmetic is in the comments.
"""

from __future__ import annotations

import random
from decimal import ROUND_DOWN, Decimal, localcontext
from fractions import Fraction

import pytest

from orm.domain.errors import ValidationFailed
from orm.domain.pricing import (
    MAX_LINES,
    Discount,
    PricedOrder,
    PriceLine,
    TaxGroup,
    price_order,
)

D = Decimal


def line(
    key: str = "a",
    price: str = "1.00",
    qty: int = 1,
    rate: str = "0.08",
    mods: tuple[str, ...] = (),
) -> PriceLine:
    return PriceLine(key, D(price), qty, D(rate), tuple(D(m) for m in mods))


def groups(order: PricedOrder) -> list[tuple[Decimal, Decimal, Decimal]]:
    return [(g.rate, g.base, g.tax) for g in order.tax_breakdown]


# --- hand-computed vectors ---------------------------------------------------


def test_exclusive_single_rate() -> None:
    # 2 x 3.80 = 7.60, 1 x 2.95; subtotal 10.55; tax 10.55 * 0.08 = 0.844 -> 0.84
    order = price_order([line("flat", "3.80", 2), line("croissant", "2.95")])
    assert [ln.line_total for ln in order.lines] == [D("7.60"), D("2.95")]
    assert order.subtotal == D("10.55")
    assert order.discount_amount == D("0.00")
    assert order.tax_amount == D("0.84")
    assert groups(order) == [(D("0.08"), D("10.55"), D("0.84"))]
    assert order.tip_amount == D("0.00")
    assert order.rounding_adjustment == D("0.00")
    assert order.total == D("11.39")
    assert order.revenue == D("11.39")


def test_mixed_rates_with_fixed_discount_allocated_by_largest_remainder() -> None:
    # Gross: 0.026 -> 3.20; 0.08 -> 9.00 + 5.90 = 14.90; subtotal 18.10.
    # Discount 2.00 = 200 cents over the groups (W = 1810):
    #   0.026: 200*320/1810  = 35 r 650
    #   0.08:  200*1490/1810 = 164 r 1160   -> floors 199, the spare cent to r 1160
    #   => 0.35 and 1.65.
    # 1.65 over the 0.08 lines (W = 1490):
    #   9.00: 165*900/1490 = 99 r 990 (gets the spare cent) -> 1.00
    #   5.90: 165*590/1490 = 65 r 500                        -> 0.65
    # Tax: 0.026 on 3.20 - 0.35 = 2.85 -> 0.0741 -> 0.07
    #      0.08 on 14.90 - 1.65 = 13.25 -> 1.06 exactly
    # total = 18.10 - 2.00 + 1.13 = 17.23
    order = price_order(
        [
            line("tea", "4.50", 2, "0.08"),
            line("beans", "3.20", 1, "0.026"),
            line("cake", "5.90", 1, "0.080"),  # same group as 0.08
        ],
        discount=Discount("fixed", D("2.00")),
    )
    assert [ln.discount_share for ln in order.lines] == [
        D("1.00"),
        D("0.35"),
        D("0.65"),
    ]
    assert groups(order) == [
        (D("0.026"), D("2.85"), D("0.07")),
        (D("0.08"), D("13.25"), D("1.06")),
    ]
    assert order.discount_amount == D("2.00")
    assert order.tax_amount == D("1.13")
    assert order.total == D("17.23")


def test_mixed_rates_with_percent_discount() -> None:
    # Subtotal 18.10, 15% = 2.715 -> 2.72 (half up).
    # Groups (W = 1810): 0.026: 272*320/1810 = 48 r 160; 0.08: 272*1490/1810
    # = 223 r 1650 -> spare cent -> 224.  Lines in 0.08 (W = 1490):
    # 224*900/1490 = 135 r 450; 224*590/1490 = 88 r 1040 -> spare cent -> 89.
    # Tax: 0.026 * (3.20 - 0.48 = 2.72) = 0.07072 -> 0.07
    #      0.08 * (14.90 - 2.24 = 12.66) = 1.0128 -> 1.01
    # total = 18.10 - 2.72 + 1.08 = 16.46
    order = price_order(
        [
            line("tea", "4.50", 2),
            line("beans", "3.20", 1, "0.026"),
            line("cake", "5.90"),
        ],
        discount=Discount("percent", D("15")),
    )
    assert order.discount_amount == D("2.72")
    assert [ln.discount_share for ln in order.lines] == [
        D("1.35"),
        D("0.48"),
        D("0.89"),
    ]
    assert groups(order) == [
        (D("0.026"), D("2.72"), D("0.07")),
        (D("0.08"), D("12.66"), D("1.01")),
    ]
    assert order.total == D("16.46")


def test_discount_tie_goes_to_earlier_group_then_earlier_line() -> None:
    # One cent over two equal groups: remainders tie, the lower rate wins it.
    order = price_order(
        [line("x", "1.00", rate="0.08"), line("y", "1.00", rate="0.026")],
        discount=Discount("fixed", D("0.01")),
    )
    assert [ln.discount_share for ln in order.lines] == [D("0.00"), D("0.01")]
    # Within a group, the earlier line wins.
    order = price_order(
        [line("x", "1.00"), line("y", "1.00")], discount=Discount("fixed", D("0.01"))
    )
    assert [ln.discount_share for ln in order.lines] == [D("0.01"), D("0.00")]


def test_inclusive_mode() -> None:
    # Prices include tax; total = subtotal.
    # 0.026: 3.20 * 0.026 / 1.026 = 0.081091.. -> 0.08, base 3.12
    # 0.081: 9.00 * 0.081 / 1.081 = 0.674375.. -> 0.67, base 8.33
    order = price_order(
        [line("coffee", "4.50", 2, "0.081"), line("beans", "3.20", 1, "0.026")],
        tax_mode="inclusive",
    )
    assert groups(order) == [
        (D("0.026"), D("3.12"), D("0.08")),
        (D("0.081"), D("8.33"), D("0.67")),
    ]
    assert order.tax_amount == D("0.75")
    assert order.total == D("12.20")


def test_inclusive_mode_with_percent_discount() -> None:
    # 10% of 12.20 = 1.22; groups (W = 1220): 122*320/1220 = 32, 122*900/1220 = 90.
    # 0.026: amount 2.88, tax 2.88*0.026/1.026 = 0.07298.. -> 0.07, base 2.81
    # 0.081: amount 8.10, tax 8.10*0.081/1.081 = 0.60693.. -> 0.61, base 7.49
    order = price_order(
        [line("coffee", "4.50", 2, "0.081"), line("beans", "3.20", 1, "0.026")],
        tax_mode="inclusive",
        discount=Discount("percent", D("10")),
    )
    assert order.discount_amount == D("1.22")
    assert groups(order) == [
        (D("0.026"), D("2.81"), D("0.07")),
        (D("0.081"), D("7.49"), D("0.61")),
    ]
    assert order.tax_amount == D("0.68")
    assert order.total == D("10.98")


def test_tax_is_rounded_per_group_not_per_line() -> None:
    # Per line: 1.05 * 0.08 = 0.084 -> 0.08, three times = 0.24.
    # Per group: 3.15 * 0.08 = 0.252 -> 0.25.  The rule says 0.25.
    order = price_order([line("a", "1.05"), line("b", "1.05"), line("c", "1.05")])
    assert order.tax_amount == D("0.25")
    assert order.total == D("3.40")


def test_half_up_where_float_or_half_even_would_lose_a_cent() -> None:
    # 13.40 * 0.075 = 1.005 exactly -> 1.01.  In float, 13.4 * 0.075 is
    # 1.00499999.. and round(.., 2) gives 1.0.
    order = price_order([line("a", "13.40", rate="0.075")])
    assert order.tax_amount == D("1.01")
    assert order.total == D("14.41")
    # 1.25 * 0.1 = 0.125 -> 0.13.  Python's round() and Decimal's default
    # quantize are half-even and give 0.12.
    order = price_order([line("a", "1.25", rate="0.1")])
    assert order.tax_amount == D("0.13")
    assert order.tax_breakdown == (TaxGroup(D("0.1"), D("1.25"), D("0.13")),)


def test_cent_sums_are_exact() -> None:
    # 3 x 0.10 and 0.10 + 0.20 are 0.30000000000000004 in float.
    order = price_order([line("a", "0.10", 3, "0")])
    assert order.lines[0].line_total == D("0.30")
    order = price_order([line("a", "0.10", rate="0"), line("b", "0.20", rate="0")])
    assert order.subtotal == D("0.30")
    assert str(order.total) == "0.30"


def test_percent_discount_rounds_half_up() -> None:
    # 10% of 4.85 = 0.485 -> 0.49 (half-even would say 0.48).
    # Tax 0.08 * 4.36 = 0.3488 -> 0.35; total 4.36 + 0.35 = 4.71
    order = price_order([line("a", "4.85")], discount=Discount("percent", D("10")))
    assert order.discount_amount == D("0.49")
    assert order.total == D("4.71")
    # 12.5% of 10.10 = 1.2625 -> 1.26
    order = price_order([line("a", "10.10")], discount=Discount("percent", D("12.5")))
    assert order.discount_amount == D("1.26")


def test_fixed_discount() -> None:
    # 1.00 over 7.60 and 2.95 (W = 1055): 100*760/1055 = 72 r 40,
    # 100*295/1055 = 27 r 1015 -> spare cent -> 28.
    # Tax 0.08 * 9.55 = 0.764 -> 0.76; total 9.55 + 0.76 = 10.31
    order = price_order(
        [line("flat", "3.80", 2), line("croissant", "2.95")],
        discount=Discount("fixed", D("1.00")),
    )
    assert [ln.discount_share for ln in order.lines] == [D("0.72"), D("0.28")]
    assert order.discount_amount == D("1.00")
    assert order.tax_amount == D("0.76")
    assert order.total == D("10.31")


def test_discount_of_the_whole_subtotal_leaves_only_the_tip() -> None:
    for discount in (Discount("fixed", D("3.50")), Discount("percent", D("100"))):
        order = price_order([line("a", "3.50")], discount=discount, tip=D("0.50"))
        assert order.discount_amount == D("3.50")
        assert order.tax_amount == D("0.00")
        assert order.total == D("0.50")
        assert order.revenue == D("0.00")


def test_fixed_discount_larger_than_subtotal_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        price_order([line("a", "3.50")], discount=Discount("fixed", D("3.51")))
    assert set(caught.value.field_errors) == {"discount.value"}
    assert "3.50" in caught.value.field_errors["discount.value"]


def test_modifiers_including_a_negative_delta() -> None:
    # Latte 3.80 + oat 0.50 + extra shot 0.70 = 5.00, x2 = 10.00
    # Americano 3.00 + "no milk" -0.20 + "to go" 0.00 = 2.80
    # Subtotal 12.80, tax 1.024 -> 1.02, total 13.82
    order = price_order(
        [
            line("latte", "3.80", 2, mods=("0.50", "0.70")),
            line("americano", "3.00", 1, mods=("-0.20", "0")),
        ]
    )
    assert [ln.unit_price for ln in order.lines] == [D("5.00"), D("2.80")]
    assert [ln.line_total for ln in order.lines] == [D("10.00"), D("2.80")]
    assert order.total == D("13.82")
    # A free item after modifiers is fine.
    assert price_order([line("a", "0.20", mods=("-0.20",))]).total == D("0.00")


def test_tip_is_neither_taxed_nor_discounted() -> None:
    # 10.00 - 10% = 9.00; tax 0.72; 9.72 + tip 1.50 = 11.22
    order = price_order(
        [line("a", "10.00")], discount=Discount("percent", D("10")), tip=D("1.50")
    )
    assert order.discount_amount == D("1.00")
    assert order.tax_amount == D("0.72")
    assert order.tip_amount == D("1.50")
    assert order.total == D("11.22")
    assert order.revenue == D("9.72")
    # Inclusive: 10.00 * 0.08 / 1.08 = 0.7407.. -> 0.74 whatever the tip.
    order = price_order([line("a", "10.00")], tax_mode="inclusive", tip=D("1.50"))
    assert groups(order) == [(D("0.08"), D("9.26"), D("0.74"))]
    assert order.total == D("11.50")
    assert order.revenue == D("10.00")


@pytest.mark.parametrize(
    ("price", "rate", "increment", "adjustment", "total"),
    [
        ("4.00", "0.08", "0.05", "-0.02", "4.30"),  # 4.00 + 0.32 = 4.32 -> 4.30
        ("4.01", "0.08", "0.05", "0.02", "4.35"),  # 4.01 + 0.3208 -> 4.33 -> 4.35
        # 3.50 * 1.25 = 4.375 exactly: tax rounds first (0.875 -> 0.88), so
        # 4.38 is what gets cash-rounded -> 4.40.
        ("3.50", "0.25", "0.05", "0.02", "4.40"),
        ("4.35", "0", "0.05", "0.00", "4.35"),  # already a multiple
        ("0.02", "0", "0.05", "-0.02", "0.00"),
        # 3.10 * 1.08 = 3.348 -> 3.35, a tie on a 0.10 grid -> 3.40 (rounding
        # 3.348 straight to 0.10 would have given 3.30).
        ("3.10", "0.08", "0.10", "0.05", "3.40"),
    ],
)
def test_cash_rounding(
    price: str, rate: str, increment: str, adjustment: str, total: str
) -> None:
    order = price_order([line("a", price, rate=rate)], cash_rounding=D(increment))
    assert order.rounding_adjustment == D(adjustment)
    assert order.total == D(total)
    assert order.revenue == D(total)


def test_cash_rounding_leaves_tax_and_tip_alone() -> None:
    # Due 4.32 -> 4.30; the tip 0.03 is added after and not rounded.
    order = price_order([line("a", "4.00")], cash_rounding=D("0.05"), tip=D("0.03"))
    assert order.tax_amount == D("0.32")
    assert order.rounding_adjustment == D("-0.02")
    assert order.total == D("4.33")
    assert order.revenue == D("4.30")
    # Inclusive: 4.32 incl. tax -> 4.30 due, tax still 4.32 * 0.08/1.08 = 0.32.
    order = price_order(
        [line("a", "4.32")], tax_mode="inclusive", cash_rounding=D("0.05")
    )
    assert groups(order) == [(D("0.08"), D("4.00"), D("0.32"))]
    assert order.total == D("4.30")


def test_no_cash_rounding_means_zero_adjustment() -> None:
    order = price_order([line("a", "4.00")])
    assert order.rounding_adjustment == D("0.00")
    assert order.total == D("4.32")


def test_result_does_not_depend_on_the_decimal_context() -> None:
    lines = [line("a", "13.40", 3, "0.075"), line("b", "2.95", 1, "0.026")]
    kwargs = {
        "discount": Discount("percent", D("12.5")),
        "cash_rounding": D("0.05"),
        "tax_mode": "inclusive",
    }
    expected = price_order(lines, **kwargs)
    with localcontext() as ctx:
        ctx.prec = 2
        ctx.rounding = ROUND_DOWN
        assert price_order(lines, **kwargs) == expected


def test_to_dict_uses_order_resource_names_and_keeps_decimals() -> None:
    order = price_order([line("k1", "3.80", 2)], tip=D("0.50"))
    assert order.to_dict() == {
        "items": [
            {
                "key": "k1",
                "unitPrice": D("3.80"),
                "quantity": 2,
                "lineTotal": D("7.60"),
                "taxRate": D("0.08"),
                "discountShare": D("0.00"),
            }
        ],
        "subtotal": D("7.60"),
        "discountAmount": D("0.00"),
        "taxAmount": D("0.61"),  # 0.608
        "taxBreakdown": [{"rate": D("0.08"), "base": D("7.60"), "tax": D("0.61")}],
        "tipAmount": D("0.50"),
        "roundingAdjustment": D("0.00"),
        "total": D("8.71"),
    }


# --- validation ----------------------------------------------------------------


def _refused(lines: list[PriceLine], **kwargs: object) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        price_order(lines, **kwargs)  # type: ignore[arg-type]
    err = caught.value
    assert err.error_code == "VALIDATION_ERROR"
    assert len(err.errors) == len(err.field_errors) >= 1
    return err.field_errors


@pytest.mark.parametrize(
    ("lines", "kwargs", "field"),
    [
        ([], {}, "items"),
        ([line(qty=0)], {}, "items[0].quantity"),
        ([line(qty=-1)], {}, "items[0].quantity"),
        ([PriceLine("a", D("1"), D("2"), D("0.08"))], {}, "items[0].quantity"),  # type: ignore[arg-type]
        ([PriceLine("a", D("1"), True, D("0.08"))], {}, "items[0].quantity"),
        ([line(price="-0.01")], {}, "items[0].unitPrice"),
        ([line(price="0.125")], {}, "items[0].unitPrice"),
        ([line(price="NaN")], {}, "items[0].unitPrice"),
        ([line(price="Infinity")], {}, "items[0].unitPrice"),
        ([line(rate="-0.01")], {}, "items[0].taxRate"),
        ([line(rate="1.01")], {}, "items[0].taxRate"),
        ([line(rate="NaN")], {}, "items[0].taxRate"),
        ([line(mods=("0.001",))], {}, "items[0].modifiers[0].priceDelta"),
        ([line(price="0.50", mods=("0.20", "-0.71"))], {}, "items[0]"),
        ([line()], {"discount": Discount("percent", D("0"))}, "discount.value"),
        ([line()], {"discount": Discount("percent", D("-5"))}, "discount.value"),
        ([line()], {"discount": Discount("percent", D("100.01"))}, "discount.value"),
        ([line()], {"discount": Discount("percent", D("NaN"))}, "discount.value"),
        ([line()], {"discount": Discount("fixed", D("0"))}, "discount.value"),
        ([line()], {"discount": Discount("fixed", D("-1"))}, "discount.value"),
        ([line()], {"discount": Discount("fixed", D("0.005"))}, "discount.value"),
        ([line()], {"discount": Discount("fixed", D("1.01"))}, "discount.value"),
        ([line()], {"discount": Discount("amount", D("1"))}, "discount.type"),  # type: ignore[arg-type]
        ([line()], {"tip": D("-0.01")}, "tipAmount"),
        ([line()], {"tip": D("0.001")}, "tipAmount"),
        ([line()], {"cash_rounding": D("0")}, "cashRounding"),
        ([line()], {"cash_rounding": D("-0.05")}, "cashRounding"),
        ([line()], {"cash_rounding": D("0.025")}, "cashRounding"),
        ([line()], {"tax_mode": "vat"}, "taxMode"),
    ],
)
def test_bad_input_is_refused(
    lines: list[PriceLine], kwargs: dict[str, object], field: str
) -> None:
    assert set(_refused(lines, **kwargs)) == {field}


def test_boundaries_that_are_allowed() -> None:
    order = price_order(
        [line(str(i), "0.00", rate="1") for i in range(MAX_LINES)],
        discount=Discount("percent", D("100")),
    )
    assert len(order.lines) == MAX_LINES
    assert order.total == D("0.00")


def test_too_many_lines() -> None:
    lines = [line(str(i), qty=0) for i in range(MAX_LINES + 1)]
    # The count is the problem; per-line noise for 201 lines is not reported.
    assert set(_refused(lines)) == {"items"}


def test_every_problem_is_reported_with_its_position() -> None:
    lines = [line("0"), line("1"), line("2", rate="2"), line("3", qty=0)]
    fields = _refused(lines, tip=D("-1"), discount=Discount("fixed", D("500")))
    # The subtotal is not trusted while lines are bad, so no discount error.
    assert fields == {
        "items[2].taxRate": "must be between 0 and 1 (e.g. 0.08 for 8%)",
        "items[3].quantity": "must be a whole number of at least 1",
        "tipAmount": "must not be negative",
    }
    with pytest.raises(ValidationFailed) as caught:
        price_order(lines)
    assert caught.value.errors == [
        "items[2].taxRate: must be between 0 and 1 (e.g. 0.08 for 8%)",
        "items[3].quantity: must be a whole number of at least 1",
    ]


def test_float_money_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="unitPrice"):
        price_order([PriceLine("a", 1.5, 1, D("0.08"))])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tipAmount"):
        price_order([line()], tip=0.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="taxRate"):
        price_order([PriceLine("a", D("1"), 1, 0.08)])  # type: ignore[arg-type]


# --- invariants over random orders ---------------------------------------------

RATES = ["0", "0.025", "0.026", "0.038", "0.077", "0.08", "0.081", "0.2", "0.25"]


def _random_order(rng: random.Random) -> tuple[list[PriceLine], dict[str, object]]:
    lines = []
    for i in range(rng.randint(1, 9)):
        price = rng.randint(0, 2500)
        mods = [rng.randint(-60, 150) for _ in range(rng.randint(0, 3))]
        if price + sum(mods) < 0:
            mods = []
        lines.append(
            PriceLine(
                f"l{i}",
                Decimal(price) / 100,
                rng.randint(1, 6),
                D(rng.choice(RATES)),
                tuple(Decimal(m) / 100 for m in mods),
            )
        )
    subtotal = sum(
        (ln.unit_price + sum(ln.modifier_deltas)) * ln.quantity for ln in lines
    )
    kwargs: dict[str, object] = {
        "tax_mode": rng.choice(["exclusive", "inclusive"]),
        "tip": Decimal(rng.choice([0, 0, rng.randint(1, 500)])) / 100,
        "cash_rounding": rng.choice([None, D("0.05"), D("0.10")]),
    }
    kind = rng.choice(["none", "percent", "fixed"])
    if kind == "percent":
        kwargs["discount"] = Discount(
            "percent", D(rng.choice(["5", "10", "12.5", "33.33", "50", "100"]))
        )
    elif kind == "fixed" and subtotal > 0:
        cents = rng.randint(1, int(subtotal * 100))
        kwargs["discount"] = Discount("fixed", Decimal(cents) / 100)
    return lines, kwargs


def _check_invariants(
    lines: list[PriceLine], order: PricedOrder, inc: Decimal | None
) -> None:
    cent = Fraction(1, 100)
    money = [
        order.subtotal,
        order.discount_amount,
        order.tax_amount,
        order.tip_amount,
        order.rounding_adjustment,
        order.total,
    ]
    for ln in order.lines:
        money += [ln.unit_price, ln.line_total, ln.discount_share]
    for g in order.tax_breakdown:
        money += [g.base, g.tax]
    assert all(m.as_tuple().exponent == -2 for m in money)

    bases = sum(g.base for g in order.tax_breakdown)
    taxes = sum(g.tax for g in order.tax_breakdown)
    assert taxes == order.tax_amount
    assert order.total == bases + taxes + order.rounding_adjustment + order.tip_amount
    after_discount = order.subtotal - order.discount_amount
    if order.tax_mode == "exclusive":
        assert bases == after_discount
    else:
        assert bases + taxes == after_discount
    assert order.revenue == order.total - order.tip_amount
    assert order.subtotal == sum(ln.line_total for ln in order.lines)
    assert sum(ln.discount_share for ln in order.lines) == order.discount_amount

    rates = [g.rate for g in order.tax_breakdown]
    assert rates == sorted(set(rates))
    for g in order.tax_breakdown:
        members = [ln for ln in order.lines if ln.tax_rate == g.rate]
        gross = sum(ln.line_total for ln in members)
        g_discount = sum(ln.discount_share for ln in members)
        # Tax is the exact tax on the group amount, within half a cent.
        amount = Fraction(gross - g_discount)
        rate = Fraction(g.rate)
        exact = (
            amount * rate
            if order.tax_mode == "exclusive"
            else amount * rate / (1 + rate)
        )
        assert abs(Fraction(g.tax) - exact) <= cent / 2
        # Largest remainder: the group's share is within a cent of its exact share.
        if order.subtotal:
            fair = (
                Fraction(order.discount_amount)
                * Fraction(gross)
                / Fraction(order.subtotal)
            )
            assert abs(Fraction(g_discount) - fair) < cent
        for ln in members:
            assert 0 <= ln.discount_share <= ln.line_total
            if gross:
                fair = Fraction(g_discount) * Fraction(ln.line_total) / Fraction(gross)
                assert abs(Fraction(ln.discount_share) - fair) < cent

    for ln, src in zip(order.lines, lines, strict=True):
        assert ln.key == src.key
        assert ln.unit_price == src.unit_price + sum(src.modifier_deltas)
        assert ln.line_total == ln.unit_price * src.quantity

    if inc is None:
        assert order.rounding_adjustment == 0
    else:
        assert order.revenue % inc == 0
        assert abs(order.rounding_adjustment) <= inc / 2


def test_invariants_hold_for_random_orders() -> None:
    rng = random.Random(20240501)
    for _ in range(400):
        lines, kwargs = _random_order(rng)
        order = price_order(lines, **kwargs)  # type: ignore[arg-type]
        _check_invariants(lines, order, kwargs["cash_rounding"])  # type: ignore[arg-type]
        # Order-level money does not depend on the order the lines arrive in.
        shuffled = lines[:]
        rng.shuffle(shuffled)
        again = price_order(shuffled, **kwargs)  # type: ignore[arg-type]
        assert again.tax_breakdown == order.tax_breakdown
        assert (again.discount_amount, again.tax_amount, again.total) == (
            order.discount_amount,
            order.tax_amount,
            order.total,
        )
