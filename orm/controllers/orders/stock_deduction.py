"""Stock a sale takes and a refund or void puts back, through the menu and stock controllers.

Order lines remember what one unit took (`recipe`, `counted`), so a refund
puts back exactly what the sale removed even if the recipe changed since.
Counted goods are taken in ascending item id order and ingredients are
updated in ascending id order by StockController, so two sales sharing items
lock rows in the same order and cannot deadlock each other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from orm.controllers.inventory import stock
from orm.controllers.menu import counted_stock
from orm.domain.money import MILLI, round_to
from orm.models.model_orders import OrderItem


def _per_unit(line: OrderItem) -> list[tuple[str, Decimal]]:
    return [(str(inv_id), Decimal(str(qty))) for inv_id, qty in line.recipe or []]


def _totals(lines: Iterable[tuple[OrderItem, int]]) -> tuple[dict[str, int], dict[str, Decimal]]:
    counted: dict[str, int] = defaultdict(int)
    ingredients: dict[str, Decimal] = defaultdict(Decimal)
    for line, units in lines:
        if units <= 0:
            continue
        if line.counted:
            counted[line.menu_item_id] += units
        for inv_id, qty in _per_unit(line):
            ingredients[inv_id] += qty * units
    return counted, ingredients


def sale_quantities(lines: Iterable[OrderItem]) -> tuple[dict[str, int], list[tuple[str, Decimal]]]:
    """What a sale takes, for a statement that takes it all at once (orders/sale_statement.py):
    ({counted menu item id: units}, [(inventory item id, signed delta)] in id order), each delta
    rounded to thousandths as stock.apply_movements rounds it, zero deltas left out."""
    counted, ingredients = _totals((line, line.quantity) for line in lines)
    deltas = [(inv_id, -round_to(qty, MILLI)) for inv_id, qty in sorted(ingredients.items())]
    return dict(counted), [(inv_id, delta) for inv_id, delta in deltas if delta != 0]


def take_stock(session: Session, *, store_id: str, lines: Iterable[OrderItem], user_id: str, reference: str,
               reason: str, now: datetime, allow_negative: bool) -> None:
    """Deduct counted goods (409 SOLD_OUT, never below zero) and recipe ingredients for a sale."""
    counted, ingredients = _totals((line, line.quantity) for line in lines)
    for item_id in sorted(counted):
        counted_stock.take_counted_stock(session, item_id, counted[item_id])
    if ingredients:
        stock.apply_movements(
            session, store_id=store_id, lines=[(inv_id, -qty) for inv_id, qty in ingredients.items()],
            movement_type="sale", user_id=user_id, reason=reason, reference=reference, now=now,
            allow_negative=allow_negative)


def put_back_stock(session: Session, *, store_id: str, lines: Iterable[tuple[OrderItem, int]], user_id: str,
                   reference: str, reason: str, now: datetime) -> None:
    """Return `units` of each line to stock (refund with restock, void) as movements of type refund."""
    counted, ingredients = _totals(lines)
    for item_id in sorted(counted):
        counted_stock.return_counted_stock(session, item_id, counted[item_id])
    if ingredients:
        stock.apply_movements(
            session, store_id=store_id, lines=list(ingredients.items()), movement_type="refund",
            user_id=user_id, reason=reason, reference=reference, now=now, allow_negative=True)
