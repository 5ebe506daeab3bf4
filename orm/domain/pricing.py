"""Order pricing: catalogue prices in, the money on the receipt out.

Pure and deterministic: no database, no HTTP, no clock, and no dependence on
the ambient ``decimal`` context (every rounding is done exactly on integer
cents and fractions). The orders controller looks up prices and effective
tax rates, builds ``PriceLine``s in the order of the request's ``items`` and
calls ``price_order``.

THE RULE (all amounts in whole cents; half_up = ROUND_HALF_UP, money.py's one rounding rule)

1. Line.  unit = unit_price + sum(modifier_deltas), which must be >= 0;
   line_total = unit * quantity.  Inputs are whole cents, so this is exact.
2. Subtotal = sum of line_total.
3. Discount (at most one per order):
   percent v, 0 < v <= 100:  D = half_up(subtotal * v / 100);
   fixed v > 0:              D = v, and v must not exceed the subtotal.
4. Allocation.  D is split over the tax-rate groups in proportion to each
   group's gross (sum of its line totals), then each group's share over that
   group's lines in proportion to line_total.  Both splits use largest
   remainder in cents: every part gets floor(D * w / W) cents, and the cents
   left over go one each to the largest remainders, ties to the earlier part
   (groups by ascending rate, lines in input order).  Shares therefore add up
   exactly, and no line's share exceeds its line_total.
5. Tax is computed per RATE GROUP, never per line (per-line rounding drifts a
   cent per line and would not match the tax breakdown on the receipt):
   amount = group gross - group discount
   exclusive:  tax = half_up(amount * rate);               base = amount
   inclusive:  tax = half_up(amount * rate / (1 + rate));  base = amount - tax
   tax_amount = sum of group taxes.  Rates equal in value (0.08, 0.080) are
   one group; a group's rate is reported normalised (0.10 -> 0.1).
6. due = subtotal - D + (tax_amount in exclusive mode; 0 in inclusive mode).
7. Cash rounding to increment c (e.g. 0.05 for all-cash sales), applied to
   the due amount already rounded to cents and before the tip:
   rounding_adjustment = half_up_to_multiple(due, c) - due  (may be < 0);
   0 when no increment is given.
8. total = due + rounding_adjustment + tip.  The tip (>= 0) is never
   discounted, taxed or cash-rounded.
9. revenue = total - tip (what reports count).

Invariant in both modes: total = sum(base) + sum(tax) + rounding_adjustment + tip.

Errors.  Bad values raise ``ValidationFailed`` with every problem found, keyed
like the request/Order resource: ``items``, ``items[i].quantity``,
``items[i].unitPrice``, ``items[i].taxRate``, ``items[i].modifiers[j].priceDelta``,
``items[i]`` (modifiers take the price below zero), ``discount.type``,
``discount.value``, ``tipAmount``, ``taxMode``, ``cashRounding``.  A money value
that is not a ``Decimal`` (or int) at all - a float, say - is a bug in the
caller, not bad input, and raises ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context, Decimal
from fractions import Fraction
from typing import Any, Literal

from orm.domain.errors import ValidationFailed
from orm.domain.money import allocate, from_cents, half_up, to_cents

MAX_LINES = 200

TaxMode = Literal["exclusive", "inclusive"]
DiscountKind = Literal["percent", "fixed"]

# Wide enough that normalising any sane rate is exact.
_EXACT = Context(prec=60)


@dataclass(frozen=True)
class PriceLine:
    key: str  # caller's id for the line, echoed back
    unit_price: Decimal  # per unit, WITHOUT modifiers
    quantity: int
    tax_rate: Decimal  # effective rate for this order type, e.g. Decimal("0.08")
    modifier_deltas: tuple[Decimal, ...] = ()  # per unit; may be 0 or negative


@dataclass(frozen=True)
class Discount:
    kind: DiscountKind
    value: Decimal  # percent: 0 < v <= 100; fixed: an amount > 0


@dataclass(frozen=True)
class PricedLine:
    key: str
    unit_price: Decimal  # including modifiers
    quantity: int
    line_total: Decimal
    tax_rate: Decimal
    discount_share: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "unitPrice": self.unit_price,
            "quantity": self.quantity,
            "lineTotal": self.line_total,
            "taxRate": self.tax_rate,
            "discountShare": self.discount_share,
        }


@dataclass(frozen=True)
class TaxGroup:
    rate: Decimal
    base: Decimal
    tax: Decimal

    def to_dict(self) -> dict[str, Decimal]:
        return {"rate": self.rate, "base": self.base, "tax": self.tax}


@dataclass(frozen=True)
class PricedOrder:
    lines: tuple[PricedLine, ...]
    tax_mode: TaxMode
    subtotal: Decimal
    discount_amount: Decimal
    tax_amount: Decimal
    tax_breakdown: tuple[TaxGroup, ...]  # sorted by rate
    tip_amount: Decimal
    rounding_adjustment: Decimal
    total: Decimal

    @property
    def revenue(self) -> Decimal:
        return self.total - self.tip_amount

    def to_dict(self) -> dict[str, Any]:
        """The Order resource's money fields (camelCase), Decimals kept as Decimals."""
        return {
            "items": [line.to_dict() for line in self.lines],
            "subtotal": self.subtotal,
            "discountAmount": self.discount_amount,
            "taxAmount": self.tax_amount,
            "taxBreakdown": [group.to_dict() for group in self.tax_breakdown],
            "tipAmount": self.tip_amount,
            "roundingAdjustment": self.rounding_adjustment,
            "total": self.total,
        }


