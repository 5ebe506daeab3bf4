"""Menu categories: found or created by name, listed with their item counts, renamed and given tax rates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.column_types import new_id, utcnow
from orm.controllers.identity.changes import record_change
from orm.controllers.menu import catalogue as menu_catalogue
from orm.controllers.menu import revision as menu_revision
from orm.controllers.menu.stations import check_station
from orm.domain.errors import Conflict, NotFound
from orm.domain.principal import Principal
from orm.domain.schemas.menu import CategoryUpdate
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_menu import MenuCategory, MenuItem
from settings import Settings


def ensure_category(session: Session, store_id: str, name: str | None) -> MenuCategory | None:
    """The category called `name` (case-insensitively), created at the end of the list if new."""
    if not name:
        return None
    categories = list(session.scalars(select(MenuCategory).where(MenuCategory.store_id == store_id)))
    found = next((c for c in categories if c.name == name), None) or \
        next((c for c in categories if c.name.casefold() == name.casefold()), None)
    if found is not None:
        return found
    category = MenuCategory(id=new_id(), store_id=store_id, name=name,
                            sort_order=max((c.sort_order for c in categories), default=-1) + 1)
    try:
        with session.begin_nested():  # another request may create it at the same moment
            session.add(category)
    except IntegrityError:
        return session.scalar(select(MenuCategory).where(MenuCategory.store_id == store_id,
                                                         MenuCategory.name == name))
    return category


def list_categories(session: Session, settings: Settings, *, store_id: str = DEFAULT_STORE_ID) -> dict[str, Any]:
    """{categories[{name, itemCount, taxRate, takeAwayTaxRate, sortOrder, ownTaxRate, ownTakeAwayTaxRate,
    station}]}."""
    default_rate = menu_catalogue.default_tax_rate(session, settings, store_id)
    rows = session.execute(
        select(MenuCategory, func.count(MenuItem.id))
        .outerjoin(MenuItem, MenuItem.category_id == MenuCategory.id)
        .where(MenuCategory.store_id == store_id)
        .group_by(MenuCategory.id)
        .order_by(MenuCategory.sort_order, MenuCategory.name)
    ).all()
    return {"categories": [_category_resource(c, n, default_rate) for c, n in rows]}


def update_category(session: Session, settings: Settings, name: str, body: CategoryUpdate, *,
                    actor: Principal | None, store_id: str = DEFAULT_STORE_ID,
                    now: datetime | None = None) -> dict[str, Any]:
    """Rename, set default tax rates (null = inherit from settings), sort order or the preparation
    station (one of settings.stations, null = nothing to prepare) -> {category}."""
    category = session.scalar(select(MenuCategory).where(MenuCategory.store_id == store_id,
                                                         MenuCategory.name == name).with_for_update())
    if category is None:
        raise NotFound(f"No menu category named {name!r}")
    given = body.given()
    if body.name is not None and body.name != category.name:  # the schema refuses an explicit null
        clash = session.scalar(select(MenuCategory.id).where(
            MenuCategory.store_id == store_id, MenuCategory.name == body.name, MenuCategory.id != category.id))
        if clash:
            raise Conflict(f"A category named {body.name!r} already exists",
                           field_errors={"name": "is already used by another category"})
        category.name = body.name
    old = {"taxRate": category.tax_rate, "takeAwayTaxRate": category.take_away_tax_rate}
    if "taxRate" in given:
        category.tax_rate = body.taxRate
    if "takeAwayTaxRate" in given:
        category.take_away_tax_rate = body.takeAwayTaxRate
    if body.sortOrder is not None:  # the schema refuses an explicit null
        category.sort_order = body.sortOrder
    if "station" in given and body.station != category.station:
        check_station(session, store_id, body.station)
        record_change(session, actor, entity="menu_category", entity_id=category.id, action="station_change",
                      old={"station": category.station}, new={"station": body.station}, at=now)
        category.station = body.station
    category.updated_at = now or utcnow()
    menu_revision.save(session, category)
    new = {"taxRate": category.tax_rate, "takeAwayTaxRate": category.take_away_tax_rate}
    if old != new:
        record_change(session, actor, entity="menu_category", entity_id=category.id, action="tax_rate_change",
                      old=old, new=new, at=now)
    menu_revision.bump(session, store_id)
    count = session.scalar(select(func.count()).select_from(MenuItem).where(MenuItem.category_id == category.id))
    default_rate = menu_catalogue.default_tax_rate(session, settings, store_id)
    return {"category": _category_resource(category, count or 0, default_rate)}

def _category_resource(category: MenuCategory, item_count: int, default_rate: Any) -> dict[str, Any]:
    eat_in, take_away = menu_catalogue.effective_rates(None, None, category.tax_rate, category.take_away_tax_rate,
                                                       default_rate)
    return {"name": category.name, "itemCount": item_count, "taxRate": eat_in, "takeAwayTaxRate": take_away,
            "sortOrder": category.sort_order, "ownTaxRate": category.tax_rate,
            "ownTakeAwayTaxRate": category.take_away_tax_rate, "station": category.station}
