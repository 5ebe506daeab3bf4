"""GET /menu_items/export and its round trip through POST /menu_items/bulk-import (both databases)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from sqlalchemy import delete, select

from orm.controllers.menu.bulk_import import COLUMNS
from orm.models.model_menu import (
    MenuCategory,
    MenuItem,
    MenuItemModifierGroup,
    MenuItemRecipeLine,
    MenuRevision,
    Modifier,
    ModifierGroup,
    ModifierRecipeLine,
)
from tests.conftest import run_unit
from tests.inventory_helpers import make_item
from tests.test_menu_import import upload

BOM = b"\xef\xbb\xbf"


async def build_menu(settings, admin) -> dict[str, str]:
    """A café menu with everything the export must carry, awkward names included."""
    inv = {name: make_item(settings, name, unit=unit, stock="10")["id"] for name, unit in (
        ("Espresso beans", "kg"), ("Milk", "l"), ("Oat milk", "l"), ("Vanilla syrup", "l"),
        ("Cups: 12oz; paper", "pcs"))}
    milk = {"name": "Milk", "minSelect": 0, "maxSelect": 1, "modifiers": [
        {"name": "Whole milk", "priceDelta": "0"},
        {"name": "Oat milk", "priceDelta": "0.50", "recipe": [{"inventoryItemId": inv["Oat milk"], "quantity": "0.2"}]},
    ]}
    extras = {"name": "Extras [hot|cold]", "minSelect": 0, "maxSelect": 3, "modifiers": [
        {"name": "Vanilla = sweet", "priceDelta": "0.40",
         "recipe": [{"inventoryItemId": inv["Vanilla syrup"], "quantity": "0.015"}]},
        {"name": "Extra shot", "priceDelta": "0.60",
         "recipe": [{"inventoryItemId": inv["Espresso beans"], "quantity": "0.009"}]},
    ]}
    bodies: list[dict[str, Any]] = [
        {"name": "Latte", "size": "Small", "price": "3.40", "category": "Coffee", "modifierGroups": [milk, extras],
         "recipe": [{"inventoryItemId": inv["Espresso beans"], "quantity": "0.018"},
                    {"inventoryItemId": inv["Milk"], "quantity": "0.2"},
                    {"inventoryItemId": inv["Cups: 12oz; paper"], "quantity": "1"}],
         "sku": "LAT-S", "barcode": "4000000000017", "sortOrder": 1},
        {"name": "Latte", "size": "Large", "price": "4.10", "category": "Coffee",
         "modifierGroups": [{"name": "Milk"}, {"name": "Extras [hot|cold]"}],
         "recipe": [{"inventoryItemId": inv["Espresso beans"], "quantity": "0.018"},
                    {"inventoryItemId": inv["Milk"], "quantity": "0.3"}], "sortOrder": 2,
         "takeAwayTaxRate": "0.026"},
        {"name": "Cappuccino", "price": "3.20", "category": "Coffee", "modifierGroups": [{"name": "Milk"}],
         "description": "=1+1, \"foamy\"\nsecond line", "taxRate": "0.081"},
        {"name": "Tea, green", "price": "2.60", "category": "Tea", "isActive": False},
        {"name": "Croissant", "price": "2.20", "category": "Pastries", "description": "Butter; flaky"},
    ]
    for body in bodies:
        resp = await admin.post("/menu_items", body)
        assert resp.status == 201, resp.body
    return inv


def parse(export: bytes) -> list[dict[str, str]]:
    assert export.startswith(BOM)
    return list(csv.DictReader(io.StringIO(export[len(BOM):].decode("utf-8"), newline="")))


def shape(menu: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The menu without the ids and timestamps a re-creation changes."""
    def group(g: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v for k, v in g.items() if k != "id"},
                "modifiers": [{k: v for k, v in m.items() if k != "id"} for m in g["modifiers"]]}
    return [{**{k: v for k, v in item.items() if k not in ("id", "createdAt", "updatedAt")},
             "modifierGroups": [group(g) for g in item["modifierGroups"]]} for item in menu]


def revision(settings) -> int:
    return run_unit(settings, lambda s: s.scalar(select(MenuRevision.revision)))