def price_order(
    lines: Sequence[PriceLine],
    *,
    tax_mode: TaxMode = "exclusive",
    discount: Discount | None = None,
    tip: Decimal = Decimal(0),
    cash_rounding: Decimal | None = None,
) -> PricedOrder:
    """Price an order by THE RULE in the module docstring; raise ValidationFailed on bad input."""
    units, rates, tip_c, inc_c = _check_input(
        lines, tax_mode, discount, tip, cash_rounding
    )
    totals = [u * line.quantity for u, line in zip(units, lines, strict=True)]
    subtotal = sum(totals)
    discount_c = _discount_cents(discount, subtotal)

    # Groups in ascending rate; each remembers its line indices in input order.
    by_rate: dict[Fraction, list[int]] = {}
    for i, rate in enumerate(rates):
        by_rate.setdefault(rate, []).append(i)
    group_rates = sorted(by_rate)
    gross = [sum(totals[i] for i in by_rate[r]) for r in group_rates]
    group_discounts = allocate(discount_c, gross)

    shares = [0] * len(lines)
    breakdown: list[TaxGroup] = []
    tax_c = 0
    for rate, g_gross, g_discount in zip(
        group_rates, gross, group_discounts, strict=True
    ):
        members = by_rate[rate]
        for i, share in zip(
            members, allocate(g_discount, [totals[i] for i in members]), strict=True
        ):
            shares[i] = share
        amount = g_gross - g_discount
        if tax_mode == "exclusive":
            g_tax = half_up(amount * rate)
            base = amount
        else:
            g_tax = half_up(amount * rate / (1 + rate))
            base = amount - g_tax
        tax_c += g_tax
        rate_decimal = Decimal(lines[members[0]].tax_rate).normalize(_EXACT)
        breakdown.append(
            TaxGroup(rate=rate_decimal, base=from_cents(base), tax=from_cents(g_tax))
        )

    due = subtotal - discount_c + (tax_c if tax_mode == "exclusive" else 0)
    adjustment = half_up(Fraction(due, inc_c)) * inc_c - due if inc_c else 0

    return PricedOrder(
        lines=tuple(
            PricedLine(
                key=line.key,
                unit_price=from_cents(units[i]),
                quantity=line.quantity,
                line_total=from_cents(totals[i]),
                tax_rate=Decimal(line.tax_rate),
                discount_share=from_cents(shares[i]),
            )
            for i, line in enumerate(lines)
        ),
        tax_mode=tax_mode,
        subtotal=from_cents(subtotal),
        discount_amount=from_cents(discount_c),
        tax_amount=from_cents(tax_c),
        tax_breakdown=tuple(breakdown),
        tip_amount=from_cents(tip_c),
        rounding_adjustment=from_cents(adjustment),
        total=from_cents(due + adjustment + tip_c),
    )


# --- arithmetic -----------------------------------------------------------


def _discount_cents(discount: Discount | None, subtotal: int) -> int:
    if discount is None:
        return 0
    if discount.kind == "percent":
        return half_up(subtotal * Fraction(discount.value) / 100)
    return to_cents(discount.value)  # validated: a whole number of cents


# --- validation ------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, message)

    def raise_if_any(self) -> None:
        if not self.fields:
            return
        errors = [f"{field}: {message}" for field, message in self.fields.items()]
        summary = (
            errors[0]
            if len(errors) == 1
            else f"The order cannot be priced ({len(errors)} problems)."
        )
        raise ValidationFailed(summary, field_errors=dict(self.fields), errors=errors)


