"""Counted stock of menu items (pastries): what a sale takes and a refund or void puts back.

Not a menu change: the menu revision is not bumped (every sale of a pastry would otherwise
queue on the store's revision row until it commits), so listings read these levels themselves;
a `stock_levels_changed` event tells the processes' ready menu answers to go.
"""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orm.controllers.menu.menu_items import describe
from orm.db import Event, events, rows_changed
from orm.domain.errors import NotFound, SoldOut, ValidationFailed
from orm.models.model_menu import MenuItem


def take_counted_stock(session: Session, item_id: str, quantity: int) -> None:
    """Take `quantity` units of a counted item in one atomic UPDATE; never below zero.

    Made-to-order items (stockCount null) are left alone.  Raises SoldOut (409
    SOLD_OUT, data {menuItemId, available}) when fewer than `quantity` are left,
    NotFound for an unknown item.  Call it inside the sale's transaction.  The menu
    revision is not bumped (see the module docstring): only the item's row is locked.
    """
    if quantity <= 0:
        raise ValidationFailed("quantity must be greater than 0", field_errors={"quantity": "must be > 0"})
    taken = rows_changed(
        session,
        update(MenuItem)
        .where(MenuItem.id == item_id, MenuItem.stock_count.is_not(None), MenuItem.stock_count >= quantity)
        .values(stock_count=MenuItem.stock_count - quantity)
        .execution_options(synchronize_session=False)
    )
    if taken:
        levels_changed(session)
        return
    _check_still_counted(session, item_id, quantity)


def refuse_counted(session: Session, wanted: dict[str, int]) -> NoReturn:
    """A sale took fewer counted items than `wanted` ({menu item id: units}) in one statement:
    raise what the first short item in id order met (SoldOut or NotFound)."""
    for item_id in sorted(wanted):
        _check_still_counted(session, item_id, wanted[item_id], available_only=True)
    raise SoldOut("A counted item is sold out", data={"menuItemIds": sorted(wanted)})


def _check_still_counted(session: Session, item_id: str, quantity: int, *, available_only: bool = False) -> None:
    """Raise SoldOut when fewer than `quantity` of a counted item are left (NotFound when it is gone)."""
    row = session.execute(select(MenuItem.name, MenuItem.size, MenuItem.stock_count)
                          .where(MenuItem.id == item_id)).first()
    if row is None:
        raise NotFound("Menu item not found")
    if row.stock_count is None or (available_only and row.stock_count >= quantity):
        return
    raise SoldOut(f"{describe(row.name, row.size)} is sold out",
                  data={"menuItemId": item_id, "available": row.stock_count, "requested": quantity})


def return_counted_stock(session: Session, item_id: str, quantity: int) -> None:
    """Put `quantity` units back (refund with restock, void); no-op for made-to-order items."""
    if quantity <= 0:
        raise ValidationFailed("quantity must be greater than 0", field_errors={"quantity": "must be > 0"})
    if rows_changed(session, update(MenuItem)
                    .where(MenuItem.id == item_id, MenuItem.stock_count.is_not(None))
                    .values(stock_count=MenuItem.stock_count + quantity)
                    .execution_options(synchronize_session=False)):
        levels_changed(session)


def levels_changed(session: Session) -> None:
    """Once per unit of work (a sale of three pastries is one change); storeId None = every store."""
    unit = events(session)
    if not any(e.type == "stock_levels_changed" for e in unit):
        unit.add(Event("stock_levels_changed", None))
