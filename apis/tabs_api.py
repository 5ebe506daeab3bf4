"""Tabs: open, add lines, send to the stations, remove, pay (all, by items, split n ways), void, bill."""

from __future__ import annotations

from apis.base import page_from_query
from apis.orders_api import FORMAT_QUERY, RECEIPT_TYPES, OrderHandlerBase
from orm.controllers.orders import tabs
from orm.controllers.orders.receipt_prints import check_format
from orm.domain.schemas.tabs import TabCreate, TabItemsAdd, TabPay, TabQuery, TabVoid
from services import metrics

TAB_ID = r"(?P<tab_id>[^/]+)"
LIST_QUERY = {"status": {"type": "string", "enum": ["open", "closed", "voided"]},
              **{name: {"type": "string"} for name in ("page", "perPage", "limit", "offset")}}
TAB_DOC = ("The Tab resource: the Order shape (status open|closed|voided, orderNumber T-<n>, receiptNumber "
           "null, items with station, prepStatus, sent, sentAt, paidQuantity, addedBy) plus name, the running "
           "totals of what is left (subtotal, taxAmount, taxBreakdown, total), paidAmount (child orders' "
           "totals without tips), remaining, split {ways, paid, nextShare} or null, payments[{orderId, "
           "receiptNumber, orderNumber, total, tipAmount, status, createdAt}], createdAt, closedAt, ageMinutes")


class TabsHandler(OrderHandlerBase):
    permissions = {"GET": "sales.process", "POST": "sales.process"}
    api_doc = {
        "get": {"summary": "Tabs with their running totals (?status=open|closed|voided, default open; "
                           "list key: tabs, oldest first)", "query": LIST_QUERY, "tags": ["tabs"]},
        "post": {"summary": "Open a tab → 201 {tab}. " + TAB_DOC, "body": TabCreate, "creates": True,
                 "tags": ["tabs"]},
    }

    async def post(self) -> None:
        body = self.parse(TabCreate)
        tab = await self.run_db(tabs.open_tab, self.ctx.settings, body, actor=self.principal, now=self.ctx.clock())
        self.created({"tab": tab}, location=f"/tabs/{tab['id']}")

    async def get(self) -> None:
        page = page_from_query(self)
        query = self.parse_query(TabQuery)
        data = await self.run_db(tabs.list_tabs, page, store_id=self.principal.store_id, status=query.status,
                                 now=self.ctx.clock())
        self.success(data)


class TabHandler(OrderHandlerBase):
    permissions = {"GET": "sales.process"}
    api_doc = {"get": {"summary": "One tab. " + TAB_DOC, "tags": ["tabs"]}}

    async def get(self, tab_id: str) -> None:
        tab = await self.run_db(tabs.get, self.principal.store_id, tab_id, now=self.ctx.clock())
        self.success({"tab": tab})


class TabItemsHandler(OrderHandlerBase):
    permissions = {"POST": "sales.process"}
    api_doc = {"post": {"summary": "Add lines (same line shape as POST /orders), priced now; send (default "
                                   "true) sends them to their stations and takes their stock → {tab}",
                        "body": TabItemsAdd, "tags": ["tabs"]}}

    async def post(self, tab_id: str) -> None:
        body = self.parse(TabItemsAdd)
        store_settings = await self.store_settings.get(self.principal.store_id)
        tab = await self.run_db(tabs.add_items, self.ctx.settings, tab_id, body, actor=self.principal,
                                now=self.ctx.clock(), store_settings=store_settings,
                                catalogue_cache=self.catalogue_cache)
        self.success({"tab": tab})


class TabItemHandler(OrderHandlerBase):
    permissions = {"DELETE": "sales.process"}
    api_doc = {"delete": {"summary": "Remove a line: an unsent one goes; a sent one needs sales.void, is "
                                     "cancelled (its ticket too), its stock put back, and audited; a paid one "
                                     "cannot go (409) → {tab}", "tags": ["tabs"]}}

    async def delete(self, tab_id: str, item_id: str) -> None:
        tab = await self.run_db(tabs.remove_item, tab_id, item_id, actor=self.principal, now=self.ctx.clock())
        self.success({"tab": tab})


