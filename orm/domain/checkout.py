"""From a validated order request to a priced, paid plan — before anything is written.

Everything here only reads (the catalogue) and computes, so a bad request
fails with 400 before the sale's transaction has written a single row.

Rules that are ours (pricing itself is THE RULE in pricing.py):
* `priceOverride` replaces the item's catalogue price; modifier deltas still add to it.
* Tax rate per line: the item's effective `taxRate` for eat-in, `takeAwayTaxRate` for take-away.
* Cash rounding (settings cashRounding "0.05") applies only when every payment is cash.
* Payments: card amounts are applied as given and may never exceed what is due; at most
  one card payment may omit its amount and then pays what the others leave (a lone card with
  no amount pays exactly the total).  Cash is "handed over" (`tendered`, else `amount`), covers
  what the cards leave, and only cash may exceed the total: the rest is change.
* Line `paidTotal` = lineTotal - discountShare, plus (exclusive mode) the line's share of its
  rate group's tax, split by largest remainder in cents so the lines add up exactly; the cash
  rounding is split over the lines by paidTotal (`roundingShare`, line_money.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orm.domain.errors import ValidationFailed
from orm.domain.line_money import rounding_shares
from orm.domain.money import allocate, from_cents, round_money, to_cents
from orm.domain.pricing import Discount, PricedOrder, PriceLine, TaxMode, price_order
from orm.domain.schemas.orders import OrderCreate, PaymentIn

CASH_INCREMENT = Decimal("0.05")
ZERO = Decimal("0.00")


@dataclass
class PlannedModifier:
    id: str
    name: str
    price_delta: Decimal


@dataclass
class PlannedLine:
    menu_item_id: str
    product_name: str
    size: str
    category: str
    station: str | None  # the preparation station (None: nothing to prepare)
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    discount_share: Decimal
    tax_rate: Decimal
    paid_total: Decimal
    rounding_share: Decimal  # the line's part of the cash rounding (line_money.py)
    price_overridden: bool
    notes: str | None
    modifiers: list[PlannedModifier]
    # Stock taken per unit: [(inventory_item_id, quantity)], item recipe + modifier recipes.
    recipe: list[tuple[str, Decimal]]
    counted: bool


@dataclass
class PlannedPayment:
    method: str
    amount: Decimal  # applied to the order
    tendered: Decimal | None
    change: Decimal
    reference: str | None


@dataclass
class OrderPlan:
    priced: PricedOrder
    lines: list[PlannedLine]
    payments: list[PlannedPayment]
    discount_reason: str | None
    payment_method: str
    amount_paid: Decimal
    change_given: Decimal
    tax_mode: str
    counted_stock: dict[str, int] = field(default_factory=dict)  # menu item id -> units to take
    ingredients: dict[str, Decimal] = field(default_factory=dict)  # inventory item id -> total used


class _Problems:
    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, key: str, message: str) -> None:
        self.fields.setdefault(key, message)

    def raise_if_any(self, summary: str) -> None:
        if self.fields:
            errors = [f"{k}: {v}" for k, v in self.fields.items()]
            raise ValidationFailed(errors[0] if len(errors) == 1 else summary, field_errors=dict(self.fields),
                                   errors=errors)


def _recipe_pairs(raw: Any) -> list[tuple[str, Decimal]]:
    """Recipes arrive as [{inventoryItemId, quantity}] or [(id, quantity)]; both mean the same."""
    pairs: list[tuple[str, Decimal]] = []
    for entry in raw or []:
        if isinstance(entry, dict):
            pairs.append((str(entry["inventoryItemId"]), Decimal(entry["quantity"])))
        else:
            inv_id, qty = entry
            pairs.append((str(inv_id), Decimal(qty)))
    return pairs


def _allowed_modifiers(item: dict[str, Any]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    allowed: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for group in item.get("modifierGroups") or []:
        for mod in group.get("modifiers") or []:
            allowed[str(mod["id"])] = (group, mod)
    return allowed


def _check_lines(body: OrderCreate, catalogue: dict[str, dict[str, Any]], problems: _Problems) -> None:
    for i, line in enumerate(body.items):
        item = catalogue.get(line.item_id)
        key = f"items[{i}].menuItemId"
        if item is None:
            problems.add(key, "no such menu item")
            continue
        if not item.get("isActive", True):
            problems.add(key, f"{item['name']} is not on sale")
            continue
        allowed = _allowed_modifiers(item)
        if len(set(line.modifierIds)) != len(line.modifierIds):
            problems.add(f"items[{i}].modifierIds", "a modifier is listed more than once")
            continue
        chosen: Counter[str] = Counter()
        for j, mod_id in enumerate(line.modifierIds):
            if mod_id not in allowed:
                problems.add(f"items[{i}].modifierIds[{j}]", f"not offered for {item['name']}")
            else:
                chosen[str(allowed[mod_id][0]["id"])] += 1
        for group in item.get("modifierGroups") or []:
            n = chosen[str(group["id"])]
            low, high = int(group.get("minSelect") or 0), group.get("maxSelect")
            if high is not None and n > int(high):
                problems.add(f"items[{i}].modifierIds", f"choose at most {high} from {group['name']}")
            elif n < low:
                problems.add(f"items[{i}].modifierIds", f"choose at least {low} from {group['name']}")


def _line_rate(item: dict[str, Any], order_type: str) -> Decimal:
    rate = item.get("takeAwayTaxRate") if order_type == "take_away" else None
    return Decimal(rate if rate is not None else item["taxRate"])


def paid_totals(priced: PricedOrder) -> list[Decimal]:
    """What each line cost the customer (see the module docstring); adds up to total - tip - rounding."""
    nets = [to_cents(ln.line_total - ln.discount_share) for ln in priced.lines]
    if priced.tax_mode == "inclusive":
        return [from_cents(n) for n in nets]
    out = list(nets)
    for group in priced.tax_breakdown:
        members = [i for i, ln in enumerate(priced.lines) if ln.tax_rate == group.rate]
        for i, share in zip(members, allocate(to_cents(group.tax), [nets[i] for i in members]), strict=True):
            out[i] += share
    return [from_cents(c) for c in out]


def settle_payments(payments: Sequence[PaymentIn], total: Decimal) -> list[PlannedPayment]:
    """Apply the payments to `total` by the rules in the module docstring; 400 when they don't cover it."""
    problems = _Problems()
    open_ones = [i for i, p in enumerate(payments) if p.method == "card" and p.amount is None]
    if len(open_ones) > 1:
        problems.add("payments", "at most one card payment may leave its amount out")
    for i, p in enumerate(payments):
        if p.method == "cash" and p.amount is None and p.tendered is None:
            problems.add(f"payments[{i}].amount", "a cash payment needs the amount handed over")
        if p.method == "cash" and p.amount is not None and p.tendered is not None and p.tendered < p.amount:
            problems.add(f"payments[{i}].tendered", "must be at least the amount")
        if p.method == "card" and p.tendered is not None:
            problems.add(f"payments[{i}].tendered", "only cash is tendered")
    problems.raise_if_any("The payments are invalid")

    def face(p: PaymentIn) -> Decimal:
        if p.method == "cash":
            return p.amount if p.amount is not None else (p.tendered if p.tendered is not None else ZERO)
        return p.amount if p.amount is not None else ZERO

    amounts = [face(p) for p in payments]
    if open_ones:
        rest = total - sum((a for i, a in enumerate(amounts) if i != open_ones[0]), ZERO)
        if rest <= 0 and total > 0:
            raise ValidationFailed("The other payments already cover the total",
                                   field_errors={f"payments[{open_ones[0]}].amount": "nothing is left to pay"})
        amounts[open_ones[0]] = max(rest, ZERO)
    cards = sum((a for a, p in zip(amounts, payments, strict=True) if p.method == "card"), ZERO)
    if cards > total:
        raise ValidationFailed(f"Card payments ({cards}) exceed the total ({total}); only cash may be over-tendered",
                               field_errors={"payments": "card payments exceed the total"})
    for i, (a, _p) in enumerate(zip(amounts, payments, strict=True)):
        if a == 0 and total > 0:
            problems.add(f"payments[{i}].amount", "must be greater than 0")
    problems.raise_if_any("The payments are invalid")

    due_cash = total - cards
    handed = [(p.tendered if p.tendered is not None else a) if p.method == "cash" else a
              for a, p in zip(amounts, payments, strict=True)]
    cash_handed = sum((h for h, p in zip(handed, payments, strict=True) if p.method == "cash"), ZERO)
    if cash_handed < due_cash:
        paid = cards + cash_handed
        raise ValidationFailed(f"Underpaid: {paid} received for a total of {total}",
                               field_errors={"payments": f"the payments cover {paid} of {total}"})
    planned: list[PlannedPayment] = []
    left = due_cash
    for a, h, p in zip(amounts, handed, payments, strict=True):
        if p.method == "card":
            planned.append(PlannedPayment("card", round_money(a or ZERO), None, ZERO, p.reference or None))
            continue
        applied = min(h or ZERO, left)
        left -= applied
        planned.append(PlannedPayment("cash", round_money(applied), round_money(h or ZERO),
                                      round_money((h or ZERO) - applied), p.reference or None))
    return planned