def wipe_menu(settings) -> None:
    def fn(session):
        for table in (MenuItemRecipeLine, MenuItemModifierGroup, ModifierRecipeLine, Modifier, ModifierGroup,
                      MenuItem, MenuCategory):
            session.execute(delete(table))
    run_unit(settings, fn)


async def test_export_is_rfc4180_with_bom_and_documented_columns(settings, admin, as_role):
    await build_menu(settings, admin)
    resp = await as_role("trainee").get("/menu_items/export")  # menu.view, and not taken for an item id
    assert resp.status == 200, resp.body
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="menu-')
    body = resp.body
    assert body.startswith(BOM) and body.endswith(b"\r\n")
    assert body[len(BOM):].split(b"\r\n")[0].decode() == ",".join(COLUMNS)
    rows = parse(body)
    # Menu order: categories as created, then sortOrder, name, size.
    assert [(r["name"], r["size"]) for r in rows] == [
        ("Cappuccino", ""), ("Latte", "Small"), ("Latte", "Large"), ("Tea, green", ""), ("Croissant", "")]
    cappuccino, small, large = rows[0], rows[1], rows[2]
    # Each shared group is defined on the first item offering it, then named.
    assert cappuccino["modifierGroups"] == "Milk (0-1): Whole milk = 0.00 | Oat milk = 0.50 [Oat milk:0.200]"
    assert small["modifierGroups"] == (
        "Milk; Extras \\[hot\\|cold\\] (0-3): Vanilla \\= sweet = 0.40 [Vanilla syrup:0.015] | "
        "Extra shot = 0.60 [Espresso beans:0.009]")
    assert large["modifierGroups"] == "Milk; Extras \\[hot\\|cold\\]"
    assert small["recipe"] == "Espresso beans:0.018;Milk:0.200;Cups\\: 12oz\\; paper:1.000"
    assert (small["taxRate"], large["takeAwayTaxRate"], cappuccino["taxRate"]) == ("", "0.026", "0.081")
    assert cappuccino["description"] == "'=1+1, \"foamy\"\nsecond line"  # formula-guarded, quoted
    assert rows[3]["isActive"] == "false" and small["sortOrder"] == "1"


async def test_reimport_into_the_same_menu_changes_nothing(settings, admin):
    await build_menu(settings, admin)
    export = (await admin.get("/menu_items/export")).body
    before = await admin.get("/menu_items")
    rev = revision(settings)
    resp = await upload(admin, export)
    assert resp.status == 200, resp.body
    assert resp.data == {"created": 0, "updated": 0, "skipped": 5, "rowErrors": [], "dryRun": False}
    assert revision(settings) == rev  # nothing was written at all
    after = await admin.get("/menu_items")
    assert after.data == before.data and after.headers["ETag"] == before.headers["ETag"]
    assert (await admin.get("/menu_items/export")).body == export


async def test_import_into_an_empty_menu_recreates_it(settings, admin):
    await build_menu(settings, admin)
    export = (await admin.get("/menu_items/export")).body
    before = (await admin.get("/menu_items")).data["menu_items"]
    wipe_menu(settings)
    resp = await upload(admin, export)
    assert resp.status == 200, resp.body
    assert resp.data == {"created": 5, "updated": 0, "skipped": 0, "rowErrors": [], "dryRun": False}
    after = (await admin.get("/menu_items")).data["menu_items"]
    assert shape(after) == shape(before)
    assert (await admin.get("/menu_items/export")).body == export
    # And the re-created menu is again a fixed point.
    resp = await upload(admin, export)
    assert resp.data["skipped"] == 5 and resp.data["updated"] == 0


def as_german_spreadsheet(export: bytes) -> bytes:
    """Excel in a German locale: semicolons between cells, decimal commas in every number, BOM kept."""
    rows = parse(export)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: re.sub(r"(?<=\d)\.(?=\d)", ",", v) if k in (
            "price", "taxRate", "takeAwayTaxRate", "modifierGroups", "recipe") else v for k, v in row.items()})
    return BOM + out.getvalue().encode("utf-8")


