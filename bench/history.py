"""Bulk-load sales history with SQL (PostgreSQL), not through the API.

Order n (1, 2, 3, ...) is a completed eat-in sale of 3 lines, at a steady
`per_day` orders a day going back from yesterday (order 1 is the latest), so
growing the history adds older days and leaves the last 30 days as they were.
Each order gets rows that agree with each other the way `POST /orders` writes
them (exclusive tax mode, no discount, no tip):

* order_items: unit price and tax rate from the menu, line_total = price x qty,
  paid_total = line_total + the line's share of its rate group's tax
  (largest remainder, as order_checkout.paid_totals);
* order_tax_lines: per rate, base = sum of line totals, tax = half-up(base x rate);
* orders: subtotal, tax_amount, total = subtotal + tax; gapless receipt numbers
  continuing the store's counter (which is moved on), orderNumber "A-000123";
* payments: every third order by card (exactly the total), the others cash,
  tendered up to the next 5.00 with the change recorded.

Loading 1,000,000 orders must fit `make bench`'s 15 minutes, so a large load (BULK_FROM orders or more)
drops the history tables' secondary indexes and unique constraints first and rebuilds them afterwards,
skips the per-row foreign key triggers (session_replication_role = replica, as pg_restore does; the keys are
checked once for the whole history afterwards), and loads chunks on one connection per CPU (the receipt
numbers are reserved up front, so chunks do not wait for each other).  No server runs meanwhile.

Not written: journal entries (so GET /journal/verify reports the history as
unjournaled), stock movements (history took no stock: recipe = []), refunds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from orm.db import normalise_url
from orm.domain.stores import DEFAULT_STORE_ID

HISTORY_TERMINALS = ("HIST-1", "HIST-2")
HISTORY_TABLES = ("orders", "order_items", "order_tax_lines", "payments")
BULK_FROM = 50_000  # orders to add from which indexes are dropped during the load and rebuilt after
STAFF = ("admin", "manager", "cashier", "trainee")
RATE_SCALE = 100_000

# Column -> SQL over the per-order row `o` (see _ORDER_ROWS).
ORDER_COLUMNS = {
    "id": "o.order_id", "store_id": ":store_id", "order_number": "o.order_number",
    "receipt_number": "o.receipt_number", "terminal_id": "o.terminal_id", "order_type": "'eat_in'",
    "status": "'completed'", "tax_mode": "'exclusive'", "subtotal": "o.subtotal", "discount_amount": "0",
    "discount_reason": "NULL", "tax_amount": "o.tax_amount", "tip_amount": "0", "rounding_adjustment": "0",
    "total": "o.total", "refunded_amount": "0", "payment_method": "o.method", "amount_paid": "o.amount_paid",
    "change_given": "o.change", "customer_name": "o.customer_name", "order_notes": "NULL",
    "idempotency_key": "NULL", "client_order_id": "NULL", "request_hash": "NULL", "created_at": "o.sale_at",
    "sale_at": "o.sale_at",
    "client_created_at": "NULL", "created_by": "o.staff_id", "created_by_name": "o.staff_name",
    "shift_id": "NULL", "reprint_count": "0", "last_reprint": "NULL", "voided_at": "NULL",
    "voided_by": "NULL", "void_reason": "NULL",
}
ITEM_COLUMNS = {
    "id": "md5(:tag || '-item-' || l.n || '-' || l.l)::uuid::text", "order_id": "l.order_id", "line_no": "l.l",
    "menu_item_id": "l.menu_item_id", "product_name": "l.name", "size": "l.size", "category": "l.category",
    "quantity": "l.qty", "unit_price": "l.price_c", "line_total": "l.line_total", "discount_share": "0",
    "tax_rate": "l.rate_u", "price_overridden": "false", "notes": "NULL", "refunded_quantity": "0",
    "paid_total": "l.line_total + l.tax_share", "rounding_share": "0", "refunded_amount": "0", "recipe": "'[]'",
    "counted": "false",
}
TAX_COLUMNS = {"order_id": "t.order_id", "rate": "t.rate_u", "base": "t.base", "tax": "t.tax"}
PAYMENT_COLUMNS = {
    "id": "md5(:tag || '-pay-' || o.n)::uuid::text", "order_id": "o.order_id", "seq": "1", "method": "o.method",
    "amount": "o.total", "tendered": "o.tendered", "change": "o.change", "reference": "NULL",
}

_LINES = """
CREATE TEMP TABLE bench_lines ON COMMIT DROP AS
WITH raw AS (
    SELECT n, l, m.id AS menu_item_id, m.name, m.size, m.category, m.price_c, m.rate_u,
           CASE WHEN (n + l) % 3 = 0 THEN 2 ELSE 1 END AS qty
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n
    CROSS JOIN generate_series(1, 3) AS l
    JOIN bench_menu m ON m.idx = (n * 31 + l * 17) % :menu_size
), priced AS (
    SELECT raw.*, price_c * qty AS line_total,
           CAST(sum(price_c * qty) OVER (PARTITION BY n, rate_u) AS bigint) AS base
    FROM raw
), taxed AS (
    SELECT priced.*, (2 * base * rate_u + :scale) / (2 * :scale) AS group_tax
    FROM priced
), shared AS (
    SELECT taxed.*, group_tax * line_total / base AS q, group_tax * line_total % base AS r
    FROM taxed
)
SELECT n, l, md5(:tag || '-order-' || n)::uuid::text AS order_id, menu_item_id, name, size, category,
       price_c, rate_u, qty, line_total, base, group_tax,
       q + CASE WHEN row_number() OVER (PARTITION BY n, rate_u ORDER BY r DESC, l)
                     <= group_tax - sum(q) OVER (PARTITION BY n, rate_u) THEN 1 ELSE 0 END AS tax_share
