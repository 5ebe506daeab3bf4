"""Order seeds: 30 days of a café's trade for development, nothing for production.

seed_test sells with the checkout's own code, written many sales at a time (orm/seed/sales.py),
and refunds, voids, shifts and deliveries go through their controllers (RefundController,
ShiftController, StockController), so every order is priced, numbered, journaled and
takes stock like a real one: a morning rush (7-9 h) and a lunch peak (12-13 h) in the
store's time zone, fewer orders at weekends, card/cash/split payments, some tips and staff
discounts, take-away orders, about one refund in eighty orders and a void every few days.
Every whole day has at least one of each, and a split payment (the last sales of a day make up
what chance left out), so yesterday's report and e-mail always show them.  The cashier works
a shift each day (opened 06:50, closed 18:10 with a small variance); stock is topped up each
morning as a delivery would, and counted back to the demo's opening levels at the end (inventory.stock_take:
the same low, out-of-stock and expiring items whatever was sold).

Everything is dated relative to the injected `now` in the store's days: randomness is seeded and
drawn day by day, so the days before today are the same at any hour, and today has the sales up
to `now`.  Idempotent: nothing happens when any order exists.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orm.controllers.identity.auth import display_name, permissions_of
from orm.controllers.inventory import stock
from orm.controllers.menu import counted_stock, menu_items
from orm.controllers.orders import refunds, shifts
from orm.controllers.stores import store_settings
from orm.domain.business_days import store_zone
from orm.domain.principal import Principal
from orm.domain.schemas.orders import OrderCreate, RefundCreate, RefundLineIn, ShiftClose, ShiftOpen, VoidRequest
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_identity import User
from orm.models.model_inventory import InventoryItem, StockMovement
from orm.models.model_menu import MenuItem
from orm.models.model_orders import JournalEntry, Order, Refund, Shift
from orm.seed.inventory import stock_take
from orm.seed.prep import settle_tickets
from orm.seed.sales import SaleBatch
from orm.seed.timeline import DAYS, at_local, resolve_now
from settings import Settings

SEED = 20261123
# Orders per hour of the local day on a weekday.
HOURLY = {7: 5, 8: 8, 9: 5, 10: 2, 11: 2, 12: 6, 13: 5, 14: 2, 15: 2, 16: 2, 17: 1}
REFUND_REASONS = ("Wrong drink made", "Customer complaint", "Spilled at the counter", "Item was cold")
OPENING_CASH = Decimal("150.00")
# What a manager expects to find in any whole day's report: the last three sales of a day make up
# whatever chance left out (payment kinds one per sale), see _Trade.day.
LAST_SALES = ({"split"}, {"cash"}, {"refund", "discount", "tip", "take_away", "card"})


def _counts(session: Session) -> dict[str, int]:
    def count(model: Any) -> int:
        return session.scalar(select(func.count()).select_from(model)) or 0

    return {"orders": count(Order), "refunds": count(Refund), "shifts": count(Shift),
            "journal_entries": count(JournalEntry), "stock_movements": count(StockMovement)}


def _principal(session: Session, username: str) -> Principal | None:
    user = session.scalar(select(User).where(User.username == username, User.is_active.is_(True)))
    if user is None:
        return None
    return Principal(user_id=user.id, username=user.username, role=user.role.name,
                     permissions=permissions_of(user), display_name=display_name(user),
                     store_id=DEFAULT_STORE_ID)


def _kind(category: str | None) -> str:
    name = (category or "").lower()
    for kind in ("coffee", "tea"):
        if kind in name:
            return kind
    return "pastry" if any(w in name for w in ("pastr", "bak", "cake", "sweet")) else "food"


def _weight(kind: str, hour: int) -> int:
    morning = hour < 11
    return {"coffee": 6 if morning else 4, "tea": 2, "pastry": 4 if morning else 2,
            "food": 1 if morning else 5}[kind]


class _Trade:
    """One café's simulated days up to `now`: sales through a SaleBatch, the rest through the controllers."""

    def __init__(self, session: Session, settings: Settings, staff: dict[str, Principal],
                 catalogue: dict[str, dict[str, Any]], cfg: dict[str, Any], now: datetime) -> None:
        self.s, self.settings, self.staff, self.cfg, self.now = session, settings, staff, cfg, now
        self.catalogue = catalogue
        # By name, not id: ids are random, and the same seed must sell the same things in any database.
        self.item_order = sorted(catalogue, key=lambda i: (catalogue[i]["name"], catalogue[i]["size"] or ""))
        self.batch = SaleBatch(session, DEFAULT_STORE_ID, catalogue, cfg)
        self.shifts: dict[str, str] = {}  # user id -> open shift id
        self.rng = random.Random(SEED)
        self.zone = store_zone(cfg.get("storeTimezone") or settings.store_timezone)
        self.morning_stock = {i: c["stockCount"] for i, c in catalogue.items() if c["stockCount"] is not None}
        self.sold = 0

    def local(self, day: date, hour: int, minute: int, second: int = 0) -> datetime:
        return at_local(day, time(hour, minute, second), self.zone)

    def basket(self, hour: int, *, counted: bool = True) -> list[dict[str, Any]]:
        ids = [i for i in self.item_order if counted or self.catalogue[i]["stockCount"] is None]
        weights = [_weight(_kind(self.catalogue[i]["category"]), hour) for i in ids]
        lines = []
        for item_id in dict.fromkeys(self.rng.choices(ids, weights, k=self.rng.choice((1, 1, 1, 2, 2, 3)))):
            mods: list[str] = []
            for group in self.catalogue[item_id]["modifierGroups"]:
                options = [m["id"] for m in sorted(group["modifiers"], key=lambda m: m["name"])]
                wanted = group["minSelect"] or (1 if self.rng.random() < 0.25 else 0)
                mods += self.rng.sample(options, min(wanted, group["maxSelect"], len(options)))
            lines.append({"menuItemId": item_id, "quantity": 2 if self.rng.random() < 0.1 else 1,
                          "modifierIds": mods})
        return lines

    def payment(self, actor: Principal, force: frozenset[str]) -> dict[str, Any]:
        roll = self.rng.random()
        body: dict[str, Any] = {}
        if actor.has("sales.apply_discount") and (self.rng.random() < 0.05 or "discount" in force):
            body["discount"] = {"type": "percent", "value": 10, "reason": "Staff"}
        tip = self.rng.random() < 0.2
        if force & {"tip", "card"}:
            roll = 0.0
        elif "cash" in force:
            roll = 0.6
        elif "split" in force:
            roll = 0.99
        if roll < 0.55:
            body["payments"] = [{"method": "card", "reference": f"AUTH {self.rng.randint(100000, 999999)}"}]
            if tip or "tip" in force:
                body["tipAmount"] = self.rng.choice(("0.50", "1.00", "1.50", "2.00"))
        elif roll < 0.95:
            body["paymentMethod"] = "cash"
            body["amountPaid"] = "50.00"
        else:
            cash = "1.00" if force else "5.00"  # a made-up split must not fail on a small total
            body["payments"] = [{"method": "cash", "amount": cash}, {"method": "card"}]
        return body

    def sell(self, actor: Principal, at: datetime, force: frozenset[str] = frozenset()) -> dict[str, Any] | None:
        hour = at.astimezone(self.zone).hour
        take_away = self.rng.random() < 0.3 or "take_away" in force
        body = OrderCreate.model_validate({"items": self.basket(hour, counted=not force),
                                           **self.payment(actor, force),
                                           "orderType": "take_away" if take_away else "eat_in"})
        # A sold-out pastry, or a split whose cash part already covers a small total: None, that customer
        # walks away.
        order = self.batch.sell(body, actor=actor, at=at, shift_id=self.shifts.get(actor.user_id))
        self.sold += order is not None
        return order

    def morning(self, day: date) -> None:
        """Deliveries: ingredients below their minimum back to their maximum, pastries baked."""
        at = self.local(day, 6, 30)
        if at >= self.now:
            return
        with self.batch.direct():
            self.deliver(at)
            self.bake()

    def deliver(self, at: datetime) -> None:
        lines = [(item.id, (item.max_stock_level or item.min_stock_level * 3 or Decimal("10")) - item.current_stock)
                 for item in self.s.scalars(select(InventoryItem).where(InventoryItem.store_id == DEFAULT_STORE_ID))
                 if item.current_stock < item.min_stock_level]
        lines = [(i, q) for i, q in lines if q > 0]
        if lines:
            stock.apply_movements(self.s, store_id=DEFAULT_STORE_ID, lines=lines, movement_type="restock",
                                            user_id=None, reason="morning delivery", reference=None, now=at,
                                            allow_negative=True)

    def bake(self) -> None:
        for item_id, level in self.morning_stock.items():
            current = self.s.scalar(select(MenuItem.stock_count).where(MenuItem.id == item_id)) or 0
            if level > current:
                counted_stock.return_counted_stock(self.s, item_id, level - current)

    def day(self, day: date) -> None:
        """One day's trade, up to `now`; a whole day has each thing in LAST_SALES at least once."""
        now = self.now
        self.morning(day)
        cashier, manager = self.staff.get("cashier"), self.staff.get("manager")
        shift = None
        if cashier is not None and self.local(day, 6, 50) < now:
            with self.batch.direct():
                shift = shifts.open_shift(self.s, ShiftOpen(openingCash=OPENING_CASH), actor=cashier,
                                             now=self.local(day, 6, 50))
            self.shifts[cashier.user_id] = shift["id"]
        weekend = day.weekday() >= 5
        sellers = [p for p in (self.staff.get(n) for n in ("cashier", "cashier", "cashier", "manager", "trainee"))
                   if p is not None]
        times = []
        for hour, base in HOURLY.items():
            n = max(0, round(base * (0.8 if weekend else 1.0) * self.rng.uniform(0.8, 1.2)))
            times += [self.local(day, hour, self.rng.randrange(60), self.rng.randrange(60)) for _ in range(n)]
        times.sort()
        seen: set[str] = set()
        slots = {len(times) - len(LAST_SALES) + k: wanted for k, wanted in enumerate(LAST_SALES)}
        for n, at in enumerate(times):
            if at >= now:
                break
            actor = self.rng.choice(sellers)
            force = frozenset(slots.get(n, set()) - seen) if manager is not None else frozenset()
            order = self.sell(manager if force and manager is not None else actor, at, force)
            if order is not None:
                seen |= _features(order)
                seen |= self.after_sale(order, at, refund="refund" in force)
        close_at = self.local(day, 18, 10)
        if shift is not None and cashier is not None and close_at < now:
            with self.batch.direct():
                expected = shifts.report(self.s, shift["id"], actor=cashier)["expectedCash"]
                counted = expected + self.rng.choice((Decimal("0"), Decimal("0"), Decimal("-0.50"),
                                                      Decimal("0.20")))
                shifts.close(self.s, shift["id"], ShiftClose(countedCash=counted, notes=""),
                                      actor=cashier, now=close_at)
            del self.shifts[cashier.user_id]

    def after_sale(self, order: dict[str, Any], at: datetime, *, refund: bool = False) -> set[str]:
        """Now and then a refund (4 minutes later) or a void (1 minute later), never after `now`."""
        manager = self.staff.get("manager")
        if manager is None:
            return set()
        roll = self.rng.random()
        if (roll < 0.0125 or refund) and at + timedelta(minutes=4) < self.now:
            first = order["items"][0]
            body = RefundCreate(items=[RefundLineIn(orderItemId=first["id"], quantity=1)],
                                reason=self.rng.choice(REFUND_REASONS), restock=False)
            with self.batch.direct():
                refunds.refund_order(self.s, order["id"], body, actor=manager, now=at + timedelta(minutes=4))
            return {"refund"}
        if 0.0125 <= roll < 0.017 and at + timedelta(minutes=1) < self.now:
            with self.batch.direct():
                refunds.void(self.s, self.settings, order["id"], VoidRequest(reason="Rang up twice"),
                                      actor=manager, now=at + timedelta(minutes=1))
        return set()


