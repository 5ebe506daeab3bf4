"""Store settings: one versioned row per store (the Settings resource of API.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from orm.column_types import Quantity, Rate, UTCDateTime
from orm.models.base import Base


class StoreSettings(Base):
    __tablename__ = "store_settings"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    store_name: Mapped[str] = mapped_column(String(120), nullable=False)
    store_address: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    vat_number: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="EUR")
    store_timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    tax_mode: Mapped[str] = mapped_column(String(16), nullable=False, default="exclusive")
    default_tax_rate: Mapped[Decimal] = mapped_column(Rate(), nullable=False)
    receipt_header: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    receipt_footer: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    cash_rounding: Mapped[str] = mapped_column(String(8), nullable=False, default="none")
    daily_email_time: Mapped[str] = mapped_column(String(5), nullable=False, default="21:00")
    daily_email_recipients: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    low_stock_default_min: Mapped[Decimal] = mapped_column(Quantity(), nullable=False)
    alert_sweep_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=15)
    expiry_warning_days: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    lockout_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    lockout_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=15)
    require_open_shift: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    allow_negative_stock: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Receipt paper in characters per line: 32 (58 mm) or 42/48 (80 mm).
    receipt_width: Mapped[int] = mapped_column(Integer, nullable=False, default=42, server_default="42")
    # Preparation stations a category or item can be sent to (bar, kitchen, ...), and the age at which
    # an open tab raises an alert.
    stations: Mapped[list] = mapped_column(JSON, nullable=False, default=lambda: ["bar", "kitchen"],
                                           server_default='["bar", "kitchen"]')
    tab_max_hours: Mapped[int] = mapped_column(Integer, nullable=False, default=16, server_default="16")
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
