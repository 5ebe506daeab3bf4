"""Inventory CSV export and all-or-nothing import."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from orm.controllers.inventory.csv_import import export_rows
from orm.models.model_inventory import InventoryItem, StockMovement
from tests.conftest import run_unit
from tests.inventory_helpers import count, level, make_item, movement_sum, movements_of, principal
from tests.support import suite_now

D = Decimal
BOM = b"\xef\xbb\xbf"


def _rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(BOM)
    return list(csv.DictReader(io.StringIO(body[len(BOM):].decode("utf-8"), newline="")))


async def _import_csv(client, text: str | bytes, query: str = ""):
    return await client.request("POST", f"/inventory/import{query}", body=text,
                                headers={"Content-Type": "text/csv; charset=utf-8"})


def _multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _arrange(settings) -> list[dict]:
    today = suite_now().date()
    return [
        make_item(settings, "Crème fraîche, 30%", unit="l", stock="1.25", min_level="0.5", max_level="3",
                  cost="4.2", category="Dairy", supplier='Ferme "Les Prés"', location="Fridge",
                  expiry=today + timedelta(days=9)),
        make_item(settings, "=Formula? no", unit="pcs", stock="12", min_level="24", cost="0.0125",
                  category="Packaging", location="Back room"),
        make_item(settings, "Espresso beans", stock="7.5", min_level="2", max_level="20", cost="18.5",
                  category="Coffee", supplier="Roastery\nNord"),
    ]


async def test_export_format_and_costs(settings, admin):
    items = _arrange(settings)
    await admin.post(f"/inventory/{items[2]['id']}/adjust", {"quantity": 1, "type": "restock"})
    resp = await admin.get("/inventory/export")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="inventory-')
    assert resp.body.startswith(BOM) and b"\r\n" in resp.body
    rows = _rows(resp.body)
    assert list(rows[0]) == ["name", "category", "supplier", "unit", "currentStock", "minStockLevel",
                             "maxStockLevel", "costPerUnit", "location", "barcode", "expiryDate", "lastRestocked"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["'=Formula? no"]["costPerUnit"] == "0.0125"  # guarded against spreadsheet formulas
    assert by_name["Crème fraîche, 30%"]["supplier"] == 'Ferme "Les Prés"'
    assert by_name["Espresso beans"]["currentStock"] == "8.500" and by_name["Espresso beans"]["lastRestocked"]
    assert by_name["Espresso beans"]["supplier"] == "Roastery\nNord"
    # Costs only with inventory.view_costs (no built-in role has export without it).
    no_costs = principal("manager")
    no_costs = type(no_costs)(user_id="u", username="auditor", role="auditor",
                              permissions=no_costs.permissions - {"inventory.view_costs"})
    hidden = _rows(run_unit(settings, export_rows, no_costs))
    assert "costPerUnit" not in hidden[0] and len(hidden) == 3


async def test_round_trip_is_lossless(settings, admin):
    items = _arrange(settings)
    await admin.post(f"/inventory/{items[0]['id']}/adjust", {"quantity": "0.25", "type": "restock"})
    original = (await admin.get("/inventory/export")).body
    movements_before = count(settings, StockMovement)
    # Re-importing what was exported changes nothing.
    resp = await _import_csv(admin, original)
    assert resp.status == 200, resp.body
    assert resp.data == {"created": 0, "updated": 0, "skipped": 3, "rowErrors": []}
    assert count(settings, StockMovement) == movements_before
    # Change everything, then restore it from the file.
    for item in items:
        await admin.put(f"/inventory/{item['id']}", {"supplier": "Other", "costPerUnit": 1, "barcode": "123",
                                                     "maxStockLevel": 99, "expiryDate": "2030-01-01"})
        await admin.post(f"/inventory/{item['id']}/adjust", {"quantity": 5, "type": "restock"})
    await admin.delete(f"/inventory/{items[1]['id']}")
    resp = await _import_csv(admin, original)
    assert resp.status == 200 and resp.data["updated"] == 3
    assert (await admin.get("/inventory/export")).body == original
    for item in items:
        assert movement_sum(settings, item["id"]) == level(settings, item["id"])
        assert movements_of(settings, item["id"])[-1][0] == "import"


async def test_import_into_empty_store_recreates_the_export(settings, admin):
    _arrange(settings)
    original = (await admin.get("/inventory/export")).body
    # Rename every item away, so the import creates them afresh.
    for item in (await admin.get("/inventory")).data["inventory"]:
        await admin.put(f"/inventory/{item['id']}", {"name": "old " + item["id"]})
        await admin.delete(f"/inventory/{item['id']}")
    body, ctype = _multipart("inventory.csv", original)
    resp = await admin.request("POST", "/inventory/import", body=body, headers={"Content-Type": ctype})
    assert resp.status == 200, resp.body
    assert resp.data == {"created": 3, "updated": 0, "skipped": 0, "rowErrors": []}
    assert (await admin.get("/inventory/export")).body == original
    created = [i for i in (await admin.get("/inventory")).data["inventory"]]
    for item in created:
        trail = movements_of(settings, item["id"])
        assert [t for t, _, _ in trail] == ["import"] and trail[0][2] == item["currentStock"]


async def test_json_rows_import_upserts_by_name_and_dry_run(settings, admin):
    make_item(settings, "Whole milk", unit="l", stock="4", min_level="2")
    rows = [{"name": "whole milk", "currentStock": 10, "supplier": "Alpine"},
            {"name": "Oat milk", "unit": "L", "currentStock": "6.5", "minStockLevel": 2, "costPerUnit": "2.2"},
            {"name": "Napkins", "unit": "pcs"}]
    resp = await admin.post("/inventory/import?dryRun=true", {"rows": rows})
    assert resp.status == 200 and resp.data == {"created": 2, "updated": 1, "skipped": 0, "rowErrors": []}
    assert count(settings, InventoryItem) == 1 and count(settings, StockMovement) == 1
    resp = await admin.post("/inventory/import", {"rows": rows})
    assert resp.status == 200 and resp.data == {"created": 2, "updated": 1, "skipped": 0, "rowErrors": []}
    listed = {i["name"]: i for i in (await admin.get("/inventory")).data["inventory"]}
    assert listed["Whole milk"]["currentStock"] == D("10") and listed["Whole milk"]["supplier"] == "Alpine"
    assert listed["Whole milk"]["minStockLevel"] == D("2")  # not in the row: unchanged
    assert listed["Oat milk"]["unit"] == "l" and listed["Oat milk"]["costPerUnit"] == D("2.2")
    assert listed["Napkins"]["currentStock"] == D("0")
    assert [t for t, _, _ in movements_of(settings, listed["Whole milk"]["id"])] == ["count", "import"]


VALID = "name,unit,currentStock,minStockLevel\r\nFlour,kg,10,2\r\n"


@pytest.mark.parametrize("csv_text, row, field, fragment", [
    (VALID + "Sugar,cups,1,0\r\n", 3, "unit", "must be one of"),
    (VALID + "Sugar,kg,abc,0\r\n", 3, "currentStock", "must be a number"),
    (VALID + "Sugar,kg,\"3,5\",0\r\n", 3, "currentStock", "dot for decimals"),
    (VALID + "Sugar,kg,-1,0\r\n", 3, "currentStock", "at least 0"),
    (VALID + "Sugar,kg,1.0001,0\r\n", 3, "currentStock", "at most 3 decimal places"),
    ("name,unit,minStockLevel,maxStockLevel\r\nSugar,kg,5,2\r\n", 2, "maxStockLevel", "at least minStockLevel"),
    (VALID + "flour,kg,1,0\r\n", 3, "name", "duplicate of line 2"),
    ("name,currentStock\r\nSugar,1\r\n", 2, "unit", "required for a new item"),
    (VALID + ",kg,1,0\r\n", 3, "name", "is required"),
    ("unit,currentStock\r\nkg,1\r\n", 1, "name", "required column is missing"),
    ("name,unit,colour\r\nSugar,kg,white\r\n", 1, "colour", "unknown column"),
    ("name,unit,expiryDate\r\nSugar,kg,31/12/2026\r\n", 2, "expiryDate", "YYYY-MM-DD"),
    ("name,unit,costPerUnit\r\nSugar,kg,0.00001\r\n", 2, "costPerUnit", "at most 4 decimal places"),
    ("name,unit,lastRestocked\r\nSugar,kg,yesterday\r\n", 2, "lastRestocked", "date and time"),
    ("name,unit\r\n" + "x" * 121 + ",kg\r\n", 2, "name", "at most 120 characters"),
    (VALID + "\"Sugar,kg,1,0\r\n", 3, None, "never closed"),
    (VALID + "Sugar,kg,1,0,extra\r\n", 3, None, "values but the header has"),
    ("", 1, None, "empty"),
])
async def test_each_import_error_writes_nothing(settings, admin, csv_text, row, field, fragment):
    make_item(settings, "Flour", stock="3", min_level="1")
    before = (count(settings, InventoryItem), count(settings, StockMovement))
    resp = await _import_csv(admin, csv_text)
    assert resp.status == 400, resp.body
    assert resp.json["errorCode"] == "VALIDATION_ERROR"
    data = resp.data
    assert set(data) == {"created", "updated", "skipped", "rowErrors"}
    assert (data["created"], data["updated"], data["skipped"]) == (0, 0, 0)
    assert any(e["row"] == row and e["field"] == field and fragment in e["message"] for e in data["rowErrors"]), \
        data["rowErrors"]
    assert len(resp.json["errors"]) == len(data["rowErrors"])
    assert (count(settings, InventoryItem), count(settings, StockMovement)) == before
    assert level(settings, make_item_id(settings, "Flour")) == D("3")


def make_item_id(settings, name: str) -> str:
    return run_unit(settings, lambda s: s.scalar(InventoryItem.__table__.select()
                                                 .with_only_columns(InventoryItem.id)
                                                 .where(InventoryItem.name == name)))


async def test_import_reports_every_bad_row_at_once(settings, admin):
    text = "name,unit,currentStock\r\nA,kg,1\r\nB,cups,1\r\nC,kg,x\r\nD,kg,2\r\n"
    resp = await _import_csv(admin, text)
    assert resp.status == 400
    assert [(e["row"], e["field"]) for e in resp.data["rowErrors"]] == [(3, "unit"), (4, "currentStock")]
    assert count(settings, InventoryItem) == 0


async def test_import_bad_bodies(settings, admin):
    resp = await admin.request("POST", "/inventory/import", body=b"\xff\xfe n\x00a\x00", headers={
        "Content-Type": "text/csv"})
    assert resp.status == 400 and "UTF-16" in resp.json["errors"][0]
    resp = await admin.request("POST", "/inventory/import", body=b"<xml/>", headers={"Content-Type": "application/xml"})
    assert resp.status == 415
    resp = await admin.post("/inventory/import", {"items": []})
    assert resp.status == 400
    resp = await admin.post("/inventory/import", {"rows": [{"name": "A", "unit": "kg", "flavour": "x"}, "nope"]})
    assert resp.status == 400 and [(e["row"], e["field"]) for e in resp.data["rowErrors"]] == \
        [(2, "flavour"), (3, None)]
    body, ctype = _multipart("x.csv", b"")
    resp = await admin.request("POST", "/inventory/import", body=body.replace(b'name="file"', b'name="other"'),
                               headers={"Content-Type": ctype})
    assert resp.status == 400 and "file" in resp.json["fieldErrors"]
    assert count(settings, InventoryItem) == 0


async def test_negative_level_reimports_unchanged(settings, admin):
    from orm.controllers.inventory import stock
    from tests.inventory_helpers import STORE

    item = make_item(settings, "Ham", stock="1")
    run_unit(settings, stock.apply_movements, store_id=STORE, lines=[(item["id"], D("-1.5"))],
             movement_type="sale", user_id=None, reason="", reference=None, now=suite_now(), allow_negative=True)
    exported = (await admin.get("/inventory/export")).body
    assert _rows(exported)[0]["currentStock"] == "-0.500"
    resp = await _import_csv(admin, exported)
    assert resp.status == 200 and resp.data["skipped"] == 1
    resp = await _import_csv(admin, "name,currentStock\r\nHam,-2\r\n")
    assert resp.status == 400 and resp.data["rowErrors"][0]["field"] == "currentStock"


def _as_german_spreadsheet(export: bytes, *, bom: bool) -> bytes:
    """What Excel in a German locale saves from our export: semicolons, decimal commas."""
    rows = _rows(export)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: v.replace(".", ",") if k in ("currentStock", "minStockLevel", "maxStockLevel",
                                                          "costPerUnit") else v for k, v in row.items()})
    return (BOM if bom else b"") + out.getvalue().encode("utf-8")


@pytest.mark.parametrize("bom", [True, False])
async def test_a_german_spreadsheet_of_the_export_reimports_unchanged(settings, admin, bom):
    items = _arrange(settings)
    await admin.post(f"/inventory/{items[0]['id']}/adjust", {"quantity": "0.25", "type": "restock"})
    original = (await admin.get("/inventory/export")).body
    german = _as_german_spreadsheet(original, bom=bom)
    assert b";" in german and b"," in german
    resp = await _import_csv(admin, german)
    assert resp.status == 200, resp.body
    assert resp.data == {"created": 0, "updated": 0, "skipped": 3, "rowErrors": []}
    # A changed level written the German way is read as the German meant it.
    first = _rows(original)[0]
    row_start = german.index(first["name"].encode())
    line_end = german.index(b"\r\n", row_start)
    cells = german[row_start:line_end].split(b";")
    cells[list(first).index("currentStock")] = b"1.234,5"
    changed = german[:row_start] + b";".join(cells) + german[line_end:]
    resp = await _import_csv(admin, changed)
    assert resp.status == 200, resp.body
    assert resp.data["updated"] == 1
    assert level(settings, next(i["id"] for i in items if i["name"] == first["name"].lstrip("'"))) == D("1234.5")


async def test_a_decimal_dot_in_a_semicolon_file_is_refused_and_nothing_written(settings, admin):
    _arrange(settings)
    before = (await admin.get("/inventory/export")).body
    resp = await _import_csv(admin, "name;unit;currentStock\nOat milk;l;3.50\n")
    assert resp.status == 400
    assert resp.data["rowErrors"] == [{"row": 2, "field": "currentStock", "message": resp.data["rowErrors"][0][
        "message"]}]
    assert "decimal comma" in resp.json["errors"][0] and "3,50" in resp.json["errors"][0]
    assert (await admin.get("/inventory/export")).body == before
