"""Stores of a café chain: list, create (with its settings), rename, move, deactivate."""

from __future__ import annotations

from apis.base import BaseHandler, page_from_query
from orm.controllers.stores import stores
from orm.controllers.stores.stores import StoreCreate, StoreUpdate
from orm.domain.errors import ValidationFailed

LIST_QUERY = {"active": {"type": "boolean"}, "search": {"type": "string"},
              "page": {"type": "integer"}, "perPage": {"type": "integer"}}


def _active(raw: str | None) -> bool | None:
    if raw in (None, ""):
        return None
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ValidationFailed("active must be true or false", field_errors={"active": "must be true or false"})


class StoresHandler(BaseHandler):
    """All stores (default store first), or a new store."""

    permissions = {"GET": "system.settings", "POST": "system.settings"}
    api_doc = {
        "get": {"summary": "List stores", "query": LIST_QUERY, "tags": ["stores"]},
        "post": {"summary": "Create a store (its settings are copied from the default store)",
                 "body": StoreCreate, "creates": True, "tags": ["stores"]},
    }

    async def get(self) -> None:
        page = page_from_query(self)
        data = await self.run_db(stores.list_stores, page, active=_active(self.get_query_argument("active", None)),
                                 search=self.get_query_argument("search", None))
        self.success(data)

    async def post(self) -> None:
        body = self.parse(StoreCreate)
        store = await self.run_db(stores.create, self.ctx.settings, body, actor=self.principal,
                                  now=self.ctx.clock())
        self.created({"store": store}, location=f"/stores/{store['id']}")


class StoreHandler(BaseHandler):
    """One store."""

    permissions = {"GET": "system.settings", "PUT": "system.settings"}
    api_doc = {
        "get": {"summary": "One store", "tags": ["stores"]},
        "put": {"summary": "Change a store (partial update, audited)", "body": StoreUpdate, "tags": ["stores"]},
    }

    async def get(self, store_id: str) -> None:
        self.success({"store": await self.run_db(stores.get, store_id)})

    async def put(self, store_id: str) -> None:
        body = self.parse(StoreUpdate)
        store = await self.run_db(stores.update, self.ctx.settings, store_id, body.changes(),
                                  actor=self.principal, now=self.ctx.clock())
        # Address and time zone are settings too; this process re-reads them at once.
        self.store_settings.invalidate(store_id)
        self.success({"store": store})


default_handlers = [
    (r"/stores", StoresHandler),
    (r"/stores/(?P<store_id>[^/]+)", StoreHandler),
]
