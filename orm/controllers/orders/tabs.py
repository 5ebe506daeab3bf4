"""Tabs: a table or a regular runs up lines, sends them to the stations, and pays in the end.

A tab is an orders row with `tab_name` set, status open (then closed or voided), no receipt number
and no shift: it is never a sale, so no report, shift, journal or order history counts it (they
skip `tab_name IS NOT NULL`).  Its `order_number` is "T-<n>", n counting the store's tabs (taken
under a lock on the store row, so no receipt number is used up).

Lines are priced when they are added (the pricing engine, at today's menu) and kept at that price.
Stock is taken once per line, when it is sent (to its station; a line with no station is "sent"
too: its stock is taken and `sent_at` set) or, for lines paid before they were sent, when they are
paid (they are sent then).  `stock_taken` records it; removing a sent line or voiding the tab puts
it back.

Each payment is a completed child order (sales.create with a TabSale: its own receipt number,
journal entry, receipt, shift; `tab_id` names the tab, each line's `tab_line_id` the tab line).
Units paid are counted on the tab lines (`paid_quantity`) by a conditional UPDATE, and an n-way
split by `split_ways`/`split_paid` the same way, after the tab row is locked: two terminals paying
the same units get one 201 and one 409.  The tab closes when nothing is left.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from orm.column_types import new_id
from orm.controllers.identity.changes import record_change
from orm.controllers.menu import menu_items
from orm.controllers.menu.catalogue import CatalogueCache
from orm.controllers.orders import sales, tab_alerts
from orm.controllers.orders.idempotency import Identity, earlier_order
from orm.controllers.orders.order_history import load_order, serialize_order
from orm.controllers.orders.stock_deduction import put_back_stock, take_stock
from orm.controllers.paging import Page, listing
from orm.controllers.stores import store_settings as stores_store_settings
from orm.db import Event, events, rows_changed
from orm.domain.checkout import PlannedModifier, plan_order
from orm.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orm.domain.money import to_cents
from orm.domain.pricing import MAX_LINES
from orm.domain.principal import Principal
from orm.domain.schemas.orders import OrderCreate, PaymentIn
from orm.domain.schemas.tabs import TabCreate, TabItemsAdd, TabPay, TabVoid
from orm.domain.tab_checkout import TabLine, TabSale, plan_share, plan_units
from orm.domain.tab_split import LineMoney, OpenLine, line_money, price_open_lines, share_parts, split_equal
from orm.models.model_orders import Order, OrderItem, OrderItemModifier
from orm.models.model_store import Store
from settings import Settings

TAB_NUMBER_PREFIX = "T-"
OPEN_TICKET = ("queued", "in_progress", "ready")
ZERO = Decimal("0.00")
MAX_TAB_LINES = MAX_LINES  # what is left is priced as one order


# ---- loading and the resource ---------------------------------------------------------------


def _load_tab(session: Session, store_id: str, tab_id: str, *, lock: bool = False) -> Order:
    query = select(Order).where(Order.id == tab_id, Order.store_id == store_id, Order.tab_name.is_not(None))
    if lock:
        query = query.with_for_update(of=Order)
    tab = session.scalar(query.options(selectinload(Order.items).selectinload(OrderItem.modifiers)))
    if tab is None:
        raise NotFound("Tab not found")
    return tab


def _live(tab: Order) -> list[OrderItem]:
    """The tab's lines that still count (not removed), in the order they were added."""
    return sorted((it for it in tab.items if it.cancelled_at is None), key=lambda it: it.line_no)


def _open_lines(tab: Order) -> list[OpenLine]:
    return [OpenLine(key=it.id, unit_price=it.unit_price, units=it.quantity - it.paid_quantity, tax_rate=it.tax_rate)
            for it in _live(tab)]


def _tax_mode(tab: Order) -> Any:
    return "inclusive" if tab.tax_mode == "inclusive" else "exclusive"


