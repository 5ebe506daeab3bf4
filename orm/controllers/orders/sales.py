"""Orders: the sale in one transaction and idempotent submission (history and detail: order_history.py).

`create` first reads, in one round trip, whether the sale's idempotency names are taken (a
retry), the cashier's open shift and the menu state its cached catalogue is keyed on; then
prices the sale and shapes every row in Python. Then, on PostgreSQL, ONE statement
(sale_statement.py) writes it: counted stock, recipe stock + movements, the store's counter
row (receipt number, journal seq and head), the numbered order with its lines, modifiers, tax
lines and payments (ON CONFLICT on the idempotency names), and the journal entry whose hash is
computed in SQL; COMMIT follows, so the hot row locks (shared ingredients, the counter) are held
for one statement. Elsewhere (SQLite: the writer holds the whole database) the same writes run a
statement each: order (a SAVEPOINT decides duplicates), stock, counter, journal + numbers.  Any
exception leaves nothing behind: the unit of work rolls the whole transaction back, which also
hands the receipt number back, so numbers stay gapless.

Every sale runs the same statements, so they are built once (module level)
and written as Core statements, not ORM units of work: the sale is shaped as
plain rows, and serialized from a read-only view of those rows.

IDEMPOTENCY: the Idempotency-Key header and the body's clientOrderId are one identity
(order_identity.py): a replay carrying either name finds the earlier order.

orderNumber is "A-" + the receipt number zero-padded to 6 digits ("A-000123"):
short enough to call out at the counter, unique per store, assigned on arrival
(a late offline order gets the next number, while its sale time is its
clientCreatedAt).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.column_types import new_id
from orm.controllers.inventory import stock
from orm.controllers.menu import catalogue as menu_catalogue
from orm.controllers.menu import counted_stock, menu_items
from orm.controllers.menu.catalogue import CatalogueCache, MenuState
from orm.controllers.orders import journal, sale_statement
from orm.controllers.orders.idempotency import NAME_TAKEN, Identity, earlier_order, is_name_conflict, no_names
from orm.controllers.orders.order_history import load_order, serialize_order
from orm.controllers.orders.stock_deduction import sale_quantities, take_stock
from orm.controllers.stores import store_settings as stores_store_settings
from orm.db import Event, RetryUnit, committed, events
from orm.domain.checkout import OrderPlan, plan_order
from orm.domain.errors import Conflict, PermissionDenied, ValidationFailed
from orm.domain.principal import Principal
from orm.domain.schemas.orders import OrderCreate
from orm.domain.tab_checkout import TabSale
from orm.models.model_orders import Order, Shift, StoreCounter
from settings import Settings

MAX_OFFLINE_AGE = timedelta(hours=72)
MAX_CLOCK_SKEW = timedelta(minutes=5)
ORDER_NUMBER_PREFIX = "A-"
_ORDERS, _SHIFTS, _COUNTERS = Order.__table__, Shift.__table__, StoreCounter.__table__
# Statements of every sale, built once.
_OPEN_SHIFT = select(_SHIFTS.c.id).where(_SHIFTS.c.user_id == bindparam("user_id"), _SHIFTS.c.status == "open")
_OPEN_SHIFT_SHARED = _OPEN_SHIFT.with_for_update(read=True)
# A sale's first read, one round trip: is its key already used (a retry), the cashier's open shift, and
# has the store its counter row yet.
_FIRST_COLUMNS = (NAME_TAKEN.scalar_subquery().label("taken"), _OPEN_SHIFT_SHARED.scalar_subquery().label("shift_id"),
                  select(_COUNTERS.c.store_id).where(_COUNTERS.c.store_id == bindparam("store_id"))
                  .scalar_subquery().label("counter"))
_FIRST_READ = select(*_FIRST_COLUMNS)
# ...and the menu state too (catalogue cache key and counted stock), one row per counted item.
_FIRST_READ_WITH_MENU = menu_catalogue.state_query().add_columns(*_FIRST_COLUMNS)
_INSERT_ORDER = insert(_ORDERS)
_INSERT_DETAILS = [insert(table) for _, table in sale_statement.DETAIL_TABLES]
_SET_NUMBERS = (update(_ORDERS).where(_ORDERS.c.id == bindparam("o_id"))
                .values(receipt_number=bindparam("o_receipt"), order_number=bindparam("o_number")))


def order_number(receipt_number: int) -> str:
    return f"{ORDER_NUMBER_PREFIX}{receipt_number:06d}"


def open_shift_id(session: Session, user_id: str, *, share_lock: bool = True) -> str | None:
    """The user's open shift; a share lock keeps it from closing under a sale that is being written."""
    return session.scalar(_OPEN_SHIFT_SHARED if share_lock else _OPEN_SHIFT, {"user_id": user_id})


