"""Orders: the sale in one transaction and idempotent submission (history and detail: order_history.py).

`create` writes, in the caller's one transaction: the order
row with its lines, modifiers, tax lines and payments (early, so the
unique (store_id, idempotency_key) and (store_id, client_order_id) decide
duplicates: ON CONFLICT in one statement on PostgreSQL, a SAVEPOINT elsewhere), then the counted-stock
and recipe-stock deductions with their movements, and last the receipt
number + journal entry from the store's counter row.  The ingredient rows
(shared by most sales) and the counter row are the hot locks, held from there
to commit only, which is a few statements away.  Any exception leaves nothing
behind: the unit of work rolls the whole transaction back, which also hands
the receipt number back, so numbers stay gapless.

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

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import TextClause, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.column_types import new_id
from orm.controllers.menu import menu_items
from orm.controllers.menu.catalogue import CatalogueCache
from orm.controllers.orders import journal
from orm.controllers.orders.idempotency import NAME_TAKEN, Identity, earlier_order, is_name_conflict, no_names
from orm.controllers.orders.order_history import load_order, serialize_order
from orm.controllers.orders.stock_deduction import take_stock
from orm.controllers.stores import store_settings as stores_store_settings
from orm.db import Event, events
from orm.domain.checkout import OrderPlan, plan_order
from orm.domain.errors import Conflict, PermissionDenied, ValidationFailed
from orm.domain.principal import Principal
from orm.domain.schemas.orders import OrderCreate
from orm.domain.tab_checkout import TabSale
from orm.models.model_orders import Order, OrderItem, OrderItemModifier, OrderTaxLine, Payment, Shift
from settings import Settings

MAX_OFFLINE_AGE = timedelta(hours=72)
MAX_CLOCK_SKEW = timedelta(minutes=5)
ORDER_NUMBER_PREFIX = "A-"
_ORDERS, _SHIFTS = Order.__table__, Shift.__table__
_ORDER_ITEMS, _ORDER_ITEM_MODIFIERS = OrderItem.__table__, OrderItemModifier.__table__
_ORDER_TAX_LINES, _PAYMENTS = OrderTaxLine.__table__, Payment.__table__
# Statements of every sale, built once.
_OPEN_SHIFT = select(_SHIFTS.c.id).where(_SHIFTS.c.user_id == bindparam("user_id"), _SHIFTS.c.status == "open")
_OPEN_SHIFT_SHARED = _OPEN_SHIFT.with_for_update(read=True)
# A sale's first read, one round trip: is its key already used (a retry), and the cashier's open shift.
_KEY_AND_SHIFT = select(NAME_TAKEN.scalar_subquery().label("taken"),
                        _OPEN_SHIFT_SHARED.scalar_subquery().label("shift_id"))
_INSERT_ORDER = insert(_ORDERS)
_DETAIL_TABLES = (("i_", _ORDER_ITEMS), ("m_", _ORDER_ITEM_MODIFIERS), ("t_", _ORDER_TAX_LINES), ("p_", _PAYMENTS))
_INSERT_DETAILS = [insert(table) for _, table in _DETAIL_TABLES]


def _pg_insert_sale() -> TextClause:
    """PostgreSQL: the order and all its detail rows in ONE statement, or nothing when its key is taken.

    The order goes in with ON CONFLICT on its idempotency names' constraints (a concurrent twin
    waits on them until the first commits, then finds a name taken); the details, one array per
    column, only if it did (foreign keys are checked at the end of the statement). Written as
    text from the tables' columns, so its text is the same whatever the number of lines (and
    compiled once: SQLAlchemy does not cache ON CONFLICT or multi-row VALUES).
    """
    dialect = postgresql.dialect()
    params = [bindparam("o_" + c.key, type_=c.type) for c in _ORDERS.columns]
    parts = [
        f"WITH new_order AS (INSERT INTO orders ({', '.join(c.name for c in _ORDERS.columns)}) "
        f"VALUES ({', '.join(':o_' + c.key for c in _ORDERS.columns)}) "
        "ON CONFLICT DO NOTHING RETURNING id)"]
    for prefix, table in _DETAIL_TABLES:
        arrays = ", ".join(f"CAST(:{prefix}{c.key} AS {c.type.compile(dialect=dialect)}[])" for c in table.columns)
        parts.append(f"new_{table.name} AS (INSERT INTO {table.name} ({', '.join(c.name for c in table.columns)}) "
                     f"SELECT * FROM unnest({arrays}) WHERE EXISTS (SELECT 1 FROM new_order))")
        params += [bindparam(prefix + c.key, type_=postgresql.ARRAY(c.type, dimensions=1)) for c in table.columns]
    return text(",\n".join(parts) + "\nSELECT id FROM new_order").bindparams(*params)


_INSERT_SALE_PG = _pg_insert_sale()
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
    """Insert the order and its lines, modifiers, tax lines and payments (no ORM unit of work);
    False, with nothing written, when the order's idempotency key is already taken."""
    details = (rows.items, rows.modifiers, rows.tax_lines, rows.payments)
    if session.get_bind().dialect.name == "postgresql":
        params = {"o_" + key: value for key, value in rows.order.items()}
        for (prefix, table), values in zip(_DETAIL_TABLES, details, strict=True):
            params.update({prefix + c.key: [row[c.key] for row in values] for c in table.columns})
        return session.execute(_INSERT_SALE_PG, params).first() is not None
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
    for statement, values in zip(_INSERT_DETAILS, details, strict=True):
        if values:
            session.execute(statement, values)
    return True


