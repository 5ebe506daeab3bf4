"""Menu items: CRUD and permissions, validation, modifiers and recipes, tax rates, ETag, statement counts."""

from __future__ import annotations

import threading
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from orm.controllers.menu import counted_stock, menu_items
from orm.controllers.paging import Page
from orm.controllers.stores import store_settings
from orm.db import make_engine, make_session_factory, unit_of_work
from orm.domain.errors import NotFound, SoldOut
from orm.domain.schemas.menu import MenuItemCreate
from orm.models.model_identity import AuditChange
from orm.models.model_inventory import InventoryItem
from orm.models.model_menu import MenuItem, MenuItemRecipeLine, Modifier, ModifierGroup
from tests.conftest import run_unit
from tests.support import PG_URL

ITEM_KEYS = {"id", "name", "description", "category", "size", "price", "taxRate", "takeAwayTaxRate", "isActive",
             "stockCount", "imageUrl", "thumbnailUrl", "sku", "barcode", "sortOrder", "station", "modifierGroups",
             "recipe", "createdAt", "updatedAt"}


def add_inventory(settings, *items: tuple[str, str]) -> dict[str, str]:
    def fn(session):
        out = {}
        for name, unit in items:
            row = InventoryItem(name=name, unit=unit)
            session.add(row)
            session.flush()
            out[name] = row.id
        return out

    return run_unit(settings, fn)


@pytest.fixture
def stock(settings) -> dict[str, str]:
    return add_inventory(settings, ("Espresso beans", "kg"), ("Whole milk", "l"), ("Oat milk", "l"),
                         ("Soy milk", "l"), ("Cups 8oz", "pcs"))


def latte(stock: dict[str, str], **over: Any) -> dict[str, Any]:
    body = {
        "name": "Latte", "size": "Small", "price": "3.40", "category": "Coffee", "description": "Milky",
        "sku": "LAT-S", "barcode": "4000000000017",
        "recipe": [{"inventoryItemId": stock["Espresso beans"], "quantity": "0.018"},
                   {"inventoryItemId": stock["Whole milk"], "quantity": D("0.2")}],
        "modifierGroups": [{"name": "Milk", "minSelect": 0, "maxSelect": 1, "modifiers": [
            {"name": "Oat", "priceDelta": "0.40", "recipe": [{"inventoryItemId": stock["Oat milk"],
                                                               "quantity": "0.2"}]},
            {"name": "Soy", "priceDelta": D("0.40"), "recipe": [{"inventoryItemId": stock["Soy milk"],
                                                                  "quantity": "0.2"}]},
        ]}],
    }
    body.update(over)
    return body


def count(settings, model) -> int:
    return run_unit(settings, lambda s: s.scalar(select(func.count()).select_from(model)))


def make_items(settings, n: int, stock: dict[str, str], prefix: str = "Item") -> None:
    """n items with a recipe and the shared Milk group, created in one unit of work."""
    run_unit(settings, items_unit(settings, n, stock, prefix))


def items_unit(settings, n: int, stock: dict[str, str], prefix: str):
    def fn(session):
        for i in range(n):
            body = MenuItemCreate.model_validate({
                "name": f"{prefix} {i:03d}", "price": "2.50", "category": f"Cat {i % 3}",
                "recipe": [{"inventoryItemId": stock["Espresso beans"], "quantity": "0.009"}],
                "modifierGroups": [{"name": "Milk", "modifiers": [{"name": "Oat", "priceDelta": "0.40", "recipe": [
                    {"inventoryItemId": stock["Oat milk"], "quantity": "0.2"}]}]}],
            })
            menu_items.create(session, settings, body, actor=None)

    return fn


# ---- CRUD and permissions ---------------------------------------------------------------------------------


async def test_create_returns_201_with_the_menu_item_resource(admin, stock):
    resp = await admin.post("/menu_items", latte(stock))
    assert resp.status == 201, resp.body
    item = resp.data["menuItem"]
    assert set(item) == ITEM_KEYS
    assert resp.headers["Location"] == f"/menu_items/{item['id']}"
    assert item["name"] == "Latte" and item["size"] == "Small" and item["category"] == "Coffee"
    assert item["price"] == D("3.40") and b'"price":3.40' in resp.body
    assert item["taxRate"] == D("0.08") and item["takeAwayTaxRate"] == D("0.08")
    assert item["isActive"] is True and item["stockCount"] is None and item["imageUrl"] is None
    assert item["sku"] == "LAT-S" and item["barcode"] == "4000000000017" and item["sortOrder"] == 0
    assert item["createdAt"].endswith("Z")
    got = await admin.get(f"/menu_items/{item['id']}")
    assert got.status == 200 and got.data["menuItem"] == item


