"""The tamper-evident journal: one hash chain per store over every sale, refund and void.

Each entry stores the canonical content it hashed (sorted-key JSON of the
financial facts) and hash = SHA-256(prev_hash + content).  `verify` walks the
chain AND rebuilds each entry's content from the order/refund rows as they
are now, so editing `orders.total` is caught as surely as editing the journal.

The per-store counter row (store_counters) holds the receipt series and the
chain head; every writer takes it with one `UPDATE ... RETURNING`, which is
the sale's one short, hot lock — callers take it as late as they can.  A sale on
PostgreSQL takes it inside its one statement (sale_statement.py), which builds the
same canonical content and hash in SQL.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.dml import UpdateBase

from orm.column_types import UTCDateTime, new_id
from orm.domain.canonical import canonical_json
from orm.models.model_orders import JournalEntry, Order, OrderItem, Refund, StoreCounter

GENESIS = "0" * 64
VERIFY_BATCH = 500
_ENTRIES, _COUNTERS = JournalEntry.__table__, StoreCounter.__table__
# Built once: these run inside the counter lock on every sale, refund and void.
_INSERT_ENTRY = insert(_ENTRIES).values(
    id=bindparam("e_id"), store_id=bindparam("e_store"), seq=bindparam("e_seq"), entry_type=bindparam("e_type"),
    reference_id=bindparam("e_ref"), content=bindparam("e_content"), prev_hash=bindparam("e_prev"),
    hash=bindparam("e_hash"), created_at=bindparam("e_at", type_=UTCDateTime()))
_SET_HEAD = (update(_COUNTERS).where(_COUNTERS.c.store_id == bindparam("c_store"))
             .values(journal_head=bindparam("c_head")))
_TAKE_COUNTER = (
    update(_COUNTERS)
    .where(_COUNTERS.c.store_id == bindparam("c_store"))
    .values(last_receipt_number=_COUNTERS.c.last_receipt_number + bindparam("c_receipts"),
            journal_seq=_COUNTERS.c.journal_seq + 1)
    .returning(_COUNTERS.c.last_receipt_number, _COUNTERS.c.journal_seq, _COUNTERS.c.journal_head)
)
_APPEND_PG: dict[UpdateBase | None, UpdateBase] = {}


# --- canonical content --------------------------------------------------------

def chain_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def order_content(order: Order) -> dict[str, Any]:
    """The immutable financial facts of a sale (not its refund/void/reprint bookkeeping)."""
    return {
        "type": "order",
        "orderId": order.id,
        "storeId": order.store_id,
        "receiptNumber": order.receipt_number,
        "orderNumber": order.order_number,
        "saleAt": order.sale_at,
        "createdAt": order.created_at,
        "createdBy": order.created_by,
        "orderType": order.order_type,
        "taxMode": order.tax_mode,
        "subtotal": order.subtotal,
        "discountAmount": order.discount_amount,
        "taxAmount": order.tax_amount,
        "tipAmount": order.tip_amount,
        "roundingAdjustment": order.rounding_adjustment,
        "total": order.total,
        "lines": [
            {"id": it.id, "menuItemId": it.menu_item_id, "productName": it.product_name,
             "quantity": it.quantity, "unitPrice": it.unit_price, "lineTotal": it.line_total,
             "discountShare": it.discount_share, "taxRate": it.tax_rate, "paidTotal": it.paid_total,
             "modifiers": sorted(m.modifier_id for m in it.modifiers)}
            for it in sorted(order.items, key=lambda i: i.line_no)
        ],
        "taxBreakdown": [{"rate": t.rate, "base": t.base, "tax": t.tax}
                         for t in sorted(order.tax_lines, key=lambda t: t.rate)],
        "payments": [{"method": p.method, "amount": p.amount, "tendered": p.tendered, "change": p.change,
                      "reference": p.reference} for p in sorted(order.payments, key=lambda p: p.seq)],
    }


def refund_content(refund: Refund) -> dict[str, Any]:
    return {
        "type": "refund",
        "refundId": refund.id,
        "orderId": refund.order_id,
        "storeId": refund.store_id,
        "amount": refund.amount,
        "method": refund.method,
        "restock": refund.restock,
        "createdAt": refund.created_at,
        "createdBy": refund.created_by,
        "items": sorted(({"orderItemId": ri.order_item_id, "quantity": ri.quantity, "amount": ri.amount}
                         for ri in refund.items), key=lambda r: r["orderItemId"]),
    }


def void_content(order: Order) -> dict[str, Any]:
    return {
        "type": "void",
        "orderId": order.id,
        "storeId": order.store_id,
        "receiptNumber": order.receipt_number,
        "total": order.total,
        "voidedAt": order.voided_at,
        "voidedBy": order.voided_by,
    }


# --- writing -------------------------------------------------------------------

def take_counter(session: Session, store_id: str, *, receipt: bool) -> tuple[int, int, str]:
    """Advance the store's counters: (receipt number, journal seq, current chain head).

    The row stays locked until the transaction ends (gapless numbers: a rolled
    back sale gives its number back).  Other stores' rows are made on first use.
    """
    # Pending ORM writes go first (as autoflush did for the ORM statement this used to be): not under the lock.
    session.flush()
    params = {"c_store": store_id, "c_receipts": 1 if receipt else 0}
    row = session.execute(_TAKE_COUNTER, params).one_or_none()
    if row is None:
        ensure_counter(session, store_id)
        row = session.execute(_TAKE_COUNTER, params).one()
    return int(row[0]), int(row[1]), str(row[2])


def ensure_counter(session: Session, store_id: str) -> None:
    """Make the store's counter row if it has none yet (its first sale); a concurrent maker wins quietly."""
    try:
        with session.begin_nested():
            session.add(StoreCounter(store_id=store_id, last_receipt_number=0, journal_seq=0, journal_head=GENESIS))
    except IntegrityError:
        pass  # another sale made it first


