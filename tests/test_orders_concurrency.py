"""Idempotent submission, gapless receipt numbers and sold-out races under real concurrency.

The racing tests send their requests at once with asyncio.gather over several HTTP clients,
so the server's executor runs them in parallel database transactions (PostgreSQL), or queued
on SQLite's one writer.  Nothing here asserts on timing.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update

from orm.models.model_menu import MenuItem
from orm.models.model_orders import JournalEntry, Order, Refund
from tests.conftest import run_unit
from tests.orders_support import CARD, line, pastries_left, row_counts
from tests.support import PG_URL

D = Decimal


def count(settings, model) -> int:
    return run_unit(settings, lambda s: s.scalar(select(func.count()).select_from(model)))


async def gather_posts(server, token: str, path: str, bodies: list[dict[str, Any]],
                       headers: list[dict[str, str]] | None = None, clients: int = 5) -> list[Any]:
    """POST every body at once, spread over several connections."""
    pool = [server.client() for _ in range(clients)]
    for c in pool:
        c.token = token
    try:
        return await asyncio.gather(*[
            pool[i % clients].post(path, body, headers=(headers[i] if headers else None))
            for i, body in enumerate(bodies)])
    finally:
        for c in pool:
            c.close()


async def test_same_key_same_body_returns_the_first_order(as_role, cafe, settings) -> None:
    c = as_role("cashier")
    body = {"items": [line(cafe.items["latte"], 2)], **CARD}
    first = await c.post("/orders", body, headers={"Idempotency-Key": "till-1-0001"})
    again = await c.post("/orders", body, headers={"Idempotency-Key": "till-1-0001"})
    assert first.status == again.status == 201
    assert again.data["order"] == first.data["order"]
    assert again.headers["Location"] == first.headers["Location"]
    assert count(settings, Order) == 1
    other = await c.post("/orders", {**body, "tipAmount": "1"}, headers={"Idempotency-Key": "till-1-0001"})
    assert other.status == 409 and other.json["errorCode"] == "CONFLICT"
    assert count(settings, Order) == 1
    # Another key is another order.
    assert (await c.post("/orders", body, headers={"Idempotency-Key": "till-1-0002"})).status == 201
    assert count(settings, Order) == 2


async def test_client_order_id_is_an_idempotency_key(as_role, cafe, settings) -> None:
    c = as_role("cashier")
    body = {"items": [line(cafe.items["espresso"])], "clientOrderId": "offline-42", **CARD}
    first = await c.post("/orders", body)
    again = await c.post("/orders", body)
    assert first.status == again.status == 201 and again.data["order"]["id"] == first.data["order"]["id"]
    changed = await c.post("/orders", {**body, "items": [line(cafe.items["espresso"], 2)]})
    assert changed.status == 409
    assert count(settings, Order) == 1


async def test_bad_idempotency_key_is_400(as_role, cafe, settings) -> None:
    r = await as_role("cashier").post("/orders", {"items": [line(cafe.items["espresso"])], **CARD},
                                      headers={"Idempotency-Key": "x" * 129})
    assert r.status == 400 and count(settings, Order) == 0


async def test_a_rolled_back_first_attempt_does_not_block_the_retry(as_role, cafe, settings) -> None:
    c = as_role("cashier")
    body = {"items": [line(cafe.items["croissant"], 6)], **CARD}
    key = {"Idempotency-Key": "retry-me"}
    sold_out = await c.post("/orders", body, headers=key)
    assert sold_out.status == 409 and sold_out.json["errorCode"] == "SOLD_OUT"
    run_unit(settings, lambda s: s.execute(update(MenuItem).where(MenuItem.id == cafe.items["croissant"])
                                           .values(stock_count=10)))
    retry = await c.post("/orders", body, headers=key)
    assert retry.status == 201, retry.body
    assert pastries_left(settings, cafe.items["croissant"]) == 4


async def test_ten_concurrent_copies_make_one_order(server, tokens, cafe, settings) -> None:
    body = {"items": [line(cafe.items["latte"]), line(cafe.items["croissant"])], **CARD}
    answers = await gather_posts(server, tokens["cashier"], "/orders", [body] * 10,
                                 headers=[{"Idempotency-Key": "burst-1"}] * 10)
    assert [a.status for a in answers] == [201] * 10, [a.body for a in answers if a.status != 201]
    orders = [a.data["order"] for a in answers]
    assert all(o == orders[0] for o in orders)
    assert count(settings, Order) == 1
    assert pastries_left(settings, cafe.items["croissant"]) == 4  # taken once


async def test_fifty_concurrent_orders_get_gapless_numbers_and_a_valid_chain(server, tokens, cafe, settings,
                                                                             as_role) -> None:
    bodies = [{"items": [line(cafe.items["espresso"], 1 + i % 3)], **CARD} for i in range(50)]
    answers = await gather_posts(server, tokens["cashier"], "/orders", bodies, clients=10)
    assert Counter(a.status for a in answers) == {201: 50}
    numbers = sorted(a.data["order"]["receiptNumber"] for a in answers)
    assert numbers == list(range(1, 51))
    assert sorted(a.data["order"]["orderNumber"] for a in answers) == [f"A-{n:06d}" for n in range(1, 51)]
    verify = await as_role("admin").get("/journal/verify")
    assert verify.status == 200
    assert (verify.data["valid"], verify.data["count"], verify.data["firstBreak"]) == (True, 50, None)
    seqs = run_unit(settings, lambda s: list(s.scalars(select(JournalEntry.seq).order_by(JournalEntry.seq))))
    assert seqs == list(range(1, 51))


@pytest.mark.skipif(not PG_URL, reason="real parallel transactions need PostgreSQL")
async def test_twenty_racing_orders_for_the_last_five_pastries(server, tokens, cafe, settings) -> None:
    body = {"items": [line(cafe.items["croissant"])], **CARD}
    answers = await gather_posts(server, tokens["cashier"], "/orders", [body] * 20, clients=10)
    outcomes = Counter((a.status, a.json.get("errorCode")) for a in answers)
    assert outcomes == {(201, None): 5, (409, "SOLD_OUT"): 15}
    assert pastries_left(settings, cafe.items["croissant"]) == 0
    assert sorted(a.data["order"]["receiptNumber"] for a in answers if a.status == 201) == [1, 2, 3, 4, 5]
    assert count(settings, Order) == 5


@pytest.mark.skipif(not PG_URL, reason="real parallel transactions need PostgreSQL")
async def test_concurrent_refunds_never_exceed_the_order(server, tokens, cafe, settings, as_role) -> None:
    sold = await as_role("manager").post("/orders", {"items": [line(cafe.items["latte"], 3)], **CARD})
    order = sold.data["order"]
    bodies = [{"reason": "double tap"}] * 6 + [{"amount": "5.00", "reason": "partial"}] * 4
    answers = await gather_posts(server, tokens["manager"], f"/orders/{order['id']}/refund", bodies)
    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {200, 409} and statuses[200] >= 1
    refunded = run_unit(settings, lambda s: s.scalar(select(func.sum(Refund.amount))))
    assert refunded == order["total"]
    final = await as_role("manager").get(f"/orders/{order['id']}")
    assert final.data["order"]["refundedAmount"] == order["total"]
    assert final.data["order"]["status"] == "refunded"
    assert (await as_role("admin").get("/journal/verify")).data["valid"] is True


@pytest.mark.skipif(not PG_URL, reason="real parallel transactions need PostgreSQL")
async def test_concurrent_copies_with_different_bodies(server, tokens, cafe, settings) -> None:
    bodies = [{"items": [line(cafe.items["espresso"], 1 + i % 2)], **CARD} for i in range(8)]
    answers = await gather_posts(server, tokens["cashier"], "/orders", bodies,
                                 headers=[{"Idempotency-Key": "mixed"}] * 8)
    created = [a for a in answers if a.status == 201]
    assert Counter(a.status for a in answers) == {201: len(created), 409: 8 - len(created)}
    assert len({a.data["order"]["id"] for a in created}) == 1
    assert count(settings, Order) == 1
    assert row_counts(settings)["orders"] == 1