def _features(order: dict[str, Any]) -> set[str]:
    methods = {p["method"] for p in order["payments"]} | {order["paymentMethod"]}
    return methods | {name for name, present in (("discount", order["discountAmount"] > 0),
                                                 ("tip", order["tipAmount"] > 0),
                                                 ("take_away", order["orderType"] == "take_away")) if present}


def seed_test(session: Session, settings: Settings, *, days: int = DAYS, now: datetime | None = None,
              progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """`days` store days of orders, shifts, refunds and voids up to `now`, then a stock take (nothing when
    any order exists or the menu is empty)."""
    if session.scalar(select(func.count()).select_from(Order)):
        return _counts(session)
    staff = {name: p for name in ("cashier", "manager", "trainee") if (p := _principal(session, name)) is not None}
    item_ids = list(session.scalars(select(MenuItem.id).where(MenuItem.store_id == DEFAULT_STORE_ID,
                                                              MenuItem.is_active.is_(True))))
    if not staff or not item_ids:
        return _counts(session)
    catalogue = menu_items.catalogue_for_order(session, settings, item_ids, DEFAULT_STORE_ID)
    cfg = store_settings.current(session, settings, DEFAULT_STORE_ID)
    trade = _Trade(session, settings, staff, catalogue, cfg, resolve_now(now))
    today = trade.now.astimezone(trade.zone).date()
    for offset in range(days - 1, -1, -1):
        trade.day(today - timedelta(days=offset))
        done = days - offset
        if progress and (done % 5 == 0 or done == days):
            progress(f"  orders: {done}/{days} days, {trade.sold} sales")
    trade.batch.flush()
    settle_tickets(session, trade.now)
    manager = staff.get("manager")
    stock_take(session, settings, trade.now, manager.user_id if manager else None)
    return _counts(session)


def seed_production(session: Session, settings: Settings, **_: object) -> dict[str, int]:
    """A real café starts with no sales: nothing is created."""
    return _counts(session)
