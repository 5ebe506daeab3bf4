"""The benchmark database: created and dropped here, seeded with staff, stock and a 50-item menu.

Staff come from the project's own seed (orm/seed, the demo users); stock
items are inserted with SQL (there is no need to go through an API for
them); the menu goes through `POST /menu_items`, so it is exactly what a
manager would have built, modifier groups and recipes included.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine

from bench.client import Api
from orm.db import normalise_url

DEMO_PASSWORD = "password123"
STOCK_LEVEL = Decimal("1000000")  # high enough that no sale of the run raises a stock alert

# name, unit, category
INGREDIENTS = [
    ("Espresso beans", "kg", "Coffee"),
    ("Whole milk", "l", "Dairy"),
    ("Oat milk", "l", "Dairy"),
    ("Cup 12oz", "pcs", "Packaging"),
    ("Lid 12oz", "pcs", "Packaging"),
    ("Vanilla syrup", "l", "Syrups"),
    ("Black tea leaves", "kg", "Tea"),
    ("Cocoa powder", "kg", "Coffee"),
    ("Orange juice", "l", "Cold drinks"),
]

GROUPS = {
    "Milk choice": {"minSelect": 0, "maxSelect": 1, "modifiers": [
        {"name": "Whole milk", "priceDelta": "0.00"},
        {"name": "Oat milk", "priceDelta": "0.50", "recipe": [("Oat milk", "0.200")]},
    ]},
    "Syrup": {"minSelect": 0, "maxSelect": 2, "modifiers": [
        {"name": "Vanilla", "priceDelta": "0.40", "recipe": [("Vanilla syrup", "0.020")]},
        {"name": "Caramel", "priceDelta": "0.40", "recipe": [("Vanilla syrup", "0.020")]},
    ]},
    "Shots": {"minSelect": 0, "maxSelect": 2, "modifiers": [
        {"name": "Extra shot", "priceDelta": "0.60", "recipe": [("Espresso beans", "0.009")]},
        {"name": "Decaf", "priceDelta": "0.00"},
    ]},
}

CUP = [("Cup 12oz", "1"), ("Lid 12oz", "1")]
# name, base price, recipe (ingredient, quantity per unit), modifier groups
COFFEES = [
    ("Espresso", "2.20", [("Espresso beans", "0.009"), ("Cup 12oz", "1")], ["Shots"]),
    ("Americano", "2.80", [("Espresso beans", "0.018"), *CUP], ["Shots", "Syrup"]),
    ("Latte", "3.60", [("Espresso beans", "0.018"), ("Whole milk", "0.250"), *CUP],
     ["Milk choice", "Syrup", "Shots"]),
    ("Cappuccino", "3.40", [("Espresso beans", "0.018"), ("Whole milk", "0.150"), *CUP],
     ["Milk choice", "Syrup", "Shots"]),
    ("Flat white", "3.50", [("Espresso beans", "0.027"), ("Whole milk", "0.120"), *CUP],
     ["Milk choice", "Shots"]),
    ("Mocha", "3.90", [("Espresso beans", "0.018"), ("Whole milk", "0.200"), ("Cocoa powder", "0.015"), *CUP],
     ["Milk choice", "Syrup", "Shots"]),
    ("Macchiato", "2.60", [("Espresso beans", "0.018"), ("Whole milk", "0.030"), *CUP], ["Milk choice", "Shots"]),
    ("Cortado", "3.00", [("Espresso beans", "0.018"), ("Whole milk", "0.060"), *CUP], ["Milk choice", "Shots"]),
    ("Iced latte", "3.90", [("Espresso beans", "0.018"), ("Whole milk", "0.250"), *CUP],
     ["Milk choice", "Syrup", "Shots"]),
    ("Hot chocolate", "3.20", [("Cocoa powder", "0.030"), ("Whole milk", "0.250"), *CUP], ["Milk choice", "Syrup"]),
]
SIZES = [("Small", "0.00"), ("Medium", "0.40"), ("Large", "0.80")]
TEAS = [("Black tea", "2.40"), ("Green tea", "2.40"), ("Chai latte", "3.40"), ("Peppermint tea", "2.40")]
COLD = [("Orange juice", "3.20", [("Orange juice", "0.250"), *CUP]), ("Lemonade", "3.00", CUP),
        ("Iced tea", "2.90", [("Black tea leaves", "0.004"), *CUP])]
PASTRIES = [("Croissant", "2.40"), ("Pain au chocolat", "2.70"), ("Blueberry muffin", "2.90"),
            ("Cinnamon roll", "3.10"), ("Brownie", "2.80"), ("Banana bread", "3.20")]
FOOD = [("Cheese toastie", "5.90"), ("Bagel with cream cheese", "4.50"), ("Tomato soup", "5.20")]

# What every POST /orders of the run buys: 3 lines with modifiers, recipes touching 7 ingredients
# (beans, whole and oat milk, cocoa, vanilla syrup, cup, lid).
ORDER_LINES = [("Latte", "Medium", 2, ["Oat milk"]), ("Mocha", "Medium", 1, ["Vanilla"]),
               ("Espresso", "Small", 1, ["Extra shot"])]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _admin_engine(url: str) -> Engine:
    return create_engine(normalise_url(with_database(url, "postgres")), isolation_level="AUTOCOMMIT")


def recreate_database(url: str) -> None:
    if not url.startswith(("postgresql://", "postgres://")):
        raise SystemExit("BENCH_DATABASE_URL must be a postgresql:// URL (the bench measures PostgreSQL)")
    name = database_name(url)
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def drop_database(url: str) -> None:
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)'))
    finally:
        engine.dispose()


def keep_statistics(engine: Engine) -> bool:
    """ANALYZE the database when the server's autovacuum is off (True when it ran).

    In production autovacuum keeps the planner's statistics current as tables grow; a server with it
    off (this machine's PostgreSQL is one) plans every query of a table that has grown from empty as if
    it were still empty, and a benchmark that sells thousands of orders would measure stale plans no
    deployment has.  So the benchmark does what autovacuum would before each measured run."""
    with engine.connect() as conn:
        if conn.execute(text("SHOW autovacuum")).scalar() == "on":
            return False
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return True


def seed_staff(url: str) -> None:
    """Schema at head plus the project's stores, demo staff and settings seeds (not its demo menu)."""
    from orm.controllers.identity.server_secrets import load_or_create
    from orm.db import make_engine, make_session_factory, unit_of_work
    from orm.migrate import upgrade_to_head
    from orm.seed import steps
    from settings import load_settings, with_generated_secrets

    settings = load_settings(database_url=url)
    upgrade_to_head(url)
    engine = make_engine(url, pooled=False)
    try:
        factory = make_session_factory(engine)
        settings = with_generated_secrets(settings, unit_of_work(factory, load_or_create, ["jwt_secret",
                                                                                          "pin_pepper"]))
        for area, fn in steps("test"):
            if area in ("stores", "identity", "settings"):
                unit_of_work(factory, fn, settings)
    finally:
        engine.dispose()


def seed_stock(url: str, store_id: str | None = None) -> dict[str, str]:
    """The ingredients of a store (default: the default store), with plenty in stock; returns name -> id."""
    from orm.column_types import new_id
    from orm.models import Base

    table = Base.metadata.tables["inventory_items"]
    ids = {name: new_id() for name, _, _ in INGREDIENTS}
    rows = [{"id": ids[name], "name": name, "unit": unit, "category": category, "current_stock": STOCK_LEVEL,
             "min_stock_level": Decimal("10"), "supplier": "Bench Supplies",
             **({"store_id": store_id} if store_id else {})} for name, unit, category in INGREDIENTS]
    engine = create_engine(normalise_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(insert(table), rows)
    finally:
        engine.dispose()
    return ids


def menu_definitions(stock: dict[str, str]) -> list[dict[str, Any]]:
    """Exactly 50 menu items; the first item offering a modifier group defines it, the rest refer to it."""
    defined: set[str] = set()

    def recipe(lines: list[tuple[str, str]]) -> list[dict[str, str]]:
        return [{"inventoryItemId": stock[name], "quantity": qty} for name, qty in lines]

    def groups(names: list[str]) -> list[dict[str, Any]]:
        out = []
        for name in names:
            if name in defined:
                out.append({"name": name})
                continue
            defined.add(name)
            spec = GROUPS[name]
            out.append({"name": name, "minSelect": spec["minSelect"], "maxSelect": spec["maxSelect"],
                        "modifiers": [{"name": m["name"], "priceDelta": m["priceDelta"],
                                       "recipe": recipe(m.get("recipe", []))} for m in spec["modifiers"]]})
        return out

    items: list[dict[str, Any]] = []
    order = 0
    for name, price, lines, group_names in COFFEES:
        for size, extra in SIZES:
            order += 1
            items.append({"name": name, "size": size, "category": "Coffee",
                          "price": str(Decimal(price) + Decimal(extra)),
                          "description": f"{name}, {size.lower()}: our house blend, roasted in town, "
                                         "pulled fresh for every cup.",
                          "sortOrder": order, "sku": f"COF-{order:03d}", "recipe": recipe(lines),
                          "modifierGroups": groups(group_names)})
    for name, price in TEAS:
        for size, extra in SIZES[:2]:
            order += 1
            items.append({"name": name, "size": size, "category": "Tea",
                          "price": str(Decimal(price) + Decimal(extra)),
                          "description": f"{name}, loose leaf, steeped to order.", "sortOrder": order,
                          "sku": f"TEA-{order:03d}", "recipe": recipe([("Black tea leaves", "0.003"), *CUP]),
                          "modifierGroups": groups(["Syrup"])})
    for name, price, lines in COLD:
        order += 1
        items.append({"name": name, "category": "Cold drinks", "price": price, "sortOrder": order,
                      "description": f"{name}, served chilled.", "sku": f"CLD-{order:03d}", "recipe": recipe(lines)})
    for name, price in PASTRIES:
        order += 1
        items.append({"name": name, "category": "Pastries", "price": price, "taxRate": "0.07", "sortOrder": order,
                      "description": f"{name}, baked this morning by the bakery next door.", "sku": f"PAS-{order:03d}",
                      "stockCount": 100000})
    for name, price in FOOD:
        order += 1
        items.append({"name": name, "category": "Food", "price": price, "taxRate": "0.07", "sortOrder": order,
                      "description": f"{name}, made to order in the kitchen.", "sku": f"FOD-{order:03d}"})
    assert len(items) == 50, len(items)
    return items


@dataclass
class Catalogue:
    menu: list[dict[str, Any]]  # GET /menu_items items (Decimals for money)
    order_body: dict[str, Any]  # the POST /orders body of the run


def seed_menu(admin: Api, stock: dict[str, str]) -> None:
    for item in menu_definitions(stock):
        admin.call("POST", "/menu_items", item)


def load_catalogue(api: Api) -> Catalogue:
    menu = api.call("GET", "/menu_items")["menu_items"]
    by_key = {(m["name"], m.get("size") or ""): m for m in menu}
    lines = []
    for name, size, quantity, modifier_names in ORDER_LINES:
        item = by_key[(name, size)]
        mods = {m["name"]: m["id"] for g in item["modifierGroups"] for m in g["modifiers"]}
        lines.append({"menuItemId": item["id"], "quantity": quantity,
                      "modifierIds": [mods[n] for n in modifier_names]})
    body = {"items": lines, "payments": [{"method": "cash", "tendered": "50.00"}], "terminalId": "BENCH-1"}
    return Catalogue(menu=menu, order_body=body)
