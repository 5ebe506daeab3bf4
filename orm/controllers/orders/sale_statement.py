"""PostgreSQL: the whole write of a sale in ONE statement, so its hot row locks are held for one statement.

Everything a sale can work out without touching contended rows (pricing, lines, payments, the
canonical journal content) is done in Python first (sales.py); then one statement
  1. takes counted goods (menu_items.stock_count, never below zero), rows locked in id order,
  2. changes recipe stock and writes its movements (inventory_items, rows locked in id order,
     the same UPDATE and movement INSERT as inventory/stock.py),
  3. locks the store's counter row (store_counters) and from it makes the receipt number, the
     order number, the journal seq and the entry's hash: sha256(prev_hash || content) in SQL, the
     content being the canonical JSON built in Python with the two numbers spliced in,
  4. inserts the order (already numbered: no insert-then-update) with ON CONFLICT DO NOTHING on its
     idempotency names, its lines, modifiers, tax lines and payments, the journal entry, and
     advances the counter,
and, when the unit of work NOTIFYs its events (PostgreSQL event bus: orm.db.Notifier),
  5. sends the sale's events (the order's with its number spliced in, its tickets) with pg_notify,
     delivered by PostgreSQL at COMMIT and dropped on rollback (Notices),
and COMMIT follows. Locks are taken in one order by every sale (counted items, ingredients, the
counter), so sales do not deadlock each other; a deadlock with other writers is retried by the unit
of work. Each step is gated on the one before (a sold-out item locks no ingredient; a refused
ingredient does not touch the counter), and the statement says how far it got: the caller raises
(409 SOLD_OUT, ...) and the unit of work rolls everything back.

When the sale is all its unit of work writes (POST /orders: write_sale commit=True) the statement is
asked for all or nothing - a refusal fails it, so nothing it wrote stands - and COMMIT goes out with it
in one round trip (a psycopg pipeline), so the hot rows are never locked while this process works.

The statement's text does not depend on the number of lines (the rows travel as JSON, one parameter
per table), so it is compiled once and, with psycopg's prepare_threshold, prepared once per connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import psycopg
from sqlalchemy import BigInteger, Boolean, Date, Integer, String, bindparam, column, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.selectable import TextualSelect

from orm.column_types import Quantity, UTCDateTime, new_id
from orm.controllers.inventory.stock import apply_stamp
from orm.db import committed
from orm.domain.canonical import canonical_json
from orm.domain.money import to_minor
from orm.models.model_orders import Order, OrderItem, OrderItemModifier, OrderTaxLine, Payment

_ORDERS = Order.__table__
DETAIL_TABLES = (("i_", OrderItem.__table__), ("m_", OrderItemModifier.__table__),
                 ("t_", OrderTaxLine.__table__), ("p_", Payment.__table__))
# Placeholders of the two numbers only the counter row knows, in the content built in Python.
_RECEIPT_MARK, _NUMBER_MARK = "~receipt~", "~number~"
_NUMBERED = ("receipt_number", "order_number")
# What the statement says when, asked for all or nothing, it could not write the whole sale: its last
# expression casts this text (with a number, so PostgreSQL cannot fold it at planning) to an integer.
REFUSED = "sale refused whole"


def _build() -> TextualSelect:
    # The rows travel as JSON, one parameter per table (json_populate_record[set] on the table's own row
    # type): a handful of parameters the C JSON encoder writes, not one array per column for the driver
    # to dump element by element (rows_json).
    order_values = ", ".join(f"h.{c.name}" if c.key in _NUMBERED else f"r.{c.name}" for c in _ORDERS.columns)
    params: list[Any] = [bindparam("o_row", type_=String()), bindparam("o_id", type_=String())]
    details = []
    for prefix, table in DETAIL_TABLES:
        names = ", ".join(c.name for c in table.columns)
        details.append(
            f"new_{table.name} AS (INSERT INTO {table.name} ({names}) "
            f"SELECT {names} FROM json_populate_recordset(NULL::{table.name}, CAST(:{prefix}rows AS json)) "
            f"WHERE EXISTS (SELECT 1 FROM new_order))")
        params.append(bindparam(f"{prefix}rows", type_=String()))
    sql = f"""
