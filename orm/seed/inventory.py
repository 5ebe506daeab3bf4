"""Inventory seeds: demo stock (some of it low, so alerts show) and a real café's starting catalogue.

Both get-or-create by name, so running them again changes nothing; they return the true number of
inventory items and stock movements of the default store.
- seed_test: 24 items; opening stock is recorded as `count` movements (alerts are raised like for any
  stock change: a few items start below their minimum, one expires soon).
- seed_production: 36 ingredients and supplies with EUR costs and no stock yet; until the opening
  count is entered they show out_of_stock (and the sweep raises those alerts).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orm.column_types import utcnow
from orm.controllers.inventory_controller import InventoryController, find_by_name
from orm.controllers.inventory_schemas import InventoryItemCreate
from orm.models.base import DEFAULT_STORE_ID
from orm.models.model_inventory import InventoryItem, StockMovement
from settings import Settings

D = Decimal

# name, category, supplier, unit, stock, min, max, cost per unit (EUR), location, expires in (days)
TEST_ITEMS: list[tuple[str, str, str, str, str, str, str, str, str, int | None]] = [
    ("Espresso beans", "Coffee", "Roastery Nord", "kg", "12.5", "3", "25", "18.5000", "Dry store", None),
    ("Whole milk", "Dairy", "Alpine Dairy", "l", "24", "10", "60", "1.0500", "Fridge", 2),
    ("Oat milk", "Dairy alternatives", "Oatly", "l", "4", "6", "30", "2.2000", "Dry store", None),
    ("Soy milk", "Dairy alternatives", "Alpro", "l", "8", "4", "20", "1.9000", "Dry store", None),
    ("Cups 8oz", "Packaging", "PackCo", "pcs", "800", "200", "2000", "0.0600", "Back room", None),
    ("Cups 12oz", "Packaging", "PackCo", "pcs", "150", "200", "2000", "0.0750", "Back room", None),
    ("Lids", "Packaging", "PackCo", "pcs", "1200", "300", "3000", "0.0250", "Back room", None),
    ("Black tea", "Tea", "Tea Traders", "kg", "1.2", "0.5", "3", "24.0000", "Dry store", None),
    ("Green tea", "Tea", "Tea Traders", "kg", "0.3", "0.5", "2", "32.0000", "Dry store", None),
    ("Chai concentrate", "Tea", "Tea Traders", "l", "3", "2", "10", "6.5000", "Fridge", None),
    ("Vanilla syrup", "Syrups", "Monin", "l", "2", "1", "6", "9.8000", "Bar", None),
    ("Caramel syrup", "Syrups", "Monin", "l", "0.5", "1", "6", "9.8000", "Bar", None),
    ("Hazelnut syrup", "Syrups", "Monin", "l", "1.5", "1", "6", "9.8000", "Bar", None),
    ("Sugar sachets", "Condiments", "Metro", "pcs", "1500", "300", "3000", "0.0120", "Bar", None),
    ("Croissant (frozen)", "Bakery", "Boulangerie Martin", "pcs", "60", "24", "120", "0.4500", "Freezer", None),
    ("Butter", "Dairy", "Alpine Dairy", "kg", "2", "1", "5", "8.9000", "Fridge", 10),
    ("Flour", "Bakery", "Metro", "kg", "10", "5", "25", "0.9500", "Dry store", None),
    ("Eggs", "Dairy", "Farm Huber", "pcs", "36", "24", "120", "0.2800", "Fridge", 12),
    ("Bread loaves", "Bakery", "Boulangerie Martin", "pcs", "3", "5", "20", "2.4000", "Bakery shelf", 1),
    ("Ham", "Deli", "Deli Meier", "kg", "1.8", "1", "4", "16.5000", "Fridge", 6),
    ("Cheese", "Deli", "Deli Meier", "kg", "2.4", "1", "5", "14.2000", "Fridge", 20),
    ("Napkins", "Packaging", "PackCo", "pcs", "2000", "500", "5000", "0.0100", "Back room", None),
    ("Cocoa powder", "Coffee", "Roastery Nord", "kg", "0", "0.5", "3", "11.0000", "Dry store", None),
    ("Stirrers", "Packaging", "PackCo", "pcs", "900", "200", "2000", "0.0050", "Bar", None),
]

# name, category, supplier, unit, min, max, cost per unit (EUR), location
PRODUCTION_ITEMS: list[tuple[str, str, str, str, str, str, str, str]] = [
    ("Espresso beans", "Coffee", "Local roaster", "kg", "3", "25", "18.5000", "Dry store"),
    ("Decaf beans", "Coffee", "Local roaster", "kg", "0.5", "5", "21.0000", "Dry store"),
    ("Filter coffee beans", "Coffee", "Local roaster", "kg", "1", "10", "16.0000", "Dry store"),
    ("Cocoa powder", "Coffee", "Wholesaler", "kg", "0.5", "3", "11.0000", "Dry store"),
    ("Whole milk", "Dairy", "Dairy", "l", "10", "60", "1.0500", "Fridge"),
    ("Skimmed milk", "Dairy", "Dairy", "l", "4", "20", "0.9900", "Fridge"),
    ("Oat milk", "Dairy alternatives", "Wholesaler", "l", "6", "30", "2.2000", "Dry store"),
    ("Soy milk", "Dairy alternatives", "Wholesaler", "l", "4", "20", "1.9000", "Dry store"),
    ("Almond milk", "Dairy alternatives", "Wholesaler", "l", "3", "15", "2.6000", "Dry store"),
    ("Whipping cream", "Dairy", "Dairy", "l", "1", "6", "4.2000", "Fridge"),
    ("Butter", "Dairy", "Dairy", "kg", "1", "5", "8.9000", "Fridge"),
    ("Eggs", "Dairy", "Farm", "pcs", "24", "120", "0.2800", "Fridge"),
    ("Black tea", "Tea", "Tea importer", "kg", "0.5", "3", "24.0000", "Dry store"),
    ("Green tea", "Tea", "Tea importer", "kg", "0.5", "2", "32.0000", "Dry store"),
    ("Peppermint tea", "Tea", "Tea importer", "kg", "0.2", "1", "28.0000", "Dry store"),
    ("Chai concentrate", "Tea", "Tea importer", "l", "2", "10", "6.5000", "Fridge"),
    ("Vanilla syrup", "Syrups", "Wholesaler", "l", "1", "6", "9.8000", "Bar"),
    ("Caramel syrup", "Syrups", "Wholesaler", "l", "1", "6", "9.8000", "Bar"),
    ("Hazelnut syrup", "Syrups", "Wholesaler", "l", "1", "6", "9.8000", "Bar"),
    ("Sugar sachets", "Condiments", "Wholesaler", "pcs", "300", "3000", "0.0120", "Bar"),
    ("Sweetener sachets", "Condiments", "Wholesaler", "pcs", "100", "1000", "0.0200", "Bar"),
    ("Croissant (frozen)", "Bakery", "Bakery", "pcs", "24", "120", "0.4500", "Freezer"),
    ("Pain au chocolat (frozen)", "Bakery", "Bakery", "pcs", "24", "120", "0.5500", "Freezer"),
    ("Bread loaves", "Bakery", "Bakery", "pcs", "5", "20", "2.4000", "Bakery shelf"),
    ("Flour", "Bakery", "Wholesaler", "kg", "5", "25", "0.9500", "Dry store"),
    ("Ham", "Deli", "Butcher", "kg", "1", "4", "16.5000", "Fridge"),
    ("Cheese", "Deli", "Cheese shop", "kg", "1", "5", "14.2000", "Fridge"),
    ("Tomatoes", "Produce", "Greengrocer", "kg", "1", "5", "3.2000", "Fridge"),
    ("Lemons", "Produce", "Greengrocer", "pcs", "10", "50", "0.3500", "Fridge"),
    ("Orange juice", "Drinks", "Wholesaler", "l", "4", "20", "2.8000", "Fridge"),
    ("Sparkling water 0.33l", "Drinks", "Wholesaler", "pcs", "24", "120", "0.4500", "Back room"),
    ("Cups 8oz", "Packaging", "Packaging supplier", "pcs", "200", "2000", "0.0600", "Back room"),
    ("Cups 12oz", "Packaging", "Packaging supplier", "pcs", "200", "2000", "0.0750", "Back room"),
    ("Lids", "Packaging", "Packaging supplier", "pcs", "300", "3000", "0.0250", "Back room"),
    ("Napkins", "Packaging", "Packaging supplier", "pcs", "500", "5000", "0.0100", "Back room"),
    ("Stirrers", "Packaging", "Packaging supplier", "pcs", "200", "2000", "0.0050", "Bar"),
]


def _counts(session: Session) -> dict[str, int]:
    def count(model) -> int:
        return session.scalar(select(func.count()).select_from(model).where(model.store_id == DEFAULT_STORE_ID)) or 0
    return {"inventory_items": count(InventoryItem), "stock_movements": count(StockMovement)}


def seed_test(session: Session, settings: Settings) -> dict[str, int]:
    now = utcnow()
    today = now.date()
    for name, category, supplier, unit, stock, min_, max_, cost, location, expires in TEST_ITEMS:
        if find_by_name(session, DEFAULT_STORE_ID, name) is not None:
            continue
        body = InventoryItemCreate(
            name=name, category=category, supplier=supplier, unit=unit, currentStock=D(stock), minStockLevel=D(min_),
            maxStockLevel=D(max_), costPerUnit=D(cost), location=location,
            expiryDate=today + timedelta(days=expires) if expires is not None else None)
        InventoryController.create(session, settings, None, body, now, store_id=DEFAULT_STORE_ID,
                                   reason="Opening stock (demo data)")
    return _counts(session)


def seed_production(session: Session, settings: Settings) -> dict[str, int]:
    now = utcnow()
    for name, category, supplier, unit, min_, max_, cost, location in PRODUCTION_ITEMS:
        if find_by_name(session, DEFAULT_STORE_ID, name) is not None:
            continue
        body = InventoryItemCreate(name=name, category=category, supplier=supplier, unit=unit,
                                   minStockLevel=D(min_), maxStockLevel=D(max_), costPerUnit=D(cost),
                                   location=location)
        InventoryController.create(session, settings, None, body, now, store_id=DEFAULT_STORE_ID)
    return _counts(session)