def _check_permissions(body: OrderCreate, actor: Principal) -> None:
    if body.effective_discount() is not None and not actor.has("sales.apply_discount"):
        raise PermissionDenied("Missing permission: sales.apply_discount")
    if any(line.priceOverride is not None for line in body.items) and not actor.has("sales.override_price"):
        raise PermissionDenied("Missing permission: sales.override_price")


def _sale_time(body: OrderCreate, now: datetime) -> datetime:
    sent = body.clientCreatedAt
    if sent is None:
        return now
    sent = sent.astimezone(UTC)
    if sent > now + MAX_CLOCK_SKEW:
        raise ValidationFailed("clientCreatedAt is in the future",
                               field_errors={"clientCreatedAt": "must not be in the future"})
    if sent < now - MAX_OFFLINE_AGE:
        raise ValidationFailed("clientCreatedAt is more than 72 hours old",
                               field_errors={"clientCreatedAt": "must be at most 72 hours old"})
    return sent


def _replay(session: Session, store_id: str, names: Identity, fingerprint: str | None, *,
            probe: bool = True) -> dict[str, Any] | None:
    order_id = earlier_order(session, store_id, names, fingerprint, probe=probe)
    return None if order_id is None else serialize_order(load_order(session, order_id))


@dataclass
class _SaleRows:
    """The rows a sale inserts, and a read-only view of the same sale with the attributes of an Order
    and its children (for serialize_order, journal.order_content and take_stock; cheaper than ORM objects)."""

    order: dict[str, Any]
    items: list[dict[str, Any]]
    modifiers: list[dict[str, Any]]
    tax_lines: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    view: Any

    def details(self) -> tuple[list[dict[str, Any]], ...]:
        """The detail rows in the order of sale_statement.DETAIL_TABLES."""
        return self.items, self.modifiers, self.tax_lines, self.payments


def _sale_rows(plan: OrderPlan, body: OrderCreate, *, store_id: str, actor: Principal, shift_id: str | None,
               names: Identity | None, fingerprint: str | None, now: datetime, sale_at: datetime,
               tab: TabSale | None = None) -> _SaleRows:
    p = plan.priced
    order_id = new_id()
    order = dict(
        id=order_id, store_id=store_id, terminal_id=body.terminalId, order_type=body.orderType,
        status="completed", tax_mode=plan.tax_mode, subtotal=p.subtotal, discount_amount=p.discount_amount,
        discount_reason=plan.discount_reason, tax_amount=p.tax_amount, tip_amount=p.tip_amount,
        rounding_adjustment=p.rounding_adjustment, total=p.total, refunded_amount=Decimal("0.00"),
        payment_method=plan.payment_method, amount_paid=plan.amount_paid, change_given=plan.change_given,
        customer_name=body.customerName or None, order_notes=body.orderNotes or None,
        idempotency_key=names.key if names else None, client_order_id=names.client if names else None,
        request_hash=fingerprint, created_at=now, sale_at=sale_at, client_created_at=body.clientCreatedAt,
        created_by=actor.user_id, created_by_name=actor.display_name or actor.username, shift_id=shift_id,
        reprint_count=0, receipt_number=None, order_number=None, last_reprint=None, voided_at=None, voided_by=None,
        void_reason=None, tab_id=tab.tab_id if tab else None, tab_name=None, split_ways=None, split_paid=0,
        closed_at=None,
    )
    items: list[dict[str, Any]] = []
    modifiers: list[dict[str, Any]] = []
    for n, line in enumerate(plan.lines, start=1):
        item_id = new_id()
        items.append(dict(
            id=item_id, order_id=order_id, line_no=n, menu_item_id=line.menu_item_id,
            product_name=line.product_name, size=line.size, category=line.category, quantity=line.quantity,
            unit_price=line.unit_price, line_total=line.line_total, discount_share=line.discount_share,
            tax_rate=line.tax_rate, paid_total=line.paid_total, rounding_share=line.rounding_share,
            refunded_amount=Decimal("0.00"),
            recipe=[[inv_id, str(qty)] for inv_id, qty in line.recipe], counted=line.counted,
            price_overridden=line.price_overridden, notes=line.notes, refunded_quantity=0,
            # A counter sale sends its stationed lines to their stations at once (the preparation queue).
            station=line.station, prep_status="queued" if line.station and not tab else None,
            sent_at=now if line.station and not tab else None, started_at=None, ready_at=None, collected_at=None,
            cancelled_at=None, stock_taken=True, paid_quantity=0, added_by=None,
            # A tab's child line pays a tab line, which holds the ticket and took the stock (tabs.py).
            tab_line_id=tab.tab_line_ids[n - 1] if tab else None))
        modifiers.extend(dict(id=new_id(), order_item_id=item_id, modifier_id=m.id, name=m.name,
                              price_delta=m.price_delta) for m in line.modifiers)
    tax_lines = [dict(order_id=order_id, rate=g.rate, base=g.base, tax=g.tax) for g in p.tax_breakdown]
    payments = [dict(id=new_id(), order_id=order_id, seq=seq, method=pay.method, amount=pay.amount,
                     tendered=pay.tendered, change=pay.change, reference=pay.reference)
                for seq, pay in enumerate(plan.payments, start=1)]
    view = SimpleNamespace(
        **order, items=[SimpleNamespace(**it, modifiers=[SimpleNamespace(**m) for m in modifiers
                                                         if m["order_item_id"] == it["id"]]) for it in items],
        tax_lines=[SimpleNamespace(**t) for t in tax_lines], payments=[SimpleNamespace(**pay) for pay in payments])
    return _SaleRows(order, items, modifiers, tax_lines, payments, view)