WITH counted_v AS (
    SELECT * FROM unnest(CAST(:k_ids AS varchar[]), CAST(:k_units AS integer[])) AS v(id, units)
), counted_locked AS MATERIALIZED (
    SELECT m.id FROM menu_items AS m WHERE m.id IN (SELECT counted_v.id FROM counted_v)
    ORDER BY m.id FOR UPDATE
), counted AS (
    UPDATE menu_items AS m SET stock_count = m.stock_count - v.units
    FROM counted_v AS v
    WHERE m.id = v.id AND m.id IN (SELECT counted_locked.id FROM counted_locked)
      AND (m.stock_count IS NULL OR m.stock_count >= v.units)
    RETURNING m.id
), v AS (
    SELECT * FROM unnest(CAST(:s_ids AS varchar[]), CAST(:s_deltas AS bigint[]),
                         CAST(:s_movement_ids AS varchar[])) AS v(id, delta, movement_id)
), locked AS MATERIALIZED (
    SELECT i.id FROM inventory_items AS i
    WHERE i.store_id = :store_id AND i.id IN (SELECT v.id FROM v)
      AND (SELECT count(*) FROM counted) = :k_count
    ORDER BY i.id FOR UPDATE
), changed AS (
    UPDATE inventory_items AS i
    SET current_stock = i.current_stock + v.delta, updated_at = :now,
        movement_seq = CASE WHEN i.movement_seq >= :stamp THEN i.movement_seq + 1 ELSE :stamp END
    FROM v
    WHERE i.id = v.id AND i.id IN (SELECT locked.id FROM locked)
      AND (:allow_negative OR v.delta >= 0 OR i.current_stock + v.delta >= 0)
    RETURNING i.id, i.current_stock, i.min_stock_level, i.name, i.unit, i.expiry_date, i.is_active,
              i.movement_seq, v.delta, v.movement_id
), movements AS (
    INSERT INTO stock_movements (id, store_id, inventory_item_id, movement_type, delta, resulting_level, seq,
                                 user_id, reason, reference, created_at)
    SELECT changed.movement_id, :store_id, changed.id, 'sale', changed.delta, changed.current_stock,
           changed.movement_seq, :user_id, 'sale', :o_id, :now
    FROM changed
), head AS MATERIALIZED (
    SELECT c.last_receipt_number + 1 AS receipt_number, c.journal_seq + 1 AS seq, c.journal_head AS prev_hash
    FROM store_counters AS c
    WHERE c.store_id = :store_id
      AND (SELECT count(*) FROM counted) = :k_count AND (SELECT count(*) FROM changed) = :s_count
    FOR UPDATE
), numbered AS (
    SELECT head.*, :order_prefix || CASE WHEN head.receipt_number < 1000000
                                         THEN lpad(head.receipt_number::text, 6, '0')
                                         ELSE head.receipt_number::text END AS order_number
    FROM head
), entry AS (
    SELECT numbered.*, :j_before_number || to_json(numbered.order_number)::text || :j_before_receipt
                       || numbered.receipt_number::text || :j_after AS content
    FROM numbered
), h AS (
    SELECT entry.*, encode(sha256(convert_to(entry.prev_hash || entry.content, 'UTF8')), 'hex') AS hash
    FROM entry
), new_order AS (
    INSERT INTO orders ({', '.join(c.name for c in _ORDERS.columns)})
    SELECT {order_values} FROM h, json_populate_record(NULL::orders, CAST(:o_row AS json)) AS r
    ON CONFLICT DO NOTHING RETURNING id
), {', '.join(details)},
new_entry AS (
    INSERT INTO journal_entries (id, store_id, seq, entry_type, reference_id, content, prev_hash, hash, created_at)
    SELECT :j_id, :store_id, h.seq, 'order', :o_id, h.content, h.prev_hash, h.hash, :now
    FROM h WHERE EXISTS (SELECT 1 FROM new_order)
), counter AS (
    UPDATE store_counters AS c
    SET last_receipt_number = h.receipt_number, journal_seq = h.seq, journal_head = h.hash
    FROM h WHERE c.store_id = :store_id AND EXISTS (SELECT 1 FROM new_order)
), notified AS (
    SELECT pg_notify(CAST(:n_channel AS text), p)
    FROM h, unnest(ARRAY[CAST(:n_before AS text) || to_json(h.order_number)::text || CAST(:n_after AS text)]
                   || CAST(:n_tail AS text[])) AS n(p)
    WHERE CAST(:n_before AS text) IS NOT NULL AND EXISTS (SELECT 1 FROM new_order)
)
SELECT CAST(CASE WHEN CAST(:whole_or_nothing AS boolean)
                  AND NOT ((SELECT count(*) FROM counted) = :k_count AND (SELECT count(*) FROM changed) = :s_count
                           AND EXISTS (SELECT 1 FROM new_order))
                 THEN '{REFUSED} ' || (SELECT count(*) FROM counted)::text ELSE '0' END AS integer) AS refused,
       (SELECT count(*) FROM counted) AS counted_count, (SELECT count(*) FROM changed) AS changed_count,
       (SELECT count(*) FROM notified) AS notified_count,
       h.receipt_number, h.order_number, EXISTS (SELECT 1 FROM new_order) AS inserted,
       changed.id AS item_id, changed.delta, changed.current_stock, changed.min_stock_level, changed.name,
       changed.unit, changed.expiry_date, changed.is_active, changed.movement_id, changed.movement_seq
