"""The tamper-evident journal: verify every store's hash chain against the orders as they are now."""

from __future__ import annotations

from apis.base import BaseHandler
from orm.controllers.orders import journal


class JournalVerifyHandler(BaseHandler):
    """Recompute the receipt hash chain: {valid, count, firstBreak}."""

    permissions = {"GET": "system.logs"}
    api_doc = {"get": {"summary": "Verify the journal hash chain (and that orders still match it)",
                       "query": {"storeId": {"type": "string", "description": "default: every store"}},
                       "tags": ["journal"]}}

    async def get(self) -> None:
        store_id = self.get_query_argument("storeId", None) or None
        self.success(await self.run_db(journal.verify, store_id))


default_handlers = [
    (r"/journal/verify", JournalVerifyHandler),
]
