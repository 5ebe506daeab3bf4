"""Never a 500 for bad input (API.md Conventions; issue 13): each input here once answered 500.

Dates out of range on every date parameter (with and without an offset, and where the server's
own arithmetic - the day after, the week before, a time-zone offset - would leave the calendar),
digits `int()` refuses in a search, numbers too big for the database, JSON nested deeper than any
real body, and signed tokens with claims of the wrong type.  Each must be a 400 (401 for tokens)
in the envelope, with nothing written.
"""

from __future__ import annotations

from urllib.parse import quote

import jwt
import pytest

from tests.conftest import TEST_JWT_SECRET
from tests.orders_support import CARD, line, row_counts
from tests.support import Response

OUT_OF_RANGE = ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00", "9999-12-31T23:59:59",
                "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00Z",
                "9999-12-31T23:59:59.999999Z", "1969-12-31", "3000-01-01"]
# Every GET parameter that takes a date or date-time (path -> parameter names).
DATE_QUERIES = {
    "/sales/dashboard": ("start_date", "end_date"),
    "/reports/dashboard": ("start_date", "end_date"),
    "/reports/sales.csv": ("start_date", "end_date"),
    "/reports/products.csv": ("start_date", "end_date"),
    "/reports/daily-sales": ("date",),
    "/orders": ("from", "to"),
    "/audit/access-log": ("from", "to"),
    "/audit/failed-logins": ("from", "to"),
    "/audit/changes": ("from", "to"),
    "/inventory/movements": ("from", "to"),
}


def assert_400(resp: Response, what: str) -> None:
    assert resp.status == 400, f"{what}: {resp.status} {resp.body[:300]!r}"
    body = resp.json
    assert body["success"] is False and body["errorCode"] in ("VALIDATION_ERROR", "INVALID_JSON"), what
    assert isinstance(body["errors"], list) and body["errors"] and body["requestId"], what


async def test_out_of_range_dates_on_every_date_parameter_are_400(admin):
    tried = 0
    for path, names in DATE_QUERIES.items():
        for name in names:
            for value in OUT_OF_RANGE:
                if name == "date" and len(value) != 10:
                    continue
                resp = await admin.get(f"{path}?{name}={quote(value)}")
                assert_400(resp, f"GET {path}?{name}={value}")
                assert name in resp.json.get("fieldErrors", {}), (path, name, resp.json)
                tried += 1
    assert tried > 150


async def test_dates_at_the_edges_of_the_supported_range_are_accepted(admin):
    """The range ends are valid dates: the server's own arithmetic next to them must not overflow."""
    for path, names in DATE_QUERIES.items():
        for name in names:
            for value in ("1970-01-01", "2999-12-31"):
                resp = await admin.get(f"{path}?{name}={value}")
                assert resp.status in (200, 400), (path, name, value, resp.status, resp.body[:200])
                if resp.status == 400:  # e.g. an end before the default start: a rule, not the calendar
                    assert_400(resp, f"GET {path}?{name}={value}")


async def test_an_unencoded_plus_offset_still_parses(admin):
    """`+02:00` sent raw in a query string arrives as ` 02:00`; it means the offset, not garbage."""
    resp = await admin.get("/audit/access-log?from=2026-11-23T10:00:00+02:00")
    assert resp.status == 200, resp.body
    resp = await admin.get("/orders?from=2026-11-23T10:00:00+02:00")
    assert resp.status == 200, resp.body


async def test_out_of_range_movement_dates_of_one_item_are_400(admin, cafe, settings):
    path = f"/inventory/{cafe.inv['Milk']}/movements"
    for value in OUT_OF_RANGE:
        assert_400(await admin.get(f"{path}?to={quote(value)}"), f"{path}?to={value}")


