"""GET /journal/verify: a valid chain stays valid; any tampering is reported where it happened."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update

from orm.controllers.orders import journal
from orm.models.model_orders import JournalEntry, Order, OrderItem, Payment, Refund, StoreCounter
from tests.conftest import run_unit
from tests.orders_support import CARD, line

D = Decimal


async def history(as_role, cafe) -> dict[str, Any]:
    """Three sales, a refund and a void: journal seq 1..5."""
    m = as_role("manager")
    orders = []
    for n in (1, 2, 3):
        r = await m.post("/orders", {"items": [line(cafe.items["latte"], n)], **CARD})
        assert r.status == 201
        orders.append(r.data["order"])
    refund = await m.post(f"/orders/{orders[0]['id']}/refund", {"reason": "cold", "amount": "1.00"})
    void = await m.post(f"/orders/{orders[2]['id']}/void", {"reason": "mistake"})
    assert refund.status == 200 and void.status == 200
    return {"orders": orders, "refund": refund.data["refund"]}


async def verify(as_role) -> dict[str, Any]:
    r = await as_role("admin").get("/journal/verify")
    assert r.status == 200, r.body
    return r.data


async def test_untouched_chain_is_valid(as_role, cafe, settings) -> None:
    await history(as_role, cafe)
    data = await verify(as_role)
    assert (data["valid"], data["count"], data["firstBreak"]) == (True, 5, None)
    kinds = run_unit(settings, lambda s: [(e.seq, e.entry_type) for e in s.scalars(
        select(JournalEntry).order_by(JournalEntry.seq))])
    assert kinds == [(1, "order"), (2, "order"), (3, "order"), (4, "refund"), (5, "void")]


async def test_empty_journal_is_valid(as_role, cafe) -> None:
    assert await verify(as_role) == {"valid": True, "count": 0, "firstBreak": None,
                                     "stores": [{"storeId": "00000000-0000-0000-0000-000000000001",
                                                 "valid": True, "count": 0, "firstBreak": None}]}


async def test_a_changed_order_total_is_detected(as_role, cafe, settings) -> None:
    h = await history(as_role, cafe)
    target = h["orders"][1]
    run_unit(settings, lambda s: s.execute(update(Order).where(Order.id == target["id"]).values(total=D("0.50"))))
    data = await verify(as_role)
    assert data["valid"] is False
    assert {k: data["firstBreak"][k] for k in ("seq", "entryType", "referenceId")} == \
        {"seq": 2, "entryType": "order", "referenceId": target["id"]}


async def test_changed_lines_and_payments_are_detected(as_role, cafe, settings) -> None:
    h = await history(as_role, cafe)
    first = h["orders"][0]["id"]
    run_unit(settings, lambda s: s.execute(update(OrderItem).where(OrderItem.order_id == first)
                                           .values(quantity=OrderItem.quantity + 1)))
    assert (await verify(as_role))["firstBreak"]["seq"] == 1
    run_unit(settings, lambda s: s.execute(update(OrderItem).where(OrderItem.order_id == first)
                                           .values(quantity=OrderItem.quantity - 1)))
    assert (await verify(as_role))["valid"] is True
    run_unit(settings, lambda s: s.execute(update(Payment).where(Payment.order_id == first).values(method="cash")))
    assert (await verify(as_role))["firstBreak"]["referenceId"] == first


async def test_a_changed_refund_is_detected(as_role, cafe, settings) -> None:
    h = await history(as_role, cafe)
    run_unit(settings, lambda s: s.execute(update(Refund).where(Refund.id == h["refund"]["id"])
                                           .values(amount=D("0.01"))))
    brk = (await verify(as_role))["firstBreak"]
    assert (brk["seq"], brk["entryType"], brk["referenceId"]) == (4, "refund", h["refund"]["id"])


async def test_a_rewritten_journal_entry_is_detected(as_role, cafe, settings) -> None:
    await history(as_role, cafe)

    def rewrite(session) -> None:
        entry = session.scalar(select(JournalEntry).where(JournalEntry.seq == 3))
        entry.content = entry.content.replace('"quantity":3', '"quantity":1')
        # Even with a recomputed hash the next entry's prev_hash no longer matches.
        entry.hash = journal.chain_hash(entry.prev_hash, entry.content)

    run_unit(settings, rewrite)
    brk = (await verify(as_role))["firstBreak"]
    assert (brk["seq"], brk["entryType"]) == (3, "order") and "no longer matches" in brk["reason"]


async def test_deleted_entries_are_detected(as_role, cafe, settings) -> None:
    await history(as_role, cafe)
    run_unit(settings, lambda s: s.execute(delete(JournalEntry).where(JournalEntry.seq == 2)))
    brk = (await verify(as_role))["firstBreak"]
    assert brk["seq"] == 3 and "gap" in brk["reason"]


async def test_a_deleted_tail_is_detected(as_role, cafe, settings) -> None:
    await history(as_role, cafe)
    run_unit(settings, lambda s: s.execute(delete(JournalEntry).where(JournalEntry.seq == 5)))
    brk = (await verify(as_role))["firstBreak"]
    assert brk["seq"] == 5 and brk["entryType"] is None


async def test_an_order_without_its_entry_is_detected(as_role, cafe, settings) -> None:
    h = await history(as_role, cafe)

    def erase_void(session) -> None:
        # Remove the last entry and rewind the counter, as someone covering their tracks would.
        last = session.scalar(select(JournalEntry).where(JournalEntry.seq == 5))
        session.execute(update(StoreCounter).values(journal_seq=4, journal_head=last.prev_hash))
        session.delete(last)

    run_unit(settings, erase_void)
    brk = (await verify(as_role))["firstBreak"]
    assert (brk["entryType"], brk["referenceId"]) == ("void", h["orders"][2]["id"])


async def test_verify_needs_system_logs(as_role, client, cafe) -> None:
    assert (await as_role("manager").get("/journal/verify")).status == 403
    assert (await client.get("/journal/verify")).status == 401


def test_other_stores_get_their_own_receipt_series(settings) -> None:
    from orm.models.model_store import Store

    def second_store(session) -> list[tuple[int, int, str]]:
        store = Store(name="Branch 2", address="", timezone="Europe/Berlin")
        session.add(store)
        session.flush()
        return [journal.take_counter(session, store.id, receipt=True),
                journal.take_counter(session, store.id, receipt=False),
                journal.take_counter(session, store.id, receipt=True)]

    assert run_unit(settings, second_store) == [(1, 1, journal.GENESIS), (1, 2, journal.GENESIS),
                                                (2, 3, journal.GENESIS)]
