"""Report sections from both sources: rolled-up closed days plus raw order rows for the rest.

Each function takes a Coverage (report_queries.Coverage, planned by report_rollup.plan_coverage)
and adds the raw part (report_queries) to the rollup part (report_rollup); every part is one
GROUP BY round trip, and what comes back is at most one row per key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import union_all
from sqlalchemy.orm import Session

from orm.controllers.reports import queries as q
from orm.controllers.reports import rollup
from orm.controllers.reports.sql import money


def plan(session: Session, scope: q.Scope, lo: datetime, hi: datetime,
         cuts: tuple[datetime, ...] = ()) -> q.Coverage:
    return rollup.plan_coverage(session, scope, lo, hi, cuts)


def buckets(session: Session, scope: q.Scope, cov: q.Coverage, *, start: datetime, previous_start: datetime,
            bucket_size: int) -> list[q.BucketRow]:
    return (q.time_buckets(session, scope, cov, start=start, previous_start=previous_start, bucket_size=bucket_size)
            + rollup.rollup_buckets(session, scope, cov, start=start, previous_start=previous_start))


def _merge(parts: list[dict[str, list[Any]]], numeric: slice) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for part in parts:
        for key, values in part.items():
            if key not in out:
                out[key] = list(values)
                continue
            mine = out[key]
            for i in range(*numeric.indices(len(values))):
                mine[i] += values[i]
            for i, value in enumerate(values):  # labels: the larger one, as MAX() would pick
                if isinstance(value, str) and value > mine[i]:
                    mine[i] = value
    return out


def breakdown(session: Session, scope: q.Scope, cov: q.Coverage, by: str) -> list[dict[str, Any]]:
    """Counted sales by payment `method` or by `user`, best first."""
    merged = _merge([q.breakdown(session, scope, cov, by), rollup.rollup_breakdown(session, scope, cov, by)],
                    slice(0, 2))
    ordered = sorted(merged.items(), key=lambda kv: (-kv[1][0], kv[0]))
    if by == "method":
        return [{"method": k, "revenue": money(v[0]), "transactions": v[1]} for k, v in ordered]
    return [{"userId": k, "name": v[2], "revenue": money(v[0]), "transactions": v[1]} for k, v in ordered]


def products(session: Session, scope: q.Scope, cov: q.Coverage, limit: int | None = None) -> list[dict[str, Any]]:
    """Per menu item: line revenue and units sold net of refunds, best sellers first."""
    merged = _merge([q.products(session, scope, cov), rollup.rollup_products(session, scope, cov)], slice(2, 4))
    ordered = sorted(merged.items(), key=lambda kv: (-kv[1][2], -kv[1][3], kv[0]))
    if limit is not None:
        ordered = ordered[:limit]
    return [{"id": k, "name": v[0], "category": v[1], "revenue": money(v[2]), "quantitySold": v[3]}
            for k, v in ordered]


def categories(session: Session, scope: q.Scope, cov: q.Coverage) -> list[dict[str, Any]]:
    """Per category: line revenue (cents) and the number of sales containing it, best first."""
    merged = _merge([q.categories(session, scope, cov), rollup.rollup_categories(session, scope, cov)], slice(0, 2))
    return [{"category": k, "revenueCents": v[0], "transactions": v[1]}
            for k, v in sorted(merged.items(), key=lambda kv: (-kv[1][0], kv[0]))]


def customers(session: Session, scope: q.Scope, cov: q.Coverage) -> tuple[int, int]:
    """(customers, returning customers) of the coverage's window: the counted sales per name of the
    rolled days and of the raw rest, added up per name in one query.  With a category filter the
    customers are those of the sales containing it, which the rollup does not keep: all raw."""
    if scope.category is not None or not cov.has_rolled:
        return q.customers(session, scope, cov.lo, cov.hi)
    parts = rollup.rollup_customer_orders(scope, cov)
    if cov.has_raw:
        parts = union_all(q.customer_orders(scope, cov), parts)
    return q.count_customers(session, parts)
