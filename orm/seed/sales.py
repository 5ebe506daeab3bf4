"""Demo sales written many at a time, with the invariants of sales.create.

A month of trade sold one sales.create at a time took most of `make run`'s start-up
(about five statements per ingredient per sale on SQLite).  SaleBatch runs the same checkout
code on each sale as it comes - permissions, `plan_order` (lines, prices, tax, discount, tip,
payments), `_sale_rows` (the rows of the order), `journal.order_content` + `chain_hash` - and
keeps what a sale changes (counted stock, ingredient levels, receipt number, journal head) in
memory; `flush` writes the pending sales in a few multi-row statements:

* orders and their lines, modifiers, tax lines and payments, exactly the rows create writes;
* one `sale` stock movement per ingredient per sale, its resulting level exact, and the
  ingredients' and counted items' levels;
* receipt numbers from the store's counter (gapless, in sale order) and one journal entry per
  sale chained onto the counter's head, so `GET /journal/verify` holds.

Alert crossings are not raised sale by sale: the seed reconciles the alerts at the end
(inventory.stock_take).  Anything that reads the database (a refund, a shift report, the
morning delivery) goes inside `direct()`.  A sale that would sell a counted item below zero,
or that the checkout refuses, is not made (None), like the customer walking away.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from orm.column_types import new_id
from orm.controllers.inventory.stock import apply_stamp
from orm.controllers.orders import journal
from orm.controllers.orders.order_history import serialize_order
from orm.controllers.orders.sale_statement import DETAIL_TABLES
from orm.controllers.orders.sales import _check_permissions, _sale_rows, order_number
from orm.domain.canonical import canonical_json
from orm.domain.checkout import plan_order
from orm.domain.errors import ValidationFailed
from orm.domain.money import MILLI, round_to
from orm.domain.principal import Principal
from orm.domain.schemas.orders import OrderCreate
from orm.models.model_inventory import InventoryItem, StockMovement
from orm.models.model_menu import MenuItem
from orm.models.model_orders import JournalEntry, Order, StoreCounter

_SET_LEVEL = (update(InventoryItem.__table__).where(InventoryItem.__table__.c.id == bindparam("item_id"))
              .values(current_stock=bindparam("level"), updated_at=bindparam("at"), movement_seq=bindparam("seq")))
_SET_COUNT = (update(MenuItem.__table__).where(MenuItem.__table__.c.id == bindparam("item_id"))
              .values(stock_count=bindparam("count")))


class SaleBatch:
    def __init__(self, session: Session, store_id: str, catalogue: dict[str, dict[str, Any]],
                 cfg: dict[str, Any]) -> None:
        self.s, self.store_id, self.catalogue, self.cfg = session, store_id, catalogue, cfg
        self.pending: list[Any] = []
        self.load()

    def load(self) -> None:
        """What the sales to come start from: levels, counted stock and the counter, as stored now."""
        s = self.s
        s.flush()
        stock = s.execute(select(InventoryItem.id, InventoryItem.current_stock, InventoryItem.movement_seq)
                          .where(InventoryItem.store_id == self.store_id)).all()
        self.levels: dict[str, Decimal] = {item_id: level for item_id, level, _ in stock}
        # Each item's apply-order stamp, advanced as the stock statement does (stock.apply_stamp).
        self.stamps: dict[str, int] = {item_id: seq for item_id, _, seq in stock}
        self.counted: dict[str, int] = {item_id: count or 0 for item_id, count in s.execute(
            select(MenuItem.id, MenuItem.stock_count).where(
                MenuItem.store_id == self.store_id, MenuItem.stock_count.is_not(None))).tuples()}
        counter = s.get(StoreCounter, self.store_id)
        if counter is None:
            counter = StoreCounter(store_id=self.store_id, last_receipt_number=0, journal_seq=0,
                                   journal_head=journal.GENESIS)
            s.add(counter)
            s.flush()
        self.counter = counter
        self.receipt, self.seq, self.head = counter.last_receipt_number, counter.journal_seq, counter.journal_head
        self.changed_levels: dict[str, datetime] = {}
        self.changed_counts: set[str] = set()
        self.movements: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []

    def sell(self, body: OrderCreate, *, actor: Principal, at: datetime, shift_id: str | None) -> dict[str, Any] | None:
        """Price and book one sale at `at` (not yet written) -> its Order resource, or None when refused."""
        _check_permissions(body, actor)
        wanted: dict[str, int] = defaultdict(int)
        for line in body.items:
            if self.catalogue.get(line.item_id, {}).get("stockCount") is not None:
                wanted[line.item_id] += line.quantity
        if any(self.counted.get(item_id, 0) < n for item_id, n in wanted.items()):
            return None  # sold out
        catalogue = {i: {**self.catalogue[i], "stockCount": self.counted.get(i)}
                     for i in {line.item_id for line in body.items} if i in self.catalogue}
        try:
            plan = plan_order(body, catalogue, self.cfg)
        except ValidationFailed:
            return None
        rows = _sale_rows(plan, body, store_id=self.store_id, actor=actor, shift_id=shift_id, names=None,
                          fingerprint=None, now=at, sale_at=at)
        for item_id, n in wanted.items():
            self.counted[item_id] -= n
            self.changed_counts.add(item_id)
        self._take_ingredients(rows, actor, at)
        self.receipt += 1
        self.seq += 1
        order = rows.view
        order.receipt_number, order.order_number = self.receipt, order_number(self.receipt)
        rows.order.update(receipt_number=order.receipt_number, order_number=order.order_number)
        text = canonical_json(journal.order_content(order))
        digest = journal.chain_hash(self.head, text)
        self.entries.append(dict(id=new_id(), store_id=self.store_id, seq=self.seq, entry_type="order",
                                 reference_id=order.id, content=text, prev_hash=self.head, hash=digest,
                                 created_at=at))
        self.head = digest
        self.pending.append(rows)
        return serialize_order(order)

    def _take_ingredients(self, rows: Any, actor: Principal, at: datetime) -> None:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for item in rows.items:
            for inv_id, qty in item["recipe"] or []:
                totals[str(inv_id)] += Decimal(str(qty)) * item["quantity"]
        for inv_id in sorted(totals):
            delta = -round_to(totals[inv_id], MILLI)
            if delta == 0 or inv_id not in self.levels:
                continue
            self.levels[inv_id] += delta
            self.stamps[inv_id] = max(self.stamps[inv_id] + 1, apply_stamp(at))
            self.changed_levels[inv_id] = at
            self.movements.append(dict(id=new_id(), store_id=self.store_id, inventory_item_id=inv_id,
                                       movement_type="sale", delta=delta, resulting_level=self.levels[inv_id],
                                       user_id=actor.user_id, reason="sale", reference=rows.order["id"],
                                       created_at=at, seq=self.stamps[inv_id]))

    def flush(self) -> None:
        """Write the pending sales in a few multi-row statements."""
        if not self.pending:
            return
        s = self.s
        s.execute(insert(Order.__table__), [r.order for r in self.pending])
        for (_, table), key in zip(DETAIL_TABLES, ("items", "modifiers", "tax_lines", "payments"), strict=True):
            rows = [row for r in self.pending for row in getattr(r, key)]
            if rows:
                s.execute(insert(table), rows)
        if self.movements:
            s.execute(insert(StockMovement.__table__), self.movements)
        s.execute(insert(JournalEntry.__table__), self.entries)
        if self.changed_levels:
            s.execute(_SET_LEVEL, [{"item_id": i, "level": self.levels[i], "at": at, "seq": self.stamps[i]}
                                   for i, at in self.changed_levels.items()])
        if self.changed_counts:
            s.execute(_SET_COUNT, [{"item_id": i, "count": self.counted[i]} for i in self.changed_counts])
        self.counter.last_receipt_number, self.counter.journal_seq = self.receipt, self.seq
        self.counter.journal_head = self.head
        self.pending = []
        s.flush()

    @contextmanager
    def direct(self) -> Iterator[None]:
        """Around writes through the controllers (refund, void, shift, delivery): the pending sales are
        written first, and the sales after start from what the controllers left."""
        self.flush()
        yield
        self.s.flush()
        self.s.expire_all()
        self.load()