def append_entry(session: Session, *, store_id: str, seq: int, prev_hash: str, entry_type: str,
                 reference_id: str, content: dict[str, Any], now: datetime,
                 same_trip: tuple[UpdateBase, dict[str, Any]] | None = None) -> str:
    """Chain one entry onto the head taken by `take_counter` (same transaction, row still locked) -> its hash.

    This runs while the counter row is locked, so on PostgreSQL it is one round trip: the entry
    goes in as a data-modifying CTE of the head's UPDATE, and so does `same_trip`, one more
    write of the caller's (a module-level statement and its parameters, names not starting
    with "e_" or "c_"), e.g. the sale's receipt number.  Elsewhere they are run one by one.
    """
    text = canonical_json(content)
    digest = chain_hash(prev_hash, text)
    params = {"e_id": new_id(), "e_store": store_id, "e_seq": seq, "e_type": entry_type, "e_ref": reference_id,
              "e_content": text, "e_prev": prev_hash, "e_hash": digest, "e_at": now,
              "c_store": store_id, "c_head": digest}
    extra, extra_params = same_trip if same_trip is not None else (None, {})
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_append_statement(extra), {**params, **extra_params})
        return digest
    session.execute(_INSERT_ENTRY, params)
    session.execute(_SET_HEAD, params)
    if extra is not None:
        session.execute(extra, extra_params)
    return digest


def _append_statement(extra: UpdateBase | None) -> UpdateBase:
    """The one-round-trip form (PostgreSQL), built once per `extra` statement and then reused."""
    stmt = _APPEND_PG.get(extra)
    if stmt is None:
        stmt = _SET_HEAD.add_cte(_INSERT_ENTRY.cte("new_entry"))
        if extra is not None:
            stmt = stmt.add_cte(extra.cte("same_trip"))
        _APPEND_PG[extra] = stmt
    return stmt


# --- verifying -----------------------------------------------------------------

def _break(entry: JournalEntry | None, *, seq: int | None = None, entry_type: str | None = None,
           reference_id: str | None = None, reason: str) -> dict[str, Any]:
    if entry is not None:
        return {"seq": entry.seq, "entryType": entry.entry_type, "referenceId": entry.reference_id,
                "reason": reason}
    return {"seq": seq, "entryType": entry_type, "referenceId": reference_id, "reason": reason}


def _expected_content(entry: JournalEntry, orders: dict[str, Order], refunds: dict[str, Refund]) -> str | None:
    if entry.entry_type == "refund":
        refund = refunds.get(entry.reference_id)
        return canonical_json(refund_content(refund)) if refund else None
    order = orders.get(entry.reference_id)
    if order is None:
        return None
    if entry.entry_type == "void":
        return canonical_json(void_content(order)) if order.voided_at else None
    return canonical_json(order_content(order))