class TabSendHandler(OrderHandlerBase):
    permissions = {"POST": "sales.process"}
    api_doc = {"post": {"summary": "Send the unsent lines to their stations (stock is taken once) → {tab}",
                        "tags": ["tabs"]}}

    async def post(self, tab_id: str) -> None:
        tab = await self.run_db(tabs.send, self.ctx.settings, tab_id, actor=self.principal, now=self.ctx.clock())
        self.success({"tab": tab})


class TabPayHandler(OrderHandlerBase):
    permissions = {"POST": "sales.process"}
    api_doc = {"post": {"summary": "Pay a tab: everything left, some items ({items:[{orderItemId, quantity}]}) "
                                   "or the next share of an n-way split ({split:{ways:n}}, 2..20, exact cents, the "
                                   "last share takes the remainder). Each payment is a completed child order "
                                   "(receipt number, journal, tabId). Idempotency-Key like POST /orders → 201 "
                                   "{tab, order}; the tab closes when nothing is left",
                        "body": TabPay, "creates": True, "tags": ["tabs"]}}

    async def post(self, tab_id: str) -> None:
        body = self.parse(TabPay)
        key = self.idempotency_key()
        store_settings = await self.store_settings.get(self.principal.store_id)
        tab, order, created = await self.run_db(
            tabs.pay, self.ctx.settings, tab_id, body, actor=self.principal, now=self.ctx.clock(),
            idempotency_key=key, store_settings=store_settings)
        if created:
            metrics.orders_created(self.ctx, order["storeId"], order["total"] - order["tipAmount"])
        self.created({"tab": tab, "order": order}, location=f"/orders/{order['id']}")


class TabVoidHandler(OrderHandlerBase):
    permissions = {"POST": "sales.void"}
    api_doc = {"post": {"summary": "Void an unpaid tab: stock back, open tickets cancelled (409 once any "
                                   "payment was made) → {tab}", "body": TabVoid, "tags": ["tabs"]}}

    async def post(self, tab_id: str) -> None:
        body = self.parse(TabVoid)
        tab = await self.run_db(tabs.void_tab, tab_id, body, actor=self.principal, now=self.ctx.clock())
        self.success({"tab": tab})


class TabBillHandler(OrderHandlerBase):
    permissions = {"GET": "receipts.print"}
    api_doc = {"get": {"summary": "The interim bill of a tab, marked NOT A RECEIPT / INTERIM BILL: what is "
                                  "left with prices and totals, paid so far, remaining (format=text|html|"
                                  "escpos|json, default text)", "query": FORMAT_QUERY, "raw": RECEIPT_TYPES,
                       "tags": ["tabs"]}}

    async def get(self, tab_id: str) -> None:
        fmt = check_format(self.get_query_argument("format", None), "text")
        order, store = await self.run_db(tabs.bill, self.ctx.settings, tab_id, store_id=self.principal.store_id,
                                         now=self.ctx.clock())
        await self.send_receipt(order, store, fmt, reprint=False)


default_handlers = [
    (r"/tabs", TabsHandler),
    (rf"/tabs/{TAB_ID}", TabHandler),
    (rf"/tabs/{TAB_ID}/items", TabItemsHandler),
    (rf"/tabs/{TAB_ID}/items/(?P<item_id>[^/]+)", TabItemHandler),
    (rf"/tabs/{TAB_ID}/send", TabSendHandler),
    (rf"/tabs/{TAB_ID}/pay", TabPayHandler),
    (rf"/tabs/{TAB_ID}/void", TabVoidHandler),
    (rf"/tabs/{TAB_ID}/bill", TabBillHandler),
]
