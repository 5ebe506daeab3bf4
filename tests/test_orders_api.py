"""POST /orders end to end: pricing vectors, payments, stock, offline orders, bad input, permissions.

Expected money is worked out by hand from the catalogue in tests/orders_support.py
(Latte 4.50 [+0.50 oat, +0.80 shot], Croissant 3.20 @2.6 %, Orange juice 3.90 @8.1 %,
Chai 3.33 [-0.10 unsweetened]; coffee is 8 % eat-in and 2.6 % take-away).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from apis.order_resources import with_legacy_aliases
from orm.domain.stores import DEFAULT_STORE_ID
from tests.orders_support import CARD, cash, line, pastries_left, row_counts, stock_levels
from tests.support import suite_now

D = Decimal
ORDER_KEYS = {"id", "orderNumber", "receiptNumber", "storeId", "terminalId", "orderType", "status", "items",
              "subtotal", "discountAmount", "discountReason", "taxAmount", "taxBreakdown", "tipAmount",
              "roundingAdjustment", "total", "payments", "paymentMethod", "amountPaid", "changeGiven",
              "refundedAmount", "createdAt", "clientCreatedAt", "createdBy", "createdByName", "shiftId",
              "customerName", "orderNotes", "reprintCount", "lastReprint", "tabId"}
ITEM_KEYS = {"id", "menuItemId", "productName", "size", "quantity", "unitPrice", "modifiers", "lineTotal", "taxRate",
             "notes", "refundedQuantity", "station", "prepStatus"}


def mixed_basket(cafe, **extra: Any) -> dict[str, Any]:
    """2 oat lattes (5.00 each), a croissant, an orange juice: subtotal 17.10 over three rates."""
    return {"items": [line(cafe.items["latte"], 2, modifierIds=[cafe.mods["Oat milk"]], notes="extra hot"),
                      line(cafe.items["croissant"]), line(cafe.items["juice"])], **extra}


def breakdown(order: dict[str, Any]) -> list[tuple[Decimal, Decimal, Decimal]]:
    return [(b["rate"], b["base"], b["tax"]) for b in order["taxBreakdown"]]


async def test_order_resource_has_the_contract_shape(as_role, cafe, demo_users) -> None:
    c = as_role("cashier")
    body = mixed_basket(cafe, customerName="Bob", orderNotes="table 4", terminalId="till-1", **cash("50"))
    # Client-side prices, totals and authorship are ignored.
    body["items"][0]["unitPrice"] = "0.01"
    body.update(total="0.01", subtotal="0.01", createdBy="someone-else")
    r = await c.post("/orders", body)
    assert r.status == 201, r.body
    order = r.data["order"]
    assert ORDER_KEYS <= set(order)
    assert r.headers["Location"] == f"/orders/{order['id']}"
    assert ITEM_KEYS <= set(order["items"][0])
    assert order["receiptNumber"] == 1 and order["orderNumber"] == "A-000001"
    assert (order["storeId"], order["terminalId"], order["orderType"]) == (DEFAULT_STORE_ID, "till-1", "eat_in")
    assert order["status"] == "completed" and order["createdByName"] == "Cara Cashier"
    assert order["createdBy"] != "someone-else"
    first = order["items"][0]
    assert (first["productName"], first["quantity"], first["unitPrice"], first["lineTotal"]) == \
        ("Latte", 2, D("5.00"), D("10.00"))
    assert first["modifiers"] == [{"id": cafe.mods["Oat milk"], "name": "Oat milk", "priceDelta": D("0.50")}]
    assert (first["notes"], first["refundedQuantity"], first["taxRate"]) == ("extra hot", 0, D("0.08"))
    assert order["subtotal"] == D("17.10") and order["total"] == D("18.30")
    assert order["payments"] == [{"method": "cash", "amount": D("18.30"), "tendered": D("50.00"),
                                  "change": D("31.70"), "reference": None}]
    assert (order["paymentMethod"], order["amountPaid"], order["changeGiven"]) == ("cash", D("50.00"), D("31.70"))
    assert (order["customerName"], order["orderNotes"], order["reprintCount"]) == ("Bob", "table 4", 0)
    assert order["createdAt"].endswith("Z") and order["clientCreatedAt"] is None
    got = await c.get(f"/orders/{order['id']}")
    # The same order, plus the deprecated snake_case aliases GET carries (API.md, Legacy aliases).
    assert got.status == 200 and got.data["order"] == with_legacy_aliases(order)


async def test_exclusive_mixed_rates_with_percent_discount_and_tip(as_role, cafe) -> None:
    body = mixed_basket(cafe, discount={"type": "percent", "value": 10, "reason": "Staff"}, tipAmount="1.00", **CARD)
    r = await as_role("cashier").post("/orders", body)
    assert r.status == 201, r.body
    o = r.data["order"]
    # D = 1.71 split by group gross 3.20/10.00/3.90 -> 0.32/1.00/0.39; tax per group on the rest.
    assert breakdown(o) == [(D("0.026"), D("2.88"), D("0.07")), (D("0.08"), D("9.00"), D("0.72")),
                            (D("0.081"), D("3.51"), D("0.28"))]
    assert (o["subtotal"], o["discountAmount"], o["discountReason"], o["taxAmount"]) == \
        (D("17.10"), D("1.71"), "Staff", D("1.07"))
    assert (o["tipAmount"], o["roundingAdjustment"], o["total"]) == (D("1.00"), D("0.00"), D("17.46"))
    assert o["payments"] == [{"method": "card", "amount": D("17.46"), "tendered": None, "change": D("0.00"),
                              "reference": None}]
    assert [it["paidTotal"] for it in o["items"]] == [D("9.72"), D("2.95"), D("3.79")]


async def test_take_away_uses_the_take_away_rates(as_role, cafe) -> None:
    r = await as_role("cashier").post("/orders", mixed_basket(cafe, orderType="take_away", **CARD))
    assert r.status == 201, r.body
    o = r.data["order"]
    assert o["orderType"] == "take_away"
    assert [it["taxRate"] for it in o["items"]] == [D("0.026"), D("0.026"), D("0.081")]
    assert breakdown(o) == [(D("0.026"), D("13.20"), D("0.34")), (D("0.081"), D("3.90"), D("0.32"))]
    assert (o["taxAmount"], o["total"]) == (D("0.66"), D("17.76"))


async def test_inclusive_mode_keeps_tax_inside_the_prices(as_role, admin, cafe) -> None:
    assert (await admin.put("/settings", {"taxMode": "inclusive"})).status == 200
    r = await as_role("cashier").post("/orders", mixed_basket(cafe, **CARD))
    assert r.status == 201, r.body
    o = r.data["order"]
    assert breakdown(o) == [(D("0.026"), D("3.12"), D("0.08")), (D("0.08"), D("9.26"), D("0.74")),
                            (D("0.081"), D("3.61"), D("0.29"))]
    assert (o["subtotal"], o["taxAmount"], o["total"], o["taxMode"]) == (D("17.10"), D("1.11"), D("17.10"),
                                                                         "inclusive")


async def test_cash_rounding_only_for_all_cash_payments(as_role, admin, cafe) -> None:
    assert (await admin.put("/settings", {"cashRounding": "0.05"})).status == 200
    c = as_role("cashier")
    chai = {"items": [line(cafe.items["chai"], modifierIds=[cafe.mods["Unsweetened"]])]}
    # 3.23 + 8 % = 3.49 -> 3.50 in cash (+0.01); the tip is never rounded.
    r = await c.post("/orders", {**chai, **cash("5"), "tipAmount": "0.30"})
    assert r.status == 201, r.body
    o = r.data["order"]
    assert (o["taxAmount"], o["roundingAdjustment"], o["tipAmount"], o["total"]) == \
        (D("0.26"), D("0.01"), D("0.30"), D("3.80"))
    assert (o["changeGiven"], o["payments"][0]["amount"]) == (D("1.20"), D("3.80"))
    card = await c.post("/orders", {**chai, **CARD})
    assert (card.data["order"]["roundingAdjustment"], card.data["order"]["total"]) == (D("0.00"), D("3.49"))
    split = await c.post("/orders", {**chai, "payments": [{"method": "card", "amount": "1"},
                                                          {"method": "cash", "amount": "2.49"}]})
    assert split.status == 201, split.body
    assert split.data["order"]["total"] == D("3.49") and split.data["order"]["paymentMethod"] == "split"


async def test_fixed_discount_from_older_clients_and_price_override(as_role, cafe) -> None:
    m = as_role("manager")
    body = {"items": [line(cafe.items["latte"], priceOverride="3.00", modifierIds=[cafe.mods["Extra shot"]]),
                      line(cafe.items["espresso"])],
            "discountAmount": "1.00", "discountReason": "Regular", **CARD}
    r = await m.post("/orders", body)
    assert r.status == 201, r.body
    o = r.data["order"]
    # Override replaces the base price; the shot still adds 0.80: 3.80 + 2.80 = 6.60, -1.00, +8 %.
    assert [it["unitPrice"] for it in o["items"]] == [D("3.80"), D("2.80")]
    assert o["items"][0]["priceOverridden"] is True
    assert (o["subtotal"], o["discountAmount"], o["discountReason"], o["taxAmount"], o["total"]) == \
        (D("6.60"), D("1.00"), "Regular", D("0.45"), D("6.05"))
    zero = await m.post("/orders", {"items": [line(cafe.items["espresso"])], "discountAmount": 0, **CARD})
    assert zero.status == 201 and zero.data["order"]["discountAmount"] == D("0.00")


async def test_split_payment_with_card_reference_and_cash_change(as_role, cafe) -> None:
    body = mixed_basket(cafe, payments=[{"method": "card", "amount": "10.00", "reference": "AUTH 123456"},
                                        {"method": "cash", "tendered": "20.00"}])
    r = await as_role("cashier").post("/orders", body)
    assert r.status == 201, r.body
    o = r.data["order"]
    assert o["total"] == D("18.30") and o["paymentMethod"] == "split"
    assert o["payments"] == [
        {"method": "card", "amount": D("10.00"), "tendered": None, "change": D("0.00"), "reference": "AUTH 123456"},
        {"method": "cash", "amount": D("8.30"), "tendered": D("20.00"), "change": D("11.70"), "reference": None}]
    assert (o["amountPaid"], o["changeGiven"]) == (D("30.00"), D("11.70"))


async def test_card_without_amount_pays_the_rest_and_legacy_card(as_role, cafe) -> None:
    c = as_role("cashier")
    r = await c.post("/orders", mixed_basket(cafe, payments=[{"method": "cash", "amount": "5"},
                                                              {"method": "card", "reference": "A1"}]))
    assert r.status == 201, r.body
    assert [(p["method"], p["amount"]) for p in r.data["order"]["payments"]] == [("cash", D("5.00")),
                                                                                  ("card", D("13.30"))]
    legacy = await c.post("/orders", mixed_basket(cafe, paymentMethod="card"))
    assert legacy.status == 201 and legacy.data["order"]["amountPaid"] == D("18.30")


@pytest.mark.parametrize("payment, problem", [
    ({"paymentMethod": "cash", "amountPaid": "10.00"}, "Underpaid"),  # 18.30 due
    ({"paymentMethod": "cash"}, "amountPaid"),
    ({"payments": [{"method": "bitcoin", "amount": "20"}]}, "payments[0].method"),
    ({"payments": [{"method": "card", "amount": "19.00"}]}, "card payments exceed"),
    ({"payments": [{"method": "card", "amount": "5"}, {"method": "cash", "tendered": "5"}]}, "Underpaid"),
    ({"payments": [{"method": "card"}, {"method": "card"}]}, "at most one card"),
    ({"payments": [{"method": "cash"}]}, "amount handed over"),
    ({"payments": [{"method": "cash", "amount": "abc"}]}, "payments[0].amount"),
    ({"payments": []}, "payments"),
    ({}, "payments"),
    ({"paymentMethod": "split"}, "split"),
])
async def test_bad_payments_are_refused_and_write_nothing(as_role, cafe, settings, payment, problem) -> None:
    before = row_counts(settings)
    r = await as_role("cashier").post("/orders", mixed_basket(cafe, **payment))
    assert r.status == 400, r.body
    assert r.json["errorCode"] == "VALIDATION_ERROR"
    fields = r.json.get("fieldErrors", {})
    assert problem.lower() in " ".join([*r.json["errors"], *fields, *fields.values()]).lower()
    assert row_counts(settings) == before


async def test_stock_is_deducted_exactly_by_recipes(as_role, cafe, settings) -> None:
    body = {"items": [line(cafe.items["latte"], 2, modifierIds=[cafe.mods["Oat milk"], cafe.mods["Extra shot"]]),
                      line(cafe.items["espresso"], 1, modifierIds=[cafe.mods["Vanilla"]]),
                      line(cafe.items["croissant"], 2)], **CARD}
    r = await as_role("cashier").post("/orders", body)
    assert r.status == 201, r.body
    levels = stock_levels(settings)
    # Beans: 2 x (0.018 + 0.009) + 0.009; milk 2 x 0.2; oat 2 x 0.2; cups 2; vanilla 0.02.
    assert levels == {"Beans": D("9.937"), "Milk": D("19.600"), "Oat milk": D("4.600"), "Cups": D("98.000"),
                      "Vanilla syrup": D("1.980")}
    assert pastries_left(settings, cafe.items["croissant"]) == 3
    moves = await as_role("admin").get("/inventory/movements?type=sale&perPage=200")
    assert moves.status == 200, moves.body
    mine = [m for m in moves.data["movements"] if m.get("reference") == r.data["order"]["id"]]
    assert len(mine) == 5


async def test_sold_out_counted_item_is_409_and_writes_nothing(as_role, cafe, settings) -> None:
    before = row_counts(settings)
    r = await as_role("cashier").post("/orders", {"items": [line(cafe.items["latte"]),
                                                            line(cafe.items["croissant"], 6)], **CARD})
    assert r.status == 409 and r.json["errorCode"] == "SOLD_OUT"
    assert row_counts(settings) == before
    ok = await as_role("cashier").post("/orders", {"items": [line(cafe.items["croissant"], 5)], **CARD})
    assert ok.status == 201 and pastries_left(settings, cafe.items["croissant"]) == 0


async def test_negative_stock_refused_when_the_store_forbids_it(as_role, admin, cafe, settings) -> None:
    assert (await admin.put("/settings", {"allowNegativeStock": False})).status == 200
    before = row_counts(settings)
    r = await as_role("cashier").post("/orders", {"items": [line(cafe.items["latte"], 101)], **CARD})  # 101 cups
    assert r.status == 409, r.body
    assert row_counts(settings) == before


async def test_late_offline_order_counts_on_its_sale_day(as_role, cafe, settings) -> None:
    c = as_role("cashier")
    first = await c.post("/orders", {"items": [line(cafe.items["espresso"])], **CARD})
    sold_at = (suite_now() - timedelta(hours=30)).replace(microsecond=0)
    late = await c.post("/orders", {"items": [line(cafe.items["espresso"])], "terminalId": "till-2",
                                    "clientCreatedAt": sold_at.isoformat().replace("+00:00", "Z"), **CARD})
    assert late.status == 201, late.body
    o = late.data["order"]
    assert o["receiptNumber"] == first.data["order"]["receiptNumber"] + 1  # numbered on arrival
    assert o["clientCreatedAt"] == o["saleAt"] == sold_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert o["createdAt"] > o["saleAt"]
    sale_day = sold_at.astimezone(__import__("zoneinfo").ZoneInfo(settings.store_timezone)).date().isoformat()
    listed = await as_role("manager").get(f"/orders?from={sale_day}&to={sale_day}")
    assert [x["id"] for x in listed.data["orders"]] == [o["id"]]


@pytest.mark.parametrize("offset, problem", [(timedelta(hours=73), "72 hours"), (timedelta(hours=-1), "future")])
async def test_offline_time_limits(as_role, cafe, settings, offset, problem) -> None:
    before = row_counts(settings)
    when = (suite_now() - offset).isoformat()
    r = await as_role("cashier").post("/orders", {"items": [line(cafe.items["espresso"])],
                                                  "clientCreatedAt": when, **CARD})
    assert r.status == 400 and problem in r.json["errors"][0]
    naive = await as_role("cashier").post("/orders", {"items": [line(cafe.items["espresso"])],
                                                      "clientCreatedAt": "2026-01-01T10:00:00", **CARD})
    assert naive.status == 400
    assert row_counts(settings) == before


def _bad_bodies(cafe) -> list[tuple[str, dict[str, Any]]]:
    latte, juice, chai = cafe.items["latte"], cafe.items["juice"], cafe.items["chai"]
    extras = [cafe.mods[n] for n in ("Extra shot", "Vanilla", "Caramel")]
    return [
        ("zero quantity", {"items": [line(latte, 0)]}),
        ("negative quantity", {"items": [line(latte, -1)]}),
        ("fractional quantity", {"items": [line(latte, "1.5")]}),
        ("fractional number", {"items": [{"menuItemId": latte, "quantity": D("1.5")}]}),
        ("boolean quantity", {"items": [{"menuItemId": latte, "quantity": True}]}),
        ("text quantity", {"items": [line(latte, "two")]}),
        ("huge quantity", {"items": [line(latte, 100000)]}),
        ("unknown item", {"items": [line("00000000-0000-0000-0000-00000000dead")]}),
        ("no item id", {"items": [{"quantity": 1}]}),
        ("inactive item", {"items": [line(cafe.items["old"])]}),
        ("modifier not offered", {"items": [line(juice, modifierIds=[cafe.mods["Oat milk"]])]}),
        ("unknown modifier", {"items": [line(latte, modifierIds=["nope"])]}),
        ("too many from a group", {"items": [line(latte, modifierIds=extras)]}),
        ("two from a pick-one group", {"items": [line(latte, modifierIds=[cafe.mods["Oat milk"],
                                                                          cafe.mods["Soy milk"]])]}),
        ("required choice missing", {"items": [line(chai)]}),
        ("modifier twice", {"items": [line(latte, modifierIds=[cafe.mods["Vanilla"], cafe.mods["Vanilla"]])]}),
        ("500 lines", {"items": [line(latte)] * 500}),
        ("no lines", {"items": []}),
        ("items not a list", {"items": "latte"}),
        ("tip not a number", {"items": [line(latte)], "tipAmount": "lots"}),
        ("negative tip", {"items": [line(latte)], "tipAmount": "-1"}),
        ("tip with 3 decimals", {"items": [line(latte)], "tipAmount": "0.001"}),
        ("discount over 100 %", {"items": [line(latte)], "discount": {"type": "percent", "value": 150}}),
        ("discount above subtotal", {"items": [line(latte)], "discount": {"type": "fixed", "value": "99"}}),
        ("discount kind", {"items": [line(latte)], "discount": {"type": "bogof", "value": 1}}),
        ("discount not a number", {"items": [line(latte)], "discount": {"type": "fixed", "value": "x"}}),
        ("bad order type", {"items": [line(latte)], "orderType": "drive_through"}),
        ("override not a number", {"items": [line(latte, priceOverride="free")]}),
    ]


async def test_every_bad_terminal_input_is_400_and_writes_nothing(as_role, cafe, settings) -> None:
    m = as_role("manager")  # may discount and override, so only the values are at fault
    before = row_counts(settings)
    for name, body in _bad_bodies(cafe):
        r = await m.post("/orders", {**CARD, **body})
        assert r.status == 400, (name, r.status, r.body)
        assert r.json["success"] is False and r.json["errors"], name
        assert r.json["errorCode"] == "VALIDATION_ERROR", name
    for raw in (b"{not json", b"[]", b""):
        r = await m.request("POST", "/orders", body=raw, headers={"Content-Type": "application/json"})
        assert r.status == 400, raw
    assert row_counts(settings) == before


async def test_field_errors_point_at_the_line(as_role, cafe) -> None:
    r = await as_role("cashier").post("/orders", {"items": [line(cafe.items["latte"]), line("missing")], **CARD})
    assert r.status == 400 and r.json["fieldErrors"] == {"items[1].menuItemId": "no such menu item"}


async def test_permissions(as_role, client, cafe, settings) -> None:
    trainee, cashier = as_role("trainee"), as_role("cashier")
    espresso = {"items": [line(cafe.items["espresso"])], **CARD}
    discounted = {**espresso, "discount": {"type": "percent", "value": 10, "reason": "friend"}}
    overridden = {"items": [line(cafe.items["espresso"], priceOverride="1.00")], **CARD}
    assert (await trainee.post("/orders", espresso)).status == 201
    before = row_counts(settings)
    assert (await trainee.post("/orders", discounted)).status == 403
    assert (await trainee.post("/orders", {**espresso, "discountAmount": "0.50"})).status == 403
    assert (await trainee.post("/orders", overridden)).status == 403
    assert (await cashier.post("/orders", overridden)).status == 403
    assert row_counts(settings) == before
    assert (await cashier.post("/orders", discounted)).status == 201
    assert (await trainee.get("/orders")).status == 403
    assert (await client.post("/orders", espresso)).status == 401
    assert (await client.get("/orders")).status == 401


async def test_require_open_shift(as_role, admin, cafe) -> None:
    assert (await admin.put("/settings", {"requireOpenShift": True})).status == 200
    c = as_role("cashier")
    body = {"items": [line(cafe.items["espresso"])], **CARD}
    refused = await c.post("/orders", body)
    assert refused.status == 409 and refused.json["errorCode"] == "SHIFT_NOT_OPEN"
    shift = (await c.post("/shifts/open", {"openingCash": "100"})).data["shift"]
    sold = await c.post("/orders", body)
    assert sold.status == 201 and sold.data["order"]["shiftId"] == shift["id"]


async def test_history_filters_sorting_and_paging(as_role, cafe, demo_users) -> None:
    cashier, manager = as_role("cashier"), as_role("manager")
    a = (await cashier.post("/orders", {"items": [line(cafe.items["espresso"])], **cash("5"),
                                        "customerName": "Zoë"})).data["order"]
    b = (await manager.post("/orders", {"items": [line(cafe.items["juice"])], **CARD})).data["order"]
    c = (await cashier.post("/orders", {"items": [line(cafe.items["latte"])],
                                        "payments": [{"method": "card", "amount": "1"},
                                                     {"method": "cash", "amount": "10"}]})).data["order"]

    async def ids(query: str) -> list[str]:
        r = await manager.get("/orders" + query)
        assert r.status == 200, r.body
        return [o["id"] for o in r.data["orders"]]

    assert await ids("") == [c["id"], b["id"], a["id"]]  # newest first
    assert await ids("?sort=-timestamp") == [c["id"], b["id"], a["id"]]
    assert await ids("?sort=receiptNumber") == [a["id"], b["id"], c["id"]]
    assert await ids("?paymentMethod=card") == [b["id"]]
    assert await ids("?paymentMethod=split") == [c["id"]]
    assert await ids("?payment_method=split") == [c["id"]]
    assert await ids(f"?createdBy={a['createdBy']}") == [c["id"], a["id"]]
    assert await ids("?search=zo%C3%AB") == [a["id"]]
    assert await ids(f"?search={b['orderNumber']}") == [b["id"]]
    assert await ids(f"?search={c['receiptNumber']}") == [c["id"]]
    assert await ids("?status=refunded") == []
    page = await manager.get("/orders?limit=2&page=2")
    assert (page.data["total"], page.data["page"], page.data["perPage"], page.data["pages"]) == (3, 2, 2, 2)
    assert [o["id"] for o in page.data["orders"]] == [a["id"]]
    for bad in ("?sort=price", "?status=lost", "?from=yesterday", "?perPage=1000"):
        assert (await manager.get("/orders" + bad)).status == 400, bad
    assert (await manager.get("/orders/does-not-exist")).status == 404


async def test_list_and_detail_take_a_fixed_number_of_queries(server, as_role, cafe) -> None:
    from sqlalchemy import event

    c, m = as_role("cashier"), as_role("manager")
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        # The settings cache re-validates and the event bus notifies (each in a transaction of
        # its own) on their own schedule; everything else is per request.
        background = "store_settings" in statement or "pg_notify" in statement
        if not background and not statement.startswith("BEGIN"):
            statements.append(statement)

    async def queries(path: str) -> int:
        statements.clear()
        event.listen(server.ctx.engine, "before_cursor_execute", count)
        try:
            assert (await m.get(path)).status == 200
        finally:
            event.remove(server.ctx.engine, "before_cursor_execute", count)
        return len(statements)

    small = await c.post("/orders", {"items": [line(cafe.items["espresso"])], **CARD})
    one_list, one_detail = await queries("/orders"), await queries(f"/orders/{small.data['order']['id']}")
    big = None
    for _ in range(4):
        big = await c.post("/orders", {"items": [line(cafe.items["latte"], modifierIds=[cafe.mods["Oat milk"]]),
                                                 line(cafe.items["juice"]), line(cafe.items["croissant"])],
                                       "payments": [{"method": "card", "amount": "1"},
                                                    {"method": "cash", "amount": "20"}]})
    assert await queries("/orders") == one_list
    assert await queries(f"/orders/{big.data['order']['id']}") == one_detail