def _money_left(tab: Order) -> list[LineMoney]:
    priced = price_open_lines(_open_lines(tab), _tax_mode(tab))
    return line_money(priced) if priced else []


def _children(session: Session, tab_id: str) -> list[Order]:
    return list(session.scalars(select(Order).where(Order.tab_id == tab_id)
                                .order_by(Order.created_at, Order.receipt_number)))


# The columns the Tab resource is made of, in the order _resource unpacks them: read from ORM objects
# (_serialize: one tab being changed or shown) or selected as plain rows (list_tabs: many at once).
_HEAD = (Order.id, Order.order_number, Order.tab_name, Order.store_id, Order.order_type, Order.status,
         Order.tax_mode, Order.customer_name, Order.split_ways, Order.split_paid, Order.created_at,
         Order.created_by, Order.created_by_name, Order.closed_at)
_LINE = (OrderItem.id, OrderItem.menu_item_id, OrderItem.product_name, OrderItem.size, OrderItem.category,
         OrderItem.quantity, OrderItem.unit_price, OrderItem.line_total, OrderItem.tax_rate, OrderItem.notes,
         OrderItem.station, OrderItem.prep_status, OrderItem.sent_at, OrderItem.paid_quantity, OrderItem.added_by)
_PAYMENT = (Order.id, Order.receipt_number, Order.order_number, Order.total, Order.tip_amount, Order.status,
            Order.created_at)
# selectinload's batch size: an IN list never grows past SQLite's or PostgreSQL's parameter limits.
_IN_CHUNK = 500

Modifiers = list[dict[str, Any]]


