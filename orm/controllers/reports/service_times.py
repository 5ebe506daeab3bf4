"""Service times: how long the bar and the kitchen take, from sale (or send) to ready.

The `serviceTimes` section of GET /sales/dashboard and GET /reports/daily-sales:

    [{station, tickets, medianSecondsToReady, p90SecondsToReady,
      byHour: [{hour, tickets, medianSecondsToReady}]}]

DEFINITIONS
* A ticket is what one send put on one station: the lines of one order with the same station and
  the same `sent_at` (a counter sale sends all its lines at once; a tab sends round after round,
  and each round is timed from its own send, not from when the tab was opened).
* Its time to ready = the last of its lines' `ready_at` - `sent_at`.  A line collected without ever
  being marked ready counts as ready when it was collected.  Cancelled lines (refunds, voids, removed
  tab lines) are left out; a ticket that still has a line queued or in progress is not finished and
  does not count yet.  Voided orders never count (as everywhere in the reports); the lines of a
  tab's paid child orders are payments, not tickets (`tab_line_id`), and never count either.
* Window: tickets SENT within the report's window (the dashboard's window, the report's business
  day); `byHour` by the local hour of the send in the store's time zone, only hours that had
  tickets, in hour order.  The dashboard's payment-method and category filters apply too.
* Median and p90 by linear interpolation on exact durations (orm/domain/percentiles.py), in
  seconds with one decimal.
* One entry per station of the store's settings (`stations[]`, in that order) - with no finished
  tickets it reads tickets 0, null medians, empty byHour - then any other station that has tickets
  in the window (a station since renamed), by name.

The database groups the lines into tickets (one row per ticket, bounded by the indexed `sent_at`
range); percentiles cannot be summed, so Python takes them from those rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.orm import Session

from orm.column_types import UTCDateTime
from orm.controllers.reports.queries import Scope
from orm.domain.percentiles import MEDIAN, P90, percentile, seconds
from orm.models.model_orders import Order, OrderItem
from orm.models.model_settings import StoreSettings

FINISHED = ("ready", "collected")


MICROSECONDS = 1_000_000
QUARTER_HOUR = 900  # seconds


def ticket_durations(session: Session, scope: Scope, start: datetime,
                     end: datetime) -> list[tuple[str, datetime, int]]:
    """(station, sent_at, microseconds to ready) of every finished ticket sent in [start, end)."""
    done = type_coerce(func.max(func.coalesce(OrderItem.ready_at, OrderItem.collected_at)), UTCDateTime())
    unfinished = func.sum(case((OrderItem.prep_status.in_(FINISHED), 0), else_=1))
    query = (
        select(OrderItem.station, OrderItem.sent_at, done.label("done"))
        .join(Order, Order.id == OrderItem.order_id)
        .where(OrderItem.sent_at >= start, OrderItem.sent_at < end, OrderItem.sent_at.is_not(None),
               OrderItem.station.is_not(None), OrderItem.prep_status.is_not(None),
               OrderItem.prep_status != "cancelled", OrderItem.tab_line_id.is_(None),
               Order.store_id.in_(scope.store_ids), Order.status != "voided")
        .group_by(OrderItem.order_id, OrderItem.station, OrderItem.sent_at)
        .having(unfinished == 0)
    )
    if scope.method:
        query = query.where(Order.payment_method == scope.method)
    if scope.category is not None:
        query = query.where(OrderItem.category == scope.category)
    out = []
    for station, sent_at, finished_at in session.execute(query):
        if finished_at is None:  # a line marked ready/collected without its time: not measurable
            continue
        delta = finished_at - sent_at
        out.append((station, sent_at, (delta.days * 86_400 + delta.seconds) * MICROSECONDS + delta.microseconds))
    return out


def _seconds(microseconds: Fraction | None) -> Decimal | None:
    return seconds(None if microseconds is None else microseconds / MICROSECONDS)


def summarise(durations: Iterable[tuple[str, datetime, int]], scope: Scope,
              stations: Iterable[str]) -> list[dict[str, Any]]:
    """The section (module docstring) from (station, sent_at, microseconds) tickets."""
    per_station: dict[str, list[int]] = defaultdict(list)
    per_hour: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    # Local hour per UTC quarter hour (every UTC offset is a whole number of quarter hours), so a
    # month of tickets costs a few thousand time-zone conversions, not one per ticket.
    hours: dict[int, int] = {}
    for station, sent_at, took in durations:
        per_station[station].append(took)
        quarter = int(sent_at.timestamp()) // QUARTER_HOUR
        hour = hours.get(quarter)
        if hour is None:
            hour = hours[quarter] = datetime.fromtimestamp(quarter * QUARTER_HOUR, scope.zone).hour
        per_hour[station][hour].append(took)
    configured = list(dict.fromkeys(stations))
    order = configured + sorted(s for s in per_station if s not in configured)
    out = []
    for station in order:
        times = per_station.get(station, [])
        out.append({
            "station": station,
            "tickets": len(times),
            "medianSecondsToReady": _seconds(percentile(times, MEDIAN)),
            "p90SecondsToReady": _seconds(percentile(times, P90)),
            "byHour": [{"hour": hour, "tickets": len(hour_times),
                        "medianSecondsToReady": _seconds(percentile(hour_times, MEDIAN))}
                       for hour, hour_times in sorted(per_hour[station].items())],
        })
    return out


def configured_stations(session: Session, scope: Scope) -> list[str]:
    """The stations of the stores in scope (settings `stations[]`), each once, in settings order."""
    rows = session.execute(select(StoreSettings.stations).where(StoreSettings.store_id.in_(scope.store_ids))
                           .order_by(StoreSettings.store_id))
    return list(dict.fromkeys(str(name) for (names,) in rows for name in (names or [])))


def service_times(session: Session, scope: Scope, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """GET /sales/dashboard and /reports/daily-sales `serviceTimes` for tickets sent in [start, end)."""
    return summarise(ticket_durations(session, scope, start, end), scope, configured_stations(session, scope))
