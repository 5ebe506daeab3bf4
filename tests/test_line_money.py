"""line_money.py: the arithmetic that books an order's money on its lines (pure, exhaustive over small cases)."""

from __future__ import annotations

import itertools

from orm.domain.line_money import LineState, rounding_shares, spread_refund, unit_money


def test_units_add_up_to_the_line_and_take_the_extra_cents_first() -> None:
    for paid, quantity in itertools.product(range(0, 40), range(1, 7)):
        parts = [unit_money(paid, quantity, n, 1) for n in range(quantity)]
        assert sum(parts) == paid
        assert max(parts) - min(parts) <= 1 and parts == sorted(parts, reverse=True)
        assert unit_money(paid, quantity, 1, quantity - 1) == sum(parts[1:])
    assert [unit_money(3, 4, n, 1) for n in range(4)] == [1, 1, 1, 0]  # 4 x 0.10 - 0.37 at 7 %


def test_rounding_shares_keep_the_sign_and_add_up() -> None:
    assert rounding_shares(2, [972, 422]) == [1, 1]
    assert rounding_shares(-2, [972, 422]) == [-1, -1]
    assert rounding_shares(-1, [0, 1]) == [0, -1]
    assert rounding_shares(0, [5, 5]) == [0, 0]


def test_a_refund_is_booked_exactly_and_never_beyond_a_line_while_the_lines_have_room() -> None:
    for paid_a, paid_b, done_a, amount in itertools.product((0, 1, 7, 30), (0, 3, 11), (0, 1, 5), range(0, 45)):
        if done_a > paid_a:
            continue
        lines = [LineState(paid_a, 0, done_a), LineState(paid_b, 0, 0)]
        for units in ([0, 0], [min(paid_a - done_a, 1), 0], [0, paid_b]):
            parts = spread_refund(lines, units, amount)
            assert sum(parts) == amount and all(p >= 0 for p in parts)
            if amount <= sum(line.left for line in lines):
                assert all(part <= line.left for part, line in zip(parts, lines, strict=True))
            if amount >= sum(units):
                assert all(part >= unit for part, unit in zip(parts, units, strict=True))


def test_an_amount_only_refund_follows_the_net_of_the_lines() -> None:
    assert spread_refund([LineState(1312, 0, 0), LineState(379, 0, 0)], [0, 0], 200) == [155, 45]
    # What exceeds every line's rest (a refunded tip) goes by what the lines cost.
    assert spread_refund([LineState(300, 0, 300), LineState(100, 0, 0)], [0, 100], 140) == [30, 110]
