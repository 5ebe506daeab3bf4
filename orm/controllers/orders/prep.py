"""The preparation queue (bar and kitchen): tickets read from order lines, and their moves.

A ticket is the lines of one order (a counter sale, or a tab) for one station that have been sent
there (`order_items.prep_status` not NULL).  Each line moves on its own:

    queued -> in_progress -> ready -> collected        (start, ready, collected)
    queued -> ready                                    (ready straight away: an espresso)
    ready  -> in_progress                              (recall: it goes back on the counter to be redone)
    queued | in_progress | ready -> cancelled          (a refund or void takes it back: refunds.py)

collected and cancelled are final.  Every move is one conditional UPDATE (`... WHERE prep_status IN
(states it may leave)`), so two baristas pressing "ready" at once end in one consistent state: one
moves the lines, the other finds nothing left to move (409).  Each change adds one "ticket" event
per (order, station) to the unit of work; sockets re-read the ticket when it arrives.

Reads are plain column selects run on the session's connection (no ORM objects, no ORM result
processing): the lines with their order's header in one statement, over the partial index
ix_order_items_prep_open, and their modifiers in a second one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, literal_column, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from orm.db import Event, events
from orm.domain.errors import Conflict, NotFound, ValidationFailed
from orm.domain.jsonenc import iso_utc
from orm.models.model_orders import Order, OrderItem, OrderItemModifier

OPEN_STATUSES = ("queued", "in_progress", "ready")
ALL_STATUSES = ("queued", "in_progress", "ready", "collected", "cancelled")
FINAL_STATUSES = ("collected", "cancelled")
# Collected and cancelled lines are history: a listing that asks for them sees the last day's only.
CLOSED_LOOKBACK = timedelta(hours=24)

# move -> (the states a line may leave by it, the state it reaches, the time column it stamps)
MOVES: dict[str, tuple[tuple[str, ...], str, str | None]] = {
    "start": (("queued",), "in_progress", "started_at"),
    "ready": (("queued", "in_progress"), "ready", "ready_at"),
    "recall": (("ready",), "in_progress", None),
    "collected": (OPEN_STATUSES, "collected", "collected_at"),
}

_LINE_COLUMNS = (
    OrderItem.id, OrderItem.order_id, OrderItem.station, OrderItem.product_name, OrderItem.size,
    OrderItem.quantity, OrderItem.notes, OrderItem.prep_status, OrderItem.sent_at, OrderItem.line_no,
    Order.order_number, Order.order_type, Order.customer_name, Order.tab_name,
)


def parse_statuses(raw: str | None) -> tuple[str, ...]:
    """`?status=queued,ready` -> the statuses in their fixed order; empty -> the open ones; 400 else."""
    if not raw or not raw.strip():
        return OPEN_STATUSES
    wanted = {part.strip() for part in raw.split(",") if part.strip()}
    unknown = sorted(wanted - set(ALL_STATUSES))
    if unknown:
        message = f"unknown status {', '.join(unknown)} (one or more of {', '.join(ALL_STATUSES)})"
        raise ValidationFailed(f"status: {message}", field_errors={"status": message})
    return tuple(s for s in ALL_STATUSES if s in wanted)


def _status_filter(statuses: Sequence[str]) -> Any:
    """prep_status IN (...) with literal values, not parameters: PostgreSQL then proves the partial
    index's predicate (prep_status IN ('queued', 'in_progress', 'ready')) when it plans the query."""
    return OrderItem.prep_status.in_([literal_column(f"'{s}'") for s in statuses if s in ALL_STATUSES])


def _modifiers(session: Session, lines: Any) -> dict[str, list[dict[str, str]]]:
    """Modifier names per line, for a list of line ids or the lines a condition selects."""
    query = select(OrderItemModifier.order_item_id, OrderItemModifier.name)
    if isinstance(lines, list):
        if not lines:
            return {}
        query = query.where(OrderItemModifier.order_item_id.in_(lines))
    else:
        query = query.join(OrderItem, OrderItem.id == OrderItemModifier.order_item_id).where(lines)
    out: dict[str, list[dict[str, str]]] = {}
    # .all(): one fetch of every row (iterating the result fetches them one at a time)
    for line_id, name in session.connection().execute(query.order_by(OrderItemModifier.order_item_id,
                                                                     OrderItemModifier.name)).all():
        out.setdefault(line_id, []).append({"name": name})
    return out


