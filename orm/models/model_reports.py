"""Report bookkeeping: which scheduled e-mail went out for which business day, and the
pre-aggregated sales of closed business days (the rollup).

The unique (store_id, kind, business_date) row is the "exactly once" guarantee
of the daily summary when several server processes share one database: a
process sends only after it has claimed the row in a committed transaction
(status claimed -> sent).  A claim that never turned into `sent` (the process
died, the SMTP server was down) may be taken over once it is older than the
service's stale limit.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orm.column_types import UTCDateTime
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.base import Base, id_column


class ReportEmailRun(Base):
    __tablename__ = "report_email_runs"
    __table_args__ = (
        UniqueConstraint("store_id", "kind", "business_date", name="uq_report_email_runs_store_kind_day"),
    )

    id: Mapped[str] = id_column()
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), nullable=False,
                                          default=DEFAULT_STORE_ID)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)  # daily_summary
    business_date: Mapped[date] = mapped_column(Date, nullable=False)  # local date in the store zone
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # claimed | sent | failed
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    claimed_by: Mapped[str] = mapped_column(String(120), nullable=False)  # host:pid of the sender
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    recipients: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


# ---- sales rollup -------------------------------------------------------------------------------
# Closed business days pre-aggregated per local day and hour (orm/controllers/reports/rollup.py).
# Amounts are integer cents, exactly what the raw report queries sum.  Key columns are part of
# the primary key, so a day is replaced with one DELETE + INSERT and never double-counted.


class ReportRollupState(Base):
    """Per store: the time zone its rollup days are in, and up to when refunds were folded in."""

    __tablename__ = "report_rollup_state"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    # Every rolled day reflects every refund created before this instant.
    checked_until: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ReportRollupDay(Base):
    """A local business day whose rows below are complete (a day without sales has no other rows)."""

    __tablename__ = "report_rollup_days"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ReportRollupSales(Base):
    """Order-level sums per local hour, payment method and cashier."""

    __tablename__ = "report_rollup_sales"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(120), nullable=False)
    orders: Mapped[int] = mapped_column(Integer, nullable=False)
    revenue: Mapped[int] = mapped_column(BigInteger, nullable=False)
    refunds: Mapped[int] = mapped_column(BigInteger, nullable=False)
    discounts: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tax: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tips: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ReportRollupCategory(Base):
    """Line-level sums per local hour, payment method, cashier and category (`orders`: sales
    containing the category - additive, since every sale lies in exactly one row key)."""

    __tablename__ = "report_rollup_categories"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(120), nullable=False)
    orders: Mapped[int] = mapped_column(Integer, nullable=False)
    revenue: Mapped[int] = mapped_column(BigInteger, nullable=False)
    refunds: Mapped[int] = mapped_column(BigInteger, nullable=False)
    discounts: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tax: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ReportRollupItem(Base):
    """Per local day, payment method, category and menu item: line revenue and units sold."""

    __tablename__ = "report_rollup_items"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    method: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    menu_item_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    product_name: Mapped[str] = mapped_column(String(200), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    revenue: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ReportRollupSalesDay(Base):
    """report_rollup_sales added up over the day's hours: per local day, payment method and cashier
    (the day, payment and staff figures of long windows read ~12x fewer rows)."""

    __tablename__ = "report_rollup_sales_days"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    method: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(120), nullable=False)
    orders: Mapped[int] = mapped_column(Integer, nullable=False)
    revenue: Mapped[int] = mapped_column(BigInteger, nullable=False)
    refunds: Mapped[int] = mapped_column(BigInteger, nullable=False)
    discounts: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tax: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tips: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ReportRollupCategoryDay(Base):
    """report_rollup_categories added up over the day's hours and cashiers: per local day, payment
    method and category (`orders`: sales containing the category, still additive)."""

    __tablename__ = "report_rollup_category_days"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    method: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer, nullable=False)
    revenue: Mapped[int] = mapped_column(BigInteger, nullable=False)
    refunds: Mapped[int] = mapped_column(BigInteger, nullable=False)
    discounts: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tax: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ReportRollupCustomer(Base):
    """Per local day and payment method: counted sales per customer (the name as the customer
    figures compare it: lower(trim(name)), never empty).  Distinct customers of a window are then
    the distinct names over its days, and returning ones those with 2+ sales in all."""

    __tablename__ = "report_rollup_customers"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    method: Mapped[str] = mapped_column(String(16), primary_key=True)
    customer: Mapped[str] = mapped_column(String(120), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer, nullable=False)
