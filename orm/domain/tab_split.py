"""Tabs: the money of what is left on a tab, and splitting it n ways (pure: no database, no I/O).

A tab's lines are priced when they are added (unit price incl. modifiers, tax rate); what is left
is the unpaid units of every line, priced by THE RULE (pricing.py) with no discount.

Split n ways (2..20): the amount left when the split starts, B cents, is cut into n shares of
floor(B / n) cents, the last share taking the remainder, so the shares add up to B exactly for any
n and B.  While a split is under way the tab's lines do not change (adding, removing or paying by
items is refused), so every share is computed again from the same lines, on any terminal.

A share is not a set of units: share k's money is spread over the tab's unpaid lines, in proportion
to what each line still has to receive from the split (largest remainder in cents), so after the n
shares every line got exactly its paid total, and every line's tax is split over the shares in
proportion to the share's part of the line.  Each share's child order therefore carries, per tab
line, a part of its money and of its tax at its rate: category, product and tax-rate reports add up
to the revenue exactly, share by share.  The units are counted once, on the last share (quantity 0
on the others), so a product's quantity sold is right once the split is paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from orm.domain.money import allocate, from_cents, to_cents
from orm.domain.pricing import PricedOrder, PriceLine, TaxMode, price_order

MIN_WAYS, MAX_WAYS = 2, 20


@dataclass(frozen=True)
class OpenLine:
    """The unpaid part of one tab line."""

    key: str  # the tab line's id
    unit_price: Decimal  # incl. modifiers
    units: int  # unpaid units
    tax_rate: Decimal


@dataclass(frozen=True)
class LineMoney:
    key: str
    net: int  # cents: line total (exclusive: before tax; inclusive: incl. tax)
    tax: int  # cents: the line's part of its rate group's tax
    paid: int  # cents: what the customer pays for the line (exclusive: net + tax; inclusive: net)


def price_open_lines(lines: Sequence[OpenLine], tax_mode: TaxMode) -> PricedOrder | None:
    """The unpaid units priced by THE RULE (no discount, no tip, no rounding); None when nothing is left."""
    live = [ln for ln in lines if ln.units > 0]
    if not live:
        return None
    return price_order([PriceLine(key=ln.key, unit_price=ln.unit_price, quantity=ln.units, tax_rate=ln.tax_rate)
                        for ln in live], tax_mode=tax_mode)


def line_money(priced: PricedOrder) -> list[LineMoney]:
    """Each line's net, tax and paid amount; the taxes of a rate group add up to the group's tax."""
    nets = [to_cents(ln.line_total - ln.discount_share) for ln in priced.lines]
    taxes = [0] * len(nets)
    for group in priced.tax_breakdown:
        members = [i for i, ln in enumerate(priced.lines) if ln.tax_rate == group.rate]
        for i, part in zip(members, allocate(to_cents(group.tax), [nets[i] for i in members]), strict=True):
            taxes[i] = part
    inclusive = priced.tax_mode == "inclusive"
    return [LineMoney(key=ln.key, net=n, tax=t, paid=n if inclusive else n + t)
            for ln, n, t in zip(priced.lines, nets, taxes, strict=True)]


def split_equal(total: int, ways: int) -> list[int]:
    """`total` cents in `ways` shares: floor(total / ways) each, the last share takes the remainder."""
    if ways < 1:
        raise ValueError("ways must be at least 1")
    each = total // ways
    return [each] * (ways - 1) + [total - each * (ways - 1)]


@dataclass(frozen=True)
class SharePart:
    key: str
    paid: int  # cents of the line's paid total in this share
    tax: int  # cents of the line's tax in this share
    net: int  # paid - tax (exclusive) or paid (inclusive): the child line's lineTotal


def share_parts(money: Sequence[LineMoney], ways: int, inclusive: bool) -> list[list[SharePart]]:
    """For each of the `ways` shares, its part of every line (see the module docstring).

    Share k is spread over what each line still has to receive after shares 0..k-1, so no part is
    negative and the last share takes exactly what is left of every line.
    """
    total = sum(m.paid for m in money)
    shares = split_equal(total, ways)
    left = [m.paid for m in money]
    paid_parts: list[list[int]] = []
    for amount in shares:
        parts = allocate(amount, left)
        paid_parts.append(parts)
        left = [a - b for a, b in zip(left, parts, strict=True)]
    # Each line's tax over the shares, in proportion to the share's part of the line.
    tax_parts = [allocate(m.tax, [paid_parts[k][i] for k in range(ways)]) if m.paid else [0] * ways
                 for i, m in enumerate(money)]
    out: list[list[SharePart]] = []
    for k in range(ways):
        row = []
        for i, m in enumerate(money):
            paid, tax = paid_parts[k][i], tax_parts[i][k]
            row.append(SharePart(key=m.key, paid=paid, tax=tax, net=paid if inclusive else paid - tax))
        out.append(row)
    return out


def cents(value: Decimal) -> int:
    return to_cents(value)


def money(value: int) -> Decimal:
    return from_cents(value)