def _values(obj: Any, columns: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(getattr(obj, column.key) for column in columns)


def _serialize(tab: Order, children: list[Order], now: datetime) -> dict[str, Any]:
    """The Tab resource of a loaded tab (its items and their modifiers) and its child orders."""
    lines = [(_values(it, _LINE), [{"id": m.modifier_id, "name": m.name, "priceDelta": m.price_delta}
                                   for m in it.modifiers])
             for it in _live(tab)]
    return _resource(_values(tab, _HEAD), lines, [_values(c, _PAYMENT) for c in children], now)


def _resource(head: Sequence[Any], lines: Sequence[tuple[Sequence[Any], Modifiers]],
              children: Sequence[Sequence[Any]], now: datetime) -> dict[str, Any]:
    """The Tab resource: the Order shape plus name, running totals, the split and the payments.

    `head` holds the _HEAD columns of the tab, `lines` the _LINE columns of each live line (in line
    order) with its modifiers, `children` the _PAYMENT columns of each child order (oldest first)."""
    (tab_id, order_number, name, store_id, order_type, status, tax_mode, customer_name, split_ways, split_paid,
     created_at, created_by, created_by_name, closed_at) = head
    items = []
    open_lines = []
    for (line_id, menu_item_id, product_name, size, category, quantity, unit_price, line_total, tax_rate, notes,
         station, prep_status, sent_at, paid_quantity, added_by), modifiers in lines:
        items.append(
            {"id": line_id, "menuItemId": menu_item_id, "productName": product_name, "size": size or None,
             "category": category, "quantity": quantity, "unitPrice": unit_price, "modifiers": modifiers,
             "lineTotal": line_total, "taxRate": tax_rate, "notes": notes, "station": station,
             "prepStatus": prep_status, "sent": sent_at is not None, "sentAt": sent_at,
             "paidQuantity": paid_quantity, "addedBy": added_by})
        open_lines.append(OpenLine(key=line_id, unit_price=unit_price, units=quantity - paid_quantity,
                                   tax_rate=tax_rate))
    # The running totals: what is left, priced once by the domain's rule (tab_split / pricing).
    priced = price_open_lines(open_lines, "inclusive" if tax_mode == "inclusive" else "exclusive")
    total = priced.total if priced else ZERO
    remaining = total
    split = None
    if split_ways:
        shares = split_equal(to_cents(total), split_ways)
        paid_shares = sum(shares[:split_paid])
        remaining = total - Decimal(paid_shares) / 100
        nxt = Decimal(shares[split_paid]) / 100 if split_paid < split_ways else None
        split = {"ways": split_ways, "paid": split_paid, "nextShare": nxt}
    paid_amount = sum((c_total - c_tip for _id, _no, _num, c_total, c_tip, c_status, _at in children
                       if c_status != "voided"), ZERO)
    return {
        "id": tab_id,
        "orderNumber": order_number,
        "receiptNumber": None,
        "tabId": None,
        "name": name,
        "storeId": store_id,
        "orderType": order_type,
        "status": status,
        "taxMode": tax_mode,
        "customerName": customer_name,
        "items": items,
        "subtotal": priced.subtotal if priced else ZERO,
        "taxAmount": priced.tax_amount if priced else ZERO,
        "taxBreakdown": [g.to_dict() for g in priced.tax_breakdown] if priced else [],
        "total": total,
        "paidAmount": paid_amount,
        "remaining": remaining,
        "split": split,
        "payments": [{"orderId": c_id, "receiptNumber": c_receipt, "orderNumber": c_number, "total": c_total,
                      "tipAmount": c_tip, "status": c_status, "createdAt": c_at}
                     for c_id, c_receipt, c_number, c_total, c_tip, c_status, c_at in children],
        "createdAt": created_at,
        "createdBy": created_by,
        "createdByName": created_by_name,
        "closedAt": closed_at,
        "ageMinutes": max(0, int((now - created_at).total_seconds() // 60)),
    }


def get(session: Session, store_id: str, tab_id: str, *, now: datetime) -> dict[str, Any]:
    tab = _load_tab(session, store_id, tab_id)
    return _serialize(tab, _children(session, tab.id), now)


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i:i + _IN_CHUNK] for i in range(0, len(ids), _IN_CHUNK)]


def list_tabs(session: Session, page: Page, *, store_id: str, status: str, now: datetime) -> dict[str, Any]:
    """A page of the store's tabs in `status`, oldest first, each the resource GET /tabs/{id} answers.

    Plain column rows, no ORM objects, in five statements whatever the page holds: the count, the
    tabs, their live lines, those lines' modifiers, and the child orders (payments)."""
    conn = session.connection()
    where = (Order.store_id == store_id, Order.tab_name.is_not(None), Order.status == status)
    total = conn.execute(select(func.count()).select_from(Order).where(*where)).scalar() or 0
    query = select(*_HEAD).where(*where).order_by(Order.created_at, Order.id)
    if not page.everything:
        query = query.limit(page.per_page).offset(page.offset)
    # .all(): one fetch of every row (iterating a result fetches them one at a time)
    heads = conn.execute(query).all()
    if not heads:
        return listing("tabs", [], total, page)
    tab_ids = [head[0] for head in heads]
    lines: dict[str, list[tuple[Sequence[Any], Modifiers]]] = {tab_id: [] for tab_id in tab_ids}
    modifiers: dict[str, Modifiers] = {}
    for tab_id, *line in conn.execute(
            select(OrderItem.order_id, *_LINE)
            .where(OrderItem.order_id.in_(tab_ids), OrderItem.cancelled_at.is_(None))
            .order_by(OrderItem.order_id, OrderItem.line_no)).all():
        lines[tab_id].append((line, modifiers.setdefault(line[0], [])))
    # The same statement as selectinload's for Order.items' modifiers (no ORDER BY: a line's modifiers
    # come in the order the database keeps them, as for GET /tabs/{id}).
    for chunk in _chunks(list(modifiers)):
        for line_id, modifier_id, modifier_name, price_delta in conn.execute(
                select(OrderItemModifier.order_item_id, OrderItemModifier.modifier_id, OrderItemModifier.name,
                       OrderItemModifier.price_delta).where(OrderItemModifier.order_item_id.in_(chunk))).all():
            modifiers[line_id].append({"id": modifier_id, "name": modifier_name, "priceDelta": price_delta})
    children: dict[str, list[Sequence[Any]]] = defaultdict(list)
    for tab_id, *child in conn.execute(select(Order.tab_id, *_PAYMENT).where(Order.tab_id.in_(tab_ids))
                                       .order_by(Order.created_at, Order.receipt_number)).all():
        children[tab_id].append(child)
    return listing("tabs", [_resource(head, lines[head[0]], children[head[0]], now) for head in heads],
                   total, page)


# ---- opening, adding, sending, removing -------------------------------------------------------


def open_tab(session: Session, settings: Settings, body: TabCreate, *, actor: Principal,
             now: datetime) -> dict[str, Any]:
    store_id = actor.store_id
    cfg = stores_store_settings.current(session, settings, store_id)
    # The store row is the lock that keeps two tabs from getting the same number (tabs open rarely).
    # FOR NO KEY UPDATE: sales, whose order rows only KEY SHARE the store row, do not wait for it.
    session.scalar(select(Store.id).where(Store.id == store_id).with_for_update(key_share=True))
    count = session.scalar(select(func.count()).select_from(Order)
                           .where(Order.store_id == store_id, Order.tab_name.is_not(None))) or 0
    tab = Order(
        id=new_id(), store_id=store_id, order_number=f"{TAB_NUMBER_PREFIX}{count + 1}", receipt_number=None,
        order_type=body.orderType, status="open", tax_mode="inclusive" if cfg.get("taxMode") == "inclusive"
        else "exclusive", subtotal=ZERO, discount_amount=ZERO, tax_amount=ZERO, tip_amount=ZERO,
        rounding_adjustment=ZERO, total=ZERO, refunded_amount=ZERO, payment_method="tab", amount_paid=ZERO,
        change_given=ZERO, customer_name=body.customerName or None, created_at=now, sale_at=now,
        created_by=actor.user_id, created_by_name=actor.display_name or actor.username, shift_id=None,
        reprint_count=0, tab_name=body.name, split_ways=None, split_paid=0)
    session.add(tab)
    session.flush()
    return _serialize(tab, [], now)


def _refuse_during_split(tab: Order, what: str) -> None:
    if tab.split_ways:
        raise Conflict(f"A split into {tab.split_ways} is under way ({tab.split_paid} paid): "
                       f"pay the remaining shares before you {what}")


def _require_open(tab: Order) -> None:
    if tab.status != "open":
        raise Conflict(f"The tab is {tab.status}")


def _ticket_events(session: Session, tab: Order, stations: set[str | None]) -> None:
    for station in sorted(s for s in stations if s):
        events(session).add(Event("ticket", tab.store_id, {"orderId": tab.id, "station": station}))


def _send(session: Session, tab: Order, lines: list[OrderItem], *, actor: Principal, now: datetime,
          allow_negative: bool) -> None:
    """Send unsent lines: take their stock (once), queue the stationed ones as tickets."""
    unsent = [it for it in lines if it.sent_at is None and it.cancelled_at is None]
    if not unsent:
        return
    take_stock(session, store_id=tab.store_id, lines=[it for it in unsent if not it.stock_taken],
               user_id=actor.user_id, reference=tab.id, reason="tab", now=now, allow_negative=allow_negative)
    for it in unsent:
        it.stock_taken = True
        it.sent_at = now
        if it.station:
            it.prep_status = "queued"
    session.flush()
    _ticket_events(session, tab, {it.station for it in unsent})


def add_items(session: Session, settings: Settings, tab_id: str, body: TabItemsAdd, *, actor: Principal,
              now: datetime, store_settings: dict[str, Any] | None = None,
              catalogue_cache: CatalogueCache | None = None) -> dict[str, Any]:
    if any(line.priceOverride is not None for line in body.items) and not actor.has("sales.override_price"):
        raise PermissionDenied("Missing permission: sales.override_price")
    tab = _load_tab(session, actor.store_id, tab_id, lock=True)
    _require_open(tab)
    _refuse_during_split(tab, "add lines")
    cfg = store_settings or stores_store_settings.current(session, settings, tab.store_id)
    catalogue = menu_items.catalogue_for_order(session, settings, sorted({i.item_id for i in body.items}),
                                               tab.store_id, catalogue_cache)
    # Priced now, by the same engine as a counter sale (a card "payment" of the total: nothing is paid yet).
    pricing_body = OrderCreate.model_construct(
        items=body.items, orderType=_order_type(tab), discount=None, discountAmount=None, discountReason=None,
        tipAmount=Decimal("0"), payments=[PaymentIn(method="card")], paymentMethod=None, amountPaid=None)
    plan = plan_order(pricing_body, catalogue, {**cfg, "taxMode": tab.tax_mode, "cashRounding": "none"})
    if len(_live(tab)) + len(plan.lines) > MAX_TAB_LINES:
        raise Conflict(f"A tab holds at most {MAX_TAB_LINES} lines; pay this one and open another")
    next_no = max((it.line_no for it in tab.items), default=0) + 1
    added: list[OrderItem] = []
    for n, line in enumerate(plan.lines, start=next_no):
        item = OrderItem(
            id=new_id(), order_id=tab.id, line_no=n, menu_item_id=line.menu_item_id, product_name=line.product_name,
            size=line.size, category=line.category, quantity=line.quantity, unit_price=line.unit_price,
            line_total=line.line_total, discount_share=ZERO, tax_rate=line.tax_rate, paid_total=line.line_total,
            rounding_share=ZERO, refunded_amount=ZERO, recipe=[[inv_id, str(qty)] for inv_id, qty in line.recipe],
            counted=line.counted, price_overridden=line.price_overridden, notes=line.notes, refunded_quantity=0,
            station=line.station, prep_status=None, sent_at=None, stock_taken=False, paid_quantity=0,
            added_by=actor.user_id,
            modifiers=[OrderItemModifier(id=new_id(), modifier_id=m.id, name=m.name, price_delta=m.price_delta)
                       for m in line.modifiers])
        session.add(item)
        added.append(item)
    session.flush()
    session.expire(tab, ["items"])
    if body.send:
        _send(session, tab, added, actor=actor, now=now, allow_negative=bool(cfg.get("allowNegativeStock", True)))
    return _serialize(tab, _children(session, tab.id), now)


def send(session: Session, settings: Settings, tab_id: str, *, actor: Principal, now: datetime) -> dict[str, Any]:
    tab = _load_tab(session, actor.store_id, tab_id, lock=True)
    _require_open(tab)
    cfg = stores_store_settings.current(session, settings, tab.store_id)
    _send(session, tab, _live(tab), actor=actor, now=now, allow_negative=bool(cfg.get("allowNegativeStock", True)))
    return _serialize(tab, _children(session, tab.id), now)


def remove_item(session: Session, tab_id: str, order_item_id: str, *, actor: Principal,
                now: datetime) -> dict[str, Any]:
    """An unsent line goes; a sent one (sales.void) is cancelled, its stock put back, and audited."""
    tab = _load_tab(session, actor.store_id, tab_id, lock=True)
    _require_open(tab)
    line = next((it for it in _live(tab) if it.id == order_item_id), None)
    if line is None:
        raise NotFound("No such line on this tab")
    _refuse_during_split(tab, "remove lines")
    if line.paid_quantity:
        raise Conflict(f"{line.paid_quantity} of this line are paid already; it cannot be removed")
    if line.sent_at is None:
        session.delete(line)
        session.flush()
        session.expire(tab, ["items"])
        return _serialize(tab, _children(session, tab.id), now)
    if not actor.has("sales.void"):
        raise PermissionDenied("Missing permission: sales.void (the line was sent already)")
    if line.stock_taken:
        put_back_stock(session, store_id=tab.store_id, lines=[(line, line.quantity)], user_id=actor.user_id,
                       reference=tab.id, reason="tab line removed", now=now)
        line.stock_taken = False
    old_status = line.prep_status
    line.cancelled_at = now
    if line.prep_status is not None:
        line.prep_status = "cancelled"
    record_change(session, actor, entity="tab", entity_id=tab.id, action="remove_sent_line",
                  old={"line": line.id, "product": line.product_name, "quantity": line.quantity,
                       "prepStatus": old_status},
                  new={"prepStatus": line.prep_status, "cancelled": True}, at=now)
    session.flush()
    if old_status is not None:
        _ticket_events(session, tab, {line.station})
    return _serialize(tab, _children(session, tab.id), now)


def void_tab(session: Session, tab_id: str, body: TabVoid, *, actor: Principal, now: datetime) -> dict[str, Any]:
    """Drop an unpaid tab: stock back, open ticket lines cancelled. A tab with a payment cannot be voided
    (refund or void its child orders, then pay or void the rest)."""
    tab = _load_tab(session, actor.store_id, tab_id, lock=True)
    _require_open(tab)
    if tab.split_paid or any(it.paid_quantity for it in tab.items) or _children(session, tab.id):
        raise Conflict("Part of this tab is paid already; a tab with payments cannot be voided")
    lines = _live(tab)
    taken = [(it, it.quantity) for it in lines if it.stock_taken]
    if taken:
        put_back_stock(session, store_id=tab.store_id, lines=taken, user_id=actor.user_id, reference=tab.id,
                       reason="tab voided", now=now)
    stations: set[str | None] = set()
    for it in lines:
        it.stock_taken = False
        if it.prep_status in OPEN_TICKET:
            it.prep_status = "cancelled"
            it.cancelled_at = now
            stations.add(it.station)
    tab.status, tab.closed_at = "voided", now
    tab.voided_at, tab.voided_by, tab.void_reason = now, actor.user_id, body.reason
    tab_alerts.resolve(session, tab.id, now)
    session.flush()
    _ticket_events(session, tab, stations)
    return _serialize(tab, [], now)


# ---- paying ---------------------------------------------------------------------------------------


def _tab_line(it: OrderItem) -> TabLine:
    return TabLine(
        id=it.id, menu_item_id=it.menu_item_id, product_name=it.product_name, size=it.size or "",
        category=it.category or "", station=it.station, unit_price=it.unit_price, tax_rate=it.tax_rate,
        price_overridden=it.price_overridden, notes=it.notes,
        modifiers=tuple(PlannedModifier(m.modifier_id, m.name, m.price_delta) for m in it.modifiers),
        recipe=tuple((str(inv), Decimal(str(q))) for inv, q in it.recipe or []), counted=it.counted)


def _chosen_units(tab: Order, body: TabPay) -> list[tuple[OrderItem, int]]:
    live = {it.id: it for it in _live(tab)}
    if body.items is None:
        units = [(it, it.quantity - it.paid_quantity) for it in live.values() if it.quantity > it.paid_quantity]
        if not units:
            raise Conflict("Nothing is left to pay on this tab")
        return units
    wanted: Counter[str] = Counter()
    for i, line in enumerate(body.items):
        if line.orderItemId not in live:
            raise ValidationFailed(f"items[{i}].orderItemId: not a line of this tab",
                                   field_errors={f"items[{i}].orderItemId": "not a line of this tab"})
        wanted[line.orderItemId] += line.quantity
    chosen = []
    for item_id, q in wanted.items():
        it = live[item_id]
        if q > it.quantity - it.paid_quantity:
            raise Conflict(f"{it.product_name}: {it.quantity - it.paid_quantity} left to pay, {q} asked",
                           data={"orderItemId": item_id})
        chosen.append((it, q))
    return sorted(chosen, key=lambda pair: pair[0].line_no)


def _count_paid_units(session: Session, units: list[tuple[OrderItem, int]]) -> None:
    """paid_quantity += q only while it stays within the line: the loser of a race gets 409."""
    for it, q in sorted(units, key=lambda pair: pair[0].id):
        table = OrderItem.__table__
        changed = rows_changed(session, update(table).where(table.c.id == it.id,
                                                           table.c.paid_quantity + q <= table.c.quantity)
                               .values(paid_quantity=table.c.paid_quantity + q))
        if not changed:
            raise Conflict(f"{it.product_name} was paid at another terminal just now")
    session.flush()
    session.expire_all()


def _order_type(tab: Order) -> Literal["eat_in", "take_away"]:
    return "take_away" if tab.order_type == "take_away" else "eat_in"


def _order_body(body: TabPay, tab: Order) -> OrderCreate:
    """The child order's request as sales.create reads it (permissions, payments, names, notes)."""
    return OrderCreate.model_construct(
        items=[], orderType=_order_type(tab), discount=body.discount, discountAmount=body.discountAmount,
        discountReason=body.discountReason, tipAmount=body.tipAmount, payments=body.payments,
        paymentMethod=body.paymentMethod, amountPaid=body.amountPaid,
        customerName=body.customerName or tab.customer_name, orderNotes=body.orderNotes or f"Tab {tab.tab_name}",
        clientOrderId=body.clientOrderId, terminalId=body.terminalId, clientCreatedAt=None)


def pay(session: Session, settings: Settings, tab_id: str, body: TabPay, *, actor: Principal, now: datetime,
        idempotency_key: str | None = None,
        store_settings: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Pay all that is left, some units, or the next share of an n-way split -> (tab, child order, created?)."""
    store_id = actor.store_id
    tab = _load_tab(session, store_id, tab_id, lock=True)
    names = Identity.of(idempotency_key, body.clientOrderId)
    fingerprint = body.fingerprint(tab.id)
    if names:
        earlier = earlier_order(session, store_id, names, fingerprint)
        if earlier is not None:
            return (_serialize(tab, _children(session, tab.id), now),
                    serialize_order(load_order(session, earlier)), False)
    _require_open(tab)
    order_body = _order_body(body, tab)
    payments_in = order_body.effective_payments()
    cfg = store_settings or stores_store_settings.current(session, settings, store_id)
    allow_negative = bool(cfg.get("allowNegativeStock", True))
    lines_by_id = {it.id: _tab_line(it) for it in tab.items}

    if body.split is not None:
        ways = body.split.ways
        if tab.split_ways and tab.split_ways != ways:
            raise Conflict(f"This tab is being split {tab.split_ways} ways ({tab.split_paid} paid); "
                           f"pay with split.ways = {tab.split_ways}", data={"ways": tab.split_ways})
        if order_body.effective_discount() is not None:
            raise ValidationFailed("A split share cannot be discounted; discount when paying by items or the "
                                   "whole tab", field_errors={"discount": "not allowed with split"})
        money = _money_left(tab)
        if not money:
            raise Conflict("Nothing is left to pay on this tab")
        k = tab.split_paid
        parts = share_parts(money, ways, _tax_mode(tab) == "inclusive")[k]
        units = {it.id: it.quantity - it.paid_quantity for it in _live(tab)}
        plan = plan_share(parts, lines_by_id, units, share_no=k + 1, ways=ways, tab_name=str(tab.tab_name),
                          tax_mode=_tax_mode(tab), tip=body.tipAmount, payments_in=payments_in,
                          cash_rounding_setting=cfg.get("cashRounding"))
        _send(session, tab, _live(tab), actor=actor, now=now, allow_negative=allow_negative)
        orders = Order.__table__
        claimed = rows_changed(session, update(orders).where(
            orders.c.id == tab.id, orders.c.split_paid == k,
            (orders.c.split_ways.is_(None)) | (orders.c.split_ways == ways))
            .values(split_ways=ways, split_paid=k + 1))
        if not claimed:
            raise Conflict("That share was paid at another terminal just now")
        if k + 1 == ways:
            _count_paid_units(session, [(it, q) for it, q in
                                        ((it, it.quantity - it.paid_quantity) for it in _live(tab)) if q > 0])
        paid_ids = [p.key for p in parts if p.paid or (k + 1 == ways and units.get(p.key, 0))]
    else:
        _refuse_during_split(tab, "pay by items or the whole tab")
        chosen = _chosen_units(tab, body)
        plan = plan_units([(lines_by_id[it.id], q) for it, q in chosen], tax_mode=_tax_mode(tab),
                          discount_in=order_body.effective_discount(), tip=body.tipAmount, payments_in=payments_in,
                          cash_rounding_setting=cfg.get("cashRounding"))
        _send(session, tab, [it for it, _ in chosen], actor=actor, now=now, allow_negative=allow_negative)
        _count_paid_units(session, chosen)
        paid_ids = [it.id for it, _ in chosen]

    sale = TabSale(tab_id=tab.id, plan=plan, tab_line_ids=paid_ids, fingerprint=fingerprint)
    order, created = sales.create(session, settings, order_body, actor=actor, now=now,
                                  idempotency_key=idempotency_key, store_settings=cfg, tab=sale)
    session.flush()
    session.expire_all()
    tab = _load_tab(session, store_id, tab_id)
    split_done = bool(tab.split_ways) and tab.split_paid >= (tab.split_ways or 0)
    if split_done or all(it.paid_quantity >= it.quantity for it in _live(tab)):
        tab.status, tab.closed_at = "closed", now
        tab_alerts.resolve(session, tab.id, now)
        session.flush()
    return _serialize(tab, _children(session, tab.id), now), order, created


# ---- the interim bill -------------------------------------------------------------------------------


def bill(session: Session, settings: Settings, tab_id: str, *, store_id: str,
         now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """(order-shaped dict, store settings) for the receipt renderers: what is left on the tab, marked
    "NOT A RECEIPT / INTERIM BILL" (status interim_bill), with what was paid so far and what remains."""
    tab = _load_tab(session, store_id, tab_id)
    resource = _serialize(tab, _children(session, tab.id), now)
    priced = price_open_lines(_open_lines(tab), _tax_mode(tab))
    by_id = {it.id: it for it in _live(tab)}
    items = []
    for line in priced.lines if priced else ():
        it = by_id[line.key]
        items.append({"productName": it.product_name, "size": it.size or None, "quantity": line.quantity,
                      "unitPrice": it.unit_price, "lineTotal": line.line_total, "taxRate": it.tax_rate,
                      "notes": it.notes, "modifiers": [{"name": m.name, "priceDelta": m.price_delta}
                                                       for m in it.modifiers]})
    notes = [f"Tab {tab.tab_name}", f"Paid so far: {resource['paidAmount']:.2f}",
             f"Remaining: {resource['remaining']:.2f}"]
    if resource["split"]:
        notes.append(f"Split {resource['split']['ways']} ways, {resource['split']['paid']} paid")
    order = {
        "id": tab.id, "orderNumber": tab.order_number, "receiptNumber": None, "storeId": tab.store_id,
        "orderType": tab.order_type, "status": "interim_bill", "taxMode": tab.tax_mode, "items": items,
        "subtotal": resource["subtotal"], "discountAmount": ZERO, "taxAmount": resource["taxAmount"],
        "taxBreakdown": resource["taxBreakdown"], "tipAmount": ZERO, "roundingAdjustment": ZERO,
        "total": resource["total"], "payments": [], "paymentMethod": None, "amountPaid": ZERO,
        "changeGiven": ZERO, "refundedAmount": ZERO, "createdAt": now, "createdByName": tab.created_by_name,
        "customerName": tab.customer_name, "orderNotes": " / ".join(notes), "reprintCount": 0,
        "paidAmount": resource["paidAmount"], "remaining": resource["remaining"], "tabName": tab.tab_name,
    }
    store = stores_store_settings.current(session, settings, tab.store_id)
    return order, {**store, "taxMode": tab.tax_mode}
