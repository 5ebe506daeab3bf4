"""POST /menu_items/bulk-import: CSV or JSON, upsert/create, dry run, all-or-nothing errors."""

from __future__ import annotations

import uuid
from decimal import Decimal as D

import pytest
from sqlalchemy import event, func, select

from orm.models.model_identity import AuditChange
from orm.models.model_menu import MenuCategory, MenuItem
from tests.conftest import run_unit

HEADER = "name,category,size,price,description,isActive,sku,barcode,taxRate"


def multipart(csv_text: str | bytes, filename: str = "menu.csv") -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    data = csv_text.encode() if isinstance(csv_text, str) else csv_text
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def upload(c, csv_text: str | bytes, query: str = ""):
    body, headers = multipart(csv_text)
    return await c.post(f"/menu_items/bulk-import{query}", body=body, headers=headers)


def item_count(settings) -> int:
    return run_unit(settings, lambda s: s.scalar(select(func.count()).select_from(MenuItem)))


def items(settings) -> dict[tuple[str, str], MenuItem]:
    def fn(session):
        rows = session.execute(select(MenuItem, MenuCategory.name).outerjoin(
            MenuCategory, MenuCategory.id == MenuItem.category_id)).all()
        return {(i.name, i.size): (i.price, cat, i.is_active, i.sku, i.tax_rate, i.description) for i, cat in rows}

    return run_unit(settings, fn)


GOOD = f"""{HEADER}
Latte,Coffee,Small,3.40,Milky,true,LAT-S,4000000000017,
Latte,Coffee,Large,4.10,,yes,LAT-L,,
Croissant,Pastries,,2.20,"Butter, flaky",,,,0.07
"Tea, Green",Tea,,2.60,,false,,,
"""


async def test_csv_import_creates_items_and_categories(admin, settings):
    resp = await upload(admin, GOOD)
    assert resp.status == 200, resp.body
    assert resp.data == {"created": 4, "updated": 0, "skipped": 0, "rowErrors": [], "dryRun": False}
    assert items(settings) == {
        ("Latte", "Small"): (D("3.40"), "Coffee", True, "LAT-S", None, "Milky"),
        ("Latte", "Large"): (D("4.10"), "Coffee", True, "LAT-L", None, ""),
        ("Croissant", ""): (D("2.20"), "Pastries", True, None, D("0.07"), "Butter, flaky"),
        ("Tea, Green", ""): (D("2.60"), "Tea", False, None, None, ""),
    }
    listed = (await admin.get("/menu_items")).data["menu_items"]
    assert [i["name"] for i in listed] == ["Latte", "Latte", "Croissant", "Tea, Green"]
    croissant = listed[2]
    assert croissant["taxRate"] == D("0.07") and croissant["size"] is None
    cats = (await admin.get("/menu_items/categories")).data["categories"]
    assert [(c["name"], c["itemCount"]) for c in cats] == [("Coffee", 2), ("Pastries", 1), ("Tea", 1)]


async def test_upsert_updates_skips_and_creates_and_audits_prices(as_role, settings):
    manager = as_role("manager")
    assert (await upload(manager, GOOD)).status == 200
    second = f"""{HEADER}
Latte,,Small,3.60,,,,,
Latte,Coffee,Large,4.10,,,,,
Mocha,coffee,,3.80,,,,,
"""
    resp = await upload(manager, second)
    assert resp.status == 200, resp.body
    assert resp.data == {"created": 1, "updated": 1, "skipped": 1, "rowErrors": [], "dryRun": False}
    now = items(settings)
    # Empty cells leave fields as they were; the category matched case-insensitively.
    assert now[("Latte", "Small")] == (D("3.60"), "Coffee", True, "LAT-S", None, "Milky")
    assert now[("Mocha", "")][1] == "Coffee"
    audits = run_unit(settings, lambda s: [(a.action, a.old_values, a.new_values) for a in s.scalars(
        select(AuditChange).where(AuditChange.entity == "menu_item"))])
    assert audits == [("price_change", {"price": "3.40"}, {"price": "3.60"})]


