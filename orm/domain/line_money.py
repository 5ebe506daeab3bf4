"""How an order's money is spread over its lines, so per-line figures add up to the order exactly.

Pure integer-cent arithmetic on top of the one allocation (money.allocate, largest remainder,
ties to the earlier part); used by the sale (domain/checkout.py), refunds (controllers/orders/refunds.py)
and the 0010 migration that back-fills old orders.

* Sold: a line's revenue at sale is paidTotal + roundingShare, where the order's cash rounding
  is allocated over the lines in proportion to their paidTotal.  So the lines add up to
  total - tip, the order's revenue.
* Units: a line's paidTotal is allocated over its units (equal weights), and a refund of units
  r+1..r+q returns those units' parts - refunded unit by unit, a line returns exactly its
  paidTotal, and a unit's part may be 0 (a free or nearly free sale): the goods still come back.
  A line never returns more than is left on it (earlier amount-only refunds took their share).
* Refund over lines: every refund's money is booked on the order's lines (refund_items, and
  order_items.refunded_amount), so line revenue = paidTotal + roundingShare - refundedAmount
  always adds up to the order's revenue.  The money of the returned units goes to their lines;
  any rest (an amount-only refund, the tip and rounding that go back with the last units, an
  explicit `amount`) is allocated over all lines in proportion to what is still left on them
  (their net), and only what exceeds every line's rest (a refunded tip) in proportion to paidTotal.
  An explicit `amount` below the units' money is allocated over the returned lines by that money.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orm.domain.money import allocate, signed_allocate


def rounding_shares(rounding: int, paid: Sequence[int]) -> list[int]:
    """The order's cash rounding over its lines, in proportion to what each line cost."""
    return signed_allocate(rounding, paid)


def unit_money(paid: int, quantity: int, already: int, units: int) -> int:
    """Cents for units already+1 .. already+units of a line that cost `paid` for `quantity` units."""
    return sum(allocate(paid, [1] * quantity)[already:already + units])


@dataclass(frozen=True)
class LineState:
    paid: int  # paidTotal, cents
    rounding: int  # roundingShare, cents
    refunded: int  # money refunded on the line so far, cents

    @property
    def left(self) -> int:
        return max(self.paid + self.rounding - self.refunded, 0)


def spread_refund(lines: Sequence[LineState], unit_parts: Sequence[int], amount: int) -> list[int]:
    """Book a refund of `amount` cents over the order's lines; `unit_parts[i]` is the money of the
    units returned on line i (0 when none).  The parts add up to `amount` exactly."""
    units_total = sum(unit_parts)
    if amount <= units_total:
        return allocate(amount, unit_parts)
    parts = list(unit_parts)
    rest = amount - units_total
    room = [max(line.left - part, 0) for line, part in zip(lines, parts, strict=True)]
    first = min(rest, sum(room))
    excess = rest - first
    weights = [line.paid for line in lines] if any(line.paid for line in lines) else [1] * len(lines)
    for i, (a, b) in enumerate(zip(allocate(first, room), allocate(excess, weights), strict=True)):
        parts[i] += a + b
    return parts
