"""The per-store menu revision, bumped in the same transaction as every menu change, and saving a menu row.

`GET /menu_items` keys its ETag cache on it (with the store's default tax
rate and the counted stock levels, which sales change without bumping it:
see menu_catalogue.menu_state), so an unchanged menu is answered without
loading a single item.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.db import Event, events, rows_changed
from orm.domain.errors import Conflict
from orm.models.model_menu import MenuRevision


def current(session: Session, store_id: str) -> int:
    return session.scalar(select(MenuRevision.revision).where(MenuRevision.store_id == store_id)) or 0


def bump(session: Session, store_id: str) -> None:
    """Count one change of the store's menu (row lock held until the transaction ends); once it
    commits, every process drops its ready menu answers (services/menu_pages.py)."""
    unit = events(session)
    if not any(e.type == "menu_changed" and e.store_id == store_id for e in unit):  # one per unit
        unit.add(Event("menu_changed", store_id))
    statement = update(MenuRevision).where(MenuRevision.store_id == store_id).values(
        revision=MenuRevision.revision + 1).execution_options(synchronize_session=False)
    if rows_changed(session, statement):
        return
    try:
        with session.begin_nested():
            session.execute(insert(MenuRevision).values(store_id=store_id, revision=1))
    except IntegrityError:  # created concurrently: count this change on top of it
        session.execute(statement)


def save(session: Session, row: Any) -> None:
    """Flush one row; a unique violation that slipped past the checks (a concurrent write) is a 409."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict("The menu changed at the same time; reload and try again") from None