async def test_a_german_spreadsheet_of_the_export_changes_nothing_and_can_change_prices(settings, admin):
    await build_menu(settings, admin)
    export = (await admin.get("/menu_items/export")).body
    german = as_german_spreadsheet(export)
    assert b"Oat milk = 0,50 [Oat milk:0,200]" in german and b";3,40;" in german
    resp = await upload(admin, german)
    assert resp.status == 200, resp.body
    assert (resp.data["updated"], resp.data["skipped"]) == (0, 5)
    changed = german.replace(b"Oat milk = 0,50", b"Oat milk = 0,70").replace(b";3,40;", b";3,60;")
    resp = await upload(admin, changed)
    assert resp.status == 200, resp.body
    # The small Latte's price, and the Cappuccino, whose row defines the shared Milk group.
    assert (resp.data["updated"], resp.data["skipped"]) == (2, 3)
    menu = {(i["name"], i["size"]): i for i in (await admin.get("/menu_items")).data["menu_items"]}
    assert str(menu[("Latte", "Small")]["price"]) == "3.60"
    oat = [m for m in menu[("Latte", "Large")]["modifierGroups"][0]["modifiers"] if m["name"] == "Oat milk"]
    assert str(oat[0]["priceDelta"]) == "0.70"  # the shared group changed for every item


async def test_groups_and_recipes_can_be_written_by_hand(settings, admin):
    await build_menu(settings, admin)
    text = ("name,price,modifierGroups,recipe\n"
            "Flat white,3.60,Milk; Syrups (0-2): Vanilla = 0.40 [Vanilla syrup:0.015] | Caramel = 0.40,"
            "espresso BEANS:0.018;Milk:0.12\n"
            "Mocha,3.90,Syrups,\n")
    resp = await upload(admin, text)
    assert resp.status == 200, resp.body
    assert (resp.data["created"], resp.data["updated"]) == (2, 0)
    menu = {i["name"]: i for i in (await admin.get("/menu_items")).data["menu_items"]}
    assert [g["name"] for g in menu["Flat white"]["modifierGroups"]] == ["Milk", "Syrups"]
    assert [g["name"] for g in menu["Mocha"]["modifierGroups"]] == ["Syrups"]
    assert [str(line["quantity"]) for line in menu["Flat white"]["recipe"]] == ["0.018", "0.120"]
    # Re-attaching groups and replacing a recipe of an existing item is an update.
    resp = await upload(admin, "name,price,modifierGroups,recipe\nMocha,3.90,Milk; Syrups,Milk:0.25\n")
    assert resp.status == 200 and (resp.data["updated"], resp.data["skipped"]) == (1, 0), resp.body
    mocha = next(i for i in (await admin.get("/menu_items")).data["menu_items"] if i["name"] == "Mocha")
    assert [g["name"] for g in mocha["modifierGroups"]] == ["Milk", "Syrups"] and len(mocha["recipe"]) == 1


@pytest.mark.parametrize(("text", "problems"), [
    ("name,price,modifierGroups\nLatte,3.40,Honey\n", [(2, "modifierGroups", "no modifier group named 'Honey'")]),
    ("name,price,recipe\nLatte,3.40,Sugar:0.01;Milk:0.2\n", [(2, "recipe", "no inventory item named 'Sugar'")]),
    ("name,price,modifierGroups\nA,1,X (0-1): a = 0.10\nB,1,X (0-1): a = 0.20\n",
     [(3, "modifierGroups", "defines modifier group 'X' differently from line 2")]),
    ("name,price,modifierGroups\nA,1,X (0-1): a [Sugar:1]\n", [(2, "modifierGroups", "no inventory item named")]),
    ("name,price,modifierGroups,recipe\nA,1,Milk (3-1): a,\nB,1,,Milk\n",
     [(2, "modifierGroups", "above the maximum"), (3, "recipe", "name:quantity")]),
    ("name;price;recipe\nA;1,50;Milk:0.2\n", [(2, "recipe", "decimal comma")]),
])
async def test_bad_cells_are_row_errors_and_nothing_is_written(settings, admin, text, problems):
    await build_menu(settings, admin)
    before = (await admin.get("/menu_items/export")).body
    rev = revision(settings)
    resp = await upload(admin, text)
    assert resp.status == 400, resp.body
    got = resp.data["rowErrors"]
    assert len(got) == len(problems), got
    for error, (row, field, words) in zip(got, problems, strict=True):
        assert (error["row"], error["field"]) == (row, field) and words in error["message"], error
    assert (await admin.get("/menu_items/export")).body == before and revision(settings) == rev
