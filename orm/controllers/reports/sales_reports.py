"""Reports: the sales dashboard, the daily sales report, CSV exports and the e-mail summary data.

What the numbers mean is written down in report_queries.py (revenue, refunds, line revenue)
and orm/domain/business_days.py (days, hours, windows).  The dashboard's own choices:

* Window: `start_date`/`end_date` (dates are whole local days; default: this month to date).
* `dailyRevenue`/`dailyTransactions`: today (store time) when the window includes today - a
  client's "This Month" runs to the month's end, and its "Today" tile must not read a future
  day - else the window's last local day; `weeklyRevenue`: the 7 local days ending with that
  day; `monthlyRevenue`: its calendar month up to and including it - all with the same
  filters, so they may reach back before the window.
* `comparisonData.previousPeriod`: the same number of local days just before the window
  (the same duration for date-time windows); `change`: percent, 2 places; from 0 to something
  is +100, from 0 to 0 is 0.
* Customers: distinct non-empty customer names in the window (case-insensitive);
  `returningCustomers` have 2 or more counted orders in the window, `newCustomers` the rest.
* `payment_method`: the order's method (`split` orders are their own method and appear only
  under `all` - or `payment_method=split`).  `category`: every figure becomes the line-level
  figure of that category (transactions = sales containing it).
* `storeId`: one store; default every store, with days in the time zone of the caller's store.
* Closed days are read from the sales rollup when it has them (report_rollup.py: the same
  numbers, without reading years of order rows); `period.rolledUpDays` says how many.
* Extra keys beside the contract: `metrics.totalTips`, and `period` (the resolved window).
* `serviceTimes` (dashboard and daily report): bar and kitchen times, see service_times.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from orm.controllers.reports import queries as q
from orm.controllers.reports import sections, service_times
from orm.controllers.reports.sql import money, percent_change
from orm.controllers.stores import store_settings
from orm.domain.business_days import (
    Window,
    bucket_seconds,
    business_day,
    local_date,
    local_midnight,
    parse_day,
    resolve_window,
    store_zone,
)
from orm.domain.csv_write import write_csv
from orm.domain.errors import ValidationFailed
from orm.domain.money import ratio
from orm.domain.principal import Principal
from orm.domain.schemas.reports import SalesQuery
from orm.models.model_store import Store
from settings import Settings

TOP_PRODUCTS = 10
SALES_CSV_COLUMNS = ("date", "transactions", "revenue", "averageOrderValue", "refunds", "discounts", "tax", "tips")
PRODUCTS_CSV_COLUMNS = ("id", "name", "category", "quantitySold", "revenue")


def _scope(session: Session, settings: Settings, store_param: str | None, anchor_store: str, *,
           method: str | None = None, category: str | None = None) -> tuple[q.Scope, dict[str, Any]]:
    """The stores to count (explicit ids, so the (store_id, sale_at) index serves every query)
    and the store settings whose time zone defines the days."""
    if session.get_bind().dialect.name == "postgresql":
        # Measured: PostgreSQL's JIT compiles the larger GROUP BYs here for ~75 ms and then runs
        # them in ~10 ms; for these short aggregates it never pays off.  This transaction only.
        session.execute(text("SET LOCAL jit = off"))
    if store_param:
        if session.get(Store, store_param) is None:
            raise ValidationFailed("storeId: no such store", field_errors={"storeId": "no such store"})
        store_ids: tuple[str, ...] = (store_param,)
        zone_store = store_param
    else:
        store_ids = tuple(session.scalars(select(Store.id).order_by(Store.id)))
        zone_store = anchor_store if anchor_store in store_ids else store_ids[0]
    cfg = store_settings.peek(session, settings, zone_store)
    return q.Scope(store_ids, store_zone(cfg["storeTimezone"]), method, category), cfg


def _figures(sums: q.Sums) -> dict[str, Any]:
    revenue = money(sums.revenue)
    return {"revenue": revenue, "transactions": sums.transactions,
            "averageOrderValue": ratio(revenue, sums.transactions)}


def _metrics(
    session: Session, scope: q.Scope, window: Window, now: datetime,
) -> tuple[dict[str, Any], list[q.BucketRow], q.Sums, q.Coverage]:
    """The `metrics` object, the bucket rows (for charts), the previous period's sums and the
    window's coverage (which days came from the rollup)."""
    previous = window.previous()
    today = local_date(now, scope.zone)
    # The day the daily/weekly/monthly figures end with (module docstring).
    anchor = today if window.first_day <= today <= window.last_day else window.last_day
    week_first, month_first = anchor - timedelta(days=6), anchor.replace(day=1)
    lo = min(previous.start, local_midnight(min(week_first, month_first), scope.zone))
    cov = sections.plan(session, scope, lo, window.end, cuts=(window.start, previous.start))
    rows = sections.buckets(session, scope, cov, start=window.start, previous_start=previous.start,
                            bucket_size=bucket_seconds(Window(lo, window.end, scope.zone)))
    current = q.total(rows, q.PERIOD_CURRENT)
    by_day = q.sums_by_day(rows, (q.PERIOD_EARLIER, q.PERIOD_PREVIOUS, q.PERIOD_CURRENT))
    daily = by_day.get(anchor, q.Sums())
    in_window = cov.within(window.start, window.end, scope.zone)
    customers, returning = sections.customers(session, scope, in_window)
    figures = _figures(current)
    metrics = {
        "totalRevenue": figures["revenue"],
        "dailyRevenue": money(daily.revenue),
        "weeklyRevenue": money(q.between(by_day, week_first, anchor).revenue),
        "monthlyRevenue": money(q.between(by_day, month_first, anchor).revenue),
        "totalTransactions": current.transactions,
        "dailyTransactions": daily.transactions,
        "averageOrderValue": figures["averageOrderValue"],
        "totalRefunds": money(current.refunds),
        "totalDiscounts": money(current.discounts),
        "totalTax": money(current.tax),
        "totalTips": money(current.tips),
        "totalCustomers": customers,
        "returningCustomers": returning,
        "newCustomers": customers - returning,
    }
    return metrics, rows, q.total(rows, q.PERIOD_PREVIOUS), in_window


