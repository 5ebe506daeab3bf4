"""Paying a tab: the plan of one child order, priced at the tab's prices (pure, like checkout.py).

A child order is an ordinary completed sale (numbered, journaled, in every report) whose lines
are the tab's lines at the prices they were added at, not today's menu.  Two kinds:

* units (everything left, or chosen lines and quantities): priced by THE RULE (pricing.py) from the
  tab lines' unit prices and tax rates, with the payment's discount, tip and cash rounding;
* share k of an n-way split (tab_split.py): each tab line contributes its part of the share's money
  and tax; quantity 0 except on the last share, which carries the units.  No discount on a share
  (give the discount when paying by items or everything).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from orm.domain.checkout import (
    OrderPlan,
    PlannedLine,
    PlannedModifier,
    PlannedPayment,
    _cash_increment,
    paid_totals,
    settle_payments,
)
from orm.domain.line_money import rounding_shares
from orm.domain.money import from_cents, half_up, to_cents
from orm.domain.pricing import Discount, PricedLine, PricedOrder, PriceLine, TaxGroup, TaxMode, price_order
from orm.domain.schemas.orders import DiscountIn, PaymentIn
from orm.domain.tab_split import SharePart

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class TabLine:
    """One tab line as a sale needs it (what it is, its price, what one unit takes from stock)."""

    id: str
    menu_item_id: str
    product_name: str
    size: str
    category: str
    station: str | None
    unit_price: Decimal  # incl. modifiers
    tax_rate: Decimal
    price_overridden: bool
    notes: str | None
    modifiers: tuple[PlannedModifier, ...]
    recipe: tuple[tuple[str, Decimal], ...]
    counted: bool


@dataclass
class TabSale:
    """What sales.create needs to record a child order of a tab instead of pricing a request."""

    tab_id: str
    plan: OrderPlan
    tab_line_ids: list[str]  # per planned line: the tab line it pays
    fingerprint: str  # of the pay request (idempotent retries)


def _payment_method(payments: Sequence[PlannedPayment]) -> str:
    methods = {p.method for p in payments}
    return "split" if len(payments) > 1 and len(methods) > 1 else payments[0].method


def _finish(priced: PricedOrder, lines: list[PlannedLine], payments_in: Sequence[PaymentIn],
            discount_in: DiscountIn | None, tax_mode: TaxMode) -> OrderPlan:
    planned = settle_payments(payments_in, priced.total)
    return OrderPlan(
        priced=priced, lines=lines, payments=planned,
        discount_reason=(discount_in.reason or None) if discount_in else None,
        payment_method=_payment_method(planned),
        amount_paid=sum((p.tendered if p.tendered is not None else p.amount for p in planned), ZERO),
        change_given=sum((p.change for p in planned), ZERO), tax_mode=tax_mode)


def _planned(line: TabLine, quantity: int, priced_line: PricedLine, paid: Decimal, rounding: Decimal,
             notes: str | None = None) -> PlannedLine:
    return PlannedLine(
        menu_item_id=line.menu_item_id, product_name=line.product_name, size=line.size, category=line.category,
        station=line.station, quantity=quantity, unit_price=line.unit_price, line_total=priced_line.line_total,
        discount_share=priced_line.discount_share, tax_rate=priced_line.tax_rate, paid_total=paid,
        rounding_share=rounding, price_overridden=line.price_overridden, notes=notes or line.notes,
        modifiers=list(line.modifiers), recipe=list(line.recipe), counted=line.counted)


def plan_units(units: Sequence[tuple[TabLine, int]], *, tax_mode: TaxMode, discount_in: DiscountIn | None,
               tip: Decimal, payments_in: Sequence[PaymentIn], cash_rounding_setting: object) -> OrderPlan:
    """Pay these units of these tab lines (at their tab prices) like a counter sale."""
    all_cash = all(p.method == "cash" for p in payments_in)
    rounding = _cash_increment(cash_rounding_setting) if all_cash else None
    discount = Discount(kind=discount_in.type, value=discount_in.value) if discount_in else None
    priced = price_order([PriceLine(key=line.id, unit_price=line.unit_price, quantity=q, tax_rate=line.tax_rate)
                          for line, q in units], tax_mode=tax_mode, discount=discount, tip=tip,
                         cash_rounding=rounding)
    paid = paid_totals(priced)
    shares = rounding_shares(to_cents(priced.rounding_adjustment), [to_cents(p) for p in paid])
    lines = [_planned(line, q, pl, p, from_cents(r))
             for (line, q), pl, p, r in zip(units, priced.lines, paid, shares, strict=True)]
    return _finish(priced, lines, payments_in, discount_in, tax_mode)


def plan_share(parts: Sequence[SharePart], tab_lines: dict[str, TabLine], units: dict[str, int], *,
               share_no: int, ways: int, tab_name: str, tax_mode: TaxMode, tip: Decimal,
               payments_in: Sequence[PaymentIn], cash_rounding_setting: object) -> OrderPlan:
    """Share `share_no` (1-based) of `ways`: each tab line's part (tab_split.share_parts) as a child line."""
    last = share_no == ways
    kept = [p for p in parts if p.paid or (last and units.get(p.key, 0))]
    due = sum(p.paid for p in kept)
    all_cash = all(p.method == "cash" for p in payments_in)
    increment = _cash_increment(cash_rounding_setting) if all_cash else None
    inc_c = to_cents(increment) if increment else 0
    adjustment = half_up(Fraction(due, inc_c)) * inc_c - due if inc_c else 0
    tip_c = to_cents(tip)
    rounding = rounding_shares(adjustment, [p.paid for p in kept])
    groups: dict[Decimal, list[int]] = defaultdict(lambda: [0, 0])
    lines: list[PlannedLine] = []
    priced_lines: list[PricedLine] = []
    for part, r in zip(kept, rounding, strict=True):
        line = tab_lines[part.key]
        quantity = units.get(part.key, 0) if last else 0
        rate = line.tax_rate.normalize()
        groups[rate][0] += part.paid - part.tax
        groups[rate][1] += part.tax
        pl = PricedLine(key=line.id, unit_price=line.unit_price, quantity=quantity,
                        line_total=from_cents(part.net), tax_rate=line.tax_rate, discount_share=ZERO)
        priced_lines.append(pl)
        lines.append(_planned(line, quantity, pl, from_cents(part.paid), from_cents(r),
                              notes=f"Share {share_no} of {ways} - {tab_name}"))
    breakdown = tuple(TaxGroup(rate=rate, base=from_cents(base), tax=from_cents(tax))
                      for rate, (base, tax) in sorted(groups.items()))
    tax_c = sum(p.tax for p in kept)
    priced = PricedOrder(
        lines=tuple(priced_lines), tax_mode=tax_mode, subtotal=from_cents(sum(p.net for p in kept)),
        discount_amount=ZERO, tax_amount=from_cents(tax_c), tax_breakdown=breakdown, tip_amount=from_cents(tip_c),
        rounding_adjustment=from_cents(adjustment), total=from_cents(due + adjustment + tip_c))
    return _finish(priced, lines, payments_in, None, tax_mode)
