"""Store settings: `GET /settings` for every signed-in terminal, `PUT /settings` for managers."""

from __future__ import annotations

from apis.base import AUTHENTICATED, BaseHandler
from orm.controllers.stores import store_settings
from orm.controllers.stores.store_settings import SettingsUpdate

STORE_QUERY = {"storeId": {"type": "string", "description": "default: the caller's store (the default store)"}}


class SettingsHandler(BaseHandler):
    """The store's settings (currency, tax mode, rounding, receipts, e-mail, stock rules)."""

    # Every terminal needs currency, tax mode and rounding; only managers change them.
    permissions = {"GET": AUTHENTICATED, "PUT": "system.settings"}
    api_doc = {
        "get": {"summary": "Store settings", "query": STORE_QUERY, "tags": ["settings"]},
        "put": {"summary": "Change store settings (partial update, audited)", "query": STORE_QUERY,
                "body": SettingsUpdate, "tags": ["settings"]},
    }

    def store_id(self) -> str:
        return self.get_query_argument("storeId", "") or self.principal.store_id

    async def get(self) -> None:
        data = await self.store_settings.get(self.store_id())
        self.success({"settings": data})

    async def put(self) -> None:
        body = self.parse(SettingsUpdate)
        store_id = self.store_id()
        data = await self.run_db(store_settings.update, self.ctx.settings, body.changes(),
                                 actor=self.principal, now=self.ctx.clock(), store_id=store_id,
                                 expected_version=body.version)
        self.store_settings.put(store_id, data)
        self.success({"settings": data})


default_handlers = [
    (r"/settings", SettingsHandler),
]