@pytest.mark.parametrize("role", ["admin", "manager"])
async def test_admin_and_manager_may_create_edit_and_delete(as_role, stock, role):
    c = as_role(role)
    created = await c.post("/menu_items", latte(stock, sku=None))
    assert created.status == 201, created.body
    item_id = created.data["menuItem"]["id"]
    edited = await c.put(f"/menu_items/{item_id}", {"price": "3.60"})
    assert edited.status == 200 and edited.data["menuItem"]["price"] == D("3.60")
    deleted = await c.delete(f"/menu_items/{item_id}")
    assert deleted.status == 200 and deleted.data["deleted"] is True
    assert (await c.get(f"/menu_items/{item_id}")).status == 404


@pytest.mark.parametrize("role", ["cashier", "trainee"])
async def test_cashier_and_trainee_read_but_may_not_write(admin, as_role, settings, stock, role):
    item = (await admin.post("/menu_items", latte(stock))).data["menuItem"]
    c = as_role(role)
    assert (await c.get("/menu_items")).status == 200
    assert (await c.get(f"/menu_items/{item['id']}")).status == 200
    assert (await c.get("/menu_items/categories")).status == 200
    assert (await c.get("/menu_items/modifier-groups")).status == 200
    before = count(settings, MenuItem)
    writes = [
        c.post("/menu_items", latte(stock, name="Mocha", sku=None)),
        c.put(f"/menu_items/{item['id']}", {"price": "1.00"}),
        c.delete(f"/menu_items/{item['id']}"),
        c.put("/menu_items/categories/Coffee", {"taxRate": "0.1"}),
        c.post("/menu_items/bulk-import", {"rows": [{"name": "X", "price": "1"}]}),
        c.post("/menu_items/modifier-groups", {"name": "Sauce"}),
    ]
    for pending in writes:
        resp = await pending
        assert resp.status == 403 and resp.json["errorCode"] == "FORBIDDEN", resp.body
    assert count(settings, MenuItem) == before
    assert (await admin.get(f"/menu_items/{item['id']}")).data["menuItem"]["price"] == D("3.40")


async def test_no_token_is_401_everywhere(client, admin, stock):
    item = (await admin.post("/menu_items", latte(stock))).data["menuItem"]
    calls = [
        client.get("/menu_items"), client.get(f"/menu_items/{item['id']}"), client.get("/menu_items/categories"),
        client.post("/menu_items", latte(stock)), client.put(f"/menu_items/{item['id']}", {"price": "1"}),
        client.delete(f"/menu_items/{item['id']}"), client.post("/menu_items/bulk-import", {"rows": []}),
        client.put("/menu_items/categories/Coffee", {"sortOrder": 1}), client.get("/menu_items/modifier-groups"),
    ]
    for pending in calls:
        resp = await pending
        assert resp.status == 401 and resp.json["errorCode"] == "UNAUTHORIZED"


async def test_unknown_item_is_404(admin):
    for resp in (await admin.get("/menu_items/nope"), await admin.put("/menu_items/nope", {"price": "2"}),
                 await admin.delete("/menu_items/nope")):
        assert resp.status == 404 and resp.json["errorCode"] == "NOT_FOUND"


# ---- validation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"price": "-1"}, "price", "must be greater than 0"),
    ({"price": 0}, "price", "must be greater than 0"),
    ({"price": "10000.01"}, "price", "must be at most 10000"),
    ({"price": "abc"}, "price", "must be a number"),
    ({"price": True}, "price", "must be a number"),
    ({"price": D("3.555")}, "price", "must have at most 2 decimal places"),
    ({"name": ""}, "name", None),
    ({"name": "   "}, "name", None),
    ({"taxRate": "1.5"}, "taxRate", None),
    ({"stockCount": -1}, "stockCount", None),
    ({"stockCount": D("2.5")}, "stockCount", "must be a whole number"),
    ({"recipe": [{"inventoryItemId": "x", "quantity": "0"}]}, "recipe[0].quantity", "must be greater than 0"),
    ({"recipe": [{"inventoryItemId": "x", "quantity": "0.0005"}]}, "recipe[0].quantity", None),
])
async def test_invalid_values_are_400_and_nothing_is_written(admin, settings, stock, body, field, message):
    resp = await admin.post("/menu_items", latte(stock, **body))
    assert resp.status == 400 and resp.json["errorCode"] == "VALIDATION_ERROR", resp.body
    assert field in resp.json["fieldErrors"], resp.json
    if message:
        assert resp.json["fieldErrors"][field] == message
    assert resp.json["errors"] and all(isinstance(e, str) for e in resp.json["errors"])
    assert count(settings, MenuItem) == 0 and count(settings, ModifierGroup) == 0


async def test_missing_price_and_null_on_put_are_400(admin, stock):
    body = latte(stock)
    del body["price"]
    resp = await admin.post("/menu_items", body)
    assert resp.status == 400 and "price" in resp.json["fieldErrors"]
    item = (await admin.post("/menu_items", latte(stock))).data["menuItem"]
    for field in ("name", "price", "isActive"):
        resp = await admin.put(f"/menu_items/{item['id']}", {field: None})
        assert resp.status == 400 and resp.json["fieldErrors"][field] == "may not be null"
    resp = await admin.put(f"/menu_items/{item['id']}", {"price": "-3"})
    assert resp.status == 400
    assert (await admin.get(f"/menu_items/{item['id']}")).data["menuItem"]["price"] == D("3.40")


