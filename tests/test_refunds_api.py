"""Refunds and voids: the refund rule in money, never beyond what remains, restock, void rules."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from tests.orders_support import CARD, cash, line, pastries_left, row_counts, stock_levels
from tests.support import suite_now

D = Decimal
REFUND_KEYS = {"id", "amount", "items", "createdAt", "createdBy"}


async def sell(client, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/orders", body)
    assert r.status == 201, r.body
    return r.data["order"]


def discounted_lattes(cafe) -> dict[str, Any]:
    """3 lattes + an orange juice, 10 % off, 1.00 tip: total 17.91 (lines paid 13.12 and 3.79)."""
    return {"items": [line(cafe.items["latte"], 3), line(cafe.items["juice"])],
            "discount": {"type": "percent", "value": 10, "reason": "Staff"}, "tipAmount": "1.00", **CARD}


async def test_refund_by_line_follows_the_rule_and_the_last_one_takes_the_rest(as_role, cafe) -> None:
    m = as_role("manager")
    order = await sell(m, discounted_lattes(cafe))
    assert order["total"] == D("17.91")
    assert [it["paidTotal"] for it in order["items"]] == [D("13.12"), D("3.79")]
    latte_line, juice_line = order["items"][0]["id"], order["items"][1]["id"]

    first = await m.post(f"/orders/{order['id']}/refund", {"items": [{"orderItemId": latte_line, "quantity": 1}],
                                                           "reason": "spilled", "restock": False})
    assert first.status == 200, first.body
    refund = first.data["refund"]
    assert REFUND_KEYS <= set(refund)
    # 13.12 over 3 units by largest remainder: 4.38, 4.37, 4.37 (the extra cent to the first unit).
    assert refund["amount"] == D("4.38")
    assert refund["items"] == [{"orderItemId": latte_line, "quantity": 1, "amount": D("4.38")}]
    assert (refund["method"], refund["reason"], refund["createdByName"]) == ("card", "spilled", "Max Manager")
    assert first.data["order"]["status"] == "partially_refunded"
    assert first.data["order"]["refundedAmount"] == D("4.38")
    assert first.data["order"]["items"][0]["refundedQuantity"] == 1

    second = await m.post(f"/orders/{order['id']}/refund", {"items": [{"orderItemId": latte_line, "quantity": 1}],
                                                            "reason": "cold", "method": "cash"})
    assert second.data["refund"]["amount"] == D("4.37")
    assert second.data["refund"]["method"] == "cash"

    last = await m.post(f"/orders/{order['id']}/refund", {"items": [{"orderItemId": latte_line, "quantity": 1},
                                                                    {"orderItemId": juice_line, "quantity": 1}],
                                                          "reason": "left"})
    assert last.status == 200
    # The last units bring back everything that remains: 4.37 + 3.79 and the 1.00 tip.
    assert last.data["refund"]["items"] == [{"orderItemId": latte_line, "quantity": 1, "amount": D("5.15")},
                                            {"orderItemId": juice_line, "quantity": 1, "amount": D("4.01")}]
    assert last.data["refund"]["amount"] == D("9.16")
    assert last.data["order"]["status"] == "refunded"
    assert last.data["order"]["refundedAmount"] == order["total"]
    again = await m.post(f"/orders/{order['id']}/refund", {"reason": "again"})
    assert again.status == 409


async def test_over_refund_is_409_and_writes_nothing(as_role, cafe, settings) -> None:
    m = as_role("manager")
    order = await sell(m, discounted_lattes(cafe))
    latte_line = order["items"][0]["id"]
    assert (await m.post(f"/orders/{order['id']}/refund", {"items": [{"orderItemId": latte_line, "quantity": 2}],
                                                           "reason": "x"})).status == 200
    before = row_counts(settings)
    too_many = await m.post(f"/orders/{order['id']}/refund",
                            {"items": [{"orderItemId": latte_line, "quantity": 2}], "reason": "x"})
    assert too_many.status == 409 and too_many.json["data"] == {"orderItemId": latte_line, "refundable": 1}
    too_much = await m.post(f"/orders/{order['id']}/refund", {"amount": "100.00", "reason": "x"})
    assert too_much.status == 409
    assert row_counts(settings) == before


async def test_free_amount_then_whole_order(as_role, cafe) -> None:
    m = as_role("manager")
    order = await sell(m, discounted_lattes(cafe))
    part = await m.post(f"/orders/{order['id']}/refund", {"amount": "2.00", "reason": "goodwill"})
    assert part.status == 200
    # Booked on the lines in proportion to their net (13.12 : 3.79), no goods back.
    latte_line, juice_line = order["items"][0]["id"], order["items"][1]["id"]
    assert part.data["refund"]["items"] == [{"orderItemId": latte_line, "quantity": 0, "amount": D("1.55")},
                                            {"orderItemId": juice_line, "quantity": 0, "amount": D("0.45")}]
    assert part.data["refund"]["amount"] == D("2.00")
    assert [it["refundedQuantity"] for it in part.data["order"]["items"]] == [0, 0]
    rest = await m.post(f"/orders/{order['id']}/refund", {"reason": "all of it"})
    assert rest.status == 200
    assert rest.data["refund"]["amount"] == D("15.91")
    assert [it["refundedQuantity"] for it in rest.data["order"]["items"]] == [3, 1]
    assert rest.data["order"]["status"] == "refunded"


async def test_refund_with_restock_puts_back_exactly_what_the_sale_took(as_role, cafe, settings) -> None:
    m = as_role("manager")
    start = stock_levels(settings)
    order = await sell(m, {"items": [line(cafe.items["latte"], 2, modifierIds=[cafe.mods["Oat milk"]]),
                                     line(cafe.items["croissant"], 2)], **CARD})
    assert stock_levels(settings) != start and pastries_left(settings, cafe.items["croissant"]) == 3
    latte_line, croissant_line = order["items"][0]["id"], order["items"][1]["id"]
    r = await m.post(f"/orders/{order['id']}/refund", {"items": [{"orderItemId": latte_line, "quantity": 1},
                                                                 {"orderItemId": croissant_line, "quantity": 1}],
                                                       "reason": "wrong order"})
    assert r.status == 200 and r.data["refund"]["restock"] is True
    assert pastries_left(settings, cafe.items["croissant"]) == 4
    levels = stock_levels(settings)
    assert levels["Beans"] == start["Beans"] - D("0.018")  # one latte still sold
    assert levels["Oat milk"] == start["Oat milk"] - D("0.2")
    whole = await m.post(f"/orders/{order['id']}/refund", {"reason": "all"})
    assert whole.status == 200
    assert stock_levels(settings) == start and pastries_left(settings, cafe.items["croissant"]) == 5
    moves = await as_role("admin").get("/inventory/movements?type=refund&perPage=200")
    assert {m_["reference"] for m_ in moves.data["movements"]} == {order["id"]}


async def test_refund_without_restock_leaves_stock_alone(as_role, cafe, settings) -> None:
    m = as_role("manager")
    order = await sell(m, {"items": [line(cafe.items["latte"]), line(cafe.items["croissant"])], **CARD})
    after_sale = stock_levels(settings)
    r = await m.post(f"/orders/{order['id']}/refund", {"reason": "complaint", "restock": False})
    assert r.status == 200 and r.data["refund"]["restock"] is False
    assert stock_levels(settings) == after_sale and pastries_left(settings, cafe.items["croissant"]) == 4


async def test_bad_refund_requests(as_role, client, cafe, settings) -> None:
    m = as_role("manager")
    order = await sell(m, {"items": [line(cafe.items["latte"])], **CARD})
    before = row_counts(settings)
    path = f"/orders/{order['id']}/refund"
    for body in ({}, {"reason": ""}, {"reason": "x", "amount": "-1"}, {"reason": "x", "amount": "abc"},
                 {"reason": "x", "items": [{"orderItemId": "nope", "quantity": 1}]},
                 {"reason": "x", "items": [{"orderItemId": order["items"][0]["id"], "quantity": 0}]},
                 {"reason": "x", "items": [{"orderItemId": order["items"][0]["id"], "quantity": "1.5"}]},
                 {"reason": "x", "method": "voucher"}):
        r = await m.post(path, body)
        assert r.status == 400, (body, r.body)
    assert (await m.post("/orders/unknown-order/refund", {"reason": "x"})).status == 404
    assert (await as_role("cashier").post(path, {"reason": "x"})).status == 403
    assert (await client.post(path, {"reason": "x"})).status == 401
    assert row_counts(settings) == before


async def test_void_same_day_restores_stock(as_role, cafe, settings) -> None:
    m = as_role("manager")
    start = stock_levels(settings)
    order = await sell(m, {"items": [line(cafe.items["latte"], 2), line(cafe.items["croissant"], 2)], **cash("50")})
    r = await m.post(f"/orders/{order['id']}/void", {"reason": "rang up twice"})
    assert r.status == 200, r.body
    voided = r.data["order"]
    assert (voided["status"], voided["voidReason"], voided["voidedBy"]) == ("voided", "rang up twice",
                                                                            order["createdBy"])
    assert stock_levels(settings) == start and pastries_left(settings, cafe.items["croissant"]) == 5
    assert (await m.post(f"/orders/{order['id']}/void", {"reason": "again"})).status == 409
    assert (await m.post(f"/orders/{order['id']}/refund", {"reason": "after void"})).status == 409


async def test_void_rules(as_role, client, cafe, settings) -> None:
    m = as_role("manager")
    refunded = await sell(m, {"items": [line(cafe.items["latte"], 2)], **CARD})
    await m.post(f"/orders/{refunded['id']}/refund", {"amount": "1.00", "reason": "x"})
    assert (await m.post(f"/orders/{refunded['id']}/void", {"reason": "x"})).status == 409
    yesterday = (suite_now() - timedelta(hours=30)).isoformat()
    old = await sell(m, {"items": [line(cafe.items["latte"])], "clientCreatedAt": yesterday, **CARD})
    late = await m.post(f"/orders/{old['id']}/void", {"reason": "x"})
    assert late.status == 409 and "business day" in late.json["errors"][0]
    today = await sell(m, {"items": [line(cafe.items["latte"])], **CARD})
    before = row_counts(settings)
    assert (await m.post(f"/orders/{today['id']}/void", {})).status == 400
    assert (await as_role("cashier").post(f"/orders/{today['id']}/void", {"reason": "x"})).status == 403
    assert (await client.post(f"/orders/{today['id']}/void", {"reason": "x"})).status == 401
    assert (await m.post("/orders/nope/void", {"reason": "x"})).status == 404
    assert row_counts(settings) == before