async def test_dry_run_reports_and_writes_nothing(admin, settings):
    resp = await upload(admin, GOOD, "?dryRun=true")
    assert resp.status == 200
    assert resp.data == {"created": 4, "updated": 0, "skipped": 0, "rowErrors": [], "dryRun": True}
    assert item_count(settings) == 0
    assert run_unit(settings, lambda s: s.scalar(select(func.count()).select_from(MenuCategory))) == 0


async def test_create_mode_refuses_existing_items(admin, settings):
    assert (await upload(admin, GOOD)).status == 200
    resp = await upload(admin, f"{HEADER}\nScone,Pastries,,2.60,,,,,\nLatte,,Small,3.40,,,,,\n", "?mode=create")
    assert resp.status == 400
    assert resp.data["rowErrors"] == [{"row": 3, "field": "name",
                                       "message": "an item with this name and size already exists"}]
    assert item_count(settings) == 4
    assert (await upload(admin, GOOD, "?mode=replace")).status == 400


ERROR_CASES = {
    "unclosed quote": (f'{HEADER}\nLatte,Coffee,,3.40,,,,,\n"Mocha,Coffee,,3.80,,,,,\n', [(3, None)]),
    "unknown column": ("name,price,colour\nLatte,3.40,red\n", [(1, "colour")]),
    "missing price column": ("name,category\nLatte,Coffee\n", [(1, "price")]),
    "zero price": (f"{HEADER}\nLatte,,,3.40,,,,,\nMocha,,,0,,,,,\n", [(3, "price")]),
    "negative price": (f"{HEADER}\nLatte,,,3.40,,,,,\nMocha,,,-2,,,,,\n", [(3, "price")]),
    "huge price": (f"{HEADER}\nLatte,,,3.40,,,,,\nMocha,,,10000.01,,,,,\n", [(3, "price")]),
    "non-numeric price": (f"{HEADER}\nLatte,,,3.40,,,,,\nMocha,,,€3,,,,,\n", [(3, "price")]),
    "comma decimal": (f'{HEADER}\nLatte,,,3.40,,,,,\nMocha,,,"3,80",,,,,\n', [(3, "price")]),
    "three decimals": (f"{HEADER}\nLatte,,,3.40,,,,,\nMocha,,,3.805,,,,,\n", [(3, "price")]),
    "empty price": (f"{HEADER}\nLatte,,,3.40,,,,,\nMocha,,,,,,,,\n", [(3, "price")]),
    "duplicate rows": (f"{HEADER}\nLatte,,Small,3.40,,,,,\nMocha,,,3.80,,,,,\nLatte,,Small,3.50,,,,,\n",
                       [(4, "name")]),
    "duplicate sku": (f"{HEADER}\nLatte,,,3.40,,,X1,,\nMocha,,,3.80,,,X1,,\n", [(3, "sku")]),
    "bad boolean and rate": (f"{HEADER}\nLatte,,,3.40,,maybe,,,1.5\n", [(2, "isActive"), (2, "taxRate")]),
    "too many values": (f"{HEADER}\nLatte,,,3.40,,,,,,extra\n", [(2, None)]),
    "not utf-8": ((f"{HEADER}\nCaf".encode() + b"\xe9,,,3.40,,,,,\n"), [(2, None)]),
    "empty file": ("", [(1, None)]),
    "header only": (f"{HEADER}\n", [(2, None)]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
async def test_every_error_kind_is_400_with_the_report_and_nothing_written(admin, settings, case):
    assert (await upload(admin, f"{HEADER}\nScone,Pastries,,2.60,,,,,\n")).status == 200
    csv_text, expected = ERROR_CASES[case]
    resp = await upload(admin, csv_text)
    assert resp.status == 400 and resp.json["errorCode"] == "VALIDATION_ERROR", resp.body
    data = resp.data
    assert (data["created"], data["updated"], data["skipped"]) == (0, 0, 0)
    assert [(e["row"], e["field"]) for e in data["rowErrors"]] == expected
    assert all(e["message"] for e in data["rowErrors"])
    assert len(resp.json["errors"]) == len(expected) and all(isinstance(e, str) for e in resp.json["errors"])
    assert resp.json["errors"][0].startswith(f"line {expected[0][0]}: ")
    assert item_count(settings) == 1


async def test_all_problems_are_reported_at_once(admin, settings):
    text = f"{HEADER}\nLatte,,,0,,,,,\nMocha,,,abc,,,,,\nTea,,,2,,,,,\nTea,,,2.5,,,,,\n"
    resp = await upload(admin, text)
    assert resp.status == 400
    assert [(e["row"], e["field"]) for e in resp.data["rowErrors"]] == [(2, "price"), (3, "price"), (5, "name")]
    assert resp.data["rowErrors"][0]["message"] == "must be greater than 0"
    assert item_count(settings) == 0


async def test_sku_of_another_existing_item_is_a_row_error(admin, settings):
    assert (await upload(admin, GOOD)).status == 200
    resp = await upload(admin, f"{HEADER}\nMocha,,,3.80,,,LAT-S,,\n")
    assert resp.status == 400
    assert resp.data["rowErrors"] == [{"row": 2, "field": "sku", "message": "is already used by another menu item"}]
    assert item_count(settings) == 4


async def test_json_rows_and_raw_csv_body(admin, settings):
    resp = await admin.post("/menu_items/bulk-import", {"rows": [
        {"name": "Latte", "price": D("3.40"), "category": "Coffee", "isActive": True},
        {"name": "Scone", "price": "2.60", "taxRate": D("0.07")},
    ]})
    assert resp.status == 200, resp.body
    assert (resp.data["created"], resp.data["updated"]) == (2, 0)
    bad = await admin.post("/menu_items/bulk-import", {"rows": [
        {"name": "Mocha", "price": "3.80"}, {"name": "Tea", "price": "-1"}, {"name": "Cake", "colour": "red"}]})
    assert bad.status == 400
    assert [(e["row"], e["field"]) for e in bad.data["rowErrors"]] == [(3, "price"), (4, "colour"), (4, "price")]
    raw = await admin.post("/menu_items/bulk-import", body=f"{HEADER}\nMocha,,,3.80,,,,,\n".encode(),
                           headers={"Content-Type": "text/csv"})
    assert raw.status == 200 and raw.data["created"] == 1
    assert item_count(settings) == 3
    assert (await admin.post("/menu_items/bulk-import", {"nothing": []})).status == 400
    body, headers = multipart(GOOD)
    resp = await admin.post("/menu_items/bulk-import", body=body.replace(b'name="file"', b'name="other"'),
                            headers=headers)
    assert resp.status == 400 and resp.json["fieldErrors"] == {"file": "is required"}


async def test_a_thousand_rows_take_a_fixed_number_of_statements(server, admin, settings):
    statements: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def csv_rows(n: int, prefix: str) -> str:
        return HEADER + "\n" + "".join(f"{prefix} {i},{prefix} {i % 7},,{i % 50 + 1}.25,,,{prefix}-{i},,\n"
                                       for i in range(n))

    async def measured(text: str) -> int:
        statements.clear()
        event.listen(server.ctx.engine, "before_cursor_execute", on_execute)
        try:
            resp = await upload(admin, text)
        finally:
            event.remove(server.ctx.engine, "before_cursor_execute", on_execute)
        assert resp.status == 200, resp.body[:500]
        return len(statements), resp.data

    await measured(csv_rows(1, "Warm-up"))  # the store's first menu change creates its revision row
    few, data = await measured(csv_rows(10, "Small"))
    assert data["created"] == 10
    many, data = await measured(csv_rows(1000, "Big"))
    assert data["created"] == 1000 and few == many
    # Re-importing the same thousand with new prices: one executemany UPDATE, audited.
    updated_text = csv_rows(1000, "Big").replace(".25,", ".75,")
    again, data = await measured(updated_text)
    assert (data["created"], data["updated"]) == (0, 1000) and again < 20
    assert item_count(settings) == 1011
    listed = (await admin.get("/menu_items?search=Big%20999")).data["menu_items"]
    assert listed[0]["price"] == D("50.75") and listed[0]["category"] == "Big 5"