FROM shared
"""

_ORDER_ROWS = """
CREATE TEMP TABLE bench_orders ON COMMIT DROP AS
WITH sums AS (
    SELECT n, min(order_id) AS order_id, CAST(sum(line_total) AS bigint) AS subtotal,
           CAST(sum(tax_share) AS bigint) AS tax_amount
    FROM bench_lines GROUP BY n
), shaped AS (
    SELECT sums.*, subtotal + tax_amount AS total,
           CASE WHEN n % 3 = 0 THEN 'card' ELSE 'cash' END AS method,
           n + :receipt_offset AS receipt_number,
           ((CAST(:yesterday AS date) - CAST((n - 1) / :per_day AS integer))
             + make_interval(secs => 25200 + (n * 7919) % 43200)) AT TIME ZONE :tz AS sale_at
    FROM sums
)
SELECT shaped.*,
       CASE WHEN method = 'cash' THEN ((total + 499) / 500) * 500 END AS tendered,
       CASE WHEN method = 'cash' THEN ((total + 499) / 500) * 500 - total ELSE 0 END AS change,
       CASE WHEN method = 'cash' THEN ((total + 499) / 500) * 500 ELSE total END AS amount_paid,
       'A-' || CASE WHEN receipt_number >= 100000 THEN receipt_number::text
                    ELSE lpad(receipt_number::text, 6, '0') END AS order_number,
       CASE WHEN n % 2 = 0 THEN 'HIST-1' ELSE 'HIST-2' END AS terminal_id,
       CASE WHEN n % 4 = 0 THEN 'Guest ' || (n % 3000) END AS customer_name,
       s.id AS staff_id, s.name AS staff_name