def _tickets(session: Session, rows: Sequence[Any], now: datetime,
             modifiers: dict[str, list[dict[str, str]]] | None = None) -> list[dict[str, Any]]:
    """Lines (_LINE_COLUMNS first, sorted by sent_at, order number, line) -> tickets per (order,
    station), oldest first.  Rows are unpacked as tuples: attribute access per column is the slow
    part of 400 lines."""
    if modifiers is None:
        modifiers = _modifiers(session, [r[0] for r in rows])
    tickets: dict[tuple[str, str], dict[str, Any]] = {}
    no_modifiers: list[dict[str, str]] = []
    for (line_id, order_id, station, product, size, quantity, notes, status, sent_at, line_no, number, kind,
         customer, tab_name, *_rest) in rows:
        ticket = tickets.get((order_id, station))
        if ticket is None:
            ticket = tickets[(order_id, station)] = {
                "orderId": order_id, "orderNumber": number, "orderType": kind, "customerName": customer,
                "tabName": tab_name, "station": station, "createdAt": sent_at, "waitingSeconds": 0, "items": [],
            }
        elif sent_at is not None and (ticket["createdAt"] is None or sent_at < ticket["createdAt"]):
            ticket["createdAt"] = sent_at
        ticket["items"].append((line_no, {
            "id": line_id, "productName": product, "size": size or None, "quantity": quantity,
            "modifiers": modifiers.get(line_id, no_modifiers), "notes": notes, "prepStatus": status}))
    out = list(tickets.values())
    for ticket in out:
        items = ticket["items"]
        items.sort(key=lambda pair: pair[0])
        ticket["items"] = [item for _line, item in items]
        created = ticket["createdAt"]
        ticket["waitingSeconds"] = max(0, int((now - created).total_seconds())) if created else 0
    out.sort(key=lambda t: (t["createdAt"] or now, t["orderNumber"] or "", t["orderId"], t["station"]))
    return out


def open_tickets(session: Session, store_id: str, station: str | None, statuses: Iterable[str] = OPEN_STATUSES,
                 *, now: datetime) -> list[dict[str, Any]]:
    """The store's tickets with lines in `statuses` (default: still to make or to collect), at one
    station or all, oldest first - in two statements whatever their number.

    Both start from the partial index ix_order_items_prep_open; the order header is joined by its
    primary key and the store compared here, not in SQL, so no plan can start from all of the
    store's orders (a big history, or statistics not yet gathered after a busy hour)."""
    wanted = tuple(s for s in ALL_STATUSES if s in set(statuses))
    if not wanted:
        return []
    where = [_status_filter(wanted)]
    if station is not None:
        where.append(OrderItem.station == station)
    if set(wanted) & set(FINAL_STATUSES):
        where.append(OrderItem.sent_at >= now - CLOSED_LOOKBACK)
    rows = session.connection().execute(
        select(*_LINE_COLUMNS, Order.store_id).join(Order, Order.id == OrderItem.order_id).where(*where)
        .order_by(OrderItem.sent_at, Order.order_number, OrderItem.order_id, OrderItem.line_no)).all()
    mine = [r for r in rows if r[-1] == store_id]  # the last column: the order's store
    if not mine:
        return []
    modifiers = _modifiers(session, and_(*where)) if len(mine) > 50 else None
    found = _tickets(session, mine, now, modifiers)
    # The listing goes out as JSON as it is (GET /prep/tickets, the sockets' first message): its
    # times become ISO strings here, once, so it holds plain values only (jsonenc.dumps_plain).
    for one in found:
        if one["createdAt"] is not None:
            one["createdAt"] = iso_utc(one["createdAt"])
    return found


def ticket(session: Session, store_id: str, order_id: str, station: str, *, now: datetime) -> dict[str, Any] | None:
    """One ticket with every line sent to the station, whatever its state (None: no such ticket)."""
    rows = session.connection().execute(
        select(*_LINE_COLUMNS).join(Order, Order.id == OrderItem.order_id)
        .where(OrderItem.order_id == order_id, OrderItem.station == station, OrderItem.prep_status.is_not(None),
               Order.store_id == store_id)
        .order_by(OrderItem.line_no)).all()
    found = _tickets(session, rows, now)
    return found[0] if found else None


def tickets_of(session: Session, store_id: str, pairs: Iterable[tuple[str, str]], *,
               now: datetime) -> list[dict[str, Any]]:
    """Several tickets by (orderId, station), for the live sockets (one read per burst of events)."""
    wanted = sorted(set(pairs))
    if not wanted:
        return []
    order_ids = sorted({o for o, _s in wanted})
    rows = session.connection().execute(
        select(*_LINE_COLUMNS).join(Order, Order.id == OrderItem.order_id)
        .where(OrderItem.order_id.in_(order_ids), OrderItem.prep_status.is_not(None), Order.store_id == store_id)
        .order_by(OrderItem.sent_at, Order.order_number, OrderItem.order_id, OrderItem.line_no)).all()
    keep = set(wanted)
    return _tickets(session, [r for r in rows if (r[1], r[2]) in keep], now)


# ---- moves ------------------------------------------------------------------------------------------

def _order_in_store(session: Session, store_id: str, order_id: str) -> None:
    if session.scalar(select(Order.id).where(Order.id == order_id, Order.store_id == store_id)) is None:
        raise NotFound("Order not found")


