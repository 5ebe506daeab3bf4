"""Stores (API.md "Store"): the rows a café chain is made of.

A store's address and time zone are also part of its settings (`storeAddress`,
`storeTimezone`, which reports and receipts read); both places are kept equal
whichever endpoint changes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.controllers.identity.changes import diff, record_change
from orm.controllers.paging import Page, count_and_fetch, listing
from orm.controllers.stores import store_settings
from orm.controllers.stores.store_settings import NOT_SENT, check_timezone, copied_row, partial_schema
from orm.domain.errors import Conflict, NotFound
from orm.domain.principal import Principal
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_store import Store
from settings import Settings


class StoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    address: str = Field(default="", max_length=500)
    timezone: str | None = Field(default=None, description="IANA zone; default: the default store's")
    isActive: StrictBool = True

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else check_timezone(v)


class StoreUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=partial_schema)

    name: str = Field(default=NOT_SENT, min_length=1, max_length=120)
    address: str = Field(default=NOT_SENT, max_length=500)
    timezone: str = NOT_SENT
    isActive: StrictBool = NOT_SENT
    id: Any = None  # a client may PUT back the resource it got; the path decides

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if k != "id"}


def serialize(store: Store) -> dict[str, Any]:
    return {"id": store.id, "name": store.name, "address": store.address, "timezone": store.timezone,
            "isActive": store.is_active}


def _get(session: Session, store_id: str) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound("No such store")
    return store


def _check_name_free(session: Session, name: str, except_id: str | None = None) -> None:
    query = select(Store.id).where(func.lower(Store.name) == name.lower())
    if except_id:
        query = query.where(Store.id != except_id)
    if session.scalar(query.limit(1)) is not None:
        raise Conflict(f"A store named {name!r} already exists", field_errors={"name": "is already taken"})


def _flush_unique(session: Session, name: str) -> None:
    # Two requests may pass the check at once; the unique index decides, as a 409.
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"A store named {name!r} already exists", field_errors={"name": "is already taken"}) \
            from None


def list_stores(session: Session, page: Page, *, active: bool | None = None, search: str | None = None) \
        -> dict[str, Any]:
    query = select(Store)
    if active is not None:
        query = query.where(Store.is_active == active)
    if search:
        query = query.where(func.lower(Store.name).contains(search.lower(), autoescape=True))
    # The default store first, the others by name.
    query = query.order_by((Store.id != DEFAULT_STORE_ID), func.lower(Store.name), Store.id)
    total, rows = count_and_fetch(session, query, page)
    return listing("stores", [serialize(s) for s in rows], total, page)


def get(session: Session, store_id: str) -> dict[str, Any]:
    return serialize(_get(session, store_id))


def create(session: Session, settings: Settings, body: StoreCreate, *, actor: Principal,
           now: datetime) -> dict[str, Any]:
    """A new store with its settings copied from the default store (its own name, address, zone)."""
    _check_name_free(session, body.name)
    template = store_settings.settings_row(session, settings, DEFAULT_STORE_ID)
    timezone = body.timezone or template.store_timezone
    store = Store(name=body.name, address=body.address, timezone=timezone, is_active=body.isActive,
                  created_at=now)
    session.add(store)
    _flush_unique(session, body.name)
    session.add(copied_row(template, store.id, store_name=body.name, store_address=body.address,
                           store_timezone=timezone, updated_at=now, updated_by=actor.user_id))
    data = serialize(store)
    record_change(session, actor, entity="store", entity_id=store.id, action="create", new=data, at=now)
    session.flush()
    return data


def update(session: Session, settings: Settings, store_id: str, changes: dict[str, Any], *,
           actor: Principal, now: datetime) -> dict[str, Any]:
    store = session.get(Store, store_id, with_for_update=True)
    if store is None:
        raise NotFound("No such store")
    before = serialize(store)
    old, new = diff(before, changes)
    if not new:
        return before
    if "name" in new:
        _check_name_free(session, new["name"], except_id=store_id)
    if new.get("isActive") is False and store_id == DEFAULT_STORE_ID:
        raise Conflict("The default store cannot be deactivated", field_errors={"isActive": "default store"})
    for key, column in (("name", "name"), ("address", "address"), ("timezone", "timezone"),
                        ("isActive", "is_active")):
        if key in new:
            setattr(store, column, new[key])
    _flush_unique(session, store.name)
    mirrored = {k2: new[k1] for k1, k2 in (("address", "storeAddress"), ("timezone", "storeTimezone"))
                if k1 in new}
    if mirrored:
        row = store_settings.settings_row(session, settings, store_id, for_update=True)
        row.store_address = mirrored.get("storeAddress", row.store_address)
        row.store_timezone = mirrored.get("storeTimezone", row.store_timezone)
        row.version += 1  # caches in every process pick the change up
        row.updated_at = now
        row.updated_by = actor.user_id
    record_change(session, actor, entity="store", entity_id=store_id, action="update", old=old, new=new,
                  at=now)
    session.flush()
    return serialize(store)