def _period(window: Window, scope: q.Scope, cov: q.Coverage) -> dict[str, Any]:
    previous = window.previous()
    return {"start": window.start, "end": window.end, "startDate": window.first_day.isoformat(),
            "endDate": window.last_day.isoformat(), "timezone": scope.zone.key,
            "previousStart": previous.start, "previousEnd": previous.end, "storeIds": list(scope.store_ids),
            # Store-days of the window read from the rollup of closed days (report_rollup.py).
            "rolledUpDays": sum(len(days) for days in cov.rolled.values())}


def _hours(by_hour: dict[int, q.Sums], *, label: bool) -> list[dict[str, Any]]:
    out = []
    for hour in range(24):
        sums = by_hour.get(hour, q.Sums())
        entry: dict[str, Any] = {"hour": hour, "revenue": money(sums.revenue), "transactions": sums.transactions}
        if label:
            entry["label"] = f"{hour:02d}:00"
        out.append(entry)
    return out


def _category_rows(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    whole = sum(r["revenueCents"] for r in raw)
    out = []
    for r in raw:
        revenue = money(r["revenueCents"])
        out.append({"category": r["category"], "revenue": revenue,
                    "percentage": q.percentage(r["revenueCents"], whole),
                    "transactions": r["transactions"], "averageOrderValue": ratio(revenue, r["transactions"])})
    return out


def _day_totals(sums: q.Sums) -> dict[str, Any]:
    return {**_figures(sums), "refunds": money(sums.refunds), "discounts": money(sums.discounts),
            "tax": money(sums.tax), "tips": money(sums.tips)}


def dashboard(session: Session, settings: Settings, query: SalesQuery, *, actor: Principal,
              now: datetime) -> dict[str, Any]:
    """GET /sales/dashboard: metrics, charts and breakdowns for the window (module docstring)."""
    scope, _cfg = _scope(session, settings, query.storeId, actor.store_id, method=query.method,
                         category=query.category_name)
    window = resolve_window(query.start_date, query.end_date, scope.zone, now)
    metrics, rows, previous, cov = _metrics(session, scope, window, now)
    by_day = q.sums_by_day(rows, (q.PERIOD_CURRENT,))
    chart = [{"date": d.isoformat(), "revenue": money(by_day.get(d, q.Sums()).revenue),
              "transactions": by_day.get(d, q.Sums()).transactions} for d in window.days()]
    before = _figures(previous)
    now_figures = {"revenue": metrics["totalRevenue"], "transactions": metrics["totalTransactions"],
                   "averageOrderValue": metrics["averageOrderValue"]}
    return {
        "metrics": metrics,
        "chartData": chart,
        "topProducts": sections.products(session, scope, cov, limit=TOP_PRODUCTS),
        "categoryBreakdown": _category_rows(sections.categories(session, scope, cov)),
        "hourlyBreakdown": _hours(q.sums_by_hour(rows, q.PERIOD_CURRENT), label=True),
        "paymentBreakdown": sections.breakdown(session, scope, cov, "method"),
        "staffBreakdown": sections.breakdown(session, scope, cov, "user"),
        "comparisonData": {
            "previousPeriod": before,
            "change": {k: percent_change(now_figures[k], before[k]) for k in now_figures},
        },
        "serviceTimes": service_times.service_times(session, scope, window.start, window.end),
        "period": _period(window, scope, cov),
    }


def live_metrics(session: Session, settings: Settings, *, store_id: str | None, anchor_store: str,
                 now: datetime) -> dict[str, Any]:
    """The dashboard's default `metrics` (this month to date) for the live WebSocket."""
    scope, _cfg = _scope(session, settings, store_id, anchor_store)
    window = resolve_window(None, None, scope.zone, now)
    return _metrics(session, scope, window, now)[0]


def daily_sales(session: Session, settings: Settings, *, day: str | date | None, store_id: str | None,
                anchor_store: str, now: datetime) -> dict[str, Any]:
    """GET /reports/daily-sales: one business day in the store's time zone."""
    scope, _cfg = _scope(session, settings, store_id, anchor_store)
    the_day = day if isinstance(day, date) else parse_day(day, "date", scope.zone, now)
    report = _daily(session, scope, the_day)
    window = business_day(the_day, scope.zone)
    report["serviceTimes"] = service_times.service_times(session, scope, window.start, window.end)
    return report


def sales_csv(session: Session, settings: Settings, query: SalesQuery, *, actor: Principal,
              now: datetime) -> bytes:
    """GET /reports/sales.csv: one row per business day of the window."""
    scope, window, cov = _csv_window(session, settings, query, actor, now)
    rows = sections.buckets(session, scope, cov, start=window.start, previous_start=window.start,
                            bucket_size=bucket_seconds(window))
    by_day = q.sums_by_day(rows, (q.PERIOD_CURRENT,))
    return write_csv(SALES_CSV_COLUMNS, ({"date": d.isoformat(), **_day_totals(by_day.get(d, q.Sums()))}
                                         for d in window.days()))


def products_csv(session: Session, settings: Settings, query: SalesQuery, *, actor: Principal,
                 now: datetime) -> bytes:
    """GET /reports/products.csv: every product sold in the window, best sellers first."""
    scope, _window, cov = _csv_window(session, settings, query, actor, now)
    return write_csv(PRODUCTS_CSV_COLUMNS, sections.products(session, scope, cov))


def _csv_window(session: Session, settings: Settings, query: SalesQuery, actor: Principal,
                now: datetime) -> tuple[q.Scope, Window, q.Coverage]:
    """(scope, window, coverage plan) of a CSV export's query."""
    scope, _cfg = _scope(session, settings, query.storeId, actor.store_id, method=query.method,
                         category=query.category_name)
    window = resolve_window(query.start_date, query.end_date, scope.zone, now)
    return scope, window, sections.plan(session, scope, window.start, window.end)


def email_schedules(session: Session, settings: Settings) -> list[dict[str, Any]]:
    """Per active store: its time zone, dailyEmailTime and dailyEmailRecipients."""
    out = []
    for store_id in session.scalars(select(Store.id).where(Store.is_active.is_(True)).order_by(Store.id)):
        cfg = store_settings.peek(session, settings, store_id)
        out.append({"storeId": store_id, "timezone": cfg["storeTimezone"], "time": cfg["dailyEmailTime"],
                    "recipients": list(cfg["dailyEmailRecipients"] or [])})
    return out


def summary_data(session: Session, settings: Settings, *, store_id: str, day: str | date | None,
                 now: datetime) -> dict[str, Any]:
    """Everything the daily e-mail shows: the day's report, the same weekday a week
    earlier, the reorder list from the stock forecast, and the store's name/currency/recipients."""
    scope, cfg = _scope(session, settings, store_id, store_id)
    the_day = day if isinstance(day, date) else parse_day(day, "date", scope.zone, now)
    report = _daily(session, scope, the_day)
    week_ago = the_day - timedelta(days=7)
    w = business_day(week_ago, scope.zone)
    rows = q.time_buckets(session, scope, q.Coverage.all_raw(scope, w.start, w.end), start=w.start,
                          previous_start=w.start, bucket_size=bucket_seconds(w))
    return {
        "report": report,
        "lastWeek": {"date": week_ago.isoformat(), **_day_totals(q.total(rows, q.PERIOD_CURRENT))},
        "reorder": _reorder_list(session, store_id, now),
        "storeName": cfg["storeName"],
        "currency": cfg["currency"],
        "timezone": cfg["storeTimezone"],
        "recipients": list(cfg["dailyEmailRecipients"] or []),
    }


def _daily(session: Session, scope: q.Scope, day: date) -> dict[str, Any]:
    """One business day, read raw (a day is small, and today is never rolled up)."""
    window = business_day(day, scope.zone)
    cov = q.Coverage.all_raw(scope, window.start, window.end)
    rows = q.time_buckets(session, scope, cov, start=window.start, previous_start=window.start,
                          bucket_size=bucket_seconds(window))
    return {
        "date": day.isoformat(),
        "timezone": scope.zone.key,
        "totals": _day_totals(q.total(rows, q.PERIOD_CURRENT)),
        "hourly": _hours(q.sums_by_hour(rows, q.PERIOD_CURRENT), label=False),
        "products": sections.products(session, scope, cov),
        "payments": sections.breakdown(session, scope, cov, "method"),
        "staff": sections.breakdown(session, scope, cov, "user"),
        "taxBreakdown": q.tax_breakdown(session, scope, window.start, window.end),
    }


def _reorder_list(session: Session, store_id: str, now: datetime) -> list[dict[str, Any]]:
    """Items the stock forecast says to reorder (low stock or under a week of cover)."""
    try:
        from orm.controllers.inventory import forecast
    except ImportError:  # inventory area not installed: the e-mail simply has no stock section
        return []
    return [item for item in forecast.forecast(session, store_id, now)
            if item["suggestedReorder"] and item["suggestedReorder"] > Decimal(0)]
