"""Orders, their lines, payments, refunds, shifts, receipt counters and the journal.

Completed orders are immutable except their refund/void bookkeeping columns
(status, refunded_amount, refunded_quantity, voided_*, reprint_*).  Every
completed order, refund and void appends a journal entry whose hash covers the
previous entry's hash and the entry's canonical content (tamper evidence).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orm.column_types import Money, Rate, UTCDateTime
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.base import Base, id_column


class Shift(Base):
    __tablename__ = "shifts"
    __table_args__ = (
        # One open shift per user, enforced by the database.
        Index("uq_shifts_open_per_user", "user_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_shifts_store_opened", "store_id", "opened_at"),
    )

    id: Mapped[str] = id_column()
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), nullable=False, default=DEFAULT_STORE_ID)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    opening_cash: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    expected_cash: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    counted_cash: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    variance: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    closed_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class ShiftCashMovement(Base):
    """Paid in / paid out of the drawer during a shift."""

    __tablename__ = "shift_cash_movements"

    id: Mapped[str] = id_column()
    shift_id: Mapped[str] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"), nullable=False, index=True)
    type: Mapped[str] = mapped_column(String(16), nullable=False)  # paid_in | paid_out
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(36), nullable=False)


class StoreCounter(Base):
    """Per-store receipt numbering and journal head: the one short lock every sale takes."""

    __tablename__ = "store_counters"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    last_receipt_number: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    journal_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    journal_head: Mapped[str] = mapped_column(String(64), nullable=False, default="0" * 64)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("store_id", "receipt_number", name="uq_orders_store_receipt"),
        UniqueConstraint("store_id", "idempotency_key", name="uq_orders_store_idempotency"),
        Index("uq_orders_store_client_order", "store_id", "client_order_id", unique=True),
        Index("ix_orders_store_sale_at", "store_id", "sale_at"),
        Index("ix_orders_created_at", "created_at"),
        Index("ix_orders_status", "status"),
        Index("ix_orders_created_by", "created_by"),
        Index("ix_orders_shift_id", "shift_id"),
        Index("ix_orders_payment_method", "payment_method"),
        Index("ix_orders_tab_id", "tab_id"),
    )

    id: Mapped[str] = id_column()
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), nullable=False, default=DEFAULT_STORE_ID)
    # Both are assigned late in the sale's transaction (the counter row is the one hot lock),
    # so the row exists briefly without them; a committed order always has them.
    order_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    receipt_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    terminal_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    order_type: Mapped[str] = mapped_column(String(16), nullable=False, default="eat_in")
    status: Mapped[str] = mapped_column(String(24), nullable=False, default="completed")
    tax_mode: Mapped[str] = mapped_column(String(16), nullable=False, default="exclusive")
    subtotal: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    discount_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    discount_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tax_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    tip_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    rounding_adjustment: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    refunded_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    payment_method: Mapped[str] = mapped_column(String(16), nullable=False)
    amount_paid: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    change_given: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    customer_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    order_notes: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The sale's idempotency identity, up to two names (controllers/orders/idempotency.py): the Idempotency-Key
    # header (else clientOrderId) and the clientOrderId (else the header), each unique per store.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    client_order_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # The sale time reports use: clientCreatedAt for late offline orders, else created_at.
    sale_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    client_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_by_name: Mapped[str] = mapped_column(String(120), nullable=False)
    shift_id: Mapped[str | None] = mapped_column(ForeignKey("shifts.id"), nullable=True)
    reprint_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_reprint: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    voided_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    void_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Tabs: a tab is an order with status "open" (then "closed" or "voided") and no receipt number;
    # each payment of it is a completed child order whose tab_id names the tab.
    tab_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # no FK (see migration 0014)
    tab_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    split_ways: Mapped[int | None] = mapped_column(Integer, nullable=True)  # an n-way split under way
    split_paid: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    items: Mapped[list[OrderItem]] = relationship(order_by="OrderItem.line_no", cascade="all, delete-orphan")
    payments: Mapped[list[Payment]] = relationship(order_by="Payment.seq", cascade="all, delete-orphan")
    tax_lines: Mapped[list[OrderTaxLine]] = relationship(order_by="OrderTaxLine.rate",
                                                          cascade="all, delete-orphan")


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (
        # The preparation queue: lines still to be made or collected, per station.
        Index("ix_order_items_prep_open", "station", "sent_at",
              sqlite_where=text("prep_status IN ('queued', 'in_progress', 'ready')"),
              # as PostgreSQL prints it back, so a rebuild from pg_get_indexdef is the very same index
              postgresql_where=text("((prep_status)::text = 'queued'::text) OR ((prep_status)::text = "
                                    "'in_progress'::text) OR ((prep_status)::text = 'ready'::text)")),
        Index("ix_order_items_tab_line_id", "tab_line_id"),
        # Service times (reports/service_times.py) read the ticket lines sent within a window.
        Index("ix_order_items_sent_at", "sent_at",
              sqlite_where=text("sent_at IS NOT NULL"), postgresql_where=text("sent_at IS NOT NULL")),
    )

    id: Mapped[str] = id_column()
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    # RESTRICT: an item that was sold is deactivated, never deleted (history keeps names and prices).
    menu_item_id: Mapped[str] = mapped_column(ForeignKey("menu_items.id", ondelete="RESTRICT"), nullable=False,
                                              index=True)
    product_name: Mapped[str] = mapped_column(String(200), nullable=False)
    size: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    category: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)  # incl. modifiers
    line_total: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    discount_share: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    tax_rate: Mapped[Decimal] = mapped_column(Rate(), nullable=False)
    # What the customer paid for the line: line_total - discount_share (+ its share of exclusive tax).
    # Refunds are measured against it.
    paid_total: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    # Stock taken per unit sold, so refunds and voids put back exactly what the sale took even
    # if the recipe changed since: [[inventory_item_id, "quantity"], ...]; counted = took stock_count.
    recipe: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    counted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    price_overridden: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    notes: Mapped[str | None] = mapped_column(String(300), nullable=True)
    refunded_quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # The line's part of the order's cash rounding, and of the money refunded so far (every refund
    # is booked on lines, line_money.py): paid_total + rounding_share - refunded_amount is the line's
    # revenue, and the lines of an order add up to its revenue (total - tip - refunded) exactly.
    rounding_share: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"), server_default="0")
    refunded_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"),
                                                     server_default="0")
    # Preparation (bar/kitchen): the station the line goes to (NULL: nothing to prepare) and its ticket
    # state, NULL until the line is sent (a counter sale sends at once, a tab when its lines are sent):
    # queued | in_progress | ready | collected | cancelled, with the time of each move.
    station: Mapped[str | None] = mapped_column(String(32), nullable=True)
    prep_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Tab lines: whether the recipe stock was taken yet (at send or at payment, whichever is first),
    # how many units are paid, and who added the line.  A child order's line names the tab line it paid.
    stock_taken: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    paid_quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    added_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    tab_line_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    modifiers: Mapped[list[OrderItemModifier]] = relationship(cascade="all, delete-orphan")


class OrderItemModifier(Base):
    __tablename__ = "order_item_modifiers"

    id: Mapped[str] = id_column()
    order_item_id: Mapped[str] = mapped_column(ForeignKey("order_items.id", ondelete="CASCADE"), nullable=False,
                                               index=True)
    modifier_id: Mapped[str] = mapped_column(String(36), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    price_delta: Mapped[Decimal] = mapped_column(Money(), nullable=False)


class OrderTaxLine(Base):
    __tablename__ = "order_tax_lines"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Rate(), primary_key=True)
    base: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    tax: Mapped[Decimal] = mapped_column(Money(), nullable=False)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[str] = id_column()
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)  # cash | card
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)  # applied to the order
    tendered: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    change: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        Index("ix_refunds_store_created", "store_id", "created_at"),
        Index("ix_refunds_shift_id", "shift_id"),
    )

    id: Mapped[str] = id_column()
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), nullable=False, default=DEFAULT_STORE_ID)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    reason: Mapped[str] = mapped_column(String(300), nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    restock: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    shift_id: Mapped[str | None] = mapped_column(ForeignKey("shifts.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_by_name: Mapped[str] = mapped_column(String(120), nullable=False)

    items: Mapped[list[RefundItem]] = relationship(cascade="all, delete-orphan")


class RefundItem(Base):
    """A refund's money on one line (line_money.py); quantity 0 = money only (an amount-only refund,
    the tip going back with the last units), amount 0 = goods back with no money left on them."""

    __tablename__ = "refund_items"

    id: Mapped[str] = id_column()
    refund_id: Mapped[str] = mapped_column(ForeignKey("refunds.id", ondelete="CASCADE"), nullable=False, index=True)
    order_item_id: Mapped[str] = mapped_column(ForeignKey("order_items.id"), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)


class JournalEntry(Base):
    """Hash chain per store: hash = SHA-256(prev_hash + canonical content)."""

    __tablename__ = "journal_entries"
    __table_args__ = (UniqueConstraint("store_id", "seq", name="uq_journal_entries_store_seq"),)

    id: Mapped[str] = id_column()
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), nullable=False, default=DEFAULT_STORE_ID)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    entry_type: Mapped[str] = mapped_column(String(16), nullable=False)  # order | refund | void
    reference_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    content: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON that was hashed
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