def _insert_sale(session: Session, rows: _SaleRows) -> bool:
    """Insert the order and its lines, modifiers, tax lines and payments (not PostgreSQL: there the
    sale's one statement does); False, with nothing written, when the order's idempotency key is taken."""
    if rows.order["idempotency_key"] is None:
        session.execute(_INSERT_ORDER, rows.order)
    else:
        try:
            with session.begin_nested():
                session.execute(_INSERT_ORDER, rows.order)
        except IntegrityError as exc:
            if not is_name_conflict(exc):
                raise
            return False
    for statement, values in zip(_INSERT_DETAILS, rows.details(), strict=True):
        if values:
            session.execute(statement, values)
    return True


def _first_read(session: Session, store_id: str, user_id: str, names: Identity | None, *,
                with_menu: bool) -> tuple[Any, MenuState | None]:
    """A sale's first round trip: is its key already used (a retry), the cashier's open shift, does
    the store have its counter row, and (`with_menu`) the menu state the catalogue cache is keyed on."""
    params = {"store_id": store_id, "user_id": user_id, **(names.params() if names else no_names())}
    if with_menu:
        rows = session.execute(_FIRST_READ_WITH_MENU, params).all()
        if rows:
            return rows[0], menu_catalogue.state_of(rows)
    return session.execute(_FIRST_READ, params).one(), None


@dataclass
class WholeUnit:
    """Given to `create` when the sale is all its unit of work writes (POST /orders): on PostgreSQL its
    write statement then goes out with the COMMIT (sale_statement.write_sale commit=True), so the hot rows
    are locked for that statement alone.  Kept across the unit's attempts: an attempt whose statement was
    refused turns it `off`, and the next attempt writes the step-by-step way, which says why (SOLD_OUT,
    not enough stock) or finds the twin that committed first."""

    off: bool = False