async def test_malformed_json_is_400(admin):
    resp = await admin.post("/menu_items", body=b'{"name": "x", "price": ',
                            headers={"Content-Type": "application/json"})
    assert resp.status == 400 and resp.json["errorCode"] == "INVALID_JSON"


async def test_duplicate_name_and_size_is_409_also_without_a_size(admin, settings, stock):
    assert (await admin.post("/menu_items", latte(stock, sku=None))).status == 201
    dup = await admin.post("/menu_items", latte(stock, sku=None, price="9.99"))
    assert dup.status == 409 and dup.json["errorCode"] == "CONFLICT"
    assert (await admin.post("/menu_items", latte(stock, sku=None, size="Large"))).status == 201
    assert (await admin.post("/menu_items", {"name": "Brownie", "price": "2.50"})).status == 201
    for size in (None, "", "  "):
        resp = await admin.post("/menu_items", {"name": "Brownie", "price": "2.70", "size": size})
        assert resp.status == 409, size
    assert count(settings, MenuItem) == 3
    # Renaming onto an existing name + size conflicts too.
    other = (await admin.post("/menu_items", {"name": "Muffin", "price": "2.50"})).data["menuItem"]
    assert (await admin.put(f"/menu_items/{other['id']}", {"name": "Brownie"})).status == 409


async def test_duplicate_sku_is_409(admin, stock):
    assert (await admin.post("/menu_items", latte(stock))).status == 201
    resp = await admin.post("/menu_items", latte(stock, size="Large"))
    assert resp.status == 409 and resp.json["fieldErrors"] == {"sku": "is already used by another menu item"}


async def test_unknown_inventory_items_in_recipes_are_400_with_paths(admin, settings, stock):
    body = latte(stock)
    body["recipe"][1]["inventoryItemId"] = "00000000-0000-0000-0000-00000000dead"
    body["modifierGroups"][0]["modifiers"][1]["recipe"][0]["inventoryItemId"] = "missing"
    resp = await admin.post("/menu_items", body)
    assert resp.status == 400
    assert resp.json["fieldErrors"] == {
        "recipe[1].inventoryItemId": "no such inventory item",
        "modifierGroups[0].modifiers[1].recipe[0].inventoryItemId": "no such inventory item",
    }
    twice = latte(stock, recipe=[{"inventoryItemId": stock["Whole milk"], "quantity": "0.1"},
                                 {"inventoryItemId": stock["Whole milk"], "quantity": "0.2"}])
    resp = await admin.post("/menu_items", twice)
    assert resp.status == 400 and "recipe[1].inventoryItemId" in resp.json["fieldErrors"]
    assert count(settings, MenuItem) == 0 and count(settings, MenuItemRecipeLine) == 0


# ---- modifiers and recipes --------------------------------------------------------------------------------


async def test_modifiers_and_recipes_round_trip(admin, stock):
    item = (await admin.post("/menu_items", latte(stock))).data["menuItem"]
    assert item["recipe"] == [{"inventoryItemId": stock["Espresso beans"], "quantity": D("0.018")},
                              {"inventoryItemId": stock["Whole milk"], "quantity": D("0.200")}]
    [milk] = item["modifierGroups"]
    assert set(milk) == {"id", "name", "minSelect", "maxSelect", "modifiers"}
    assert (milk["name"], milk["minSelect"], milk["maxSelect"]) == ("Milk", 0, 1)
    assert [(m["name"], m["priceDelta"]) for m in milk["modifiers"]] == [("Oat", D("0.40")), ("Soy", D("0.40"))]
    oat = milk["modifiers"][0]
    assert set(oat) == {"id", "name", "priceDelta", "recipe"}
    assert oat["recipe"] == [{"inventoryItemId": stock["Oat milk"], "quantity": D("0.200")}]

    # A second item offers the same shared group by name alone.
    mocha = (await admin.post("/menu_items", {"name": "Mocha", "price": "3.80", "modifierGroups": [
        {"name": "milk"},
        {"name": "Extras", "maxSelect": 3, "modifiers": [{"name": "Extra shot", "priceDelta": "0.60"}]},
    ]})).data["menuItem"]
    assert [g["name"] for g in mocha["modifierGroups"]] == ["Milk", "Extras"]
    assert mocha["modifierGroups"][0] == milk

    # Redefining the group through one item: Oat keeps its id, Soy is retired, Almond is new.
    body = {"modifierGroups": [{"id": milk["id"], "modifiers": [
        {"name": "Oat", "priceDelta": "0.50", "recipe": []},
        {"name": "Almond", "priceDelta": "0.60", "recipe": [{"inventoryItemId": stock["Oat milk"], "quantity": "0.1"}]},
    ]}], "recipe": [{"inventoryItemId": stock["Cups 8oz"], "quantity": "1"}]}
    resp = await admin.put(f"/menu_items/{item['id']}", body)
    assert resp.status == 200, resp.body
    new_milk = resp.data["menuItem"]["modifierGroups"][0]
    assert [(m["name"], m["priceDelta"]) for m in new_milk["modifiers"]] == [("Oat", D("0.50")), ("Almond", D("0.60"))]
    assert new_milk["modifiers"][0]["id"] == oat["id"] and new_milk["modifiers"][0]["recipe"] == []
    assert resp.data["menuItem"]["recipe"] == [{"inventoryItemId": stock["Cups 8oz"], "quantity": D("1.000")}]
    again = (await admin.get(f"/menu_items/{mocha['id']}")).data["menuItem"]
    assert again["modifierGroups"][0] == new_milk  # shared: the other item sees the change

    # Detach every group from the latte; the group itself lives on.
    resp = await admin.put(f"/menu_items/{item['id']}", {"modifierGroups": []})
    assert resp.data["menuItem"]["modifierGroups"] == []
    groups = (await admin.get("/menu_items/modifier-groups")).data["modifierGroups"]
    assert {(g["name"], g["itemCount"]) for g in groups} == {("Milk", 1), ("Extras", 1)}


