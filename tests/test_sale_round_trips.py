"""The sale's round trips on PostgreSQL, observed on the server's engine (not mocked).

* A sale is one transaction of at most 4 statements: BEGIN, the first read (idempotency names,
  open shift, menu state), the one write (sale_statement.py) and COMMIT - whatever its size,
  with counted goods, modifiers and an Idempotency-Key.
* No pre-ping: when the pooled connections die (killed by the server), the next sale still
  succeeds (the unit of work runs again on a new connection), and nothing is written twice.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, event, text

from orm.db import normalise_url
from tests.orders_support import CARD, line
from tests.support import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="round trips of the PostgreSQL sale")


def _sale_transactions(engine) -> tuple[list[list[str]], object]:
    """Every transaction on `engine` as its list of statements (BEGIN and COMMIT included)."""
    transactions: list[list[str]] = []
    open_ones: dict[int, list[str]] = {}

    def begin(conn) -> None:
        open_ones[id(conn)] = ["BEGIN"]

    def statement(conn, cursor, sql, *args) -> None:
        open_ones.setdefault(id(conn), ["(no BEGIN)"]).append(sql)

    def end(conn, word: str) -> None:
        current = open_ones.pop(id(conn), ["(no BEGIN)"])
        transactions.append([*current, word])

    listeners = [("begin", begin), ("before_cursor_execute", statement),
                 ("commit", lambda conn: end(conn, "COMMIT")), ("rollback", lambda conn: end(conn, "ROLLBACK"))]
    for name, fn in listeners:
        event.listen(engine, name, fn)

    def remove() -> None:
        for name, fn in listeners:
            event.remove(engine, name, fn)
    return transactions, remove


def _writes_orders(statements: list[str]) -> bool:
    return any("INSERT INTO orders" in s for s in statements)


async def test_a_sale_is_four_statements_with_begin_and_commit(server, as_role, cafe) -> None:
    c = as_role("cashier")
    await c.post("/orders", {"items": [line(cafe.items["espresso"])], **CARD})  # warm the catalogue cache
    transactions, remove = _sale_transactions(server.ctx.engine)
    try:
        body = {"items": [line(cafe.items["latte"], 2, modifierIds=[cafe.mods["Oat milk"], cafe.mods["Vanilla"]]),
                          line(cafe.items["croissant"]), line(cafe.items["espresso"], 3)],
                "payments": [{"method": "card", "amount": "5"}, {"method": "cash", "amount": "50"}]}
        resp = await c.post("/orders", body, headers={"Idempotency-Key": "round-trips-1"})
        assert resp.status == 201, resp.body
    finally:
        remove()
    sale = [t for t in transactions if _writes_orders(t)]
    assert len(sale) == 1, transactions
    assert len(sale[0]) <= 4, sale[0]
    assert sale[0][0] == "BEGIN" and sale[0][-1] == "COMMIT"
    # ...and the journal it wrote in SQL verifies.
    verify = await as_role("admin").get("/journal/verify")
    assert verify.status == 200 and verify.data["valid"], verify.body


async def test_the_next_sale_survives_killed_pool_connections(server, as_role, cafe, settings) -> None:
    c = as_role("cashier")
    assert (await c.post("/orders", {"items": [line(cafe.items["espresso"])], **CARD})).status == 201
    admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    database = urlsplit(normalise_url(settings.database_url)).path.lstrip("/")
    try:
        with admin.connect() as conn:
            killed = conn.execute(text(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :db AND application_name = 'cafepos' AND pid <> pg_backend_pid()) AS k"),
                {"db": database}).scalar()
        assert killed and killed >= 1
        resp = await c.post("/orders", {"items": [line(cafe.items["espresso"])], **CARD},
                            headers={"Idempotency-Key": "after-the-kill"})
        assert resp.status == 201, resp.body
        orders = (await as_role("manager").get("/orders")).data
        numbers = sorted(o["receiptNumber"] for o in orders["orders"])
        assert numbers == [1, 2], numbers  # written once, numbered without a gap
    finally:
        admin.dispose()
