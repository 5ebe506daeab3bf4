"""One sale is never recorded twice: the Idempotency-Key header and clientOrderId are one identity.

A replay matches the earlier order on either name, whichever of the two it carries; both names
naming two different earlier orders is a 409; concurrent replays, one with the header and one
with clientOrderId only, still make one order (the unique constraints decide, not a read).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from orm.models.model_orders import Order
from tests.conftest import run_unit
from tests.orders_support import CARD, line, pastries_left, row_counts
from tests.test_orders_concurrency import gather_posts


def orders(settings) -> int:
    return run_unit(settings, lambda s: s.scalar(select(func.count()).select_from(Order)))


def sale(cafe, client_order_id: str | None) -> dict[str, Any]:
    body = {"items": [line(cafe.items["latte"]), line(cafe.items["croissant"])], **CARD}
    return {**body, "clientOrderId": client_order_id} if client_order_id else body


async def test_header_then_client_order_id_alone_replays_the_same_sale(as_role, cafe, settings) -> None:
    c = as_role("cashier")
    body = sale(cafe, "till-2-offline-17")
    first = await c.post("/orders", body, headers={"Idempotency-Key": "K-17"})
    assert first.status == 201, first.body
    for headers in (None, {"Idempotency-Key": "K-17"}, {"Idempotency-Key": "till-2-offline-17"}):
        again = await c.post("/orders", body, headers=headers)
        assert again.status == 201, (headers, again.body)
        assert again.data["order"] == first.data["order"]
    assert orders(settings) == 1
    assert pastries_left(settings, cafe.items["croissant"]) == 4  # taken once
    # The header alone, without the clientOrderId in the body, names the sale too: another body -> 409.
    other = await c.post("/orders", sale(cafe, None), headers={"Idempotency-Key": "K-17"})
    assert other.status == 409 and other.json["errorCode"] == "CONFLICT"
    assert orders(settings) == 1


async def test_client_order_id_then_header_and_client_order_id_replays_the_same_sale(as_role, cafe,
                                                                                   settings) -> None:
    c = as_role("cashier")
    body = sale(cafe, "till-3-0001")
    first = await c.post("/orders", body)
    assert first.status == 201
    again = await c.post("/orders", body, headers={"Idempotency-Key": "a-new-key"})
    assert again.status == 201 and again.data["order"]["id"] == first.data["order"]["id"]
    assert again.data["order"]["receiptNumber"] == first.data["order"]["receiptNumber"]
    assert orders(settings) == 1


async def test_names_of_two_different_orders_are_a_conflict(as_role, cafe, settings) -> None:
    c = as_role("cashier")
    one = await c.post("/orders", sale(cafe, "C-1"), headers={"Idempotency-Key": "K-1"})
    two = await c.post("/orders", sale(cafe, "C-2"), headers={"Idempotency-Key": "K-2"})
    assert one.status == two.status == 201
    before = row_counts(settings)
    mixed = await c.post("/orders", sale(cafe, "C-2"), headers={"Idempotency-Key": "K-1"})
    assert mixed.status == 409, mixed.body
    assert mixed.json["errorCode"] == "CONFLICT" and "two different" in mixed.json["errors"][0]
    assert sorted(mixed.json["data"]["orderIds"]) == sorted([one.data["order"]["id"], two.data["order"]["id"]])
    assert row_counts(settings) == before


async def test_concurrent_replays_by_header_and_by_client_order_id_make_one_order(server, tokens, cafe,
                                                                                  settings) -> None:
    body = sale(cafe, "till-4-0042")
    headers = [{"Idempotency-Key": "K-42"} if i % 2 else {} for i in range(10)]
    answers = await gather_posts(server, tokens["cashier"], "/orders", [body] * 10, headers=headers)
    assert [a.status for a in answers] == [201] * 10, [a.body for a in answers if a.status != 201]
    assert all(a.data["order"] == answers[0].data["order"] for a in answers)
    assert orders(settings) == 1
    assert pastries_left(settings, cafe.items["croissant"]) == 4  # taken once
