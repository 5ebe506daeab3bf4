"""The report SQL: every number is a GROUP BY in the database, never order rows in Python.

DEFINITIONS (API.md "Reports"; all money in cents inside SQL, exact on both databases)
* Counted orders: status completed or partially_refunded (voided never appear; refunded ones
  only in the refund totals).  Everything is dated by SALE time (`sale_at`, the terminal's
  clientCreatedAt for late offline orders), and bounded by the indexed (store_id, sale_at)
  range - "all stores" is the explicit list of store ids, so the index is used either way.
* Order revenue = total - tipAmount - refundedAmount of counted orders (tax and cash rounding
  included, tips excluded, refunds taken off the day the order was SOLD).
* Line revenue (products, categories, and everything when a category filter is set) =
  paidTotal + roundingShare - refundedAmount of the line, where paidTotal is what the line cost
  the customer (discount share off, exclusive tax share on), roundingShare its part of the cash
  rounding and refundedAmount its part of every refund of the order (line_money.py: item and
  amount-only refunds alike, tip and rounding returned with the last units too).  So the lines
  of an order add up to its revenue exactly, and categories, products and staff all add up to
  the total revenue.
* Refunds = refundedAmount of every non-voided order sold in the window (fully refunded ones
  too); discounts, tax and tips = those of the counted orders, as sold.
* Line tax (category filter): exclusive mode paidTotal - net exactly; inclusive mode
  half_up(net x rate / (1 + rate)) per line.

Time: sales are grouped by UTC bucket (business_days.bucket_seconds) and by period (current
window / previous period / earlier), and Python maps the few bucket rows to local days and
hours.  One round trip per section.

This module is the RAW side: it reads the order tables over a Coverage's raw intervals.  Whole
closed days may instead come from the rollup (report_rollup.py); report_sections.py adds the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, distinct, false, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from orm.controllers.reports.sql import RATE_SCALE, bucket_of, cents, money, sum_cents
from orm.domain.business_days import bucket_local_start, local_midnight
from orm.domain.money import ratio
from orm.models.model_orders import Order, OrderItem, OrderTaxLine

COUNTED = ("completed", "partially_refunded")
PERIOD_EARLIER, PERIOD_PREVIOUS, PERIOD_CURRENT = 0, 1, 2


@dataclass(frozen=True)
class Scope:
    """Which sales a report looks at (besides the time range)."""

    store_ids: tuple[str, ...]
    zone: ZoneInfo
    method: str | None = None  # cash | card | split; None = all
    category: str | None = None  # None = all; set = line-level figures of that category


@dataclass
class Sums:
    revenue: int = 0
    transactions: int = 0
    refunds: int = 0
    discounts: int = 0
    tax: int = 0
    tips: int = 0

    def add(self, other: Sums) -> None:
        self.revenue += other.revenue
        self.transactions += other.transactions
        self.refunds += other.refunds
        self.discounts += other.discounts
        self.tax += other.tax
        self.tips += other.tips


@dataclass(frozen=True)
class BucketRow:
    local_start: datetime  # local wall time the bucket starts
    period: int
    sums: Sums
    # Rolled-up days come as one row per day (for totals and days) plus, for the current
    # window only, one row per hour (for the hourly breakdown); raw buckets serve both.
    role: str = "both"  # both | day | hour


@dataclass(frozen=True)
class Coverage:
    """Where the sales of [lo, hi) are read from, per store: whole local days from the rollup
    (report_rollup.py), everything else - UTC intervals - from the order tables."""

    lo: datetime
    hi: datetime
    rolled: dict[str, tuple[date, ...]]
    raw: dict[str, tuple[tuple[datetime, datetime], ...]]

    @staticmethod
    def all_raw(scope: Scope, lo: datetime, hi: datetime) -> Coverage:
        return Coverage(lo, hi, {s: () for s in scope.store_ids}, {s: ((lo, hi),) for s in scope.store_ids})

    def within(self, start: datetime, end: datetime, zone: ZoneInfo) -> Coverage:
        """The part inside [start, end) - a sub-window whose bounds were cuts of this coverage."""
        raw = {s: tuple((max(a, start), min(b, end)) for a, b in ivs if a < end and b > start)
               for s, ivs in self.raw.items()}
        rolled = {s: tuple(d for d in days if start <= local_midnight(d, zone) < end)
                  for s, days in self.rolled.items()}
        return Coverage(start, end, rolled, raw)

    @property
    def has_raw(self) -> bool:
        return any(self.raw.values())

    @property
    def has_rolled(self) -> bool:
        return any(self.rolled.values())

    def raw_condition(self) -> ColumnElement[bool]:
        per_store = []
        for store_id, intervals in sorted(self.raw.items()):
            if intervals:
                ranges = [and_(Order.sale_at >= a, Order.sale_at < b) for a, b in intervals]
                per_store.append(and_(Order.store_id == store_id, or_(*ranges)))
        return or_(*per_store) if per_store else false()


def _order_filter(scope: Scope, cov: Coverage) -> list[ColumnElement[bool]]:
    # Tabs (tab_name set) are never sales; their paid child orders are.
    conditions = [cov.raw_condition(), Order.status != "voided", Order.tab_name.is_(None)]
    if scope.method:
        conditions.append(Order.payment_method == scope.method)
    return conditions


def line_refund() -> ColumnElement[int]:
    """The money refunded on a line (cents): its part of every refund of the order."""
    return cents(OrderItem.refunded_amount)


def line_revenue() -> ColumnElement[int]:
    """A line's part of its order's revenue (cents); the lines of an order add up to it exactly."""
    return cents(OrderItem.paid_total) + cents(OrderItem.rounding_share) - cents(OrderItem.refunded_amount)


def line_tax() -> ColumnElement[int]:
    net = cents(OrderItem.line_total) - cents(OrderItem.discount_share)
    rate = cents(OrderItem.tax_rate)
    inclusive = (2 * net * rate + RATE_SCALE + rate) // (2 * (RATE_SCALE + rate))
    return case((Order.tax_mode == "inclusive", inclusive), else_=cents(OrderItem.paid_total) - net)


def facts(scope: Scope, cov: Coverage, *, start: datetime, previous_start: datetime, bucket_size: int,
          per_line: bool | None = None) -> Any:
    """One row per sale - or per sold line, with a category filter or `per_line` - with uniform columns.

    `period` says whether the row lies in the current window [start, hi), the previous
    period [previous_start, start) or earlier; `bucket` is its UTC time bucket.  Both are
    computed here, so the GROUP BYs outside refer to plain columns.
    """
    per_line = scope.category is not None if per_line is None else per_line
    counted = Order.status.in_(COUNTED)
    period = case((Order.sale_at >= start, PERIOD_CURRENT), (Order.sale_at >= previous_start, PERIOD_PREVIOUS),
                  else_=PERIOD_EARLIER)
    common: list[ColumnElement[Any]] = [
        Order.id.label("order_id"),
        bucket_of(Order.sale_at, bucket_size).label("bucket"),
        period.label("period"),
        case((counted, 1), else_=0).label("counted"),
        Order.payment_method.label("method"),
        Order.created_by.label("user_id"),
        Order.created_by_name.label("user_name"),
        Order.customer_name.label("customer"),
    ]
    money_columns: list[ColumnElement[Any]]
    if not per_line:
        money_columns = [
            case((counted, cents(Order.total) - cents(Order.tip_amount) - cents(Order.refunded_amount)),
                 else_=0).label("revenue"),
            cents(Order.refunded_amount).label("refunds"),
            case((counted, cents(Order.discount_amount)), else_=0).label("discounts"),
            case((counted, cents(Order.tax_amount)), else_=0).label("tax"),
            case((counted, cents(Order.tip_amount)), else_=0).label("tips"),
        ]
        return select(*common, *money_columns).where(*_order_filter(scope, cov)).subquery("sales")
    money_columns = [
        OrderItem.category.label("category"),
        case((counted, line_revenue()), else_=0).label("revenue"),
        line_refund().label("refunds"),
        case((counted, cents(OrderItem.discount_share)), else_=0).label("discounts"),
        case((counted, line_tax()), else_=0).label("tax"),
        literal(0).label("tips"),
    ]
    query = (select(*common, *money_columns)
             .select_from(Order).join(OrderItem, OrderItem.order_id == Order.id)
             .where(*_order_filter(scope, cov)))
    if scope.category is not None:
        query = query.where(OrderItem.category == scope.category)
    return query.subquery("sales")


def transactions_of(f: Any, per_line: bool) -> ColumnElement[int]:
    if per_line:
        return func.count(distinct(case((f.c.counted == 1, f.c.order_id))))
    return func.coalesce(func.sum(f.c.counted), 0)


def sum_columns(f: Any, per_line: bool) -> list[ColumnElement[Any]]:
    return [sum_cents(f.c.revenue), transactions_of(f, per_line), sum_cents(f.c.refunds),
            sum_cents(f.c.discounts), sum_cents(f.c.tax), sum_cents(f.c.tips)]


def time_buckets(session: Session, scope: Scope, cov: Coverage, *, start: datetime, previous_start: datetime,
                 bucket_size: int) -> list[BucketRow]:
    """Raw sums per (UTC bucket, period) - at most 24 x 4 rows per day and period."""
    if not cov.has_raw:
        return []
    f = facts(scope, cov, start=start, previous_start=previous_start, bucket_size=bucket_size)
    query = select(f.c.bucket, f.c.period, *sum_columns(f, scope.category is not None)) \
        .group_by(f.c.bucket, f.c.period)
    rows = []
    local_of: dict[int, datetime] = {}
    for bucket, period, *values in session.execute(query):
        if bucket not in local_of:
            local_of[bucket] = bucket_local_start(int(bucket), bucket_size, scope.zone)
        rows.append(BucketRow(local_of[bucket], int(period), Sums(*(int(v or 0) for v in values))))
    return rows


def customer_orders(scope: Scope, cov: Coverage, *, by_method: bool = False) -> Select[Any]:
    """Raw counted sales per customer name over the coverage's raw part: (name, orders)
    - with `by_method`, (method, name, orders).

    Names compare case- and space-insensitively ("Anna " is "anna"); empty names are no customer.
    """
    f = facts(scope, cov, start=cov.lo, previous_start=cov.lo, bucket_size=3600)
    name = func.lower(func.trim(f.c.customer))
    keys = [f.c.method, name] if by_method else [name]
    return (select(*keys[:-1], name.label("name"), func.count(distinct(f.c.order_id)).label("orders"))
            .where(f.c.counted == 1, f.c.customer.is_not(None), name != "")
            .group_by(*keys))


def count_customers(session: Session, per_name: Any) -> tuple[int, int]:
    """(names, of them with 2+ orders) from a (name, orders) selectable whose names may repeat
    (parts from different sources: they are added up per name first)."""
    u = per_name.subquery("customer_parts")
    names = (select(u.c.name, func.sum(u.c.orders).label("orders")).group_by(u.c.name)
             .subquery("per_customer"))
    total, returning = session.execute(
        select(func.count(), func.coalesce(func.sum(case((names.c.orders >= 2, 1), else_=0)), 0))
        .select_from(names)).one()
    return int(total or 0), int(returning or 0)


def customers(session: Session, scope: Scope, start: datetime, end: datetime) -> tuple[int, int]:
    """(distinct non-empty customer names, of them with 2+ counted orders in the window), all raw.

    "Returning" is judged inside the window on purpose: looking for each name in all earlier
    years would make the cost of a dashboard grow with the shop's history (customer_name is not
    indexed).  Closed days can come from the per-day customer rollup instead (sections.customers):
    counts per name do add up across days.
    """
    return count_customers(session, customer_orders(scope, Coverage.all_raw(scope, start, end)))


def breakdown(session: Session, scope: Scope, cov: Coverage, by: str) -> dict[str, list[Any]]:
    """Raw counted sales grouped by payment `method` or by `user`: key -> [revenue cents, transactions, name]."""
    if not cov.has_raw:
        return {}
    f = facts(scope, cov, start=cov.lo, previous_start=cov.lo, bucket_size=3600)
    key = f.c.method if by == "method" else f.c.user_id
    txn = transactions_of(f, scope.category is not None)
    query = (select(key, func.max(f.c.user_name), sum_cents(f.c.revenue), txn)
             .where(f.c.counted == 1).group_by(key))
    return {k: [int(revenue), int(txn), name or ""] for k, name, revenue, txn in session.execute(query)}


def line_base(scope: Scope, cov: Coverage) -> Select[Any]:
    query = (select().select_from(Order).join(OrderItem, OrderItem.order_id == Order.id)
             .where(*_order_filter(scope, cov), Order.status.in_(COUNTED)))
    if scope.category is not None:
        query = query.where(OrderItem.category == scope.category)
    return query


def products(session: Session, scope: Scope, cov: Coverage) -> dict[str, list[Any]]:
    """Raw per menu item: [name, category, revenue cents, units net of refunded units]."""
    if not cov.has_raw:
        return {}
    revenue = sum_cents(line_revenue())
    quantity = func.coalesce(func.sum(OrderItem.quantity - OrderItem.refunded_quantity), 0)
    query = (line_base(scope, cov)
             .add_columns(OrderItem.menu_item_id, func.max(OrderItem.product_name), func.max(OrderItem.category),
                          revenue, quantity)
             .group_by(OrderItem.menu_item_id))
    return {item_id: [name, category or "", int(rev), int(qty)]
            for item_id, name, category, rev, qty in session.execute(query)}


def categories(session: Session, scope: Scope, cov: Coverage) -> dict[str, list[int]]:
    """Raw per category: [line revenue cents, sales containing it]."""
    if not cov.has_raw:
        return {}
    revenue = sum_cents(line_revenue())
    query = (line_base(scope, cov)
             .add_columns(OrderItem.category, revenue, func.count(distinct(Order.id)))
             .group_by(OrderItem.category))
    return {category or "": [int(rev), int(txn)] for category, rev, txn in session.execute(query)}


def tax_breakdown(session: Session, scope: Scope, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per tax rate: base and tax of the counted sales, as sold (the receipts' tax lines)."""
    cov = Coverage.all_raw(scope, start, end)
    query = (select(OrderTaxLine.rate, sum_cents(cents(OrderTaxLine.base)), sum_cents(cents(OrderTaxLine.tax)))
             .select_from(Order).join(OrderTaxLine, OrderTaxLine.order_id == Order.id)
             .where(*_order_filter(scope, cov), Order.status.in_(COUNTED))
             .group_by(OrderTaxLine.rate).order_by(OrderTaxLine.rate))
    return [{"rate": rate, "base": money(base), "tax": money(tax)} for rate, base, tax in session.execute(query)]


def sums_by_day(rows: Sequence[BucketRow], periods: Sequence[int]) -> dict[date, Sums]:
    out: dict[date, Sums] = {}
    for row in rows:
        if row.period in periods and row.role != "hour":
            out.setdefault(row.local_start.date(), Sums()).add(row.sums)
    return out


def sums_by_hour(rows: Sequence[BucketRow], period: int) -> dict[int, Sums]:
    out: dict[int, Sums] = {}
    for row in rows:
        if row.period == period and row.role != "day":
            out.setdefault(row.local_start.hour, Sums()).add(row.sums)
    return out


def total(rows: Sequence[BucketRow], period: int) -> Sums:
    out = Sums()
    for row in rows:
        if row.period == period and row.role != "hour":
            out.add(row.sums)
    return out


def between(by_day: dict[date, Sums], first: date, last: date) -> Sums:
    out = Sums()
    for day, sums in by_day.items():
        if first <= day <= last:
            out.add(sums)
    return out


def percentage(part: int, whole: int) -> Decimal:
    return ratio(Decimal(part) * 100, whole) if whole else Decimal("0.00")

