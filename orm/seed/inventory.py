"""Inventory seeds: demo stock (some of it low, so alerts show) and a real café's starting catalogue.

Both get-or-create by name, so running them again changes nothing; they return the true number of
inventory items and stock movements of the default store.
- seed_test: 44 items, every one with supplier, costs and a maximum; opening stock is recorded as
  `count` movements on the history's first morning (alerts are raised like for any stock change).
  Five items are low (above 0, below a real minimum), one is out of stock, two expire within the
  warning window; `stock_take` (run by the order seed after its history) counts them back to that.
- seed_production: 49 ingredients and supplies with EUR costs and no stock yet; until the opening
  count is entered they show out_of_stock (and the sweep raises those alerts).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orm.controllers.inventory import alerts, inventory_items
from orm.controllers.inventory import stock as inventory_stock
from orm.controllers.inventory.inventory_items import find_by_name
from orm.domain.business_days import local_date
from orm.domain.schemas.inventory import InventoryItemCreate, Unit
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_inventory import InventoryItem, StockMovement
from orm.seed.timeline import history_start, resolve_now, store_zone
from settings import Settings

D = Decimal

# name, category, supplier, unit, stock, min, max, cost per unit (EUR), location, expires in (days)
TEST_ITEMS: list[tuple[str, str, str, Unit, str, str, str, str, str, int | None]] = [
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
    ("Decaf beans", "Coffee", "Roastery Nord", "kg", "2", "0.5", "5", "21.0000", "Dry store", None),
    ("Almond milk", "Dairy alternatives", "Alpro", "l", "6", "3", "15", "2.6000", "Dry store", None),
    ("Earl Grey tea", "Tea", "Tea Traders", "kg", "0.8", "0.3", "2", "28.0000", "Dry store", None),
    ("Peppermint tea", "Tea", "Tea Traders", "kg", "0.6", "0.2", "1", "28.0000", "Dry store", None),
    ("Matcha powder", "Tea", "Tea Traders", "kg", "0.4", "0.1", "1", "85.0000", "Dry store", None),
    ("Whipping cream", "Dairy", "Alpine Dairy", "l", "3", "1", "6", "4.2000", "Fridge", 8),
    ("Ice", "Dry goods", "Metro", "kg", "15", "5", "30", "0.4000", "Freezer", None),
    ("Sparkling water 0.33l", "Drinks", "Metro", "pcs", "48", "24", "120", "0.4500", "Back room", None),
    ("Still water 0.33l", "Drinks", "Metro", "pcs", "48", "24", "120", "0.3500", "Back room", None),
    ("Bagels", "Bakery", "Boulangerie Martin", "pcs", "18", "6", "30", "0.6500", "Bakery shelf", 4),
    ("Avocado", "Produce", "Fresh Market", "pcs", "12", "6", "24", "0.9000", "Fridge", 5),
    ("Cream cheese", "Dairy", "Alpine Dairy", "kg", "1.5", "0.5", "3", "7.8000", "Fridge", 14),
    ("Granola", "Dry goods", "Metro", "kg", "3", "1", "8", "6.2000", "Dry store", None),
    ("Yoghurt", "Dairy", "Alpine Dairy", "kg", "5", "2", "12", "3.1000", "Fridge", 9),
    ("Tortilla wraps", "Bakery", "Metro", "pcs", "30", "10", "60", "0.3500", "Dry store", None),
    ("Chicken breast", "Deli", "Deli Meier", "kg", "2.5", "1", "5", "11.9000", "Fridge", 4),
    ("Mozzarella", "Dairy", "Alpine Dairy", "kg", "1.8", "0.5", "4", "9.5000", "Fridge", 7),
    ("Tomatoes", "Produce", "Fresh Market", "kg", "3", "1", "6", "3.2000", "Fridge", None),
    ("Soup base", "Deli", "Deli Meier", "l", "8", "3", "15", "4.5000", "Fridge", 5),
    ("Orange juice", "Drinks", "Fresh Market", "l", "8", "4", "20", "2.8000", "Fridge", 6),
]

# name, category, supplier, unit, min, max, cost per unit (EUR), location
PRODUCTION_ITEMS: list[tuple[str, str, str, Unit, str, str, str, str]] = [
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
    ("Earl Grey tea", "Tea", "Tea importer", "kg", "0.3", "2", "28.0000", "Dry store"),
    ("Matcha powder", "Tea", "Tea importer", "kg", "0.1", "1", "85.0000", "Dry store"),
    ("Ice", "Dry goods", "Wholesaler", "kg", "5", "30", "0.4000", "Freezer"),
    ("Still water 0.33l", "Drinks", "Wholesaler", "pcs", "24", "120", "0.3500", "Back room"),
    ("Bagels", "Bakery", "Bakery", "pcs", "6", "30", "0.6500", "Bakery shelf"),
    ("Avocado", "Produce", "Greengrocer", "pcs", "6", "24", "0.9000", "Fridge"),
    ("Cream cheese", "Dairy", "Dairy", "kg", "0.5", "3", "7.8000", "Fridge"),
    ("Granola", "Dry goods", "Wholesaler", "kg", "1", "8", "6.2000", "Dry store"),
    ("Yoghurt", "Dairy", "Dairy", "kg", "2", "12", "3.1000", "Fridge"),
    ("Tortilla wraps", "Bakery", "Wholesaler", "pcs", "10", "60", "0.3500", "Dry store"),
    ("Chicken breast", "Deli", "Butcher", "kg", "1", "5", "11.9000", "Fridge"),
    ("Mozzarella", "Dairy", "Cheese shop", "kg", "0.5", "4", "9.5000", "Fridge"),
    ("Soup base", "Deli", "Wholesaler", "l", "3", "15", "4.5000", "Fridge"),
]


# Every ingredient either seed knows, with its details (the demo's where both have it): also what the
# menu seed gives an ingredient that it has to create itself, so no item ever lacks supplier or costs.
def _details(category: str, supplier: str, unit: str, min_: str, max_: str, cost: str,
             location: str) -> dict[str, object]:
    return dict(category=category, supplier=supplier, unit=unit, min_stock_level=D(min_),
                max_stock_level=D(max_), cost_per_unit=D(cost), location=location)


DETAILS = {t[0]: _details(*t[1:4], *t[5:9]) for t in TEST_ITEMS}
for _p in PRODUCTION_ITEMS:
    DETAILS.setdefault(_p[0], _details(*_p[1:]))
OPENING_LEVELS = {t[0]: D(t[4]) for t in TEST_ITEMS}


def new_item(store_id: str, name: str, now: datetime) -> InventoryItem:
    """An ingredient with its catalogue details and no stock yet (unknown names: pcs, no details)."""
    details = DETAILS.get(name, {"unit": "pcs"})
    return InventoryItem(store_id=store_id, name=name, created_at=now, updated_at=now, **details)


def _counts(session: Session) -> dict[str, int]:
    def count(model: type[InventoryItem] | type[StockMovement]) -> int:
        return session.scalar(select(func.count()).select_from(model).where(model.store_id == DEFAULT_STORE_ID)) or 0
    return {"inventory_items": count(InventoryItem), "stock_movements": count(StockMovement)}


def seed_test(session: Session, settings: Settings, *, now: datetime | None = None, **_: object) -> dict[str, int]:
    """Opening stock counted on the history's first morning; expiry dates relative to the store's today."""
    now = resolve_now(now)
    zone = store_zone(session, settings)
    opened, today = history_start(now, zone), local_date(now, zone)
    for name, category, supplier, unit, stock, min_, max_, cost, location, expires in TEST_ITEMS:
        if find_by_name(session, DEFAULT_STORE_ID, name) is not None:
            continue
        body = InventoryItemCreate(
            name=name, category=category, supplier=supplier, unit=unit, currentStock=D(stock), minStockLevel=D(min_),
            maxStockLevel=D(max_), costPerUnit=D(cost), location=location,
            expiryDate=today + timedelta(days=expires) if expires is not None else None)
        inventory_items.create(session, settings, None, body, opened, store_id=DEFAULT_STORE_ID,
                                   reason="Opening stock (demo data)")
    alerts.reconcile_items(session, settings, DEFAULT_STORE_ID, now)  # expiry is judged on today
    return _counts(session)


def stock_take(session: Session, settings: Settings, now: datetime, user_id: str | None) -> None:
    """Count the demo items back to their opening levels (the low, out-of-stock and expiring ones included),
    so the inventory screen and the alerts tell the same story whatever sales went before."""
    for name, level in OPENING_LEVELS.items():
        item = find_by_name(session, DEFAULT_STORE_ID, name)
        if item is not None and item.is_active:
            inventory_stock.set_level(session, store_id=DEFAULT_STORE_ID, item_id=item.id, new_level=level,
                                      movement_type="count", user_id=user_id, reason="Stock take (demo data)",
                                      reference=None, now=now)
    alerts.reconcile_items(session, settings, DEFAULT_STORE_ID, now)


def seed_production(session: Session, settings: Settings, *, now: datetime | None = None,
                    **_: object) -> dict[str, int]:
    now = resolve_now(now)
    for name, category, supplier, unit, min_, max_, cost, location in PRODUCTION_ITEMS:
        if find_by_name(session, DEFAULT_STORE_ID, name) is not None:
            continue
        body = InventoryItemCreate(name=name, category=category, supplier=supplier, unit=unit,
                                   minStockLevel=D(min_), maxStockLevel=D(max_), costPerUnit=D(cost),
                                   location=location)
        inventory_items.create(session, settings, None, body, now, store_id=DEFAULT_STORE_ID)
    return _counts(session)