FROM shaped JOIN bench_staff s ON s.idx = shaped.n % :staff_size
"""

_TAX_ROWS = """
SELECT DISTINCT ON (n, rate_u) order_id, rate_u, base, group_tax AS tax FROM bench_lines
ORDER BY n, rate_u
"""


@dataclass
class MenuRow:
    id: str
    name: str
    size: str
    category: str
    price: Decimal
    tax_rate: Decimal


def menu_rows(menu: list[dict[str, Any]]) -> list[MenuRow]:
    """The items history sells, from GET /menu_items (effective eat-in tax rates)."""
    return [MenuRow(m["id"], m["name"], m.get("size") or "", m.get("category") or "", Decimal(m["price"]),
                    Decimal(m["taxRate"])) for m in menu if m.get("isActive", True)]


def _insert(table: str, columns: dict[str, str], source: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns.values())} FROM {source}"


def check_columns(url: str) -> None:
    """Fail clearly if the order tables gained a required column this loader does not fill."""
    from orm.models import Base

    for table, columns in (("orders", ORDER_COLUMNS), ("order_items", ITEM_COLUMNS),
                           ("order_tax_lines", TAX_COLUMNS), ("payments", PAYMENT_COLUMNS)):
        model = Base.metadata.tables[table]
        unknown = set(columns) - set(model.columns.keys())
        missing = [c.name for c in model.columns
                   if c.name not in columns and not c.nullable and c.server_default is None]
        if unknown or missing:
            raise RuntimeError(f"bench/history.py is out of date for {table}: "
                               f"missing {missing}, unknown {sorted(unknown)}")


class HistoryLoader:
    def __init__(self, url: str, menu: list[MenuRow], *, per_day: int, yesterday: date, tz: str,
                 chunk: int = 250_000, tag: str = "bench", log: Callable[[str], None] = print) -> None:
        check_columns(url)
        if not menu:
            raise RuntimeError("the menu is empty: nothing to build history from")
        self.engine = create_engine(normalise_url(url))
        self.menu = menu
        self.per_day = per_day
        self.yesterday = yesterday
        self.tz = tz
        self.chunk = chunk
        self.parallel = max(1, min(2, os.cpu_count() or 1))
        self.tag = tag
        self.log = log

    def loaded(self, conn: Connection) -> int:
        return conn.scalar(text("SELECT count(*) FROM orders WHERE terminal_id = ANY(:t)"),
                           {"t": list(HISTORY_TERMINALS)}) or 0

    def grow_to(self, target: int) -> dict[str, Any]:
        """Add history until `target` history orders exist; returns counts and seconds taken."""
        started = time.perf_counter()
        with self.engine.connect() as conn:
            have = self.loaded(conn)
        first = have + 1
        bulk = target - have >= BULK_FROM
        dropped = self._drop_indexes() if bulk else []
        try:
            if first <= target:
                offset = self._reserve_receipts(first, target)
                chunks = [(a, min(target, a + self.chunk - 1)) for a in range(first, target + 1, self.chunk)]
                replica = bulk and self._superuser
                # Chunks are independent (receipt numbers reserved above): one connection per CPU.
                with ThreadPoolExecutor(max_workers=min(self.parallel, len(chunks))) as pool:
                    for last in pool.map(lambda c: self._load_in_transaction(c, offset, replica, target), chunks):
                        self.log(f"  history: chunk up to order {last:,} of {target:,} loaded")
        finally:
            rebuilt = time.perf_counter()
            self._restore_indexes(dropped)
            if dropped:
                self.log(f"  history: {len(dropped)} indexes rebuilt in {time.perf_counter() - rebuilt:.1f}s")
        if bulk and self._superuser:
            self._check_references()
        self.analyze()
        seconds = time.perf_counter() - started
        with self.engine.connect() as conn:
            counts = {t: conn.scalar(text(f"SELECT count(*) FROM {t}"))
                      for t in ("orders", "order_items", "payments", "order_tax_lines")}
            span = conn.execute(text("SELECT min(sale_at), max(sale_at) FROM orders WHERE terminal_id = ANY(:t)"),
                                {"t": list(HISTORY_TERMINALS)}).one()
        return {"history_orders": target, "load_seconds": round(seconds, 1), "bulk": bulk,
                "indexes_rebuilt": len(dropped), "rows": counts,
                "oldest_sale": span[0].isoformat() if span[0] else None,
                "newest_sale": span[1].isoformat() if span[1] else None}

    def _reserve_receipts(self, first: int, last: int) -> int:
        """Move the store's receipt counter on by the whole history at once (gapless); returns the
        offset that makes history order n receipt number n + offset."""
        with self.engine.begin() as conn:
            last_receipt = conn.scalar(text("SELECT last_receipt_number FROM store_counters WHERE store_id = :s "
                                            "FOR UPDATE"), {"s": DEFAULT_STORE_ID})
            if last_receipt is None:
                raise RuntimeError("the default store has no store_counters row")
            conn.execute(text("UPDATE store_counters SET last_receipt_number = last_receipt_number + :k "
                              "WHERE store_id = :s"), {"k": last - first + 1, "s": DEFAULT_STORE_ID})
        return last_receipt - (first - 1)

    def _load_in_transaction(self, chunk: tuple[int, int], receipt_offset: int, replica: bool, target: int) -> int:
        with self.engine.begin() as conn:
            if replica:  # foreign keys are checked once afterwards, not by a trigger per row
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            self._load_chunk(conn, chunk[0], chunk[1], receipt_offset)
        return chunk[1]

    def _load_chunk(self, conn: Connection, first: int, last: int, receipt_offset: int) -> None:
        conn.execute(text("CREATE TEMP TABLE bench_menu (idx int PRIMARY KEY, id text, name text, size text, "
                          "category text, price_c bigint, rate_u bigint) ON COMMIT DROP"))
        conn.execute(text("INSERT INTO bench_menu VALUES (:idx, :id, :name, :size, :category, :price_c, :rate_u)"),
                     [{"idx": i, "id": m.id, "name": m.name, "size": m.size, "category": m.category,
                       "price_c": int(m.price * 100), "rate_u": int(m.tax_rate * RATE_SCALE)}
                      for i, m in enumerate(self.menu)])
        conn.execute(text("CREATE TEMP TABLE bench_staff ON COMMIT DROP AS "
                          "SELECT (row_number() OVER (ORDER BY username) - 1)::int AS idx, id, "
                          "coalesce(nullif(trim(first_name || ' ' || last_name), ''), username) AS name "
                          "FROM users WHERE username = ANY(:names)"), {"names": list(STAFF)})
        staff = conn.scalar(text("SELECT count(*) FROM bench_staff"))
        if not staff:
            raise RuntimeError("no demo staff in the database (run the identity seed first)")
        params = {"first": first, "last": last, "menu_size": len(self.menu), "scale": RATE_SCALE, "tag": self.tag,
                  "receipt_offset": receipt_offset, "yesterday": self.yesterday,
                  "per_day": self.per_day, "tz": self.tz, "staff_size": staff, "store_id": DEFAULT_STORE_ID}
        conn.execute(text(_LINES), params)
        conn.execute(text(_ORDER_ROWS), params)
        conn.execute(text(_insert("orders", ORDER_COLUMNS, "bench_orders o")), params)
        conn.execute(text(_insert("order_items", ITEM_COLUMNS, "bench_lines l")), params)
        conn.execute(text(_insert("order_tax_lines", TAX_COLUMNS, f"({_TAX_ROWS}) t")), params)
        conn.execute(text(_insert("payments", PAYMENT_COLUMNS, "bench_orders o")), params)

    @property
    def _superuser(self) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")))

    def _drop_indexes(self) -> list[tuple[str, str]]:
        """Drop the secondary indexes and unique constraints of the history tables for a bulk load
        (rebuilt once afterwards, which is many times faster than maintaining them row by row).
        Primary keys stay: foreign keys refer to them.  Returns how to rebuild what was dropped."""
        with self.engine.begin() as conn:
            rows = conn.execute(text("""
                SELECT c.relname AS tbl, i.relname AS idx, pg_get_indexdef(i.oid) AS indexdef,
                       con.conname, CASE WHEN con.oid IS NULL THEN NULL
                                         ELSE pg_get_constraintdef(con.oid) END AS condef
                FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_class c ON c.oid = x.indrelid
                LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = c.oid
                WHERE c.relname = ANY(:tables) AND c.relnamespace = 'public'::regnamespace
                  AND NOT x.indisprimary
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = x.indexrelid)
            """), {"tables": list(HISTORY_TABLES)}).all()
            dropped: list[tuple[str, str]] = []
            for r in rows:
                if r.conname:
                    conn.execute(text(f'ALTER TABLE {r.tbl} DROP CONSTRAINT "{r.conname}"'))
                    dropped.append((r.tbl, f'ALTER TABLE {r.tbl} ADD CONSTRAINT "{r.conname}" {r.condef}'))
                else:
                    conn.execute(text(f'DROP INDEX "{r.idx}"'))
                    dropped.append((r.tbl, r.indexdef))
        return dropped

    def _restore_indexes(self, dropped: list[tuple[str, str]]) -> None:
        if not dropped:
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SET maintenance_work_mem = '256MB'"))
            for _, ddl in dropped:
                conn.execute(text(ddl))

    def _check_references(self) -> None:
        """The foreign keys the bulk load did not check row by row, checked once for the whole history."""
        checks = {
            "order_items -> orders": "SELECT count(*) FROM order_items i LEFT JOIN orders o ON o.id = i.order_id "
                                     "WHERE o.id IS NULL",
            "order_items -> menu_items": "SELECT count(*) FROM order_items i LEFT JOIN menu_items m "
                                         "ON m.id = i.menu_item_id WHERE m.id IS NULL",
            "payments -> orders": "SELECT count(*) FROM payments p LEFT JOIN orders o ON o.id = p.order_id "
                                  "WHERE o.id IS NULL",
            "order_tax_lines -> orders": "SELECT count(*) FROM order_tax_lines t LEFT JOIN orders o "
                                         "ON o.id = t.order_id WHERE o.id IS NULL",
            "orders -> users": "SELECT count(*) FROM orders o LEFT JOIN users u ON u.id = o.created_by "
                               "WHERE u.id IS NULL",
        }
        with self.engine.connect() as conn:
            broken = {name: n for name, sql in checks.items() if (n := conn.scalar(text(sql)))}
        if broken:
            raise RuntimeError(f"bulk-loaded history breaks foreign keys: {broken}")

    def analyze(self) -> None:
        """What autovacuum would have done by the time a real store had this much history."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in HISTORY_TABLES:
                conn.execute(text(f"VACUUM (ANALYZE) {table}"))

    def close(self) -> None:
        self.engine.dispose()


