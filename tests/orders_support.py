"""Shared arrangements for the order, refund, shift, journal and receipt tests (no tests here).

`cafe` builds a small menu through the real MenuController: coffee with milk and extras
modifier groups and recipes over real inventory items, a counted pastry, a juice with a
different tax rate, and an inactive item.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orm.controllers.menu import menu_items
from orm.domain.schemas.menu import MenuItemCreate
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_inventory import InventoryItem, StockMovement
from orm.models.model_menu import MenuItem
from orm.models.model_orders import (
    JournalEntry,
    Order,
    OrderItem,
    OrderItemModifier,
    OrderTaxLine,
    Payment,
    Refund,
    RefundItem,
    Shift,
    ShiftCashMovement,
)
from settings import Settings
from tests.conftest import run_unit
from tests.support import suite_now

D = Decimal

# name, unit, opening stock
INVENTORY = [("Beans", "kg", "10"), ("Milk", "l", "20"), ("Oat milk", "l", "5"), ("Cups", "pcs", "100"),
             ("Vanilla syrup", "l", "2")]


@dataclass
class Cafe:
    inv: dict[str, str]  # inventory name -> id
    items: dict[str, str]  # menu item key -> id
    mods: dict[str, str]  # modifier name -> id


def _menu_item(session: Session, settings: Settings, **fields: Any) -> dict[str, Any]:
    return menu_items.create(session, settings, MenuItemCreate(**fields), actor=None)


def build_cafe(session: Session, settings: Settings, pastries: int = 5) -> Cafe:
    now = suite_now()
    inv = {}
    for name, unit, stock in INVENTORY:
        row = InventoryItem(store_id=DEFAULT_STORE_ID, name=name, unit=unit, current_stock=D(stock),
                            min_stock_level=D("0"), created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        inv[name] = row.id
    latte = _menu_item(
        session, settings, name="Latte", price="4.50", category="Coffee", taxRate="0.08", takeAwayTaxRate="0.026",
        recipe=[{"inventoryItemId": inv["Beans"], "quantity": "0.018"},
                {"inventoryItemId": inv["Milk"], "quantity": "0.2"},
                {"inventoryItemId": inv["Cups"], "quantity": "1"}],
        modifierGroups=[
            {"name": "Milk choice", "minSelect": 0, "maxSelect": 1, "modifiers": [
                {"name": "Oat milk", "priceDelta": "0.50",
                 "recipe": [{"inventoryItemId": inv["Oat milk"], "quantity": "0.2"}]},
                {"name": "Soy milk", "priceDelta": "0.50"}]},
            {"name": "Extras", "minSelect": 0, "maxSelect": 2, "modifiers": [
                {"name": "Extra shot", "priceDelta": "0.80",
                 "recipe": [{"inventoryItemId": inv["Beans"], "quantity": "0.009"}]},
                {"name": "Vanilla", "priceDelta": "0.40",
                 "recipe": [{"inventoryItemId": inv["Vanilla syrup"], "quantity": "0.02"}]},
                {"name": "Caramel", "priceDelta": "0.40"}]},
        ])
    espresso = _menu_item(session, settings, name="Espresso", price="2.80", category="Coffee", taxRate="0.08",
                          takeAwayTaxRate="0.026",
                          recipe=[{"inventoryItemId": inv["Beans"], "quantity": "0.009"}],
                          modifierGroups=[{"name": "Extras"}])
    croissant = _menu_item(session, settings, name="Croissant", price="3.20", category="Bakery", taxRate="0.026",
                           takeAwayTaxRate="0.026", stockCount=pastries)
    juice = _menu_item(session, settings, name="Orange juice", price="3.90", category="Drinks", taxRate="0.081",
                       takeAwayTaxRate="0.081")
    tea = _menu_item(session, settings, name="Chai", price="3.33", category="Tea", taxRate="0.08",
                     takeAwayTaxRate="0.026",
                     modifierGroups=[{"name": "Sweetness", "minSelect": 1, "maxSelect": 1, "modifiers": [
                         {"name": "Sweet", "priceDelta": "0"}, {"name": "Unsweetened", "priceDelta": "-0.10"}]}])
    old = _menu_item(session, settings, name="Winter special", price="5.00", category="Coffee", isActive=False)
    mods = {}
    for item in (latte, tea):
        for group in item["modifierGroups"]:
            for mod in group["modifiers"]:
                mods[mod["name"]] = mod["id"]
    return Cafe(inv=inv, items={"latte": latte["id"], "espresso": espresso["id"], "croissant": croissant["id"],
                                "juice": juice["id"], "chai": tea["id"], "old": old["id"]}, mods=mods)


ORDER_TABLES = (Order, OrderItem, OrderItemModifier, OrderTaxLine, Payment, Refund, RefundItem, JournalEntry,
                StockMovement, Shift, ShiftCashMovement)


def row_counts(settings: Settings) -> dict[str, int]:
    """Rows in every table a sale writes (to show that a refused request wrote nothing)."""
    def count(session: Session) -> dict[str, int]:
        out = {m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0 for m in ORDER_TABLES}
        out["stock"] = [str(v) for v in session.scalars(select(InventoryItem.current_stock)
                                                         .order_by(InventoryItem.id))]
        out["counted"] = [v for v in session.scalars(select(MenuItem.stock_count).order_by(MenuItem.id))]
        return out
    return run_unit(settings, count)


def stock_levels(settings: Settings) -> dict[str, Decimal]:
    def levels(session: Session) -> dict[str, Decimal]:
        return {name: level for name, level in session.execute(select(InventoryItem.name,
                                                                      InventoryItem.current_stock))}
    return run_unit(settings, levels)


def pastries_left(settings: Settings, item_id: str) -> int | None:
    return run_unit(settings, lambda s: s.scalar(select(MenuItem.stock_count).where(MenuItem.id == item_id)))


def line(item_id: str, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"menuItemId": item_id, "quantity": quantity, **extra}


def cash(amount: str) -> dict[str, Any]:
    return {"paymentMethod": "cash", "amountPaid": amount}


CARD = {"payments": [{"method": "card"}]}
