"""Hostile input: SQL injection in every query parameter, LIKE wildcards in searches, and the
inputs the fuzzer (scripts/fuzz.py) once turned into 500s — each kept here as a regression.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import run_unit
from tests.test_fuzz_schemathesis import seed_cafe
from tests.test_security_permission_matrix import PNG_1PX, multipart

INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE users; --",
    "\") OR 1=1 --",
    "%' UNION SELECT id, password_hash FROM users --",
    "1) OR pg_sleep(2) IS NULL --",
    "\\' OR 1=1 /*",
    "admin'--",
]
# The list key of each searchable list (API.md), to check that a search matched nothing.
LIST_KEYS = {"/inventory": "inventory", "/menu_items": "menu_items", "/orders": "orders", "/users": "users",
             "/stores": "stores"}


@pytest.fixture
async def cafe(server, settings):
    await asyncio.to_thread(run_unit, settings, seed_cafe, settings)
    return server


async def login(c, username: str = "admin") -> str:
    resp = await c.post("/auth/login", {"username": username, "password": "password123"})
    assert resp.status == 200, resp.body
    return resp.data["token"]


@pytest.mark.timeout(300)
async def test_sql_injection_in_every_query_parameter_is_just_text(cafe):
    c = cafe.client()
    c.token = await login(c)
    doc = (await c.get("/openapi.json")).json
    users_before = (await c.get("/users")).data["total"]
    tried, wrong = 0, []
    try:
        for path, ops in doc["paths"].items():
            op = ops.get("get")
            if op is None or "{" in path:
                continue
            for param in (p["name"] for p in op["parameters"] if p["in"] == "query"):
                for payload in INJECTIONS:
                    resp = await c.get(f"{path}?{param}={quote(payload)}")
                    tried += 1
                    problem = _check(path, param, resp)
                    if problem:
                        wrong.append(f"GET {path}?{param}={payload!r}: {problem}")
    finally:
        c.close()
    assert tried > 300
    assert not wrong, "\n".join(wrong)
    # Nothing was dropped or changed: the same users, and logging in still works.
    c = cafe.client()
    try:
        c.token = await login(c)
        assert (await c.get("/users")).data["total"] == users_before
    finally:
        c.close()


def _check(path: str, param: str, resp: Any) -> str | None:
    if resp.status >= 500:
        return f"{resp.status} {resp.body[:200]!r}"
    if resp.status == 404 and param == "storeId" and resp.json.get("errorCode") == "NOT_FOUND":
        return None  # no store has that id
    if resp.status not in (200, 400):
        return f"unexpected {resp.status}"
    ctype = resp.headers.get("Content-Type", "")
    if "json" not in ctype:
        return None if resp.status == 200 and "csv" in ctype else f"unexpected content type {ctype}"
    body = resp.json
    if resp.status == 400:
        return None if body.get("errorCode") == "VALIDATION_ERROR" and body["success"] is False else \
            f"400 without VALIDATION_ERROR: {body}"
    if body.get("success") is not True or not isinstance(body.get("data"), dict):
        return f"not a normal envelope: {resp.body[:200]!r}"
    key = LIST_KEYS.get(path)
    if param == "search" and key:
        if body["data"].get(key) != [] or body["data"].get("total") != 0:
            return f"matched {body['data'].get('total')} rows: the text was not taken literally"
    return None


async def test_like_wildcards_in_search_match_literally(cafe):
    """`%` and `_` are text in a search box, not SQL LIKE patterns that match everything."""
    c = cafe.client()
    c.token = await login(c)
    try:
        for path, key in sorted(LIST_KEYS.items()):
            everything = (await c.get(f"{path}?perPage=200")).data["total"]
            assert everything > 0, path
            for wildcard in ("%", "_", "%%", "_%_"):
                got = (await c.get(f"{path}?search={quote(wildcard)}")).data
                assert got["total"] == 0 and got[key] == [], (path, wildcard, got["total"])
    finally:
        c.close()


# ---- what the fuzzer found (each was a 500) -------------------------------------------------------

async def test_nul_and_lone_surrogates_in_json_are_400(admin):
    c = admin
    try:
        for raw in (b'{"name": "Qwzx meal\\u0000", "unit": "kg", "currentStock": "1"}',
                    b'{"name": "Qwzx meal\\ud800", "unit": "kg", "currentStock": "1"}',
                    b'{"name": "Qwzx meal", "unit": "kg", "currentStock": "1", "x\\u0000": 1}'):
            resp = await c.post("/inventory", body=raw, headers={"Content-Type": "application/json"})
            assert resp.status == 400 and resp.json["errorCode"] == "VALIDATION_ERROR", resp.body
        names = [i["name"] for i in (await c.get("/inventory")).data["inventory"]]
        assert not any(n.startswith("Qwzx meal") for n in names)
    finally:
        c.close()


async def test_nul_in_a_path_parameter_is_404(admin):
    c = admin
    try:
        for path in ("/orders/%00", "/menu_items/a%00b", "/inventory/%00/movements", "/users/%00",
                     "/menu_items/categories/Coffee%00"):
            resp = await c.request("PUT" if "categories" in path else "GET", path,
                                   json={"sortOrder": 1} if "categories" in path else None)
            assert resp.status == 404 and resp.json["errorCode"] == "NOT_FOUND", (path, resp.body)
    finally:
        c.close()


async def test_huge_page_numbers_are_400(admin):
    c = admin
    try:
        for path in ("/inventory/movements?page=74084672405301725161307303685593759744", "/orders?page=" + "9" * 30,
                     "/users?offset=" + "9" * 25, "/alerts?page=10000000000"):
            resp = await c.get(path)
            assert resp.status == 400 and resp.json["errorCode"] == "VALIDATION_ERROR", (path, resp.body)
    finally:
        c.close()


async def test_damaged_multipart_bodies_are_400(admin):
    c = admin
    try:
        for body in (b"--b\r\n<\x1d--b--\r\n",
                     b'--b\r\nContent-Disposition: form-data; name=""\r\n\r\nx\r\n--b--\r\n',
                     b'--b\r\nContent-Disposition: form-data; name="menuItemId"\r\n\r\na\x00b\r\n--b--\r\n'):
            for path in ("/upload/image", "/upload/bulk-images", "/inventory/import", "/menu_items/bulk-import"):
                resp = await c.post(path, body=body, headers={"Content-Type": "multipart/form-data; boundary=b"})
                assert resp.status == 400, (path, body, resp.status, resp.body[:200])
    finally:
        c.close()


async def test_modifier_group_with_null_bounds_is_created_with_defaults(admin):
    c = admin
    try:
        resp = await c.post("/menu_items/modifier-groups", {"name": "Toppings", "minSelect": None, "maxSelect": None,
                                                             "modifiers": [{"name": "Cream", "priceDelta": 0}]})
        assert resp.status == 201, resp.body
        group = next(v for v in resp.data.values() if isinstance(v, dict))
        assert (group["minSelect"], group["maxSelect"]) == (0, 1)
    finally:
        c.close()


async def test_absurd_settings_numbers_are_400(admin):
    c = admin
    try:
        before = (await c.get("/settings")).data["settings"]
        for body in ({"lowStockDefaultMin": 1.4015572962843687e+308}, {"lowStockDefaultMin": "1e30"},
                     {"defaultTaxRate": "1e400"}, {"lowStockDefaultMin": "NaN"}):
            resp = await c.put("/settings", body)
            assert resp.status == 400 and resp.json["errorCode"] == "VALIDATION_ERROR", (body, resp.body)
        assert (await c.get("/settings")).data["settings"]["version"] == before["version"]
    finally:
        c.close()


async def test_upload_with_a_nul_item_id_is_400(admin):
    c = admin
    try:
        body, headers = multipart("file", "a.png", PNG_1PX, "image/png")
        boundary = headers["Content-Type"].split("=", 1)[1]
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="menuItemId"\r\n\r\n'.encode()
                + b"x\x00y\r\n" + body)
        resp = await c.post("/upload/image", body=body, headers=headers)
        assert resp.status == 400, resp.body
    finally:
        c.close()
