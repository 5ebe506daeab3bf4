"""Goods can always come back, and every refund's money is booked exactly on the order's lines.

* A free (100 % discounted) sale refunded by items returns and restocks the goods with 0 money.
* 4 x 0.10 at 7 % with 0.37 off (total 0.03) refunded unit by unit: 0.01, 0.01, 0.01, 0.00 -
  the units' parts of the line's money by largest remainder, adding up to the line exactly.
* After an amount-only refund a line never returns more than is left on it, and its goods still
  come back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.orders_support import CARD, line, pastries_left, stock_levels

D = Decimal


async def sell(client, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/orders", body)
    assert r.status == 201, r.body
    return r.data["order"]


async def refund_units(client, order: dict[str, Any], line_no: int, units: int = 1, **extra: Any) -> Any:
    item = order["items"][line_no]["id"]
    return await client.post(f"/orders/{order['id']}/refund",
                             {"items": [{"orderItemId": item, "quantity": units}], "reason": "returned", **extra})


async def test_a_free_sale_refunded_by_items_returns_and_restocks_the_goods(as_role, cafe, settings) -> None:
    m = as_role("manager")
    start = stock_levels(settings)
    order = await sell(m, {"items": [line(cafe.items["croissant"], 2), line(cafe.items["latte"])],
                           "discount": {"type": "percent", "value": 100, "reason": "owner's guests"}, **CARD})
    assert order["total"] == D("0.00")
    assert pastries_left(settings, cafe.items["croissant"]) == 3

    first = await refund_units(m, order, 0, restock=True)
    assert first.status == 200, first.body
    assert first.data["refund"]["amount"] == D("0.00") and first.data["refund"]["restock"] is True
    assert first.data["refund"]["items"] == [{"orderItemId": order["items"][0]["id"], "quantity": 1,
                                              "amount": D("0.00")}]
    assert first.data["order"]["status"] == "partially_refunded"  # a unit of it is still out
    assert pastries_left(settings, cafe.items["croissant"]) == 4

    rest = await m.post(f"/orders/{order['id']}/refund", {"reason": "all back"})
    assert rest.status == 200, rest.body
    assert rest.data["refund"]["amount"] == D("0.00")
    assert [it["refundedQuantity"] for it in rest.data["order"]["items"]] == [2, 1]
    assert rest.data["order"]["status"] == "refunded"
    assert pastries_left(settings, cafe.items["croissant"]) == 5 and stock_levels(settings) == start
    again = await m.post(f"/orders/{order['id']}/refund", {"reason": "again"})
    assert again.status == 409 and "already been refunded in full" in again.json["errors"][0]
    assert (await refund_units(m, order, 0)).status == 409  # no unit of it is left


async def test_a_nearly_free_line_refunded_unit_by_unit_adds_up_to_its_money(as_role, cafe, settings) -> None:
    admin, m = as_role("admin"), as_role("manager")
    made = await admin.post("/menu_items", {"name": "Sugar stick", "price": "0.10", "category": "Extras",
                                            "taxRate": "0.07", "stockCount": 10})
    assert made.status == 201, made.body
    stick = made.data["menuItem"]["id"]
    order = await sell(m, {"items": [line(stick, 4)], "discount": {"type": "fixed", "value": "0.37", "reason": "x"},
                           **CARD})
    assert (order["total"], order["items"][0]["paidTotal"]) == (D("0.03"), D("0.03"))
    assert pastries_left(settings, stick) == 6

    amounts, statuses = [], []
    for _ in range(4):
        r = await refund_units(m, order, 0, restock=True)
        assert r.status == 200, r.body
        amounts.append(r.data["refund"]["amount"])
        statuses.append(r.data["order"]["status"])
    assert amounts == [D("0.01"), D("0.01"), D("0.01"), D("0.00")]
    assert sum(amounts) == order["total"]
    # The money is all back after the third unit; the fourth still comes back, with 0.
    assert statuses == ["partially_refunded", "partially_refunded", "refunded", "refunded"]
    assert pastries_left(settings, stick) == 10
    assert (await refund_units(m, order, 0)).status == 409


async def test_goods_after_an_amount_only_refund_take_only_what_is_left_on_their_line(as_role, cafe,
                                                                                     settings) -> None:
    m = as_role("manager")
    order = await sell(m, {"items": [line(cafe.items["croissant"], 2)], **CARD})
    paid = order["items"][0]["paidTotal"]
    assert paid == order["total"] == D("6.57")  # 6.40 + 2.6 % tax
    goodwill = await m.post(f"/orders/{order['id']}/refund", {"amount": "5.00", "reason": "burnt"})
    assert goodwill.status == 200
    assert goodwill.data["refund"]["items"] == [{"orderItemId": order["items"][0]["id"], "quantity": 0,
                                                 "amount": D("5.00")}]
    one = await refund_units(m, order, 0)
    assert one.status == 200, one.body
    assert one.data["refund"]["amount"] == D("1.57")  # the unit's 3.29, capped at what is left on the line
    last = await refund_units(m, order, 0)
    assert last.status == 200, last.body
    assert last.data["refund"]["amount"] == D("0.00")
    assert last.data["order"]["refundedAmount"] == paid and last.data["order"]["status"] == "refunded"
    assert pastries_left(settings, cafe.items["croissant"]) == 5


async def test_an_explicit_amount_with_items_is_booked_on_those_lines(as_role, cafe) -> None:
    m = as_role("manager")
    order = await sell(m, {"items": [line(cafe.items["latte"], 2), line(cafe.items["juice"])], **CARD})
    items = [{"orderItemId": order["items"][0]["id"], "quantity": 1}]
    less = await m.post(f"/orders/{order['id']}/refund", {"items": items, "amount": "1.00", "reason": "x"})
    assert less.status == 200
    assert less.data["refund"]["items"] == [{**items[0], "amount": D("1.00")}]
    more = await m.post(f"/orders/{order['id']}/refund", {"items": items, "amount": "6.00", "reason": "x"})
    assert more.status == 200
    booked = more.data["refund"]["items"]
    assert sum((b["amount"] for b in booked), D("0")) == D("6.00")
    assert [b["quantity"] for b in booked] == [1, 0]
