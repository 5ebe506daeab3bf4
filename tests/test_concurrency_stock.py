"""Stock under real parallel transactions (PostgreSQL): many tills selling, refunding and counting at once.

Requests go out together with asyncio.gather over several connections, so the server's DB executor
runs them as parallel PostgreSQL transactions.  Arrangements go through the API (the menu and stock
a manager would set up); the outcome is read from the database.  Nothing asserts on timing.
(tests/test_orders_concurrency.py covers receipt numbering, Idempotency-Key bursts and whole-order
refund races; these add stock arithmetic, counted goods, line refunds with restock, and deadlocks.)
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from orm.db import make_engine, make_session_factory, unit_of_work
from orm.models.model_inventory import InventoryItem, StockMovement
from orm.models.model_menu import MenuItem
from orm.models.model_orders import Order
from tests.conftest import run_unit
from tests.support import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="real parallel transactions need PostgreSQL")
D = Decimal
CARD = {"payments": [{"method": "card"}]}


async def burst(server, token: str, requests: list[tuple[str, str, Any]], clients: int = 20) -> list[Any]:
    """Send every (method, path, json) at once, spread over several connections."""
    pool = [server.client() for _ in range(clients)]
    for c in pool:
        c.token = token
    try:
        return await asyncio.gather(*[pool[i % clients].request(method, path, json=body)
                                      for i, (method, path, body) in enumerate(requests)])
    finally:
        for c in pool:
            c.close()


async def ingredient(admin, name: str, stock: str) -> str:
    resp = await admin.post("/inventory", {"name": name, "unit": "kg", "currentStock": stock, "minStockLevel": "0"})
    assert resp.status == 201, resp.body
    return resp.data["item"]["id"]


async def menu_item(admin, name: str, recipe: list[tuple[str, str]] = (), **extra: Any) -> str:
    resp = await admin.post("/menu_items", {"name": name, "price": "3.00", "category": "Race",
                                            "recipe": [{"inventoryItemId": i, "quantity": q} for i, q in recipe],
                                            **extra})
    assert resp.status == 201, resp.body
    return resp.data["menuItem"]["id"]


def sale(item: str, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"items": [{"menuItemId": item, "quantity": quantity}], **CARD, **extra}


def ledger(settings) -> dict[str, tuple[Decimal, Decimal, int]]:
    """Per inventory item: (current stock, sum of its movements, number of movements)."""
    def read(session: Session) -> dict[str, tuple[Decimal, Decimal, int]]:
        sums = dict(session.execute(select(StockMovement.inventory_item_id,
                                           func.sum(StockMovement.delta)).group_by(StockMovement.inventory_item_id))
                    .all())
        counts = dict(session.execute(select(StockMovement.inventory_item_id, func.count())
                                      .group_by(StockMovement.inventory_item_id)).all())
        return {i: (level, D(sums.get(i) or 0), counts.get(i, 0))
                for i, level in session.execute(select(InventoryItem.id, InventoryItem.current_stock))}
    return run_unit(settings, read)


def no_server_errors(answers: list[Any]) -> None:
    bad = [(a.status, a.body[:300]) for a in answers if a.status >= 500]
    assert not bad, bad


@pytest.mark.timeout(300)
async def test_two_hundred_concurrent_sales_end_at_the_exact_stock(server, tokens, admin, settings):
    beans = await ingredient(admin, "Beans", "100")
    espresso = await menu_item(admin, "Espresso", [(beans, "0.018")])
    answers = await burst(server, tokens["cashier"], [("POST", "/orders", sale(espresso))] * 200)
    no_server_errors(answers)
    assert Counter(a.status for a in answers) == {201: 200}
    level, moved, movements = ledger(settings)[beans]
    assert level == D("96.400")  # 100 - 200 x 0.018, not one gram lost to a race
    assert moved == level and movements == 201  # the opening count + one movement per sale
    levels = run_unit(settings, lambda s: sorted(s.scalars(select(StockMovement.resulting_level)
                                                           .where(StockMovement.movement_type == "sale"))))
    # Each sale saw the level the one before it left: the resulting levels are one unbroken staircase.
    assert levels == [D("96.400") + D("0.018") * n for n in range(200)]


async def test_fifty_racing_orders_never_oversell_the_last_five(server, tokens, admin, settings):
    croissant = await menu_item(admin, "Croissant", stockCount=5)
    answers = await burst(server, tokens["cashier"], [("POST", "/orders", sale(croissant))] * 50)
    no_server_errors(answers)
    assert Counter((a.status, a.json.get("errorCode")) for a in answers) == {(201, None): 5, (409, "SOLD_OUT"): 45}
    left = run_unit(settings, lambda s: s.scalar(select(MenuItem.stock_count).where(MenuItem.id == croissant)))
    assert left == 0
    assert run_unit(settings, lambda s: s.scalar(select(func.count()).select_from(Order))) == 5


async def test_racing_baskets_of_mixed_sizes_sell_at_most_what_is_left(server, tokens, admin, settings):
    muffin = await menu_item(admin, "Muffin", stockCount=7)
    quantities = [1 + i % 3 for i in range(30)]
    answers = await burst(server, tokens["cashier"], [("POST", "/orders", sale(muffin, q)) for q in quantities])
    no_server_errors(answers)
    sold = sum(q for q, a in zip(quantities, answers, strict=True) if a.status == 201)
    assert {a.status for a in answers} <= {201, 409} and 5 <= sold <= 7  # greedy baskets may leave 1-2
    left = run_unit(settings, lambda s: s.scalar(select(MenuItem.stock_count).where(MenuItem.id == muffin)))
    assert left == 7 - sold and left >= 0


async def test_ten_racing_copies_with_one_client_order_id_make_one_order(server, tokens, admin, settings):
    """The offline till's own id (clientOrderId in the body) is an idempotency key too."""
    beans = await ingredient(admin, "Beans", "10")
    latte = await menu_item(admin, "Latte", [(beans, "0.018")])
    body = sale(latte, 2, clientOrderId="till-7-offline-0042")
    answers = await burst(server, tokens["cashier"], [("POST", "/orders", body)] * 10, clients=10)
    no_server_errors(answers)
    assert Counter(a.status for a in answers) == {201: 10}
    assert len({a.data["order"]["id"] for a in answers}) == 1
    assert run_unit(settings, lambda s: s.scalar(select(func.count()).select_from(Order))) == 1
    assert ledger(settings)[beans][0] == D("9.964")  # deducted once


