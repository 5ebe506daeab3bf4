"""The demo's bar and kitchen history: every seeded ticket line made, readied and collected in a
believable time, except the last few minutes' - still queued, being made or waiting on the counter -
and the last three orders' (queued, being made, ready), so a fresh demo always shows a live queue.
Deterministic given `now` (times come from each line's sale time and position, not from chance)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from orm.models.model_orders import OrderItem

# station -> (seconds to make at least, and the spread above that)
MAKING = {"bar": (60, 180), "kitchen": (240, 480)}
DEFAULT_MAKING = (120, 240)
LIVE = ("queued", "in_progress", "ready")  # the newest order's state, the one before, the one before that


def _times(sent: datetime, station: str, line_no: int) -> tuple[datetime, datetime, datetime]:
    """(started, ready, collected) for a line sent at `sent`."""
    base, spread = MAKING.get(station, DEFAULT_MAKING)
    salt = sent.minute * 7 + sent.second * 3 + line_no * 13
    started = sent + timedelta(seconds=10 + salt % 50)
    ready = started + timedelta(seconds=base + salt % spread)
    collected = ready + timedelta(seconds=20 + salt % 100)
    return started, ready, collected


def settle_tickets(session: Session, now: datetime) -> int:
    """Moves every open seeded ticket line to where it would be at `now` -> lines moved."""
    rows = session.execute(select(OrderItem.id, OrderItem.order_id, OrderItem.station, OrderItem.sent_at,
                                  OrderItem.line_no)
                           .where(OrderItem.prep_status.in_(("queued", "in_progress", "ready")),
                                  OrderItem.sent_at.is_not(None))).all()
    newest: list[Any] = []
    for row in sorted(rows, key=lambda r: (r.sent_at, r.id), reverse=True):
        if row.order_id not in newest and len(newest) < len(LIVE):
            newest.append(row.order_id)
    live = {order_id: LIVE[i] for i, order_id in enumerate(newest)}
    values: list[dict[str, Any]] = []
    for row in rows:
        started, ready, collected = _times(row.sent_at, row.station or "", row.line_no)
        if collected <= now:
            state = "collected"
        elif ready <= now:
            state = "ready"
        elif started <= now:
            state = "in_progress"
        else:
            state = "queued"
        if row.order_id in live:
            state = live[row.order_id]
        values.append({"line_id": row.id, "state": state,
                       # (a forced live state may come before its computed time: never after `now`)
                       "started": min(started, now) if state != "queued" else None,
                       "ready": min(ready, now) if state in ("ready", "collected") else None,
                       "collected": min(collected, now) if state == "collected" else None})
    if values:
        session.execute(update(OrderItem.__table__).where(OrderItem.__table__.c.id == bindparam("line_id"))
                        .values(prep_status=bindparam("state"), started_at=bindparam("started"),
                                ready_at=bindparam("ready"), collected_at=bindparam("collected")), values)
    return len(values)