def create(session: Session, settings: Settings, body: OrderCreate, *, actor: Principal, now: datetime,
           idempotency_key: str | None = None, store_settings: dict[str, Any] | None = None,
           catalogue_cache: CatalogueCache | None = None, tab: TabSale | None = None,
           whole_unit: WholeUnit | None = None) -> tuple[dict[str, Any], bool]:
    """Price, pay and record a sale -> (Order resource, created?); created is False for a replay.

    `catalogue_cache`: the process's menu catalogue (see menu_items.catalogue_for_order).
    On PostgreSQL a new sale is BEGIN, one read, one write (sale_statement.py) and COMMIT.
    `tab`: a payment of a tab (tabs.py): its plan is made from the tab's lines at their prices, its
    stock was taken when the tab's lines were sent, and its lines make no new tickets.
    `whole_unit`: nothing else in this unit of work writes (see WholeUnit).
    """
    store_id = actor.store_id
    names = Identity.of(idempotency_key, body.clientOrderId)
    fingerprint = (tab.fingerprint if tab else body.fingerprint()) if names else None
    first, menu_state = _first_read(session, store_id, actor.user_id, names,
                                    with_menu=catalogue_cache is not None and tab is None)
    if names and first.taken is not None:
        # Fast path for a retry of a committed sale; the unique constraints below are the real guard.
        replay = _replay(session, store_id, names, fingerprint, probe=False)
        if replay is not None:
            return replay, False
    _check_permissions(body, actor)
    sale_at = _sale_time(body, now)
    cfg = store_settings or stores_store_settings.current(session, settings, store_id)
    if tab is not None:
        plan = tab.plan
    else:
        catalogue = menu_items.catalogue_for_order(session, settings, sorted({i.item_id for i in body.items}),
                                                   store_id, catalogue_cache, menu_state)
        plan = plan_order(body, catalogue, cfg)
    shift_id = first.shift_id
    if shift_id is None and cfg.get("requireOpenShift"):
        raise Conflict("Open a shift before taking orders", error_code="SHIFT_NOT_OPEN")

    rows = _sale_rows(plan, body, store_id=store_id, actor=actor, shift_id=shift_id, names=names,
                      fingerprint=fingerprint, now=now, sale_at=sale_at, tab=tab)
    allow_negative = bool(cfg.get("allowNegativeStock", True))
    # One ticket per station with lines; a tab's payment makes none: its lines were sent (or are sent
    # now by tabs.py) as the tab's own tickets.
    stations = [] if tab is not None else sorted({line.station for line in plan.lines if line.station})
    notices = None
    if session.get_bind().dialect.name == "postgresql":
        resource, notices = _write_sale_pg(session, rows, has_counter=first.counter is not None,
                                           user_id=actor.user_id, now=now, allow_negative=allow_negative,
                                           stations=stations, takes_stock=tab is None,
                                           whole_unit=whole_unit if tab is None else None)
    else:
        if not _insert_sale(session, rows):
            replay = _replay(session, store_id, names, fingerprint) if names else None
            if replay is None:
                raise Conflict("The same order is being submitted right now; retry")
            return replay, False
        resource = _write_sale_one_by_one(session, rows, user_id=actor.user_id, now=now,
                                          allow_negative=allow_negative, takes_stock=tab is None)
    _raise_sale_events(session, store_id, resource, stations, notices)
    return resource, True


_NUMBER_MARK = "~order-number~"


def _order_event(store_id: str, resource: dict[str, Any], number: str) -> Event:
    return Event("order", store_id, {"orderId": resource["id"], "orderNumber": number, "total": resource["total"]})


def _ticket_events(store_id: str, resource: dict[str, Any], stations: list[str]) -> list[Event]:
    """One "ticket" event per (order, station) that got ticket lines (prep queue sockets, pickup board)."""
    return [Event("ticket", store_id, {"orderId": resource["id"], "station": station}) for station in stations]


_LEVELS_CHANGED = Event("stock_levels_changed", None)  # counted goods sold: cached menu answers go


def _sale_notices(session: Session, store_id: str, resource: dict[str, Any], stations: list[str],
                  sells_counted: bool) -> sale_statement.Notices | None:
    """The sale's events encoded for its write statement to NOTIFY (PostgreSQL event bus), else None:
    the order, its tickets, and (`sells_counted`) stock_levels_changed last."""
    collected = events(session)
    notifier = collected.notifier
    if notifier is None:
        return None
    payload = collected.encode(_order_event(store_id, resource, _NUMBER_MARK))
    tail = [collected.encode(t) for t in _ticket_events(store_id, resource, stations)]
    if sells_counted:
        tail.append(collected.encode(_LEVELS_CHANGED))
    mark = json.dumps(_NUMBER_MARK)
    if payload is None or payload.count(mark) != 1 or any(p is None for p in tail):
        return None  # cut down or not encodable: the unit of work sends (or logs) them before COMMIT
    before, _, after = payload.partition(mark)
    return sale_statement.Notices(notifier.channel, before, after, [p for p in tail if p is not None])


def _raise_sale_events(session: Session, store_id: str, resource: dict[str, Any], stations: list[str],
                       notices: sale_statement.Notices | None) -> None:
    """The sale goes out before the stock alerts it raised; a replay raises nothing.  With `notices`
    the write statement has NOTIFYed these very payloads already."""
    number = resource["orderNumber"]
    order = _order_event(store_id, resource, number)
    collected = events(session)
    collected.add(replace(order, sent=notices.order_payload(number)) if notices else order, first=True)
    for index, ticket in enumerate(_ticket_events(store_id, resource, stations)):
        collected.add(replace(ticket, sent=notices.tail[index]) if notices else ticket)