def _cash_increment(setting: Any) -> Decimal | None:
    """The settings' cashRounding ("none" or "0.05") as an increment, or None."""
    raw = str(setting or "none").strip().lower()
    if raw == "none":
        return None
    return CASH_INCREMENT if Decimal(raw) == CASH_INCREMENT else None


def plan_order(body: OrderCreate, catalogue: dict[str, dict[str, Any]], store_settings: dict[str, Any]) -> OrderPlan:
    """Validate the lines against the catalogue, price them and settle the payments (400 on any problem)."""
    problems = _Problems()
    _check_lines(body, catalogue, problems)
    problems.raise_if_any("The order has problems")

    payments_in = body.effective_payments()
    all_cash = all(p.method == "cash" for p in payments_in)
    rounding = _cash_increment(store_settings.get("cashRounding")) if all_cash else None
    discount_in = body.effective_discount()
    discount = Discount(kind=discount_in.type, value=discount_in.value) if discount_in else None

    price_lines: list[PriceLine] = []
    for i, line in enumerate(body.items):
        item = catalogue[line.item_id]
        allowed = _allowed_modifiers(item)
        deltas = tuple(Decimal(allowed[m][1]["priceDelta"]) for m in line.modifierIds)
        base = line.priceOverride if line.priceOverride is not None else Decimal(item["price"])
        price_lines.append(PriceLine(key=str(i), unit_price=base, quantity=line.quantity,
                                     tax_rate=_line_rate(item, body.orderType), modifier_deltas=deltas))
    tax_mode: TaxMode = "inclusive" if store_settings.get("taxMode") == "inclusive" else "exclusive"
    priced = price_order(price_lines, tax_mode=tax_mode, discount=discount, tip=body.tipAmount,
                         cash_rounding=rounding)
    planned_payments = settle_payments(payments_in, priced.total)

    lines: list[PlannedLine] = []
    counted: dict[str, int] = defaultdict(int)
    ingredients: dict[str, Decimal] = defaultdict(Decimal)
    paid = paid_totals(priced)
    shares = rounding_shares(to_cents(priced.rounding_adjustment), [to_cents(p) for p in paid])
    rounding_split = [from_cents(c) for c in shares]
    for line, priced_line, paid_total, rounding_share in zip(body.items, priced.lines, paid, rounding_split,
                                                            strict=True):
        item = catalogue[line.item_id]
        allowed = _allowed_modifiers(item)
        recipe: dict[str, Decimal] = defaultdict(Decimal)
        for inv_id, qty in _recipe_pairs(item.get("recipe")):
            recipe[inv_id] += qty
        mods = []
        for mod_id in line.modifierIds:
            mod = allowed[mod_id][1]
            mods.append(PlannedModifier(str(mod["id"]), str(mod["name"]), Decimal(mod["priceDelta"])))
            for inv_id, qty in _recipe_pairs(mod.get("recipe")):
                recipe[inv_id] += qty
        is_counted = item.get("stockCount") is not None
        if is_counted:
            counted[line.item_id] += line.quantity
        for inv_id, qty in recipe.items():
            ingredients[inv_id] += qty * line.quantity
        lines.append(PlannedLine(
            menu_item_id=line.item_id, product_name=str(item["name"]), size=str(item.get("size") or ""),
            category=str(item.get("category") or ""), station=item.get("station") or None,
            quantity=line.quantity, unit_price=priced_line.unit_price,
            line_total=priced_line.line_total, discount_share=priced_line.discount_share,
            tax_rate=priced_line.tax_rate, paid_total=paid_total,
            rounding_share=rounding_share, price_overridden=line.priceOverride is not None,
            notes=line.notes or None, modifiers=mods, recipe=sorted(recipe.items()), counted=is_counted))

    methods = {p.method for p in planned_payments}
    return OrderPlan(
        priced=priced, lines=lines, payments=planned_payments,
        discount_reason=(discount_in.reason or None) if discount_in else None,
        payment_method="split" if len(planned_payments) > 1 and len(methods) > 1 else planned_payments[0].method,
        amount_paid=sum((p.tendered if p.tendered is not None else p.amount for p in planned_payments), ZERO),
        change_given=sum((p.change for p in planned_payments), ZERO),
        tax_mode=tax_mode, counted_stock=dict(counted), ingredients=dict(ingredients),
    )
