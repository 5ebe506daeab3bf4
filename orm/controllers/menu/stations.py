"""Which preparation stations a category or item may name: the store's settings.stations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orm.domain.errors import ValidationFailed
from orm.models.model_settings import StoreSettings

DEFAULT_STATIONS = ("bar", "kitchen")


def configured_stations(session: Session, store_id: str) -> list[str]:
    """The store's stations (the defaults until its settings row exists)."""
    stations = session.scalar(select(StoreSettings.stations).where(StoreSettings.store_id == store_id))
    return list(stations) if stations is not None else list(DEFAULT_STATIONS)


def check_station(session: Session, store_id: str, station: str | None, field: str = "station") -> None:
    """400 unless `station` is None/"" (nothing to prepare, or inherit) or one of the store's stations."""
    if not station:
        return
    known = configured_stations(session, store_id)
    if station not in known:
        message = f"is not one of this store's stations ({', '.join(known)})"
        raise ValidationFailed(f"{field} {message}", field_errors={field: message})