FROM (SELECT 1) AS one LEFT JOIN h ON true LEFT JOIN changed ON true
"""
    params += [bindparam("now", type_=UTCDateTime()), bindparam("stamp", type_=BigInteger())]
    params.append(bindparam("whole_or_nothing", type_=Boolean()))
    return text(sql).bindparams(*params).columns(
        column("refused", Integer()), column("counted_count", Integer()), column("changed_count", Integer()),
        column("notified_count", Integer()),
        column("receipt_number", Integer()), column("order_number", String()), column("inserted", Boolean()),
        column("item_id", String()), column("delta", Quantity()), column("current_stock", Quantity()),
        column("min_stock_level", Quantity()), column("name", String()), column("unit", String()),
        column("expiry_date", Date()), column("is_active", Boolean()), column("movement_id", String()),
        column("movement_seq", BigInteger()))


_SALE = _build()


def content_parts(content: dict[str, Any]) -> tuple[str, str, str]:
    """The canonical JSON of `content` (an order's, numbers not known yet) cut where its orderNumber
    and receiptNumber go: part0 + json(orderNumber) + part1 + receiptNumber + part2 is exactly
    canonical_json of the content with those numbers (keys are sorted: orderNumber comes first)."""
    whole = canonical_json({**content, "orderNumber": _NUMBER_MARK, "receiptNumber": _RECEIPT_MARK})
    # A raw '"' only ever delimits a JSON token, so each key:value pair below occurs exactly once.
    before, found, rest = whole.partition(f'"orderNumber":"{_NUMBER_MARK}"')
    middle, found2, after = rest.partition(f'"receiptNumber":"{_RECEIPT_MARK}"')
    if not found or not found2:
        raise AssertionError("canonical order content without its numbers")
    return before + '"orderNumber":', middle + '"receiptNumber":', after


@dataclass(frozen=True)
class Notices:
    """The sale's NOTIFY payloads, encoded before the statement: the order event's around where its
    number goes (`before` + JSON string of the order number + `after`), then the others (`tail`)."""

    channel: str
    before: str
    after: str
    tail: list[str]

    def order_payload(self, order_number: str) -> str:
        return self.before + json.dumps(order_number, ensure_ascii=False) + self.after


@dataclass(frozen=True)
class Written:
    """How far the statement got: every counted item taken? every ingredient changed? numbered? inserted?"""

    counted_count: int
    changed_count: int
    receipt_number: int | None
    order_number: str | None
    inserted: bool
    changed: list[Any]  # the changed ingredients (stock.after_one_statement_sale), by id


def _json_columns(table: Any) -> list[tuple[str, str, Any]]:
    """(key, column name, how its value goes into JSON) for `table`: money and rates as the minor units
    their column stores (the column type's own bind conversion), times as ISO text, JSON as it is."""
    dialect = postgresql.dialect()
    out = []
    for c in table.columns:
        process = c.type.dialect_impl(dialect).bind_processor(dialect)
        if isinstance(c.type, sqltypes.JSON):
            process = None
        elif isinstance(c.type, UTCDateTime):
            process = _iso_time
        out.append((c.key, c.name, process))
    return out


def _iso_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # as UTCDateTime refuses it
        raise ValueError("naive datetime given; store times in UTC")
    return value.astimezone(UTC).isoformat()


_JSON_COLUMNS = {table.name: _json_columns(table) for table in (_ORDERS, *(t for _, t in DETAIL_TABLES))}
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def _json_row(columns: list[tuple[str, str, Any]], row: dict[str, Any]) -> dict[str, Any]:
    return {name: (process(row[key]) if process else row[key]) for key, name, process in columns}


def rows_json(table: Any, rows: list[dict[str, Any]]) -> str:
    """`rows` (keyed by column key) as the JSON json_populate_recordset reads into `table`'s row type."""
    columns = _JSON_COLUMNS[table.name]
    return _JSON.encode([_json_row(columns, row) for row in rows])


def row_json(table: Any, row: dict[str, Any]) -> str:
    """One row as the JSON object json_populate_record reads into `table`'s row type."""
    return _JSON.encode(_json_row(_JSON_COLUMNS[table.name], row))


def pipeline_supported() -> bool:
    """psycopg's pipeline mode needs libpq 14 or newer (the binary package bundles one)."""
    global _PIPELINE
    if _PIPELINE is None:
        _PIPELINE = bool(psycopg.Pipeline.is_supported())
    return _PIPELINE


_PIPELINE: bool | None = None


class SaleRefused(Exception):
    """The all-or-nothing statement (write_sale with commit=True) could not write the whole sale - a
    counted item or an ingredient ran short, or a twin with its idempotency name committed first - and
    wrote nothing; its transaction is aborted.  Run the unit again without commit= to learn why."""


@dataclass(frozen=True)
class _Raw:
    """The statement as psycopg takes it: its text, each parameter's bind processor, each result
    column's name and result processor (what SQLAlchemy's execution would apply)."""

    sql: str
    binds: dict[str, Any]
    columns: list[tuple[str, Any]]


_RAW: dict[str, _Raw] = {}


def _raw(dialect: Any) -> _Raw:
    raw = _RAW.get(dialect.name)
    if raw is None:
        compiled = _SALE.compile(dialect=dialect)
        binds = {name: bp.type.dialect_impl(dialect).bind_processor(dialect) for name, bp in compiled.binds.items()}
        columns = [(c.key, c.type.dialect_impl(dialect).result_processor(dialect, None))
                   for c in _SALE.selected_columns]
        raw = _RAW[dialect.name] = _Raw(compiled.string, binds, columns)
    return raw


def _write_and_commit(session: Session, params: dict[str, Any]) -> list[Any]:
    """Run the statement and COMMIT in one round trip (a psycopg pipeline): the server commits the moment
    the statement ends, so the hot rows it locked never wait for this process - for its GIL, its thread
    pool or the network - between the statement and the COMMIT.  Raises SaleRefused (nothing written)."""
    connection = session.connection()
    raw = _raw(connection.dialect)
    values = {name: (process(params[name]) if process else params[name]) for name, process in raw.binds.items()}
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    dispatch = connection.dispatch
    if dispatch.before_cursor_execute:  # instrumentation sees it as it sees every statement
        dispatch.before_cursor_execute(connection, cursor, raw.sql, values, None, False)
    try:
        with driver.pipeline():
            cursor.execute(raw.sql, values)
            driver.commit()
        fetched = cursor.fetchall()
    except psycopg.Error as exc:
        if exc.sqlstate == "22P02" and REFUSED in str(exc):
            raise SaleRefused(str(exc)) from None
        if driver.broken or driver.closed:
            # The COMMIT went out with the statement: whether it was carried out is unknown, so the unit
            # must not run again (the client's retry with its Idempotency-Key finds out); the pool drops
            # the connection.
            committed(session)
            connection.invalidate(exc)
        # As SQLAlchemy raises a driver's error (deadlock, serialization: the unit runs again).
        raise DBAPIError.instance(raw.sql, values, exc, psycopg.Error,
                                  connection_invalidated=driver.broken or driver.closed) from exc
    finally:
        if not cursor.closed:
            cursor.close()
    if dispatch.after_cursor_execute:
        dispatch.after_cursor_execute(connection, cursor, raw.sql, values, None, False)
    names = [name for name, _ in raw.columns]
    processors = [process for _, process in raw.columns]
    return [_Row(**{name: (process(value) if process else value)
                    for name, process, value in zip(names, processors, row, strict=True)}) for row in fetched]


class _Row(SimpleNamespace):
    """One result row of the pipelined statement (attribute access, like a SQLAlchemy Row)."""


def write_sale(session: Session, *, order: dict[str, Any], details: tuple[list[dict[str, Any]], ...],
               content: dict[str, Any], counted: dict[str, int], ingredients: list[tuple[str, Decimal]],
               user_id: str, now: datetime, allow_negative: bool, order_prefix: str,
               notices: Notices | None = None, commit: bool = False) -> Written:
    """Run the sale's one statement. `counted`: {menu item id: units}; `ingredients`: (id, signed delta)
    rounded to thousandths, each id once; `content`: journal.order_content of the sale; `notices`: the
    events it NOTIFYs once it has written the order (none: the unit of work sends them, or nobody).

    `commit`: the sale is all its unit of work writes: the statement writes all of it or nothing
    (SaleRefused) and COMMIT goes with it (_write_and_commit); what follows runs after the commit."""
    store_id = order["store_id"]
    params: dict[str, Any] = {"o_row": row_json(_ORDERS, order), "o_id": order["id"]}
    for (prefix, table), values in zip(DETAIL_TABLES, details, strict=True):
        params[f"{prefix}rows"] = rows_json(table, values)
    counted_ids = sorted(counted)
    ingredient_ids = sorted(item_id for item_id, _ in ingredients)
    deltas = dict(ingredients)
    before_number, before_receipt, after = content_parts(content)
    params.update(
        store_id=store_id, user_id=user_id, now=now, stamp=apply_stamp(now), allow_negative=allow_negative,
        k_ids=counted_ids, k_units=[counted[i] for i in counted_ids], k_count=len(counted_ids),
        s_ids=ingredient_ids, s_deltas=[to_minor(deltas[i], 1000) for i in ingredient_ids],
        s_movement_ids=[new_id() for _ in ingredient_ids], s_count=len(ingredient_ids),
        order_prefix=order_prefix, j_id=new_id(), j_before_number=before_number,
        j_before_receipt=before_receipt, j_after=after,
        n_channel=notices.channel if notices else None, n_before=notices.before if notices else None,
        n_after=notices.after if notices else None, n_tail=notices.tail if notices else [],
        whole_or_nothing=commit)
    rows: list[Any] = _write_and_commit(session, params) if commit else list(session.execute(_SALE, params).all())
    first = rows[0]
    changed = sorted((r for r in rows if r.item_id is not None), key=lambda r: r.item_id)
    return Written(int(first.counted_count), int(first.changed_count), first.receipt_number, first.order_number,
                   bool(first.inserted), changed)
