"""Station configuration: settings stations[] and tabMaxHours, a category's station, an item's
override ("none" = nothing to prepare), the CSV import/export column, and the menu's ETag."""

from __future__ import annotations

from tests.prep_support import build_prep_menu


async def test_settings_stations_and_tab_max_hours(staff):
    manager = staff["manager"]
    data = (await staff["cashier"].get("/settings")).data["settings"]
    assert (data["stations"], data["tabMaxHours"]) == (["bar", "kitchen"], 16)
    r = await manager.put("/settings", {"stations": ["bar", "kitchen", "cold_bar", "pass-1"], "tabMaxHours": 8})
    assert r.status == 200, r.body
    assert (r.data["settings"]["stations"], r.data["settings"]["tabMaxHours"]) == (
        ["bar", "kitchen", "cold_bar", "pass-1"], 8)
    changes = (await staff["admin"].get("/audit/changes")).data
    rows = next(v for v in changes.values() if isinstance(v, list))
    assert any((row.get("newValues") or row.get("new") or {}).get("stations") == ["bar", "kitchen", "cold_bar",
                                                                                   "pass-1"] for row in rows)
    assert (await manager.put("/settings", {"stations": ["bar"]})).status == 200  # nothing uses kitchen yet


async def test_a_station_in_use_cannot_be_removed(staff):
    admin = staff["admin"]
    await build_prep_menu(admin)  # Food -> kitchen
    r = await admin.put("/settings", {"stations": ["bar"]})
    assert r.status == 409 and r.json["errorCode"] == "CONFLICT" and "Food" in r.json["errors"][0], r.body
    assert (await admin.get("/settings")).data["settings"]["stations"] == ["bar", "kitchen"]
    assert (await admin.put("/menu_items/categories/Food", {"station": None})).status == 200
    assert (await admin.put("/settings", {"stations": ["bar"]})).status == 200


async def test_category_and_item_stations(staff):
    admin = staff["admin"]
    menu = await build_prep_menu(admin)
    cats = {c["name"]: c["station"] for c in (await admin.get("/menu_items/categories")).data["categories"]}
    assert cats == {"Coffee": "bar", "Food": "kitchen", "Pastries": None}
    for body in ({"station": "terrace"}, {"station": "Bar!"}, {"station": 5}):
        r = await admin.put("/menu_items/categories/Pastries", body)
        assert r.status == 400 and r.json["errorCode"] == "VALIDATION_ERROR", (body, r.body)
    etag = (await admin.get("/menu_items")).headers["ETag"]
    r = await admin.put("/menu_items/categories/Pastries", {"station": "kitchen"})
    assert r.status == 200 and r.data["category"]["station"] == "kitchen"
    assert (await admin.get("/menu_items")).headers["ETag"] != etag  # the menu's revision moved on
    croissant = (await admin.get(f"/menu_items/{menu['croissant']['id']}")).data["menuItem"]
    assert croissant["station"] == "kitchen"
    # An item's own station wins; "none" (or "") is nothing to prepare; null inherits again.
    item = f"/menu_items/{menu['latte']['id']}"
    assert (await admin.put(item, {"station": "kitchen"})).data["menuItem"]["station"] == "kitchen"
    assert (await admin.put(item, {"station": "none"})).data["menuItem"]["station"] is None
    assert (await admin.put(item, {"station": ""})).data["menuItem"]["station"] is None
    assert (await admin.put(item, {"station": None})).data["menuItem"]["station"] == "bar"
    for bad in ("terrace", "BAR BAR", 3):
        r = await admin.put(item, {"station": bad})
        assert r.status == 400 and r.json["errorCode"] == "VALIDATION_ERROR", (bad, r.body)
        r = await admin.post("/menu_items", {"name": "Tea", "price": "2.00", "station": bad})
        assert r.status == 400, (bad, r.body)
    assert (await admin.get(item)).data["menuItem"]["station"] == "bar"


async def test_export_round_trips_the_station_column(staff):
    admin = staff["admin"]
    menu = await build_prep_menu(admin)
    assert (await admin.put(f"/menu_items/{menu['toastie']['id']}", {"station": "bar"})).status == 200
    export = (await admin.get("/menu_items/export")).body.decode("utf-8-sig")
    header, *rows = export.splitlines()
    assert header.split(",")[-1] == "station"
    by_name = {row.split(",")[0]: row.split(",")[-1] for row in rows}
    assert by_name == {"Latte": "", "Espresso": "", "Still water": "none", "Toastie": "bar", "Croissant": ""}
    r = await admin.post("/menu_items/bulk-import", body=export.encode(), headers={"Content-Type": "text/csv"})
    assert r.status == 200, r.body
    assert (r.data["created"], r.data["updated"]) == (0, 0)
    r = await admin.post("/menu_items/bulk-import", {"rows": [
        {"name": "Toastie", "price": "6.90", "station": "inherit"},
        {"name": "Iced tea", "price": "3.10", "category": "Coffee", "station": "none"},
        {"name": "Soup", "price": "5.50", "category": "Food"}]})
    assert r.status == 200 and (r.data["created"], r.data["updated"]) == (2, 1), r.body
    stations = {i["name"]: i["station"] for i in (await admin.get("/menu_items")).data["menu_items"]}
    assert (stations["Toastie"], stations["Iced tea"], stations["Soup"]) == ("kitchen", None, "kitchen")
    r = await admin.post("/menu_items/bulk-import", {"rows": [{"name": "Cake", "price": "3", "station": "terrace"},
                                                              {"name": "Pie", "price": "3", "station": "Bad Name"}]})
    assert r.status == 400 and {e["field"] for e in r.data["rowErrors"]} == {"station"}, r.body
