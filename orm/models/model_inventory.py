"""Inventory: items (beans in kg, milk in l, cups in pcs), their stock movements, alerts, job runs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from orm.column_types import Quantity, UnitCost, UTCDateTime
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.base import Base, created_at_column, id_column, updated_at_column

UNITS = ("kg", "g", "l", "ml", "pcs")
MOVEMENT_TYPES = ("sale", "refund", "restock", "waste", "count", "correction", "import")
ALERT_TYPES = ("low_stock", "out_of_stock", "expiring", "system")
ALERT_SEVERITIES = ("info", "warning", "critical")
ALERT_STATUSES = ("active", "acknowledged", "resolved", "dismissed")
OPEN_ALERT_STATUSES = ("active", "acknowledged")


class InventoryItem(Base):
    __tablename__ = "inventory_items"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_inventory_items_store_name"),)

    id: Mapped[str] = id_column()
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), nullable=False, index=True,
                                          default=DEFAULT_STORE_ID)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    category: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    supplier: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    unit: Mapped[str] = mapped_column(String(16), nullable=False)
    # Changed only by atomic `current_stock = current_stock + :delta` statements.
    current_stock: Mapped[Decimal] = mapped_column(Quantity(), nullable=False, default=Decimal("0"))
    # The apply-order stamp of the item's latest movement, set by the same UPDATE that changes the stock
    # (controllers/inventory/stock.py): strictly increasing per item, so the movement trail sorts by it.
    movement_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default=text("0"))
    min_stock_level: Mapped[Decimal] = mapped_column(Quantity(), nullable=False, default=Decimal("0"))
    max_stock_level: Mapped[Decimal | None] = mapped_column(Quantity(), nullable=True)
    cost_per_unit: Mapped[Decimal | None] = mapped_column(UnitCost(), nullable=True)
    location: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    barcode: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    expiry_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    last_restocked: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class StockMovement(Base):
    """Append-only: one row per change of an item's stock, with the level it resulted in."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_item_created", "inventory_item_id", "created_at"),
        # The forecast sums sales/refunds of the last 28 days per store.
        Index("ix_stock_movements_store_type_created", "store_id", "movement_type", "created_at"),
        Index("ix_stock_movements_store_created", "store_id", "created_at"),
        # The trail lists (newest first) sort by the apply-order stamp.
        Index("ix_stock_movements_item_seq", "inventory_item_id", "seq"),
        Index("ix_stock_movements_store_seq", "store_id", "seq"),
    )

    id: Mapped[str] = id_column()
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), nullable=False, default=DEFAULT_STORE_ID)
    inventory_item_id: Mapped[str] = mapped_column(ForeignKey("inventory_items.id"), nullable=False)
    movement_type: Mapped[str] = mapped_column(String(16), nullable=False)
    delta: Mapped[Decimal] = mapped_column(Quantity(), nullable=False)
    resulting_level: Mapped[Decimal] = mapped_column(Quantity(), nullable=False)
    # The item's movement_seq this change set: the order in which the item's changes were applied.
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # No foreign key: the trail must outlive any change to staff records.
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    reason: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[datetime] = created_at_column()


class StockAlert(Base):
    """Low stock, out of stock, expiry and system alerts; at most one open per item and condition."""

    __tablename__ = "stock_alerts"
    __table_args__ = (
        # The database, not only the code, keeps a second open alert for the same condition out:
        # concurrent sweeps and sales insert inside a savepoint and treat the violation as "already open".
        Index("uq_stock_alerts_open_item_type", "inventory_item_id", "alert_type", unique=True,
              sqlite_where=text("status IN ('active', 'acknowledged')"),
              postgresql_where=text("status IN ('active', 'acknowledged')")),
        Index("ix_stock_alerts_store_status_created", "store_id", "status", "created_at"),
    )

    id: Mapped[str] = id_column()
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), nullable=False, default=DEFAULT_STORE_ID)
    inventory_item_id: Mapped[str | None] = mapped_column(ForeignKey("inventory_items.id"), nullable=True)
    alert_type: Mapped[str] = mapped_column(String(16), nullable=False)
    severity: Mapped[str] = mapped_column(String(8), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    message: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    created_at: Mapped[datetime] = created_at_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When the condition went away (or someone resolved it by hand); on a dismissed alert, NULL means
    # the condition still holds, which keeps the sweep from raising it again.
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class JobRun(Base):
    """One row per scheduled job and period, so several server processes run a job once per period."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("name", "period_key", name="uq_job_runs_name_period"),)

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    period_key: Mapped[str] = mapped_column(String(40), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