def _exact(value: object, field: str) -> Fraction | None:
    """The exact value of a Decimal (or int); None for NaN and infinities."""
    # bool is an int, but True as a price is a bug, as is any float.
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{field} must be a Decimal, not {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite():
        return None
    return Fraction(value)


def _money_cents(
    value: object, field: str, problems: _Problems, *, negative_ok: bool = False
) -> int | None:
    """Whole cents of a money value, or None after recording why it is unusable."""
    exact = _exact(value, field)
    if exact is None:
        problems.add(field, "must be a finite amount")
        return None
    amount = exact * 100
    if amount.denominator != 1:
        problems.add(field, "must be a whole number of cents")
        return None
    if amount < 0 and not negative_ok:
        problems.add(field, "must not be negative")
        return None
    return int(amount)


def _check_input(
    lines: Sequence[PriceLine],
    tax_mode: str,
    discount: Discount | None,
    tip: Decimal,
    cash_rounding: Decimal | None,
) -> tuple[list[int], list[Fraction], int, int]:
    """Validate everything; return unit cents (with modifiers), rates, tip and increment cents."""
    problems = _Problems()
    if tax_mode not in ("exclusive", "inclusive"):
        problems.add("taxMode", "must be 'exclusive' or 'inclusive'")
    if not lines:
        problems.add("items", "an order needs at least one item")
    elif len(lines) > MAX_LINES:
        problems.add("items", f"at most {MAX_LINES} items per order")
        problems.raise_if_any()  # not worth reporting per-line problems of a refused order

    units: list[int] = []
    rates: list[Fraction] = []
    for i, line in enumerate(lines):
        units.append(_check_line(i, line, problems))
        rates.append(_check_rate(i, line.tax_rate, problems))

    tip_c = _money_cents(tip, "tipAmount", problems) or 0
    inc_c = 0
    if cash_rounding is not None:
        inc_c = _money_cents(cash_rounding, "cashRounding", problems) or 0
        if inc_c == 0 and "cashRounding" not in problems.fields:
            problems.add("cashRounding", "must be a positive amount such as 0.05")

    if discount is not None:
        # Only compare with the subtotal when the lines themselves are sound.
        subtotal = (
            None
            if problems.fields
            else sum(u * ln.quantity for u, ln in zip(units, lines, strict=True))
        )
        _check_discount(discount, subtotal, problems)

    problems.raise_if_any()
    return units, rates, tip_c, inc_c


def _check_line(i: int, line: PriceLine, problems: _Problems) -> int:
    field = f"items[{i}]"
    quantity = line.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        problems.add(f"{field}.quantity", "must be a whole number of at least 1")
    unit = _money_cents(line.unit_price, f"{field}.unitPrice", problems)
    deltas = [
        _money_cents(
            d, f"{field}.modifiers[{j}].priceDelta", problems, negative_ok=True
        )
        for j, d in enumerate(line.modifier_deltas)
    ]
    if unit is None or None in deltas:
        return 0
    total = unit + sum(d for d in deltas if d is not None)
    if total < 0:
        problems.add(field, "modifiers take the unit price below zero")
        return 0
    return total


def _check_rate(i: int, rate: object, problems: _Problems) -> Fraction:
    field = f"items[{i}].taxRate"
    value = _exact(rate, field)
    if value is None:
        problems.add(field, "must be a finite rate")
        return Fraction(0)
    if not 0 <= value <= 1:
        problems.add(field, "must be between 0 and 1 (e.g. 0.08 for 8%)")
    return value


def _check_discount(
    discount: Discount, subtotal: int | None, problems: _Problems
) -> None:
    if discount.kind == "percent":
        value = _exact(discount.value, "discount.value")
        if value is None or not 0 < value <= 100:
            problems.add(
                "discount.value", "a percent discount must be above 0 and at most 100"
            )
    elif discount.kind == "fixed":
        cents = _money_cents(discount.value, "discount.value", problems)
        if cents is None:
            return
        if cents == 0:
            problems.add("discount.value", "a fixed discount must be above 0")
        elif subtotal is not None and cents > subtotal:
            problems.add(
                "discount.value",
                f"a fixed discount cannot exceed the subtotal ({from_cents(subtotal)})",
            )
    else:
        problems.add("discount.type", "must be 'percent' or 'fixed'")