def create(session: Session, settings: Settings, body: OrderCreate, *, actor: Principal, now: datetime,
           idempotency_key: str | None = None, store_settings: dict[str, Any] | None = None,
           catalogue_cache: CatalogueCache | None = None, tab: TabSale | None = None) -> tuple[dict[str, Any], bool]:
    """Price, pay and record a sale -> (Order resource, created?); created is False for a replay.

    `catalogue_cache`: the process's menu catalogue (see menu_items.catalogue_for_order).
    `tab`: a payment of a tab (tabs.py): its plan is made from the tab's lines at their prices, its
    stock was taken when the tab's lines were sent, and its lines make no new tickets.
    """
    store_id = actor.store_id
    names = Identity.of(idempotency_key, body.clientOrderId)
    fingerprint = (tab.fingerprint if tab else body.fingerprint()) if names else None
    first = session.execute(_KEY_AND_SHIFT, {"store_id": store_id, "user_id": actor.user_id,
                                             **(names.params() if names else no_names())}).one()
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
                                                   store_id, catalogue_cache)
        plan = plan_order(body, catalogue, cfg)
    shift_id = first.shift_id
    if shift_id is None and cfg.get("requireOpenShift"):
        raise Conflict("Open a shift before taking orders", error_code="SHIFT_NOT_OPEN")

    rows = _sale_rows(plan, body, store_id=store_id, actor=actor, shift_id=shift_id, names=names,
                      fingerprint=fingerprint, now=now, sale_at=sale_at, tab=tab)
    if not _insert_sale(session, rows):
        replay = _replay(session, store_id, names, fingerprint) if names else None
        if replay is None:
            raise Conflict("The same order is being submitted right now; retry")
        return replay, False
    order = rows.view
    # Shaped now, before the hot row locks below; only the numbers are filled in under them.
    resource = serialize_order(order)

    # From here to commit, sales queue on the rows of shared ingredients and then on the store's counter
    # row: what follows is a few round trips (stock, counter, journal + numbers on PostgreSQL) and no slow work.
    take_stock(session, store_id=store_id, lines=[] if tab else order.items, user_id=actor.user_id, reference=order.id,
               reason="sale", now=now, allow_negative=bool(cfg.get("allowNegativeStock", True)))
    receipt, seq, head = journal.take_counter(session, store_id, receipt=True)
    order.receipt_number, order.order_number = receipt, order_number(receipt)
    journal.append_entry(session, store_id=store_id, seq=seq, prev_hash=head, entry_type="order",
                         reference_id=order.id, content=journal.order_content(order), now=now,
                         same_trip=(_SET_NUMBERS, {"o_id": order.id, "o_receipt": order.receipt_number,
                                                   "o_number": order.order_number}))
    resource["receiptNumber"], resource["orderNumber"] = order.receipt_number, order.order_number
    # The sale goes out before the stock alerts it raised (take_stock above); a replay raises nothing.
    events(session).add(Event("order", store_id, {"orderId": order.id, "orderNumber": order.order_number,
                                                  "total": resource["total"]}), first=True)
    # One "ticket" event per (order, station) that got ticket lines (prep queue sockets, pickup board).
    for station in sorted({line.station for line in plan.lines if line.station and not tab}):
        events(session).add(Event("ticket", store_id, {"orderId": order.id, "station": station}))
    return resource, True