async def test_referencing_an_unknown_group_is_400(admin, settings):
    resp = await admin.post("/menu_items", {"name": "Tea", "price": "2", "modifierGroups": [{"name": "Nope"}]})
    assert resp.status == 400 and "modifierGroups[0].name" in resp.json["fieldErrors"]
    resp = await admin.post("/menu_items", {"name": "Tea", "price": "2", "modifierGroups": [{"id": "nope"}]})
    assert resp.status == 400 and resp.json["fieldErrors"] == {"modifierGroups[0].id": "no such modifier group"}
    resp = await admin.post("/menu_items", {"name": "Tea", "price": "2", "modifierGroups": [
        {"name": "Milk", "minSelect": 2, "maxSelect": 1, "modifiers": []}]})
    assert resp.status == 400
    assert count(settings, MenuItem) == 0 and count(settings, ModifierGroup) == 0


async def test_modifier_group_endpoints(admin, as_role, settings, stock):
    resp = await admin.post("/menu_items/modifier-groups", {"name": "Syrups", "maxSelect": 2, "modifiers": [
        {"name": "Vanilla", "priceDelta": "0.50"}, {"name": "Caramel", "priceDelta": "0.50"}]})
    assert resp.status == 201, resp.body
    group = resp.data["modifierGroup"]
    assert resp.headers["Location"] == f"/menu_items/modifier-groups/{group['id']}"
    assert (group["name"], group["minSelect"], group["maxSelect"], group["itemCount"]) == ("Syrups", 0, 2, 0)
    assert (await admin.post("/menu_items/modifier-groups", {"name": "syrups"})).status == 409
    bad = await admin.post("/menu_items/modifier-groups", {"name": "Sauce", "modifiers": [
        {"name": "Chili", "recipe": [{"inventoryItemId": "missing", "quantity": "1"}]}]})
    assert bad.status == 400 and bad.json["fieldErrors"] == {"modifiers[0].recipe[0].inventoryItemId":
                                                             "no such inventory item"}
    item = (await admin.post("/menu_items", {"name": "Latte", "price": "3", "modifierGroups": [{"name": "Syrups"}]}))
    assert item.status == 201
    upd = await admin.put(f"/menu_items/modifier-groups/{group['id']}", {"minSelect": 1, "modifiers": [
        {"id": group["modifiers"][1]["id"], "name": "Salted caramel", "priceDelta": "0.60"}]})
    assert upd.status == 200, upd.body
    g = upd.data["modifierGroup"]
    assert g["minSelect"] == 1 and g["itemCount"] == 1
    assert [(m["id"], m["name"]) for m in g["modifiers"]] == [(group["modifiers"][1]["id"], "Salted caramel")]
    assert (await as_role("cashier").put(f"/menu_items/modifier-groups/{group['id']}", {"minSelect": 0})).status == 403
    assert (await admin.delete(f"/menu_items/modifier-groups/{group['id']}")).status == 200
    assert (await admin.get(f"/menu_items/modifier-groups/{group['id']}")).status == 404
    latte_item = (await admin.get(f"/menu_items/{item.data['menuItem']['id']}")).data["menuItem"]
    assert latte_item["modifierGroups"] == []
    # Retired, not deleted: sold modifiers keep their rows.
    assert count(settings, Modifier) == 2
    revived = await admin.post("/menu_items/modifier-groups", {"name": "Syrups", "modifiers": [{"name": "Vanilla"}]})
    assert revived.status == 201 and revived.data["modifierGroup"]["id"] == group["id"]
    assert [m["id"] for m in revived.data["modifierGroup"]["modifiers"]] == [group["modifiers"][0]["id"]]


