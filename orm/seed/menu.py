"""Menu seeds: a demo menu for development/tests and a real café's starting menu.

Both are idempotent: items are get-or-create by name + size (an existing item
is never changed), and modifier groups are upserted by name.  Recipes name
inventory items; any that the inventory seed has not created are created
here (by name, with a sensible unit), so this seed also works on its own.

Production images: small real JPEGs (a coloured card with the item's name)
are drawn with Pillow into <uploads>/menu_items/<slug>.jpg and
<uploads>/thumbnails/<slug>.jpg when missing, so the catalogue shows pictures
from the first start; replace them through POST /upload/image.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageOps
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orm.controllers.menu import menu_items
from orm.domain.images import IMAGE_SUBDIR, THUMB_SIZE, THUMB_SUBDIR, URL_PREFIX
from orm.domain.schemas.menu import MenuItemCreate
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_inventory import InventoryItem
from orm.models.model_menu import MenuCategory, MenuItem, ModifierGroup
from orm.seed.inventory import new_item
from orm.seed.timeline import history_start, resolve_now, store_zone
from settings import Settings

MILK = {"name": "Milk", "minSelect": 0, "maxSelect": 1, "modifiers": [
    {"name": "Oat milk", "priceDelta": "0.40", "recipe": [("Oat milk", "0.200")]},
    {"name": "Soy milk", "priceDelta": "0.40", "recipe": [("Soy milk", "0.200")]},
    {"name": "Almond milk", "priceDelta": "0.50", "recipe": [("Almond milk", "0.200")]},
]}
EXTRAS = {"name": "Extras", "minSelect": 0, "maxSelect": 3, "modifiers": [
    {"name": "Extra shot", "priceDelta": "0.60", "recipe": [("Espresso beans", "0.009")]},
    {"name": "Decaf", "priceDelta": "0.00", "recipe": [("Decaf beans", "0.009")]},
    {"name": "Whipped cream", "priceDelta": "0.50", "recipe": [("Whipping cream", "0.030")]},
]}
SYRUPS = {"name": "Syrups", "minSelect": 0, "maxSelect": 2, "modifiers": [
    {"name": "Vanilla syrup", "priceDelta": "0.50", "recipe": [("Vanilla syrup", "0.010")]},
    {"name": "Caramel syrup", "priceDelta": "0.50", "recipe": [("Caramel syrup", "0.010")]},
    {"name": "Hazelnut syrup", "priceDelta": "0.50", "recipe": [("Hazelnut syrup", "0.010")]},
]}
GROUPS: dict[str, dict[str, Any]] = {"Milk": MILK, "Extras": EXTRAS, "Syrups": SYRUPS}

# Every item has a size: "Regular" where there is only one (the client shows and edits it).
ONE_SIZE = "Regular"
CUP = {"Small": "Cups 8oz", "Large": "Cups 12oz", ONE_SIZE: "Cups 8oz", "Single": "Cups 8oz", "Double": "Cups 8oz"}


def _coffee(name: str, sizes: dict[str, str], shots: dict[str, str], milk: dict[str, str] | None = None,
            extra: list[tuple[str, str]] | None = None, groups: tuple[str, ...] = ("Milk", "Extras", "Syrups"),
            category: str = "Coffee", desc: str = "") -> list[dict[str, Any]]:
    out = []
    for size, price in sizes.items():
        recipe = [("Espresso beans", shots[size])] if shots.get(size) else []
        if milk and milk.get(size):
            recipe.append(("Whole milk", milk[size]))
        recipe += extra or []
        recipe += [(CUP[size], "1"), ("Lids", "1")]
        out.append({"name": name, "size": size, "price": price, "category": category, "description": desc,
                    "recipe": recipe, "groups": groups})
    return out


def _tea(name: str, sizes: dict[str, str], leaf: str, amount: dict[str, str], desc: str = "",
         groups: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [{"name": name, "size": size, "price": price, "category": "Tea", "description": desc,
             "recipe": [(leaf, amount[size]), (CUP[size], "1"), ("Lids", "1")], "groups": groups}
            for size, price in sizes.items()]


def _pastry(name: str, price: str, stock: int, desc: str = "") -> dict[str, Any]:
    return {"name": name, "size": ONE_SIZE, "price": price, "category": "Pastries", "description": desc,
            "stockCount": stock, "recipe": [("Napkins", "1")], "groups": ()}


def _food(name: str, price: str, recipe: list[tuple[str, str]], desc: str = "") -> dict[str, Any]:
    return {"name": name, "size": ONE_SIZE, "price": price, "category": "Food", "description": desc, "recipe": recipe,
            "groups": ()}


SMALL_LARGE_SHOTS = {"Small": "0.009", "Large": "0.018"}
SMALL_LARGE_MILK = {"Small": "0.150", "Large": "0.250"}

TEST_MENU: list[dict[str, Any]] = [
    *_coffee("Espresso", {"Single": "2.00", "Double": "2.80"}, {"Single": "0.009", "Double": "0.018"},
             groups=("Extras",)),
    *_coffee("Americano", {"Small": "2.60", "Large": "3.20"}, SMALL_LARGE_SHOTS, groups=("Milk", "Extras")),
    *_coffee("Cappuccino", {"Small": "3.20", "Large": "3.90"}, SMALL_LARGE_SHOTS, SMALL_LARGE_MILK),
    *_coffee("Latte", {"Small": "3.40", "Large": "4.10"}, SMALL_LARGE_SHOTS, SMALL_LARGE_MILK),
    *_coffee("Flat White", {ONE_SIZE: "3.60"}, {ONE_SIZE: "0.018"}, {ONE_SIZE: "0.120"}),
    *_coffee("Mocha", {"Small": "3.80", "Large": "4.50"}, SMALL_LARGE_SHOTS, SMALL_LARGE_MILK,
             [("Cocoa powder", "0.015")]),
    *_coffee("Macchiato", {ONE_SIZE: "2.60"}, {ONE_SIZE: "0.009"}, {ONE_SIZE: "0.030"}),
    *_coffee("Cortado", {ONE_SIZE: "3.00"}, {ONE_SIZE: "0.018"}, {ONE_SIZE: "0.060"}),
    *_coffee("Caramel Latte", {"Small": "3.90", "Large": "4.60"}, SMALL_LARGE_SHOTS, SMALL_LARGE_MILK,
             [("Caramel syrup", "0.015")]),
    *_coffee("Vanilla Latte", {"Small": "3.90", "Large": "4.60"}, SMALL_LARGE_SHOTS, SMALL_LARGE_MILK,
             [("Vanilla syrup", "0.015")]),
    *_coffee("Iced Latte", {"Large": "4.20"}, {"Large": "0.018"}, {"Large": "0.200"}, [("Ice", "0.150")]),
    *_coffee("Cold Brew", {"Small": "3.30", "Large": "3.90"}, {"Small": "0.020", "Large": "0.030"},
             groups=("Milk", "Syrups")),
    *_tea("Black Tea", {"Small": "2.40", "Large": "2.90"}, "Black tea", {"Small": "0.003", "Large": "0.005"},
          groups=("Milk",)),
    *_tea("Green Tea", {"Small": "2.40", "Large": "2.90"}, "Green tea", {"Small": "0.003", "Large": "0.005"}),
    *_tea("Chai Latte", {"Small": "3.50", "Large": "4.20"}, "Chai concentrate",
          {"Small": "0.050", "Large": "0.080"}, groups=("Milk", "Syrups")),
    *_tea("Earl Grey", {ONE_SIZE: "2.60"}, "Earl Grey tea", {ONE_SIZE: "0.003"}),
    *_tea("Peppermint Tea", {ONE_SIZE: "2.60"}, "Peppermint tea", {ONE_SIZE: "0.003"}),
    *_tea("Matcha Latte", {"Small": "3.80", "Large": "4.50"}, "Matcha powder", {"Small": "0.003", "Large": "0.005"},
          groups=("Milk", "Syrups")),
    _pastry("Croissant", "2.20", 24),
    _pastry("Pain au Chocolat", "2.50", 18),
    _pastry("Almond Croissant", "2.90", 12),
    _pastry("Blueberry Muffin", "2.80", 12),
    _pastry("Chocolate Muffin", "2.80", 12),
    _pastry("Cinnamon Roll", "3.00", 10),
    _pastry("Banana Bread", "2.90", 8),
    _pastry("Brownie", "2.70", 15),
    _pastry("Carrot Cake", "3.80", 8),
    _pastry("Cheesecake", "4.20", 8),
    _pastry("Scone", "2.60", 10),
    _pastry("Chocolate Chip Cookie", "1.90", 20),
    _food("Ham & Cheese Toastie", "5.90", [("Bread loaves", "0.125"), ("Ham", "0.060"), ("Cheese", "0.040")]),
    _food("Avocado Toast", "7.50", [("Bread loaves", "0.125"), ("Avocado", "1")]),
    _food("Bagel with Cream Cheese", "4.50", [("Bagels", "1"), ("Cream cheese", "0.050")]),
    _food("Granola Bowl", "5.50", [("Granola", "0.080"), ("Yoghurt", "0.150")]),
    _food("Soup of the Day", "5.20", [("Soup base", "0.350")]),
    _food("Chicken Wrap", "6.90", [("Tortilla wraps", "1"), ("Chicken breast", "0.100")]),
    _food("Caprese Sandwich", "6.50", [("Bread loaves", "0.125"), ("Mozzarella", "0.080"),
                                        ("Tomatoes", "0.080")]),
    _food("Fresh Orange Juice", "3.90", [("Orange juice", "0.250")]),
]

# A German café: drinks are 19 % whether eaten in or taken away; food is 7 % to take away.
PRODUCTION_CATEGORIES = {
    "Coffee": (Decimal("0.19"), Decimal("0.19")), "Tea": (Decimal("0.19"), Decimal("0.19")),
    "Pastries": (Decimal("0.19"), Decimal("0.07")), "Food": (Decimal("0.19"), Decimal("0.07")),
    "Cold Drinks": (Decimal("0.19"), Decimal("0.19")),
}
_D = {
    "Espresso": "A short, intense shot of our house blend with a thick crema.",
    "Americano": "Espresso lengthened with hot water: smooth and full-bodied.",
    "Cappuccino": "Espresso with steamed milk and a deep layer of velvety foam.",
    "Latte": "Espresso with plenty of steamed milk and a thin layer of microfoam.",
    "Flat White": "A double ristretto with silky microfoam, stronger than a latte.",
    "Mocha": "Espresso, steamed milk and rich cocoa.",
    "Macchiato": "Espresso marked with a spoonful of milk foam.",
    "Cortado": "Espresso cut with an equal amount of warm milk.",
    "Caramel Latte": "Our latte with house caramel syrup.",
    "Vanilla Latte": "Our latte with Madagascar vanilla syrup.",
    "Iced Latte": "Double espresso over ice with cold milk.",
    "Cold Brew": "Steeped cold for 18 hours: low in acidity, naturally sweet.",
}
PRODUCTION_MENU: list[dict[str, Any]] = (
    [dict(i, description=_D.get(i["name"], i["description"])) for i in TEST_MENU if i["category"] == "Coffee"]
    + _tea("Black Tea", {"Small": "2.60", "Large": "3.10"}, "Black tea", {"Small": "0.003", "Large": "0.005"},
           "Assam breakfast tea, served with milk on request.", ("Milk",))
    + _tea("Green Tea", {"Small": "2.60", "Large": "3.10"}, "Green tea", {"Small": "0.003", "Large": "0.005"},
           "Japanese sencha, grassy and fresh.")
    + _tea("Chai Latte", {"Small": "3.70", "Large": "4.40"}, "Chai concentrate",
           {"Small": "0.050", "Large": "0.080"}, "Spiced black tea with steamed milk.", ("Milk", "Syrups"))
    + _tea("Earl Grey", {ONE_SIZE: "2.80"}, "Earl Grey tea", {ONE_SIZE: "0.003"}, "Black tea with bergamot.")
    + _tea("Peppermint Tea", {ONE_SIZE: "2.80"}, "Peppermint tea", {ONE_SIZE: "0.003"}, "Whole peppermint leaves.")
    + _tea("Matcha Latte", {"Small": "4.00", "Large": "4.70"}, "Matcha powder", {"Small": "0.003", "Large": "0.005"},
           "Ceremonial-grade matcha whisked with steamed milk.", ("Milk", "Syrups"))
    + [
        _pastry("Butter Croissant", "2.40", 30, "Baked every morning with French butter."),
        _pastry("Pain au Chocolat", "2.70", 20, "Flaky pastry with two bars of dark chocolate."),
        _pastry("Almond Croissant", "3.10", 12, "Twice-baked, filled with almond cream."),
        _pastry("Blueberry Muffin", "2.90", 12, "With wild blueberries and a crumble top."),
        _pastry("Cinnamon Bun", "3.20", 12, "Swedish-style, cardamom and cinnamon."),
        _pastry("Banana Bread", "3.00", 10, "A thick slice, served warm with butter on request."),
        _pastry("Chocolate Brownie", "2.90", 15, "Fudgy, with Belgian dark chocolate."),
        _pastry("Carrot Cake", "4.10", 8, "With walnuts and cream cheese frosting."),
        _pastry("New York Cheesecake", "4.50", 8, "Baked on a buttery biscuit base."),
        _pastry("Apple Strudel", "3.90", 8, "With raisins, cinnamon and vanilla sauce."),
        _pastry("Plain Scone", "2.80", 10, "With clotted cream and strawberry jam."),
        _pastry("Chocolate Chip Cookie", "2.10", 24, "Chewy, with sea salt."),
        _food("Ham & Cheese Toastie", "6.20", [("Bread loaves", "0.125"), ("Ham", "0.060"), ("Cheese", "0.040")],
              "Black Forest ham and mature cheddar on sourdough."),
        _food("Avocado Toast", "7.90", [("Bread loaves", "0.125"), ("Avocado", "1")],
              "Smashed avocado, chilli flakes and lime on sourdough."),
        _food("Bagel with Cream Cheese", "4.70", [("Bagels", "1"), ("Cream cheese", "0.050")],
              "Toasted sesame bagel with chive cream cheese."),
        _food("Granola Bowl", "5.90", [("Granola", "0.080"), ("Yoghurt", "0.150")],
              "House granola, Greek yoghurt and seasonal fruit."),
        _food("Soup of the Day", "5.50", [("Soup base", "0.350")], "Ask us what is cooking; with bread."),
        _food("Chicken Caesar Wrap", "7.20", [("Tortilla wraps", "1"), ("Chicken breast", "0.100")],
              "Grilled chicken, romaine and parmesan."),
        _food("Caprese Sandwich", "6.80", [("Bread loaves", "0.125"), ("Mozzarella", "0.080"),
                                            ("Tomatoes", "0.080")], "Mozzarella, tomato and basil pesto."),
        dict(_food("Fresh Orange Juice", "4.20", [("Orange juice", "0.250")], "Pressed to order."),
             category="Cold Drinks"),
        # Bottles are handed over as they are: nothing for the bar to prepare.
        dict(_food("Sparkling Water", "2.50", [("Sparkling water 0.33l", "1")], "0.33 l bottle."),
             category="Cold Drinks", station="none"),
        dict(_food("Still Water", "2.50", [("Still water 0.33l", "1")], "0.33 l bottle."), category="Cold Drinks",
             station="none"),
    ]
)


# Where each category's items are made (pastries are handed over from the counter: no station).
CATEGORY_STATIONS = {"Coffee": "bar", "Tea": "bar", "Cold Drinks": "bar", "Food": "kitchen"}


def slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def ensure_ingredients(session: Session, names: set[str], store_id: str = DEFAULT_STORE_ID,
                       now: datetime | None = None) -> dict[str, str]:
    """Inventory item id by name, creating the missing ones (with the inventory seed's details, no stock)."""
    found = dict(session.execute(select(InventoryItem.name, InventoryItem.id).where(
        InventoryItem.store_id == store_id, InventoryItem.name.in_(names))).tuples().all())
    for name in sorted(names - set(found)):
        item = new_item(store_id, name, resolve_now(now))
        session.add(item)
        session.flush()
        found[name] = item.id
    return found


def _body(spec: dict[str, Any], ingredients: dict[str, str], defined: set[str]) -> MenuItemCreate:
    def recipe(lines: list[tuple[str, str]]) -> list[dict[str, str]]:
        return [{"inventoryItemId": ingredients[n], "quantity": q} for n, q in lines]

    groups = []
    for name in spec["groups"]:
        if name in defined:
            groups.append({"name": name})
        else:  # the first item offering a group defines it (upserted by name)
            g = GROUPS[name]
            groups.append({**g, "modifiers": [{**m, "recipe": recipe(m["recipe"])} for m in g["modifiers"]]})
            defined.add(name)
    body = {k: v for k, v in spec.items() if k not in ("groups", "recipe")}
    return MenuItemCreate.model_validate({**body, "recipe": recipe(spec["recipe"]), "modifierGroups": groups})


def _seed(session: Session, settings: Settings, menu: list[dict[str, Any]], now: datetime, *, images: bool = False,
          categories: dict[str, tuple[Decimal, Decimal]] | None = None) -> dict[str, int]:
    store_id = DEFAULT_STORE_ID
    names = {n for spec in menu for n, _ in spec["recipe"]}
    names |= {n for g in GROUPS.values() for m in g["modifiers"] for n, _ in m["recipe"]}
    ingredients = ensure_ingredients(session, names, store_id, now)
    # Items seeded before every item had a size (NULL) count as the one-size item.
    existing = {(name, size or ONE_SIZE) for name, size in
                session.execute(select(MenuItem.name, MenuItem.size).where(MenuItem.store_id == store_id))}
    defined: set[str] = set()
    for spec in menu:
        if (spec["name"], spec["size"]) in existing:
            continue
        item = menu_items.create(session, settings, _body(spec, ingredients, defined), actor=None,
                                     store_id=store_id, now=now)
        if images:
            urls = draw_placeholder(settings.uploads_dir, spec)
            menu_items.set_image(session, item["id"], *urls, store_id=store_id, now=now)
    for unstationed in session.scalars(select(MenuCategory).where(MenuCategory.store_id == store_id,
                                                                  MenuCategory.name.in_(CATEGORY_STATIONS),
                                                                  MenuCategory.station.is_(None))):
        unstationed.station = CATEGORY_STATIONS[unstationed.name]
        menu_items.bump_revision(session, store_id)
    for name, (rate, take_away) in (categories or {}).items():
        category = session.scalar(select(MenuCategory).where(MenuCategory.store_id == store_id,
                                                             MenuCategory.name == name))
        if category is not None and category.tax_rate is None and category.take_away_tax_rate is None:
            category.tax_rate, category.take_away_tax_rate = rate, take_away
            menu_items.bump_revision(session, store_id)
    return counts(session)


def counts(session: Session) -> dict[str, int]:
    def count(query: Any) -> int:
        return session.scalar(query) or 0

    return {
        "menu_items": count(select(func.count()).select_from(MenuItem)),
        "categories": count(select(func.count()).select_from(MenuCategory)),
        "modifier_groups": count(select(func.count()).select_from(ModifierGroup).where(ModifierGroup.is_active)),
    }


CATEGORY_COLOURS = {"Coffee": (111, 78, 55), "Tea": (96, 130, 80), "Pastries": (214, 160, 90),
                    "Food": (180, 90, 60), "Cold Drinks": (70, 120, 170)}


def draw_placeholder(uploads_dir: Path, spec: dict[str, Any]) -> tuple[str, str]:
    """A 600x400 JPEG card with the item's name (and its 300x300 thumbnail), written once."""
    name = slug(f"{spec['name']} {spec['size']}") + ".jpg"
    image_path = Path(uploads_dir) / IMAGE_SUBDIR / name
    thumb_path = Path(uploads_dir) / THUMB_SUBDIR / name
    if not (image_path.exists() and thumb_path.exists()):
        img = Image.new("RGB", (600, 400), CATEGORY_COLOURS.get(spec["category"], (120, 120, 120)))
        draw = ImageDraw.Draw(img)
        draw.rounded_rectangle((30, 30, 570, 370), radius=24, outline=(255, 255, 255), width=6)
        label = spec["name"] + (f" ({spec['size']})" if spec["size"] != ONE_SIZE else "")
        draw.text((300, 200), label, fill=(255, 255, 255), anchor="mm", font_size=36)
        image_path.parent.mkdir(parents=True, exist_ok=True)
        thumb_path.parent.mkdir(parents=True, exist_ok=True)
        img.save(image_path, "JPEG", quality=85)
        ImageOps.fit(img, THUMB_SIZE).save(thumb_path, "JPEG", quality=85)
    return f"{URL_PREFIX}{IMAGE_SUBDIR}/{name}", f"{URL_PREFIX}{THUMB_SUBDIR}/{name}"


def seed_test(session: Session, settings: Settings, *, now: datetime | None = None, **_: object) -> dict[str, int]:
    """50 demo items, on the menu since the history's first morning: coffee and tea in sizes, pastries with
    stockCount, food; Milk/Extras/Syrups groups."""
    now = resolve_now(now)
    return _seed(session, settings, TEST_MENU, history_start(now, store_zone(session, settings)))


def seed_production(session: Session, settings: Settings, *, now: datetime | None = None,
                    **_: object) -> dict[str, int]:
    """A German café's menu in EUR (19 % / 7 % take-away food) with descriptions and pictures."""
    return _seed(session, settings, PRODUCTION_MENU, resolve_now(now), images=True,
                 categories=PRODUCTION_CATEGORIES)
