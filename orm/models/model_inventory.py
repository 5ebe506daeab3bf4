"""Inventory items: ingredients and supplies (beans in kg, milk in l, cups in pcs)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orm.models.base import DEFAULT_STORE_ID, Base, created_at_column, id_column, updated_at_column
from orm.types import Quantity, UnitCost, UTCDateTime


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
