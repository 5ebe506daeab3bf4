"""Menu seeds: idempotent, true counts, recipes by inventory name, production pictures."""

from __future__ import annotations

import io
from decimal import Decimal as D
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from orm.models.model_inventory import InventoryItem
from orm.models.model_menu import MenuItem
from orm.seed import menu as menu_seed
from tests.conftest import run_unit


def test_seed_test_is_idempotent_and_stands_alone(settings):
    def existing_beans(session):
        session.add(InventoryItem(name="Espresso beans", unit="kg"))

    run_unit(settings, existing_beans)
    first = run_unit(settings, menu_seed.seed_test, settings)
    second = run_unit(settings, menu_seed.seed_test, settings)
    assert first == second
    assert first["menu_items"] >= 45 and first["categories"] == 4 and first["modifier_groups"] == 3

    def facts(session):
        beans = session.scalars(select(InventoryItem).where(InventoryItem.name == "Espresso beans")).all()
        counted = session.scalars(select(MenuItem.name).where(MenuItem.stock_count.is_not(None))).all()
        items = session.scalar(select(func.count()).select_from(MenuItem))
        return len(beans), sorted(counted), items

    beans, counted, items = run_unit(settings, facts)
    assert beans == 1 and items == first["menu_items"]
    assert "Croissant" in counted and "Latte" not in counted


async def test_seeded_menu_through_the_api(admin, settings):
    run_unit(settings, menu_seed.seed_test, settings)
    menu = (await admin.get("/menu_items")).data["menu_items"]
    by_key = {(i["name"], i["size"]): i for i in menu}
    latte = by_key[("Latte", "Large")]
    assert latte["price"] == D("4.10") and latte["category"] == "Coffee"
    assert [g["name"] for g in latte["modifierGroups"]] == ["Milk", "Extras", "Syrups"]
    oat = latte["modifierGroups"][0]["modifiers"][0]
    assert (oat["name"], oat["priceDelta"]) == ("Oat milk", D("0.40")) and len(oat["recipe"]) == 1
    assert len(latte["recipe"]) == 4
    assert by_key[("Croissant", "Regular")]["stockCount"] == 24
    assert {i["category"] for i in menu} == {"Coffee", "Tea", "Pastries", "Food"}


async def test_seed_production_has_real_pictures_and_german_rates(client, admin, settings):
    first = run_unit(settings, menu_seed.seed_production, settings)
    assert run_unit(settings, menu_seed.seed_production, settings) == first
    assert first["menu_items"] >= 44
    menu = (await admin.get("/menu_items")).data["menu_items"]
    assert all(i["description"] and i["imageUrl"] and i["thumbnailUrl"] for i in menu)
    croissant = next(i for i in menu if i["name"] == "Butter Croissant")
    assert (croissant["taxRate"], croissant["takeAwayTaxRate"]) == (D("0.19"), D("0.07"))
    served = await client.get(croissant["thumbnailUrl"])
    assert served.status == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.body)).size == (300, 300)
    assert len(list((Path(settings.uploads_dir) / "menu_items").glob("*.jpg"))) == first["menu_items"]
