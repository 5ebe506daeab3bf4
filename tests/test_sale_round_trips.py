"""The sale's round trips on PostgreSQL, observed on the server's engine (not mocked).

* A sale is one transaction of at most 4 statements: BEGIN, the first read (idempotency names,
  open shift, menu state), the one write (sale_statement.py) and COMMIT - whatever its size,
  with counted goods, modifiers and an Idempotency-Key.
* No pre-ping: when the pooled connections die (killed by the server), the next sale still
  succeeds (the unit of work runs again on a new connection), and nothing is written twice.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, event, text

from orm.controllers.orders.sale_statement import content_parts
from orm.controllers.orders.sales import order_number
from orm.db import normalise_url
from orm.domain.canonical import canonical_json
from orm.domain.stores import DEFAULT_STORE_ID as STORE
from tests.conftest import run_unit
from tests.orders_support import CARD, line
from tests.support import PG_URL

postgresql_only = pytest.mark.skipif(not PG_URL, reason="the one-statement sale is PostgreSQL's")


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


@postgresql_only
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
    # Its live events (order, tickets) are NOTIFYed by the write statement itself: no other round trip.
    assert "pg_notify" in sale[0][-2], sale[0]
    assert not [t for t in transactions if t is not sale[0] and any("pg_notify" in s for s in t)], transactions
    # ...and the journal it wrote in SQL verifies.
    verify = await as_role("admin").get("/journal/verify")
    assert verify.status == 200 and verify.data["valid"], verify.body


@postgresql_only
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


@postgresql_only
async def test_the_journal_hashed_in_sql_verifies_past_a_million_and_with_any_text(server, as_role, cafe,
                                                                                   settings) -> None:
    c = as_role("cashier")
    assert (await c.post("/orders", {"items": [line(cafe.items["espresso"])], **CARD})).status == 201
    # The counter jumps near the 6-digit edge of the order number (as a year of a busy café would).
    run_unit(settings, lambda s: s.execute(text(
        "UPDATE store_counters SET last_receipt_number = 999998 WHERE store_id = :s"), {"s": STORE}))
    numbers = []
    for reference in ('Zoë "~receipt~" ✓ \\ tab\t', '"receiptNumber":"~receipt~"'):
        body = {"items": [line(cafe.items["latte"], modifierIds=[cafe.mods["Oat milk"]])],
                "payments": [{"method": "card", "reference": reference}]}
        resp = await c.post("/orders", body)
        assert resp.status == 201, resp.body
        numbers.append((resp.data["order"]["receiptNumber"], resp.data["order"]["orderNumber"]))
    assert numbers == [(999999, "A-999999"), (1000000, "A-1000000")]
    verify = await as_role("admin").get("/journal/verify")
    assert verify.status == 200 and verify.data["valid"] and verify.data["count"] == 3, verify.body


def test_the_content_cut_for_sql_gives_the_canonical_text_back() -> None:
    content = {"type": "order", "orderId": "o-1", "storeId": "s", "total": "1.50", "lines": [],
               "payments": [{"method": "card", "reference": 'x "orderNumber":"~number~" ~receipt~ é'}]}
    before, middle, after = content_parts(content)
    for receipt in (1, 999999, 1000000, 12345678):
        number = order_number(receipt)
        spliced = before + json.dumps(number) + middle + str(receipt) + after
        assert spliced == canonical_json({**content, "receiptNumber": receipt, "orderNumber": number})


def _probe_plan(session, names: dict[str, str]) -> dict:
    from orm.controllers.orders.idempotency import NAME_TAKEN

    compiled = NAME_TAKEN.compile(session.get_bind())
    sql = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + str(compiled)
    params = compiled.construct_params({"store_id": STORE, **names})
    return session.connection().exec_driver_sql(sql, params).scalar()[0]


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@postgresql_only
async def test_the_idempotency_probe_is_an_index_look_up_however_many_orders(server, as_role, cafe,
                                                                            settings) -> None:
    """Every sale first asks whether its names are taken: each name against each name column, an
    equality on a unique index's whole key (store_id, name), so on current statistics a look-up reads a
    few pages however many orders the store has (no OR of the two columns, no bitmap scan)."""
    c = as_role("cashier")
    resp = await c.post("/orders", {"items": [line(cafe.items["espresso"])], **CARD},
                        headers={"Idempotency-Key": "the-first"})
    assert resp.status == 201, resp.body
    columns = run_unit(settings, lambda s: list(s.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' "
        "AND column_name NOT IN ('id', 'receipt_number', 'order_number', 'idempotency_key', 'client_order_id') "
        "ORDER BY ordinal_position")).scalars()))
    copied = ", ".join(columns)
    # 3,000 more orders of the store (copies of the first with their own ids, numbers and names).
    run_unit(settings, lambda s: s.execute(text(
        f"INSERT INTO orders (id, receipt_number, order_number, idempotency_key, client_order_id, {copied}) "
        f"SELECT 'copy-' || n, 100 + n, 'A-' || (100 + n), 'key-' || n, 'client-' || n, {copied} "
        "FROM orders, generate_series(1, 3000) AS n WHERE orders.idempotency_key = 'the-first'")))
    run_unit(settings, lambda s: s.execute(text("ANALYZE orders")))  # what autovacuum does in production
    for names, found in (({"key": "new-key", "client": "new-key"}, False),
                         ({"key": "key-2999", "client": "key-2999"}, True),
                         ({"key": "other", "client": "client-17"}, True)):
        plan = run_unit(settings, _probe_plan, names)
        scans = [n for n in _nodes(plan["Plan"]) if n.get("Relation Name") == "orders"]
        assert len(scans) == 4, scans
        for scan, column in zip(scans, ("idempotency_key", "idempotency_key", "client_order_id", "client_order_id"),
                                strict=True):
            assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), scan
            assert "store_id" in scan["Index Cond"] and column in scan["Index Cond"], scan
            assert not scan.get("Filter"), scan
        # A look-up reads a handful of pages, not the store's 3,000 orders.
        assert plan["Plan"]["Shared Hit Blocks"] + plan["Plan"].get("Shared Read Blocks", 0) < 40, plan
        assert any(n["Actual Rows"] == 1 for n in scans) == found, scans
    # A retry with a taken name still answers the earlier order.
    again = await c.post("/orders", {"items": [line(cafe.items["espresso"])], **CARD},
                         headers={"Idempotency-Key": "the-first"})
    assert again.status == 201 and again.data["order"]["id"] == resp.data["order"]["id"], again.body


@postgresql_only
async def test_every_statement_of_a_sale_is_converted_once_per_process(server, as_role, cafe) -> None:
    """psycopg caches a query's placeholder conversion only under its size limits, which the sale's one
    statement exceeds; orm.db raises them, so from the second sale on nothing is parsed again."""
    from psycopg import _queries

    c = as_role("cashier")
    body = {"items": [line(cafe.items["latte"], 2, modifierIds=[cafe.mods["Oat milk"]]),
                      line(cafe.items["croissant"])], **CARD}
    for n in range(2):
        assert (await c.post("/orders", body, headers={"Idempotency-Key": f"warm-{n}"})).status == 201
    seen: list[tuple[int, int]] = []

    def statement(conn, cursor, sql, params, *args) -> None:
        seen.append((len(sql.encode()), len(params or ())))

    event.listen(server.ctx.engine, "before_cursor_execute", statement)
    before = _queries._query2pg.cache_info()
    try:
        for n in range(3):
            assert (await c.post("/orders", body, headers={"Idempotency-Key": f"cached-{n}"})).status == 201
    finally:
        event.remove(server.ctx.engine, "before_cursor_execute", statement)
    after = _queries._query2pg.cache_info()
    assert max(size for size, _ in seen) > 4096 or max(n for _, n in seen) > 50, seen  # psycopg's own limits
    assert all(size <= _queries.MAX_CACHED_STATEMENT_LENGTH and n <= _queries.MAX_CACHED_STATEMENT_PARAMS
               for size, n in seen), seen
    assert after.misses == before.misses and after.hits >= before.hits + len(seen), (before, after, seen)


@postgresql_only
async def test_the_hot_rows_are_free_the_moment_the_write_statement_ends(server, as_role, cafe, settings) -> None:
    """POST /orders sends COMMIT with its write statement (one round trip): by the time this process has
    the statement's answer, the store's counter row and the ingredients are no longer locked - no other
    sale waits on this process's GIL, thread pool or network between the statement and the COMMIT."""
    c = as_role("cashier")
    assert (await c.post("/orders", {"items": [line(cafe.items["latte"])], **CARD})).status == 201
    other = create_engine(normalise_url(settings.database_url), poolclass=None)
    seen: list[str] = []

    def after(conn, cursor, sql, params, *args) -> None:
        if "INSERT INTO orders" not in sql:
            return
        with other.connect() as probe:
            try:
                probe.execute(text("SET lock_timeout = '1ms'"))
                probe.execute(text("SELECT 1 FROM store_counters WHERE store_id = :s FOR UPDATE NOWAIT"), {"s": STORE})
                probe.execute(text("SELECT 1 FROM inventory_items WHERE store_id = :s FOR UPDATE NOWAIT"), {"s": STORE})
                seen.append("free")
            except Exception as exc:  # the assertion below names it
                seen.append(f"locked: {type(exc).__name__}")
            finally:
                probe.rollback()

    event.listen(server.ctx.engine, "after_cursor_execute", after)
    try:
        body = {"items": [line(cafe.items["latte"], 2, modifierIds=[cafe.mods["Oat milk"]]),
                          line(cafe.items["croissant"])], **CARD}
        resp = await c.post("/orders", body, headers={"Idempotency-Key": "free-rows"})
        assert resp.status == 201, resp.body
    finally:
        event.remove(server.ctx.engine, "after_cursor_execute", after)
        other.dispose()
    assert seen == ["free"], seen
    verify = await as_role("admin").get("/journal/verify")
    assert verify.status == 200 and verify.data["valid"], verify.body