def _move(session: Session, move: str, where: Any, now: datetime) -> list[tuple[str, str]]:
    """One conditional UPDATE of the lines `where` selects that may make `move`; -> (order, station)s."""
    leaving, reaching, stamp = MOVES[move]
    values: dict[str, Any] = {"prep_status": reaching}
    if stamp:
        values[stamp] = now
    if move == "recall":
        values["ready_at"] = None
    # The state condition is in the UPDATE itself: a line another barista moved meanwhile is not
    # moved twice (PostgreSQL re-checks it after waiting for the row lock; SQLite writers queue).
    moved = session.execute(update(OrderItem).where(where, OrderItem.prep_status.in_(leaving)).values(**values)
                            .returning(OrderItem.order_id, OrderItem.station)
                            .execution_options(synchronize_session=False)).tuples().all()
    return sorted({(order_id, station) for order_id, station in moved if station})


def _announce(session: Session, store_id: str, pairs: Iterable[tuple[str, str]]) -> None:
    for order_id, station in sorted(set(pairs)):
        events(session).add(Event("ticket", store_id, {"orderId": order_id, "station": station}))


def _nothing_to_move(move: str, states: Sequence[str | None]) -> Conflict:
    leaving = " or ".join(MOVES[move][0])
    now_in = ", ".join(sorted({s for s in states if s})) or "nothing"
    return Conflict(f"Nothing to {move}: {move} moves {leaving} lines, these are {now_in}")


def move_ticket(session: Session, store_id: str, order_id: str, station: str, move: str, *,
                now: datetime) -> dict[str, Any]:
    """start | ready | recall every line of the ticket that may make the move -> {ticket}."""
    if move not in ("start", "ready", "recall"):
        raise NotFound("No such move")
    where = and_(OrderItem.order_id == order_id, OrderItem.station == station)
    moved = _move(session, move, and_(where, _in_store(store_id)), now)
    if not moved:
        states = list(session.scalars(select(OrderItem.prep_status).where(
            where, OrderItem.prep_status.is_not(None), _in_store(store_id))))
        if not states:
            raise NotFound("No such ticket")
        raise _nothing_to_move(move, states)
    _announce(session, store_id, moved)
    return {"ticket": ticket(session, store_id, order_id, station, now=now)}


def move_item(session: Session, store_id: str, item_id: str, move: str, *, now: datetime) -> dict[str, Any]:
    """start | ready one line -> {ticket} (the line's whole ticket)."""
    if move not in ("start", "ready"):
        raise NotFound("No such move")
    line = session.execute(select(OrderItem.order_id, OrderItem.station, OrderItem.prep_status).where(
        OrderItem.id == item_id, _in_store(store_id))).first()
    if line is None:
        raise NotFound("Order item not found")
    if line.prep_status is None or not line.station:
        raise Conflict("This line was not sent to a station")
    if not _move(session, move, and_(OrderItem.id == item_id, _in_store(store_id)), now):
        raise _nothing_to_move(move, [line.prep_status])
    _announce(session, store_id, [(line.order_id, line.station)])
    return {"ticket": ticket(session, store_id, line.order_id, line.station, now=now)}


def collect_order(session: Session, store_id: str, order_id: str, *, now: datetime) -> dict[str, Any]:
    """Every open line of the order is collected (handed over) -> {tickets} (each station's)."""
    _order_in_store(session, store_id, order_id)
    moved = _move(session, "collected", OrderItem.order_id == order_id, now)
    if not moved:
        states = list(session.scalars(select(OrderItem.prep_status).where(
            OrderItem.order_id == order_id, OrderItem.prep_status.is_not(None))))
        if not states:
            raise Conflict("Nothing of this order was sent to a station")
        raise _nothing_to_move("collected", states)
    _announce(session, store_id, moved)
    return {"tickets": tickets_of(session, store_id, moved, now=now)}


def cancel_lines(session: Session, store_id: str, lines: Iterable[OrderItem], *, now: datetime) -> None:
    """Refunds and voids: these lines' open tickets are cancelled (collected ones stay collected).

    One conditional UPDATE (a line a barista collects at the same moment stays collected); the
    loaded lines are told their new state without being marked changed again."""
    by_id = {line.id: line for line in lines}
    if not by_id:
        return
    moved = session.execute(update(OrderItem).where(OrderItem.id.in_(sorted(by_id)),
                                                    OrderItem.prep_status.in_(OPEN_STATUSES))
                            .values(prep_status="cancelled", cancelled_at=now)
                            .returning(OrderItem.id, OrderItem.order_id, OrderItem.station)
                            .execution_options(synchronize_session=False)).tuples().all()
    for line_id, _order_id, _station in moved:
        set_committed_value(by_id[line_id], "prep_status", "cancelled")
        set_committed_value(by_id[line_id], "cancelled_at", now)
    _announce(session, store_id, [(order_id, station) for _id, order_id, station in moved if station])


def _in_store(store_id: str) -> Any:
    """The line belongs to an order of this store (another store's ids are 404s)."""
    return select(Order.id).where(Order.id == OrderItem.order_id, Order.store_id == store_id).exists()