def _write_sale_pg(session: Session, rows: _SaleRows, *, has_counter: bool, user_id: str, now: datetime,
                   allow_negative: bool, stations: list[str], takes_stock: bool = True,
                   whole_unit: WholeUnit | None = None) -> tuple[dict[str, Any], sale_statement.Notices | None]:
    """PostgreSQL: everything is worked out first; then one statement writes the sale, takes the hot locks
    and NOTIFYs the sale's events (-> the resource, the events' payloads it sent).  With `whole_unit`
    (and events it can NOTIFY itself) COMMIT goes with that statement; the unit is then committed, and
    only the alerts of stock levels it crossed (rare) are written after it, in a transaction of their own."""
    order = rows.view
    store_id = order.store_id
    resource = serialize_order(order)  # shaped before the locks; only the numbers are filled in after
    counted, ingredients = sale_quantities(order.items if takes_stock else [])
    notices = _sale_notices(session, store_id, resource, stations, bool(counted))
    content = journal.order_content(order)
    if not has_counter:
        journal.ensure_counter(session, store_id)  # the store's first sale ever
    commit = (whole_unit is not None and not whole_unit.off and sale_statement.pipeline_supported()
              and (notices is not None or events(session).notifier is None))
    try:
        written = sale_statement.write_sale(
            session, order=rows.order, details=rows.details(), content=content, counted=counted,
            ingredients=ingredients, user_id=user_id, now=now, allow_negative=allow_negative,
            order_prefix=ORDER_NUMBER_PREFIX, notices=notices, commit=commit)
    except sale_statement.SaleRefused as exc:
        assert whole_unit is not None
        whole_unit.off = True
        raise RetryUnit(f"the sale's all-or-nothing statement was refused ({exc}); written step by step") from None
    if commit:
        committed(session)  # whatever fails from here on, the sale stands: the unit must not run again
    # Each failure below leaves the statement's writes to the unit of work's rollback.
    if written.counted_count < len(counted):
        counted_stock.refuse_counted(session, counted)
    if counted:  # menu answers cached by every process show the new counts (NOTIFYed by the statement)
        events(session).add(replace(_LEVELS_CHANGED, sent=notices.tail[-1]) if notices else _LEVELS_CHANGED)
    if written.changed_count < len(ingredients):
        done = {row.item_id for row in written.changed}
        item_id, delta = next((i, d) for i, d in ingredients if i not in done)
        stock.refuse(session, store_id, item_id, delta)
    if written.receipt_number is None or written.order_number is None:
        raise RetryUnit("the store's counter row was not there yet")
    if not written.inserted:
        # A twin with the same idempotency name committed first: roll back and run again (it replays).
        raise RetryUnit("a concurrent twin of this sale committed first",
                        Conflict("The same order is being submitted right now; retry"))
    stock.after_one_statement_sale(session, written.changed, store_id=store_id, user_id=user_id,
                                   reference=order.id, now=now)
    resource["receiptNumber"], resource["orderNumber"] = written.receipt_number, written.order_number
    return resource, notices


def _write_sale_one_by_one(session: Session, rows: _SaleRows, *, user_id: str, now: datetime,
                           allow_negative: bool, takes_stock: bool = True) -> dict[str, Any]:
    """SQLite (one writer holds the whole database from BEGIN IMMEDIATE): the same writes, a statement each."""
    order = rows.view
    store_id = order.store_id
    resource = serialize_order(order)
    take_stock(session, store_id=store_id, lines=order.items if takes_stock else [], user_id=user_id,
               reference=order.id,
               reason="sale", now=now, allow_negative=allow_negative)
    receipt, seq, head = journal.take_counter(session, store_id, receipt=True)
    order.receipt_number, order.order_number = receipt, order_number(receipt)
    journal.append_entry(session, store_id=store_id, seq=seq, prev_hash=head, entry_type="order",
                         reference_id=order.id, content=journal.order_content(order), now=now,
                         same_trip=(_SET_NUMBERS, {"o_id": order.id, "o_receipt": order.receipt_number,
                                                   "o_number": order.order_number}))
    resource["receiptNumber"], resource["orderNumber"] = order.receipt_number, order.order_number
    return resource