@postgresql_only
async def test_a_connection_lost_with_the_commit_is_not_run_again_and_the_retry_settles_it(
        server, as_role, cafe, settings) -> None:
    """The sale's COMMIT goes out with its write, so a connection lost there leaves the outcome unknown:
    the server must not run the sale again on its own (without an Idempotency-Key that could sell it
    twice); it answers 500, and the terminal's retry with the same key sells it exactly once."""
    c = as_role("cashier")
    assert (await c.post("/orders", {"items": [line(cafe.items["espresso"])], **CARD})).status == 201
    admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    killed: list[int] = []

    def before(conn, cursor, sql, *args) -> None:
        if "INSERT INTO orders" in sql and not killed:
            pid = conn.connection.driver_connection.info.backend_pid
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(pid)

    event.listen(server.ctx.engine, "before_cursor_execute", before)
    body = {"items": [line(cafe.items["latte"])], **CARD}
    try:
        lost = await c.post("/orders", body, headers={"Idempotency-Key": "lost-with-commit"})
    finally:
        event.remove(server.ctx.engine, "before_cursor_execute", before)
        admin.dispose()
    assert killed and lost.status == 500, lost.body
    assert lost.json["errorCode"] == "INTERNAL_ERROR" and "Traceback" not in lost.body.decode()
    again = await c.post("/orders", body, headers={"Idempotency-Key": "lost-with-commit"})
    assert again.status == 201, again.body
    orders = (await as_role("manager").get("/orders")).data["orders"]
    assert sorted(o["receiptNumber"] for o in orders) == [1, 2]  # sold once, no gap
    verify = await as_role("admin").get("/journal/verify")
    assert verify.status == 200 and verify.data["valid"], verify.body