# ---- tax rates and categories -----------------------------------------------------------------------------


def set_default_rate(settings, rate: D) -> None:
    def fn(session):
        store_settings.settings_row(session, settings).default_tax_rate = rate

    run_unit(settings, fn)


async def test_effective_tax_rates_item_then_category_then_settings(admin, settings):
    plain = (await admin.post("/menu_items", {"name": "Water", "price": "2"})).data["menuItem"]
    assert (plain["taxRate"], plain["takeAwayTaxRate"], plain["category"]) == (D("0.08"), D("0.08"), None)
    cake = (await admin.post("/menu_items", {"name": "Cake", "price": "4", "category": "Pastries"})).data["menuItem"]
    own = (await admin.post("/menu_items", {"name": "Tart", "price": "4", "category": "pastries",
                                             "taxRate": "0.19"})).data["menuItem"]
    assert own["category"] == "Pastries"  # the existing category, matched case-insensitively
    resp = await admin.put("/menu_items/categories/Pastries", {"taxRate": "0.07", "takeAwayTaxRate": "0.05"})
    assert resp.status == 200, resp.body
    assert resp.data["category"] == {"name": "Pastries", "itemCount": 2, "taxRate": D("0.07"),
                                     "takeAwayTaxRate": D("0.05"), "sortOrder": 0, "ownTaxRate": D("0.07"),
                                     "ownTakeAwayTaxRate": D("0.05"), "station": None}
    cake = (await admin.get(f"/menu_items/{cake['id']}")).data["menuItem"]
    assert (cake["taxRate"], cake["takeAwayTaxRate"]) == (D("0.07"), D("0.05"))
    own = (await admin.get(f"/menu_items/{own['id']}")).data["menuItem"]
    assert (own["taxRate"], own["takeAwayTaxRate"]) == (D("0.19"), D("0.05"))
    own = (await admin.put(f"/menu_items/{own['id']}", {"takeAwayTaxRate": "0.1"})).data["menuItem"]
    assert (own["taxRate"], own["takeAwayTaxRate"]) == (D("0.19"), D("0.1"))
    own = (await admin.put(f"/menu_items/{own['id']}", {"taxRate": None, "takeAwayTaxRate": None})).data["menuItem"]
    assert (own["taxRate"], own["takeAwayTaxRate"]) == (D("0.07"), D("0.05"))

    # Without a category take-away rate, take-away follows the eat-in rate.
    await admin.put("/menu_items/categories/Pastries", {"takeAwayTaxRate": None})
    cake = (await admin.get(f"/menu_items/{cake['id']}")).data["menuItem"]
    assert (cake["taxRate"], cake["takeAwayTaxRate"]) == (D("0.07"), D("0.07"))
    set_default_rate(settings, D("0.1"))
    plain = (await admin.get(f"/menu_items/{plain['id']}")).data["menuItem"]
    assert (plain["taxRate"], plain["takeAwayTaxRate"]) == (D("0.1"), D("0.1"))


async def test_categories_list_and_edit(admin, as_role):
    for name, category in (("Latte", "Coffee"), ("Mocha", "Coffee"), ("Scone", "Pastries")):
        assert (await admin.post("/menu_items", {"name": name, "price": "3", "category": category})).status == 201
    resp = await as_role("trainee").get("/menu_items/categories")
    assert resp.status == 200
    cats = resp.data["categories"]
    assert [(c["name"], c["itemCount"], c["taxRate"], c["sortOrder"]) for c in cats] == \
        [("Coffee", 2, D("0.08"), 0), ("Pastries", 1, D("0.08"), 1)]
    assert all(c["ownTaxRate"] is None and c["takeAwayTaxRate"] == D("0.08") for c in cats)
    assert (await admin.put("/menu_items/categories/Pastries", {"sortOrder": -1, "name": "Bakery"})).status == 200
    names = [c["name"] for c in (await admin.get("/menu_items/categories")).data["categories"]]
    assert names == ["Bakery", "Coffee"]
    assert (await admin.put("/menu_items/categories/Bakery", {"name": "Coffee"})).status == 409
    assert (await admin.put("/menu_items/categories/Nope", {"sortOrder": 1})).status == 404
    assert (await admin.put("/menu_items/categories/Coffee", {"taxRate": "2"})).status == 400
    assert (await as_role("cashier").put("/menu_items/categories/Coffee", {"sortOrder": 3})).status == 403


# ---- listing ----------------------------------------------------------------------------------------------