async def test_racing_line_refunds_with_restock_never_exceed_the_line(server, tokens, admin, as_role, settings):
    syrup = await ingredient(admin, "Syrup", "5")
    cake = await menu_item(admin, "Cake", [(syrup, "0.050")], stockCount=10)
    sold = await as_role("manager").post("/orders", sale(cake, 3))
    assert sold.status == 201, sold.body
    order = sold.data["order"]
    line = order["items"][0]["id"]
    refund = {"items": [{"orderItemId": line, "quantity": 1}], "reason": "dropped", "restock": True}
    answers = await burst(server, tokens["manager"], [("POST", f"/orders/{order['id']}/refund", refund)] * 12,
                          clients=12)
    no_server_errors(answers)
    assert Counter(a.status for a in answers) == {200: 3, 409: 9}
    final = (await as_role("manager").get(f"/orders/{order['id']}")).data["order"]
    assert final["items"][0]["refundedQuantity"] == 3 and final["refundedAmount"] == order["total"]
    assert final["status"] == "refunded"
    level, moved, _ = ledger(settings)[syrup]
    assert level == D("5.000") and moved == level  # 3 x 0.05 out, 3 x 0.05 back
    left = run_unit(settings, lambda s: s.scalar(select(MenuItem.stock_count).where(MenuItem.id == cake)))
    assert left == 10


