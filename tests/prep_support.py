"""Arrangements for the preparation-queue, pickup-board and service-time tests (no tests here).

A small café built through the API (`build_prep_menu`): coffee goes to the bar (its category's
station), food to the kitchen, pastries nowhere; bottled water sits in the coffee category but is
handed over as it is (the item's own station "none").

For the board and service-time tests, on the reports' menu (tests.reports_support.MENU): `set_stations`
gives Coffee -> bar, Bakery -> kitchen and Drinks -> nothing to prepare, straight in the database (with a
menu revision, so the sale path's catalogue cache sees it). `move` changes the ticket lines of (order,
station) in the database at a chosen time and publishes the "ticket" event the preparation endpoints
publish after such a move, so the sockets see exactly what they would see after a real move.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from orm.controllers.menu import revision
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_menu import MenuCategory
from orm.models.model_orders import Order, OrderItem
from settings import Settings
from tests.conftest import run_unit
from tests.support import Client, RunningServer

PREP_MENU: dict[str, dict[str, Any]] = {
    "latte": {"name": "Latte", "price": "4.50", "category": "Coffee", "size": "Large",
              "modifierGroups": [{"name": "Milk", "minSelect": 0, "maxSelect": 2, "modifiers": [
                  {"name": "Oat milk", "priceDelta": "0.50"}, {"name": "Extra shot", "priceDelta": "0.80"}]}]},
    "espresso": {"name": "Espresso", "price": "2.40", "category": "Coffee"},
    "toastie": {"name": "Toastie", "price": "6.90", "category": "Food"},
    "croissant": {"name": "Croissant", "price": "3.20", "category": "Pastries"},
    "water": {"name": "Still water", "price": "2.00", "category": "Coffee", "station": "none"},
}
CATEGORY_STATIONS = {"Coffee": "bar", "Food": "kitchen"}


async def build_prep_menu(admin: Client) -> dict[str, Any]:
    """key -> menu item resource (and "mods": modifier name -> id)."""
    out: dict[str, Any] = {}
    for key, body in PREP_MENU.items():
        r = await admin.post("/menu_items", body)
        assert r.status == 201, r.body
        out[key] = r.data["menuItem"]
    for category, station in CATEGORY_STATIONS.items():
        r = await admin.put(f"/menu_items/categories/{category}", {"station": station})
        assert r.status == 200, r.body
    out["mods"] = {m["name"]: m["id"] for g in out["latte"]["modifierGroups"] for m in g["modifiers"]}
    return out


async def sell(c: Client, *lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    r = await c.post("/orders", {"items": list(lines), "payments": [{"method": "card"}], **extra})
    assert r.status == 201, r.body
    return r.data["order"]


def line(item: dict[str, Any], quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"menuItemId": item["id"], "quantity": quantity, **extra}


STATIONS = {"Coffee": "bar", "Bakery": "kitchen", "Drinks": None}
TIME_COLUMN = {"in_progress": "started_at", "ready": "ready_at", "collected": "collected_at",
               "cancelled": "cancelled_at"}


def _set_stations(session: Session, mapping: dict[str, str | None]) -> None:
    for name, station in mapping.items():
        session.execute(update(MenuCategory).where(MenuCategory.name == name).values(station=station))
    revision.bump(session, DEFAULT_STORE_ID)


def set_stations(settings: Settings, mapping: dict[str, str | None] | None = None) -> None:
    run_unit(settings, _set_stations, STATIONS if mapping is None else mapping)


def _move(session: Session, order_id: str, station: str, status: str, at: datetime) -> int:
    values: dict[str, Any] = {"prep_status": status, TIME_COLUMN[status]: at}
    result = session.execute(
        update(OrderItem).where(OrderItem.order_id == order_id, OrderItem.station == station,
                                OrderItem.prep_status.not_in(("cancelled", "collected")))
        .values(**values).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0))


def move(server: RunningServer, settings: Settings, order_id: str, station: str, status: str,
         at: datetime) -> None:
    """Every open line of the ticket (order, station) to `status` at `at`, then its "ticket" event."""
    assert run_unit(settings, _move, order_id, station, status, at) > 0, "no such open ticket"
    server.ctx.event_bus.publish({"type": "ticket", "storeId": DEFAULT_STORE_ID, "orderId": order_id,
                                  "station": station})


def _update_lines(session: Session, line_ids: list[str], values: dict[str, Any]) -> None:
    session.execute(update(OrderItem).where(OrderItem.id.in_(line_ids)).values(**values)
                    .execution_options(synchronize_session=False))


def update_lines(settings: Settings, line_ids: list[str], **values: Any) -> None:
    run_unit(settings, _update_lines, line_ids, values)


def _update_order(session: Session, order_id: str, values: dict[str, Any]) -> None:
    session.execute(update(Order).where(Order.id == order_id).values(**values)
                    .execution_options(synchronize_session=False))


def update_order(settings: Settings, order_id: str, **values: Any) -> None:
    run_unit(settings, _update_order, order_id, values)