async def test_list_is_whole_sorted_and_filterable(admin):
    specs = [("Scone", "Pastries", 0, True), ("Latte", "Coffee", 1, True), ("Espresso", "Coffee", 0, True),
             ("Americano", "Coffee", 1, False), ("Water", None, 0, True)]
    for name, category, sort, active in specs:
        body = {"name": name, "price": "2", "category": category, "sortOrder": sort, "isActive": active,
                "description": "with oat milk" if name == "Latte" else ""}
        assert (await admin.post("/menu_items", body)).status == 201
    await admin.put("/menu_items/categories/Pastries", {"sortOrder": -5})
    resp = await admin.get("/menu_items")
    assert resp.status == 200
    data = resp.data
    assert [i["name"] for i in data["menu_items"]] == ["Scone", "Espresso", "Americano", "Latte", "Water"]
    assert (data["total"], data["page"], data["perPage"], data["pages"]) == (5, 1, 5, 1)
    assert [i["name"] for i in (await admin.get("/menu_items?category=coffee")).data["menu_items"]] == \
        ["Espresso", "Americano", "Latte"]
    assert [i["name"] for i in (await admin.get("/menu_items?active=false")).data["menu_items"]] == ["Americano"]
    assert [i["name"] for i in (await admin.get("/menu_items?search=OAT")).data["menu_items"]] == ["Latte"]
    assert (await admin.get("/menu_items?search=%25")).data["menu_items"] == []  # wildcards are literal
    paged = (await admin.get("/menu_items?page=2&perPage=2")).data
    assert [i["name"] for i in paged["menu_items"]] == ["Americano", "Latte"]
    assert (paged["total"], paged["page"], paged["perPage"], paged["pages"]) == (5, 2, 2, 3)
    assert (await admin.get("/menu_items?active=maybe")).status == 400
    assert (await admin.get("/menu_items?perPage=500")).status == 400


