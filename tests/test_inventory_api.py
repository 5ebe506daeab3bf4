"""Inventory items over HTTP: shapes, filters, create/edit/delete, costs, permissions; seeds."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from orm.models.model_identity import AuditChange
from orm.models.model_inventory import InventoryItem, StockMovement
from orm.seed.inventory import PRODUCTION_ITEMS, TEST_ITEMS, seed_production, seed_test
from tests.conftest import run_unit
from tests.inventory_helpers import alerts_of, count, level, make_item, movements_of, open_alerts
from tests.support import suite_now

D = Decimal
ITEM_KEYS = {"id", "name", "category", "supplier", "currentStock", "minStockLevel", "maxStockLevel", "unit",
             "costPerUnit", "location", "barcode", "lastRestocked", "expiryDate", "status", "daysOfCover"}
NEW_ITEM = {"name": "Espresso beans", "unit": "KG", "category": "Coffee", "supplier": "Roastery Nord",
            "currentStock": "12.5", "minStockLevel": 3, "maxStockLevel": 25, "costPerUnit": "18.5",
            "location": "Dry store", "barcode": "4006381333931", "expiryDate": "2027-06-30"}


async def test_create_returns_resource_and_records_initial_count(settings, admin):
    resp = await admin.post("/inventory", NEW_ITEM)
    assert resp.status == 201, resp.body
    item = resp.data["item"]
    assert set(item) == ITEM_KEYS
    assert resp.headers["Location"] == f"/inventory/{item['id']}"
    assert item["unit"] == "kg" and item["currentStock"] == D("12.500") and item["costPerUnit"] == D("18.5")
    assert item["status"] == "in_stock" and item["daysOfCover"] is None and item["expiryDate"] == "2027-06-30"
    assert movements_of(settings, item["id"]) == [("count", D("12.5"), D("12.5"))]
    assert count(settings, AuditChange) >= 1
    # Without minStockLevel the store's lowStockDefaultMin (0) applies; no stock means no movement.
    resp = await admin.post("/inventory", {"name": "Lids", "unit": "pcs"})
    assert resp.status == 201 and resp.data["item"]["minStockLevel"] == D("0")
    assert resp.data["item"]["status"] == "out_of_stock"
    assert movements_of(settings, resp.data["item"]["id"]) == []


@pytest.mark.parametrize("body, field", [
    ({**NEW_ITEM, "unit": "cups"}, "unit"),
    ({**NEW_ITEM, "name": "  "}, "name"),
    ({**NEW_ITEM, "currentStock": -1}, "currentStock"),
    ({**NEW_ITEM, "currentStock": "1.0005"}, "currentStock"),
    ({**NEW_ITEM, "costPerUnit": "0.00001"}, "costPerUnit"),
    ({**NEW_ITEM, "minStockLevel": 30}, "body"),
    ({**NEW_ITEM, "expiryDate": "tomorrow"}, "expiryDate"),
    ({**NEW_ITEM, "colour": "brown"}, "colour"),
    ({**NEW_ITEM, "barcode": "4" * 65}, "barcode"),
    ({k: v for k, v in NEW_ITEM.items() if k != "unit"}, "unit"),
])
async def test_create_validation_writes_nothing(settings, admin, body, field):
    resp = await admin.post("/inventory", body)
    assert resp.status == 400, resp.body
    assert resp.json["errorCode"] == "VALIDATION_ERROR" and field in resp.json["fieldErrors"]
    assert count(settings, InventoryItem) == 0 and count(settings, StockMovement) == 0


async def test_create_duplicate_name_is_409(settings, admin):
    make_item(settings, "Whole milk", unit="l")
    resp = await admin.post("/inventory", {"name": "whole MILK", "unit": "l", "currentStock": 3})
    assert resp.status == 409 and resp.json["errorCode"] == "CONFLICT"
    assert count(settings, InventoryItem) == 1 and count(settings, StockMovement) == 0


async def test_list_whole_by_default_filters_and_status(settings, as_role):
    today = suite_now().date()
    make_item(settings, "Espresso beans", stock="10", min_level="2", category="Coffee", location="Dry store")
    make_item(settings, "Decaf beans", stock="1", min_level="2", category="Coffee", location="Dry store")
    make_item(settings, "Whole milk", unit="l", stock="0", min_level="5", category="Dairy", location="Fridge")
    make_item(settings, "Cream", unit="l", stock="3", min_level="1", category="Dairy", location="Fridge",
              expiry=today - timedelta(days=1), supplier="Alpine 100%_dairy")
    c = as_role("trainee")
    resp = await c.get("/inventory")
    assert resp.status == 200
    data = resp.data
    assert data["total"] == 4 and data["pages"] == 1 and data["page"] == 1 and data["perPage"] == 4
    assert [i["name"] for i in data["inventory"]] == ["Decaf beans", "Espresso beans", "Cream", "Whole milk"]
    statuses = {i["name"]: i["status"] for i in data["inventory"]}
    assert statuses == {"Espresso beans": "in_stock", "Decaf beans": "low_stock", "Whole milk": "out_of_stock",
                        "Cream": "expired"}

    async def names(query: str) -> list[str]:
        r = await c.get(f"/inventory?{query}")
        assert r.status == 200, r.body
        return [i["name"] for i in r.data["inventory"]]

    assert await names("category=coffee") == ["Decaf beans", "Espresso beans"]
    assert await names("status=low_stock,out_of_stock") == ["Decaf beans", "Whole milk"]
    assert await names("status=expired") == ["Cream"]
    assert await names("search=BEANS") == ["Decaf beans", "Espresso beans"]
    assert await names("search=100%_") == ["Cream"]  # LIKE wildcards are literal
    assert await names("location=fridge") == ["Cream", "Whole milk"]
    resp = await c.get("/inventory?perPage=3&page=2")
    assert resp.data["total"] == 4 and resp.data["pages"] == 2 and len(resp.data["inventory"]) == 1
    for query in ("status=gone", "active=maybe", "perPage=500"):
        assert (await c.get(f"/inventory?{query}")).status == 400, query


async def test_costs_hidden_without_view_costs(settings, as_role):
    item = make_item(settings, "Vanilla syrup", unit="l", stock="2", cost="9.8")
    for role, expected in (("cashier", None), ("trainee", None), ("manager", D("9.8")), ("admin", D("9.8"))):
        c = as_role(role)
        listed = (await c.get("/inventory")).data["inventory"][0]
        one = (await c.get(f"/inventory/{item['id']}")).data["item"]
        assert listed["costPerUnit"] == expected and one["costPerUnit"] == expected, role
        assert set(one) == ITEM_KEYS


async def test_update_partial_and_stock_edit_is_a_correction(settings, admin, as_role):
    item = make_item(settings, "Green tea", stock="1", min_level="0.5", max_level="2", cost="32")
    resp = await admin.put(f"/inventory/{item['id']}", {"supplier": "Tea Traders", "minStockLevel": "1.5"})
    assert resp.status == 200, resp.body
    updated = resp.data["item"]
    assert updated["supplier"] == "Tea Traders" and updated["minStockLevel"] == D("1.5")
    assert updated["maxStockLevel"] == D("2") and updated["costPerUnit"] == D("32")  # untouched
    assert updated["status"] == "low_stock" and open_alerts(settings, item["id"]) == ["low_stock"]
    # Sending back what was read works; the read-only fields are ignored.
    resp = await admin.put(f"/inventory/{item['id']}", {**updated, "currentStock": "2", "status": "in_stock"})
    assert resp.status == 200 and resp.data["item"]["currentStock"] == D("2")
    assert movements_of(settings, item["id"])[-1] == ("correction", D("1"), D("2"))
    assert open_alerts(settings, item["id"]) == [] and alerts_of(settings, item["id"]) == [("low_stock", "resolved")]
    resp = await admin.put(f"/inventory/{item['id']}", {"maxStockLevel": None})
    assert resp.status == 200 and resp.data["item"]["maxStockLevel"] is None


async def test_update_errors_write_nothing(settings, admin):
    item = make_item(settings, "Black tea", stock="1", min_level="0.5", max_level="3")
    make_item(settings, "Chai", unit="l")
    for body, status in (({"maxStockLevel": "0.1"}, 400), ({"unit": "cups"}, 400), ({"name": None}, 400),
                         ({"currentStock": -2}, 400), ({"name": "CHAI"}, 409), ({"colour": "x"}, 400)):
        resp = await admin.put(f"/inventory/{item['id']}", body)
        assert resp.status == status, (body, resp.body)
    one = (await admin.get(f"/inventory/{item['id']}")).data["item"]
    assert (one["name"], one["maxStockLevel"], one["unit"], one["currentStock"]) == \
        ("Black tea", D("3"), "kg", D("1"))
    assert (await admin.put("/inventory/nope", {"supplier": "x"})).status == 404


def test_editing_stock_needs_adjust_permission(settings):
    from orm.controllers.inventory import inventory_items
    from orm.domain.errors import PermissionDenied
    from orm.domain.schemas.inventory import InventoryItemUpdate
    from tests.inventory_helpers import principal

    item = make_item(settings, "Cocoa", stock="1")
    editor = principal("manager")
    editor = type(editor)(user_id="u", username="editor", role="editor",
                          permissions=editor.permissions - {"inventory.adjust_stock"})
    same = InventoryItemUpdate(currentStock=D("1"), supplier="Cocoa Co")
    assert run_unit(settings, inventory_items.update, settings, editor, item["id"], same,
                    suite_now())["supplier"] == "Cocoa Co"
    with pytest.raises(PermissionDenied):
        run_unit(settings, inventory_items.update, settings, editor, item["id"],
                 InventoryItemUpdate(currentStock=D("3")), suite_now())
    assert level(settings, item["id"]) == D("1")


async def test_delete_deactivates_hides_and_can_restore(settings, admin):
    item = make_item(settings, "Hazelnut syrup", unit="l", stock="0.2", min_level="1")
    assert open_alerts(settings, item["id"]) == ["low_stock"]
    resp = await admin.delete(f"/inventory/{item['id']}")
    assert resp.status == 200 and resp.data["item"]["id"] == item["id"]
    assert count(settings, InventoryItem) == 1  # still there: movements point at it
    assert open_alerts(settings, item["id"]) == []
    assert (await admin.get("/inventory")).data["total"] == 0
    assert [i["id"] for i in (await admin.get("/inventory?active=false")).data["inventory"]] == [item["id"]]
    assert (await admin.get("/inventory?active=all")).data["total"] == 1
    assert (await admin.get(f"/inventory/{item['id']}")).status == 200
    resp = await admin.put(f"/inventory/{item['id']}", {"isActive": True})
    assert resp.status == 200 and (await admin.get("/inventory")).data["total"] == 1
    assert open_alerts(settings, item["id"]) == ["low_stock"]
    assert (await admin.delete("/inventory/nope")).status == 404


async def test_get_unknown_item_is_404(admin):
    resp = await admin.get("/inventory/00000000-0000-0000-0000-000000000000")
    assert resp.status == 404 and resp.json["errorCode"] == "NOT_FOUND"


ENDPOINTS = [
    # method, path, body, roles allowed
    ("GET", "/inventory", None, {"admin", "manager", "cashier", "trainee"}),
    ("GET", "/inventory/{id}", None, {"admin", "manager", "cashier", "trainee"}),
    ("GET", "/inventory/{id}/movements", None, {"admin", "manager", "cashier", "trainee"}),
    ("GET", "/inventory/movements", None, {"admin", "manager", "cashier", "trainee"}),
    ("GET", "/inventory/forecast", None, {"admin", "manager", "cashier", "trainee"}),
    ("GET", "/alerts", None, {"admin", "manager", "cashier", "trainee"}),
    ("GET", "/alerts/{alert}", None, {"admin", "manager", "cashier", "trainee"}),
    ("POST", "/inventory", {"name": "X{n}", "unit": "kg"}, {"admin", "manager"}),
    ("PUT", "/inventory/{id}", {"supplier": "S{n}"}, {"admin", "manager"}),
    ("POST", "/inventory/{id}/adjust", {"quantity": 1, "type": "restock"}, {"admin", "manager"}),
    ("GET", "/inventory/export", None, {"admin", "manager"}),
    ("POST", "/inventory/import", {"rows": [{"name": "Imp{n}", "unit": "g"}]}, {"admin", "manager"}),
    ("PATCH", "/alerts/{alert}/acknowledge", None, {"admin", "manager"}),
    ("PATCH", "/alerts/{alert}/dismiss", None, {"admin", "manager"}),
    ("PATCH", "/alerts/{alert}/resolve", None, {"admin", "manager"}),
    ("DELETE", "/inventory/{id}", None, {"admin", "manager"}),
]


async def test_permissions_for_every_endpoint(settings, client, as_role):
    item = make_item(settings, "Butter", stock="0.5", min_level="1")
    roles = ("trainee", "cashier", "manager", "admin")
    for n, (method, template, body, allowed) in enumerate(ENDPOINTS):
        for role in roles:
            alert_id = run_unit(settings, _an_alert_id)
            path = template.format(id=item["id"], alert=alert_id)
            payload = _fill(body, f"{n}{role}")
            resp = await as_role(role).request(method, path, json=payload)
            if role in allowed:
                assert resp.status in (200, 201), (method, path, role, resp.body)
            else:
                assert resp.status == 403 and resp.json["errorCode"] == "FORBIDDEN", (method, path, role)
            if method == "DELETE" and role in allowed:
                await as_role("admin").put(f"/inventory/{item['id']}", {"isActive": True})
        resp = await client.request(method, template.format(id=item["id"], alert="x"), json=_fill(body, "anon"))
        assert resp.status == 401 and resp.json["errorCode"] == "UNAUTHORIZED", (method, template)


def _an_alert_id(session) -> str:
    """A fresh open alert for each call (the action endpoints need one in the right state)."""
    from orm.controllers.inventory import alerts
    from tests.inventory_helpers import STORE

    data = alerts.raise_alert(session, store_id=STORE, item_id=None, alert_type="system",
                                        severity="info", title="Till printer paper low", message="", now=suite_now())
    assert data is not None
    return data["id"]


def _fill(body, suffix: str):
    if body is None:
        return None
    if "rows" in body:
        return {"rows": [{k: str(v).format(n=suffix) for k, v in row.items()} for row in body["rows"]]}
    return {k: v.format(n=suffix) if isinstance(v, str) else v for k, v in body.items()}


def test_seeds_are_idempotent_with_true_counts(settings):
    first = run_unit(settings, seed_test, settings)
    assert first == {"inventory_items": len(TEST_ITEMS), "stock_movements": len(TEST_ITEMS) - 1}
    assert len(TEST_ITEMS) >= 20
    assert run_unit(settings, seed_test, settings) == first
    names = run_unit(settings, lambda s: {n for (n,) in s.execute(InventoryItem.__table__.select()
                                                                  .with_only_columns(InventoryItem.name))})
    assert {"Espresso beans", "Whole milk", "Cups 8oz", "Croissant (frozen)", "Napkins"} <= names
    beans_id = run_unit(settings, lambda s: s.scalar(InventoryItem.__table__.select()
                                                     .with_only_columns(InventoryItem.id)
                                                     .where(InventoryItem.name == "Espresso beans")))
    assert level(settings, beans_id) == D("12.5")
    low = run_unit(settings, lambda s: s.scalar(InventoryItem.__table__.select()
                                                .with_only_columns(InventoryItem.id)
                                                .where(InventoryItem.name == "Oat milk")))
    assert open_alerts(settings, low) == ["low_stock"]
    production = run_unit(settings, seed_production, settings)
    overlap = {p[0] for p in PRODUCTION_ITEMS} & {t[0] for t in TEST_ITEMS}
    assert production == {"inventory_items": len(TEST_ITEMS) + len(PRODUCTION_ITEMS) - len(overlap),
                          "stock_movements": first["stock_movements"]}
    assert len(PRODUCTION_ITEMS) >= 32
    assert run_unit(settings, seed_production, settings) == production