def _load_refs(session: Session, entries: list[JournalEntry]) -> tuple[dict[str, Order], dict[str, Refund]]:
    order_ids = {e.reference_id for e in entries if e.entry_type in ("order", "void")}
    refund_ids = {e.reference_id for e in entries if e.entry_type == "refund"}
    orders = {o.id: o for o in session.scalars(
        select(Order).where(Order.id.in_(order_ids)).options(
            selectinload(Order.items).selectinload(OrderItem.modifiers),
            selectinload(Order.payments), selectinload(Order.tax_lines)))} if order_ids else {}
    refunds = {r.id: r for r in session.scalars(
        select(Refund).where(Refund.id.in_(refund_ids)).options(selectinload(Refund.items)))} if refund_ids else {}
    return orders, refunds


def verify_store(session: Session, store_id: str) -> dict[str, Any]:
    """Walk one store's chain; the first break stops the walk."""
    count, expected_seq, prev = 0, 1, GENESIS
    last_seq = 0
    while True:
        batch = list(session.scalars(
            select(JournalEntry).where(JournalEntry.store_id == store_id, JournalEntry.seq > last_seq)
            .order_by(JournalEntry.seq).limit(VERIFY_BATCH)))
        if not batch:
            break
        orders, refunds = _load_refs(session, batch)
        for entry in batch:
            count += 1
            problem = None
            if entry.seq != expected_seq:
                problem = f"sequence gap: expected {expected_seq}"
            elif entry.prev_hash != prev:
                problem = "previous hash does not match"
            elif chain_hash(entry.prev_hash, entry.content) != entry.hash:
                problem = "entry hash does not match its content"
            elif _expected_content(entry, orders, refunds) != entry.content:
                problem = f"the {entry.entry_type} no longer matches what was journaled"
            if problem:
                return {"storeId": store_id, "valid": False, "count": count,
                        "firstBreak": _break(entry, reason=problem)}
            prev, expected_seq, last_seq = entry.hash, entry.seq + 1, entry.seq
        session.expunge_all()  # bounded memory on long chains
    counter = session.get(StoreCounter, store_id)
    if counter is not None and (counter.journal_seq != last_seq or counter.journal_head != prev):
        return {"storeId": store_id, "valid": False, "count": count,
                "firstBreak": _break(None, seq=last_seq + 1, reason="entries missing at the end of the chain")}
    missing = _unjournaled(session, store_id)
    if missing is not None:
        return {"storeId": store_id, "valid": False, "count": count, "firstBreak": missing}
    return {"storeId": store_id, "valid": True, "count": count, "firstBreak": None}


def _unjournaled(session: Session, store_id: str) -> dict[str, Any] | None:
    """A sale, refund or void written without its journal entry (e.g. inserted by hand)."""
    def has_entry(kind: str, ref: Any) -> Any:
        return exists().where(JournalEntry.store_id == store_id, JournalEntry.entry_type == kind,
                              JournalEntry.reference_id == ref)

    checks = [
        # A tab (tab_name set) is not a sale: its payments are, as child orders.
        ("order", select(Order.id).where(Order.store_id == store_id, Order.tab_name.is_(None),
                                         ~has_entry("order", Order.id))),
        ("void", select(Order.id).where(Order.store_id == store_id, Order.voided_at.is_not(None),
                                        Order.tab_name.is_(None),
                                        ~has_entry("void", Order.id))),
        ("refund", select(Refund.id).where(Refund.store_id == store_id, ~has_entry("refund", Refund.id))),
    ]
    for kind, query in checks:
        ref = session.scalar(query.limit(1))
        if ref is not None:
            return _break(None, entry_type=kind, reference_id=ref, reason=f"{kind} without a journal entry")
    return None


def verify(session: Session, store_id: str | None = None) -> dict[str, Any]:
    """`{valid, count, firstBreak, stores[]}` over one store or every store with a journal."""
    if store_id is not None:
        store_ids = [store_id]
    else:
        store_ids = sorted(set(session.scalars(select(StoreCounter.store_id)))
                           | set(session.scalars(select(JournalEntry.store_id).distinct())))
    results = [verify_store(session, sid) for sid in store_ids]
    broken = [r for r in results if not r["valid"]]
    return {
        "valid": not broken,
        "count": sum(r["count"] for r in results),
        "firstBreak": broken[0]["firstBreak"] if broken else None,
        "stores": results,
    }