async def test_etag_304_and_changes_after_every_kind_of_edit(server, admin, settings, stock):
    item = (await admin.post("/menu_items", latte(stock, stockCount=3))).data["menuItem"]
    first = await admin.get("/menu_items")
    etag = first.headers["ETag"]
    assert etag and first.headers["Cache-Control"] == "private, no-cache"
    again = await admin.get("/menu_items", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b"" and again.headers["ETag"] == etag
    assert (await admin.get("/menu_items")).headers["ETag"] == etag  # stable while nothing changes

    group_id = item["modifierGroups"][0]["id"]
    seen = [etag]

    async def changed() -> None:
        resp = await admin.get("/menu_items", headers={"If-None-Match": seen[-1]})
        assert resp.status == 200 and resp.headers["ETag"] not in seen
        seen.append(resp.headers["ETag"])

    await admin.put(f"/menu_items/{item['id']}", {"price": "3.50"})
    await changed()
    await admin.put("/menu_items/categories/Coffee", {"taxRate": "0.07"})
    await changed()
    await admin.put(f"/menu_items/modifier-groups/{group_id}", {"maxSelect": 2})
    await admin.get("/menu_items")
    await changed()
    await admin.put(f"/menu_items/{item['id']}", {"recipe": []})
    await changed()
    # A sale takes counted stock in one of the server's units of work (whose events reach the
    # menu cache); a script writing the database behind the server's back would not be seen.
    await server.ctx.run_db(counted_stock.take_counted_stock, item["id"], 1)
    await changed()
    await admin.put("/menu_items/categories/Coffee", {"taxRate": None})
    await changed()
    assert (await admin.put("/settings", {"defaultTaxRate": "0.19"})).status == 200
    resp = await admin.get("/menu_items", headers={"If-None-Match": ", ".join(seen)})
    assert resp.status == 200 and resp.data["menu_items"][0]["taxRate"] == D("0.19")
    # The ETag follows the data: a filter that selects other items has another one.
    assert (await admin.get("/menu_items?active=false")).headers["ETag"] != resp.headers["ETag"]


async def test_list_statement_count_is_the_same_for_5_and_50_items(server, admin, settings, stock):
    statements: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        if "pg_notify" not in statement:  # the event bus telling other processes of earlier writes
            statements.append(statement)

    async def statements_for_listing() -> int:
        statements.clear()
        event.listen(server.ctx.engine, "before_cursor_execute", on_execute)
        try:
            resp = await admin.get("/menu_items")
        finally:
            event.remove(server.ctx.engine, "before_cursor_execute", on_execute)
        assert resp.status == 200
        return len(statements), len(resp.data["menu_items"])

    await server.ctx.event_bus.start()  # PostgreSQL: caches answer only while the listener runs
    assert (await admin.get("/auth/me")).status == 200  # the login is read (and cached) here
    # Made in the server's units of work, as the menu endpoints do: their events reach its caches.
    await server.ctx.run_db(items_unit(settings, 5, stock, "Small"))
    few, n_few = await statements_for_listing()
    await server.ctx.run_db(items_unit(settings, 45, stock, "More"))
    many, n_many = await statements_for_listing()
    assert (n_few, n_many) == (5, 50)
    assert few == many and many < 20, statements
    # The answer for an unchanged menu (and the caller's login) come from memory: no statement at all
    # (PostgreSQL, whose LISTEN keeps the process's caches honest; on SQLite the menu state is read).
    cached, _ = await statements_for_listing()
    assert cached == 0 if PG_URL else cached < many, statements


def test_catalogue_for_order_shape_and_fixed_statement_count(settings, stock):
    make_items(settings, 3, stock, "A")
    make_items(settings, 30, stock, "B")
    ids = run_unit(settings, lambda s: list(s.scalars(select(MenuItem.id).order_by(MenuItem.name))))
    engine = make_engine(settings.database_url, pooled=False)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        factory = make_session_factory(engine)
        few = unit_of_work(factory, menu_items.catalogue_for_order, settings, ids[:3])
        n_few = len(statements)
        statements.clear()
        many = unit_of_work(factory, menu_items.catalogue_for_order, settings, ids + ["unknown"])
        n_many = len(statements)
    finally:
        engine.dispose()
    assert n_few == n_many and len(few) == 3 and len(many) == 33
    entry = many[ids[0]]
    assert set(entry) == {"id", "name", "size", "price", "isActive", "stockCount", "taxRate", "takeAwayTaxRate",
                          "category", "station", "recipe", "modifierGroups"}
    assert entry["price"] == D("2.50") and entry["taxRate"] == D("0.08") and entry["size"] is None
    assert entry["recipe"] == [(stock["Espresso beans"], D("0.009"))]
    [group] = entry["modifierGroups"]
    assert (group["name"], group["minSelect"], group["maxSelect"]) == ("Milk", 0, 1)
    [oat] = group["modifiers"]
    assert set(oat) == {"id", "name", "priceDelta", "recipe"}
    assert oat["priceDelta"] == D("0.40") and oat["recipe"] == [(stock["Oat milk"], D("0.200"))]


# ---- delete, audit, counted stock -------------------------------------------------------------------------


async def test_delete_of_a_sold_item_deactivates_it(admin, settings, stock):
    item = (await admin.post("/menu_items", latte(stock))).data["menuItem"]
    other = (await admin.post("/menu_items", {"name": "Tea", "price": "2"})).data["menuItem"]

    def sell(session):
        # Stand-in for the orders area: a line that references the item with ON DELETE RESTRICT.
        session.execute(text("CREATE TABLE probe_order_items (id VARCHAR(36) PRIMARY KEY, menu_item_id VARCHAR(36) "
                             "NOT NULL REFERENCES menu_items(id) ON DELETE RESTRICT)"))
        session.execute(text("INSERT INTO probe_order_items VALUES ('line-1', :id)"), {"id": item["id"]})

    run_unit(settings, sell)
    resp = await admin.delete(f"/menu_items/{item['id']}")
    assert resp.status == 200, resp.body
    assert resp.data["deleted"] is False and resp.data["deactivated"] is True
    assert resp.data["menuItem"]["isActive"] is False and "deactivated" in resp.json["message"]
    still = (await admin.get(f"/menu_items/{item['id']}")).data["menuItem"]
    assert still["isActive"] is False and len(still["recipe"]) == 2 and still["modifierGroups"]
    gone = await admin.delete(f"/menu_items/{other['id']}")
    assert gone.data == {"id": other["id"], "deleted": True, "deactivated": False, "menuItem": None}
    assert count(settings, MenuItem) == 1


async def test_price_change_is_audited(admin, settings, stock):
    item = (await admin.post("/menu_items", latte(stock))).data["menuItem"]
    await admin.put(f"/menu_items/{item['id']}", {"description": "no price change"})
    await admin.put(f"/menu_items/{item['id']}", {"price": "3.90"})
    rows = run_unit(settings, lambda s: [(a.actor_name, a.action, a.old_values, a.new_values) for a in s.scalars(
        select(AuditChange).where(AuditChange.entity == "menu_item", AuditChange.entity_id == item["id"]))])
    assert rows == [("admin", "price_change", {"price": "3.40"}, {"price": "3.90"})]


def test_counted_stock_never_goes_below_zero(settings, stock):
    def create(session, **over):
        body = MenuItemCreate.model_validate({"name": "Croissant", "price": "2.20", **over})
        return menu_items.create(session, settings, body, actor=None)["id"]

    croissant = run_unit(settings, create, stockCount=3)
    latte_id = run_unit(settings, create, name="Latte")
    run_unit(settings, counted_stock.take_counted_stock, croissant, 2)
    with pytest.raises(SoldOut) as info:
        run_unit(settings, counted_stock.take_counted_stock, croissant, 2)
    assert info.value.message == "Croissant is sold out" and info.value.status_code == 409
    assert info.value.error_code == "SOLD_OUT" and info.value.data["available"] == 1
    run_unit(settings, counted_stock.take_counted_stock, croissant, 1)
    with pytest.raises(SoldOut):
        run_unit(settings, counted_stock.take_counted_stock, croissant, 1)
    run_unit(settings, counted_stock.return_counted_stock, croissant, 2)
    run_unit(settings, counted_stock.take_counted_stock, latte_id, 5)  # made to order: untouched
    run_unit(settings, counted_stock.return_counted_stock, latte_id, 5)
    with pytest.raises(NotFound):
        run_unit(settings, counted_stock.take_counted_stock, "nope", 1)
    found = run_unit(settings, lambda s: dict(s.execute(select(MenuItem.name, MenuItem.stock_count)).all()))
    assert found == {"Croissant": 2, "Latte": None}


def test_concurrent_sales_of_the_last_pastries(settings):
    def create(session):
        body = MenuItemCreate.model_validate({"name": "Cinnamon Roll", "price": "3", "stockCount": 5})
        return menu_items.create(session, settings, body, actor=None)["id"]

    item_id = run_unit(settings, create)
    engine = make_engine(settings.database_url, pool_size=12)
    factory = make_session_factory(engine)
    outcomes: list[str] = []
    start = threading.Barrier(12)

    def sell() -> None:
        start.wait()
        try:
            unit_of_work(factory, counted_stock.take_counted_stock, item_id, 1)
            outcomes.append("sold")
        except SoldOut:
            outcomes.append("sold out")

    threads = [threading.Thread(target=sell) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert sorted(outcomes) == ["sold"] * 5 + ["sold out"] * 7
    assert run_unit(settings, lambda s: s.scalar(select(MenuItem.stock_count))) == 0


async def test_stock_count_round_trip_and_clearing(admin):
    item = (await admin.post("/menu_items", {"name": "Muffin", "price": "2.80", "stockCount": 12})).data["menuItem"]
    assert item["stockCount"] == 12
    item = (await admin.put(f"/menu_items/{item['id']}", {"stockCount": 20})).data["menuItem"]
    assert item["stockCount"] == 20
    item = (await admin.put(f"/menu_items/{item['id']}", {"stockCount": None})).data["menuItem"]
    assert item["stockCount"] is None


def test_controller_list_pages(settings, stock):
    make_items(settings, 7, stock)
    data = run_unit(settings, menu_items.list_menu, settings, Page(page=2, per_page=3))
    # Cat 0: 000 003 006, Cat 1: 001 004, Cat 2: 002 005 -> the second page of three.
    assert [i["name"] for i in data["menu_items"]] == ["Item 001", "Item 004", "Item 002"]
    assert (data["total"], data["page"], data["perPage"], data["pages"]) == (7, 2, 3, 3)


async def test_openapi_documents_the_menu(client):
    doc = (await client.get("/openapi.json")).json
    assert {"/menu_items", "/menu_items/{item_id}", "/menu_items/categories", "/menu_items/categories/{name}",
            "/menu_items/bulk-import", "/menu_items/modifier-groups",
            "/menu_items/modifier-groups/{group_id}"} <= set(doc["paths"])
    assert "304" in doc["paths"]["/menu_items"]["get"]["responses"]
    assert "modifierGroups" in doc["components"]["schemas"]["MenuItemCreate"]["properties"]


async def test_modifier_renames_keep_ids_and_names_keep_their_case(admin, stock):
    item = (await admin.post("/menu_items", latte(stock))).data["menuItem"]
    milk = item["modifierGroups"][0]
    oat, soy = milk["modifiers"]
    # Swap the two names by id: both ids survive, nothing clashes on the unique name index.
    resp = await admin.put(f"/menu_items/modifier-groups/{milk['id']}", {"modifiers": [
        {"id": oat["id"], "name": "Soy", "priceDelta": "0.40"}, {"id": soy["id"], "name": "Oat"}]})
    assert resp.status == 200, resp.body
    assert [(m["id"], m["name"]) for m in resp.data["modifierGroup"]["modifiers"]] == \
        [(oat["id"], "Soy"), (soy["id"], "Oat")]
    # Retire one, then reuse its name for a new one by id of the other: the retired one steps aside.
    resp = await admin.put(f"/menu_items/modifier-groups/{milk['id']}", {"modifiers": [{"id": oat["id"],
                                                                                        "name": "Oat"}]})
    assert resp.status == 200, resp.body
    assert [(m["id"], m["name"]) for m in resp.data["modifierGroup"]["modifiers"]] == [(oat["id"], "Oat")]
    # A definition matched by name never renames the shared group.
    resp = await admin.put(f"/menu_items/{item['id']}", {"modifierGroups": [
        {"name": "MILK", "maxSelect": 2, "modifiers": [{"name": "oat", "priceDelta": "0.45"}]}]})
    assert resp.status == 200, resp.body
    group = resp.data["menuItem"]["modifierGroups"][0]
    assert (group["id"], group["name"], group["maxSelect"]) == (milk["id"], "Milk", 2)
    assert [(m["id"], m["priceDelta"]) for m in group["modifiers"]] == [(oat["id"], D("0.45"))]