def warm_rollup(url: str, log: Callable[[str], None], *, batch_days: int = 400, budget_s: float = 120.0) -> dict:
    """What a server that has been running for a while has done: roll the closed days of history into
    the report rollup (orm/controllers/reports/rollup.py; its background service does this a month
    every few seconds, newest first).  Without it the report figures would time a server busy rolling
    nine years of days while it answers.  Stops after `budget_s` (the rest is rolled by the server's
    service, and reports read those days raw meanwhile; the newest days, which the windows measured
    read, are rolled first); a server without a rollup is left alone."""
    from datetime import UTC, datetime

    try:
        from orm.controllers.reports import rollup
    except ImportError:
        return {"rollup": "none"}
    from orm.db import make_engine, make_session_factory, unit_of_work
    from settings import load_settings

    settings = load_settings(database_url=url)
    engine = make_engine(url, pooled=False)
    started = time.perf_counter()
    rolled, backlog = 0, None
    try:
        factory = make_session_factory(engine)
        while backlog != 0 and time.perf_counter() - started < budget_s:
            result = unit_of_work(factory, rollup.refresh, settings, store_id=DEFAULT_STORE_ID,
                                  now=datetime.now(UTC), max_days=batch_days)
            rolled += int(result.get("rolled", 0))
            backlog = int(result.get("backlog", 0))
            log(f"  rollup: {rolled:,} closed days rolled, {backlog:,} to go")
        # What autovacuum would have done by the time a real store had rolled this much.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in getattr(rollup, "ROLLUP_TABLES", ()):
                conn.execute(text(f"VACUUM (ANALYZE) {table.__tablename__}"))
    except (AttributeError, TypeError) as exc:  # another server's rollup API: leave it to its service
        return {"rollup": f"not warmed: {exc}"}
    finally:
        engine.dispose()
    return {"rollup": "warmed" if backlog == 0 else "partly warmed", "rollup_days": rolled,
            "rollup_backlog_days": backlog, "rollup_seconds": round(time.perf_counter() - started, 1)}