@pytest.mark.timeout(300)
async def test_a_storm_of_sales_refunds_and_counts_on_shared_stock_reaches_no_client_as_an_error(
        server, tokens, admin, as_role, settings):
    """Recipes name shared ingredients in opposite orders; refunds restock them; counts set them.  No
    deadlock or serialization failure surfaces (rows are locked in id order, and orm/db.py retries the
    rest), and every item's stock still equals the sum of its movements."""
    milk = await ingredient(admin, "Milk", "50")
    beans = await ingredient(admin, "Beans", "50")
    cups = await ingredient(admin, "Cups", "500")
    flat_white = await menu_item(admin, "Flat white", [(milk, "0.15"), (beans, "0.018"), (cups, "1")])
    cortado = await menu_item(admin, "Cortado", [(cups, "1"), (beans, "0.018"), (milk, "0.06")])
    scone = await menu_item(admin, "Scone", [(milk, "0.01")], stockCount=40)
    manager = as_role("manager")
    earlier = []
    for _ in range(10):
        resp = await manager.post("/orders", {"items": [{"menuItemId": flat_white, "quantity": 1},
                                                        {"menuItemId": cortado, "quantity": 1}], **CARD})
        assert resp.status == 201, resp.body
        earlier.append(resp.data["order"]["id"])
    work: list[tuple[str, str, Any]] = []
    for i in range(60):
        basket = [(flat_white, 1), (cortado, 2), (scone, 1)] if i % 2 else [(scone, 1), (cortado, 1), (flat_white, 2)]
        work.append(("POST", "/orders", {"items": [{"menuItemId": m, "quantity": q} for m, q in basket], **CARD}))
    for order_id in earlier:
        work.append(("POST", f"/orders/{order_id}/refund", {"reason": "wrong milk", "restock": True}))
    for n, item in enumerate([milk, beans, cups] * 4):
        work.append(("POST", f"/inventory/{item}/adjust", {"quantity": "1", "type": "restock",
                                                           "reason": f"delivery {n}"}))
    answers = await burst(server, tokens["manager"], work, clients=25)
    no_server_errors(answers)
    assert {a.status for a in answers} <= {200, 201, 409}, Counter(a.status for a in answers)
    assert Counter(a.status for a in answers[:60])[201] == 40  # one scone a basket, 40 scones
    for item_id, (level, moved, _n) in ledger(settings).items():
        assert level == moved, item_id
    verify = await as_role("admin").get("/journal/verify")
    assert verify.status == 200 and verify.data["valid"] is True


def test_unit_of_work_retries_a_real_deadlock(settings, demo_users):
    """Two units of work lock rows A, B and B, A: PostgreSQL kills one (40P01) and orm/db.py runs it again."""
    def make(session: Session) -> list[str]:
        rows = [InventoryItem(name=f"Deadlock {n}", unit="kg", current_stock=D("10")) for n in "AB"]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]

    first, second = run_unit(settings, make)
    barrier = threading.Barrier(2, timeout=30)
    attempts: Counter = Counter()

    def bump(session: Session, ids: tuple[str, str], name: str) -> int:
        attempts[name] += 1
        for n, item_id in enumerate(ids):
            session.execute(update(InventoryItem).where(InventoryItem.id == item_id)
                            .values(current_stock=InventoryItem.current_stock + D("1")))
            session.flush()
            if n == 0 and attempts[name] == 1:
                barrier.wait()  # both now hold their first row: the second UPDATEs deadlock
        return attempts[name]

    engine = make_engine(settings.database_url, pool_size=2, max_overflow=0)
    try:
        factory = make_session_factory(engine)
        with ThreadPoolExecutor(2) as pool:
            one = pool.submit(unit_of_work, factory, bump, (first, second), "one")
            two = pool.submit(unit_of_work, factory, bump, (second, first), "two")
            results = sorted([one.result(60), two.result(60)])
    finally:
        engine.dispose()
    assert results == [1, 2]  # exactly one was chosen as the victim and retried
    levels = run_unit(settings, lambda s: set(s.scalars(select(InventoryItem.current_stock)
                                                        .where(InventoryItem.id.in_([first, second])))))
    assert levels == {D("12.000")}  # both units of work took effect, each once
