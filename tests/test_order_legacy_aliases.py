"""Deprecated snake_case aliases on orders for the web client's order-history screen (issue 13, item 7).

API.md, Orders -> "Legacy aliases": GET /orders and GET /orders/{id} carry them with the same values
as the camelCase fields; they are never accepted on input, and the OpenAPI document marks them
deprecated.  The document must also describe what the server really sends, so real responses are
validated against it.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from apis.order_resources import ITEM_ALIASES, ORDER_ALIASES
from tests.orders_support import CARD, cash, line

ORDER_KEYS = {"created_at", "payment_method", "subtotal", "tax_amount", "discount_amount", "discount_reason",
              "total_amount", "amount_paid", "change_given", "staff_id", "reprint_count", "last_reprint"}
ITEM_KEYS = {"product_id", "product_name", "size", "price", "quantity", "notes"}
SAME = {"created_at": "createdAt", "payment_method": "paymentMethod", "subtotal": "subtotal",
        "tax_amount": "taxAmount", "discount_amount": "discountAmount", "discount_reason": "discountReason",
        "total_amount": "total", "amount_paid": "amountPaid", "change_given": "changeGiven", "staff_id": "createdBy",
        "reprint_count": "reprintCount", "last_reprint": "lastReprint"}
SAME_ITEM = {"product_id": "menuItemId", "product_name": "productName", "size": "size", "price": "unitPrice",
             "quantity": "quantity", "notes": "notes"}


def assert_aliased(order: dict[str, Any]) -> None:
    assert ORDER_KEYS <= set(order)
    for alias, field in SAME.items():
        assert order[alias] == order[field], alias
    assert order["items"]
    for item in order["items"]:
        assert ITEM_KEYS <= set(item)
        for alias, field in SAME_ITEM.items():
            assert item[alias] == item[field], alias


def assert_plain(order: dict[str, Any]) -> None:
    assert not (ORDER_KEYS - {"subtotal"}) & set(order)
    for item in order["items"]:
        assert not (ITEM_KEYS - {"size", "quantity", "notes"}) & set(item)


@pytest.fixture
async def sold(cafe, as_role) -> list[dict[str, Any]]:
    """A card sale with a discount and notes, and a cash sale with change, reprinted once."""
    cashier = as_role("cashier")
    first = await cashier.post("/orders", {
        "items": [line(cafe.items["latte"], 2, modifierIds=[cafe.mods["Oat milk"]], notes="extra hot"),
                  line(cafe.items["croissant"])],
        "discount": {"type": "percent", "value": 10, "reason": "regular"}, "customerName": "Anna", **CARD})
    second = await cashier.post("/orders", {"items": [line(cafe.items["espresso"])], **cash("5.00")})
    assert first.status == second.status == 201, (first.body, second.body)
    for created in (first, second):
        assert_plain(created.data["order"])  # POST answers (and their replays) stay canonical
    reprint = await cashier.post(f"/orders/{second.data['order']['id']}/reprint-receipt")
    assert reprint.status == 200, reprint.body
    return [first.data["order"], second.data["order"]]


async def test_order_history_and_one_order_carry_the_aliases(sold, as_role) -> None:
    manager = as_role("manager")
    history = await manager.get("/orders")
    assert history.status == 200 and history.data["total"] == 2
    for order in history.data["orders"]:
        assert_aliased(order)
    by_id = {o["id"]: o for o in history.data["orders"]}
    card, cash_sale = by_id[sold[0]["id"]], by_id[sold[1]["id"]]
    assert card["discount_reason"] == "regular" and card["discount_amount"] > 0
    assert card["payment_method"] == "card" and card["total_amount"] == sold[0]["total"]
    assert card["items"][0]["notes"] == "extra hot" and card["items"][0]["price"] == sold[0]["items"][0]["unitPrice"]
    assert cash_sale["change_given"] > 0 and cash_sale["amount_paid"] == sold[1]["amountPaid"]
    assert cash_sale["reprint_count"] == 1 and cash_sale["last_reprint"] is not None
    assert card["reprint_count"] == 0 and card["last_reprint"] is None
    assert card["staff_id"] == sold[0]["createdBy"] and card["created_at"].endswith("Z")
    one = await manager.get(f"/orders/{sold[1]['id']}")
    assert one.status == 200
    assert_aliased(one.data["order"])
    assert one.data["order"] == cash_sale


async def test_other_answers_stay_canonical(sold, as_role) -> None:
    manager = as_role("manager")
    refund = await manager.post(f"/orders/{sold[0]['id']}/refund", {"amount": "1.00", "reason": "cold"})
    assert refund.status == 200, refund.body
    assert_plain(refund.data["order"])
    void = await manager.post(f"/orders/{sold[1]['id']}/void", {"reason": "test"})
    assert void.status == 200, void.body
    assert_plain(void.data["order"])


async def test_aliases_are_never_read_on_input(cafe, as_role) -> None:
    cashier = as_role("cashier")
    plain = await cashier.post("/orders", {"items": [line(cafe.items["espresso"])], **CARD})
    sent = await cashier.post("/orders", {
        "items": [{"product_id": cafe.items["juice"], "menuItemId": cafe.items["espresso"], "quantity": 1,
                   "price": "0.01", "product_name": "Free coffee"}],
        "total_amount": "0.01", "subtotal": "0.01", "tax_amount": "0", "staff_id": "someone-else",
        "created_at": "2020-01-01T00:00:00Z", "discount_amount": "2.80", "payment_method": "cash",
        "reprint_count": 7, **CARD})
    assert plain.status == sent.status == 201, sent.body
    order, expected = sent.data["order"], plain.data["order"]
    for field in ("subtotal", "taxAmount", "discountAmount", "total", "paymentMethod", "createdBy", "reprintCount"):
        assert order[field] == expected[field], field
    assert order["items"][0]["menuItemId"] == cafe.items["espresso"]
    assert order["items"][0]["productName"] == "Espresso"
    assert not order["createdAt"].startswith("2020")


def response_schema(doc: dict[str, Any], path: str) -> dict[str, Any]:
    return doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


def component(doc: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    return doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


async def test_the_openapi_document_marks_each_alias_deprecated_and_describes_the_answers(sold, as_role,
                                                                                           client) -> None:
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    doc = resp.json
    validate_openapi(doc)
    history = component(doc, response_schema(doc, "/orders")["properties"]["data"])
    one = component(doc, response_schema(doc, "/orders/{order_id}")["properties"]["data"])
    order = component(doc, history["properties"]["orders"]["items"])
    assert one["properties"]["order"] == history["properties"]["orders"]["items"]
    item = component(doc, order["properties"]["items"]["items"])
    for schema, aliases in ((order, ORDER_ALIASES), (item, ITEM_ALIASES)):
        for alias, field in aliases.items():
            prop = schema["properties"][alias]
            if alias == field:  # subtotal, size, quantity, notes: the canonical field itself
                assert not prop.get("deprecated"), alias
            else:
                assert prop.get("deprecated") is True and prop.get("readOnly") is True, alias
                assert field in schema["properties"] and not schema["properties"][field].get("deprecated")
    assert {a for a, f in ORDER_ALIASES.items() if a != f} == ORDER_KEYS - {"subtotal"}
    assert {a for a, f in ITEM_ALIASES.items() if a != f} == ITEM_KEYS - {"size", "quantity", "notes"}
    # Request bodies never name an alias.
    create = doc["paths"]["/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    create_props = component(doc, create)["properties"]
    assert not (ORDER_KEYS - {"subtotal"}) & set(create_props)

    manager = as_role("manager")
    for path, data_schema in (("/orders", response_schema(doc, "/orders")),
                              (f"/orders/{sold[0]['id']}", response_schema(doc, "/orders/{order_id}"))):
        answer = await manager.get(path)
        validator = Draft202012Validator({**data_schema, "components": doc["components"]})
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(answer.json)]
        assert not errors, errors