async def test_out_of_range_client_created_at_is_400_and_writes_nothing(admin, cafe, settings):
    before = row_counts(settings)
    for value in OUT_OF_RANGE:
        if "T" not in value:
            continue
        body = {"items": [line(cafe.items["espresso"])], **CARD, "clientCreatedAt": value}
        resp = await admin.post("/orders", body)
        assert_400(resp, f"clientCreatedAt={value}")
    assert row_counts(settings) == before


async def test_out_of_range_email_summary_date_is_400(admin):
    for value in ("0001-01-01", "9999-12-31", "1969-12-31"):
        resp = await admin.post("/reports/email-summary", {"date": value, "recipients": ["a@example.com"]})
        assert_400(resp, f"email-summary date={value}")
        assert "date" in resp.json["fieldErrors"]


@pytest.mark.parametrize("term", ["²", "١٢٣", "½", "12345678901234567890123", "9" * 19, " 007 "])
async def test_order_search_with_odd_digits_is_just_text(admin, term):
    resp = await admin.get(f"/orders?search={quote(term)}")
    assert resp.status == 200, resp.body
    assert resp.data["orders"] == [] and resp.data["total"] == 0


async def test_order_search_by_receipt_number_still_works(admin, cafe):
    made = await admin.post("/orders", {"items": [line(cafe.items["espresso"])], **CARD})
    assert made.status == 201, made.body
    number = made.data["order"]["receiptNumber"]
    resp = await admin.get(f"/orders?search={number}")
    assert resp.status == 200 and [o["receiptNumber"] for o in resp.data["orders"]] == [number]


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("body", [nested(170), nested(5000), b"[" * 400 + b"]" * 400,
                                  b'{"items":' + b"[" * 450 + b"]" * 450 + b"}", b"[" * 100_000])
async def test_deeply_nested_json_is_400_even_before_login(server, admin, body):
    c = server.client()
    try:
        for path, token in (("/auth/login", None), ("/orders", admin.token), ("/menu_items", admin.token)):
            resp = await c.request("POST", path, body=body, token=token, auth=token is not None,
                                   headers={"Content-Type": "application/json"})
            assert_400(resp, f"POST {path} nested JSON")
            assert resp.json["errorCode"] == "INVALID_JSON"
    finally:
        c.close()


async def test_ordinary_nesting_and_brackets_inside_strings_are_fine(admin, cafe):
    note = "[[[[{{{{" * 20 + '\\"]]]' * 20
    body = {"items": [line(cafe.items["espresso"], notes=note)], **CARD, "orderNotes": "{" * 200}
    resp = await admin.post("/orders", body)
    assert resp.status == 201, resp.body


@pytest.mark.parametrize("claims", [
    {"exp": "tomorrow"}, {"exp": "9999999999"}, {"exp": None}, {"exp": [1]}, {"exp": True}, {"exp": 1e400},
    {"iat": "now"}, {"iat": {"a": 1}}, {"sub": 5}, {"sid": ["x"]}, {"sid": "a\x00b"}, {"sub": "x" * 5000},
])
async def test_signed_tokens_with_claims_of_the_wrong_type_are_401(client, tokens, claims):
    good = jwt.decode(tokens["cashier"], TEST_JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    forged = jwt.encode({**good, **claims}, TEST_JWT_SECRET, algorithm="HS256")
    resp = await client.get("/auth/me", token=forged)
    assert resp.status == 401, (claims, resp.status, resp.body[:200])
    assert resp.json["errorCode"] in ("UNAUTHORIZED", "TOKEN_EXPIRED") and resp.json["success"] is False


async def test_a_far_future_exp_does_not_outlive_the_session(client, tokens, settings):
    """A token's exp is a ceiling, never a licence: the session row still decides."""
    good = jwt.decode(tokens["cashier"], TEST_JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    forged = jwt.encode({**good, "exp": good["iat"] + 3650 * 86400}, TEST_JWT_SECRET, algorithm="HS256")
    assert (await client.get("/auth/me", token=forged)).status == 200
    assert (await client.post("/auth/logout", token=forged)).status == 200
    assert (await client.get("/auth/me", token=forged)).status == 401
