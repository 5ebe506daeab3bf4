"""Orders: sell, list, refund, void, and the receipt in every format."""

from __future__ import annotations

from typing import Any

from apis.base import BaseHandler, page_from_query
from apis.order_resources import OrderHistoryOut, OrderOneOut, with_legacy_aliases
from orm.controllers.orders import order_history, receipt_prints, refunds, sales
from orm.controllers.orders.receipt_prints import check_format, email_subject, render
from orm.domain.errors import ServiceUnavailable, ValidationFailed
from orm.domain.schemas.orders import EmailReceiptRequest, OrderCreate, OrderQuery, RefundCreate, VoidRequest
from services import metrics
from services.email_service import EmailDeliveryError, build_message

MAX_KEY_LENGTH = 128
ORDER_ID = r"(?P<order_id>[^/]+)"
LIST_QUERY = {name: {"type": "string"} for name in (
    "status", "from", "to", "createdBy", "paymentMethod", "search", "shiftId", "storeId", "page", "perPage",
    "limit", "offset")}
LIST_QUERY["sort"] = {"type": "string", "description": "createdAt (default -createdAt), saleAt, total, "
                                                       "receiptNumber; -timestamp is an alias of -createdAt"}
FORMAT_QUERY = {"format": {"type": "string", "enum": ["text", "html", "escpos", "json"]}}
# What the receipt endpoints answer, by format (OpenAPI: one response, several media types).
RECEIPT_TYPES = ["text/plain", "text/html", "application/octet-stream", "application/json"]


class OrderHandlerBase(BaseHandler):
    def idempotency_key(self) -> str | None:
        raw = self.request.headers.get("Idempotency-Key")
        if raw is None:
            return None
        key = raw.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise ValidationFailed("Idempotency-Key must be 1 to 128 printable characters",
                                   field_errors={"Idempotency-Key": "must be 1 to 128 printable characters"})
        return key

    async def send_receipt(self, order: dict[str, Any], store: dict[str, Any], fmt: str, *, reprint: bool) -> None:
        content_type, body = render(order, store, fmt, reprint=reprint)
        if content_type == "json":
            self.success({"receipt": body, "reprint": reprint})
            return
        self.set_header("Content-Type", content_type)
        self.finish(body)


class OrdersHandler(OrderHandlerBase):
    """Sell (POST) and the order history (GET)."""

    permissions = {"GET": "sales.view_history", "POST": "sales.process"}
    api_doc = {
        "get": {"summary": "Order history (list key: orders)", "query": LIST_QUERY, "response": OrderHistoryOut,
                "tags": ["orders"]},
        "post": {"summary": "Create an order: priced, paid, stock deducted, numbered and journaled in one "
                            "transaction. Idempotency-Key header (or clientOrderId) makes retries safe.",
                 "body": OrderCreate, "creates": True, "tags": ["orders"]},
    }

    async def post(self) -> None:
        body = self.parse(OrderCreate)
        key = self.idempotency_key()
        store_settings = await self.store_settings.get(self.principal.store_id)
        order, created = await self.run_db(
            sales.create, self.ctx.settings, body, actor=self.principal,
            now=self.ctx.clock(), idempotency_key=key, store_settings=store_settings,
            catalogue_cache=self.catalogue_cache, whole_unit=sales.WholeUnit())
        if created:
            metrics.orders_created(self.ctx, order["storeId"], order["total"] - order["tipAmount"])
        self.created({"order": order}, location=f"/orders/{order['id']}")

    async def get(self) -> None:
        page = page_from_query(self)
        query = self.parse_query(OrderQuery)
        sort = self.get_query_argument("sort", None)
        store_id = query.storeId or self.principal.store_id
        zone = (await self.store_settings.get(store_id))["storeTimezone"]
        data = await self.run_db(order_history.list_orders, page, query, store_id=self.principal.store_id,
                                 timezone=zone, sort=sort)
        self.success({**data, "orders": [with_legacy_aliases(order) for order in data["orders"]]})


class OrderHandler(OrderHandlerBase):
    """One order."""

    permissions = {"GET": "sales.view_history"}
    api_doc = {"get": {"summary": "One order", "response": OrderOneOut, "tags": ["orders"]}}

    async def get(self, order_id: str) -> None:
        self.success({"order": with_legacy_aliases(await self.run_db(order_history.get, order_id))})


class OrderRefundHandler(OrderHandlerBase):
    """Refund lines, an amount or the whole order (never more than remains)."""

    permissions = {"POST": "sales.refund"}
    api_doc = {"post": {"summary": "Refund an order: by line, by amount, or everything that remains",
                        "body": RefundCreate, "tags": ["orders"]}}

    async def post(self, order_id: str) -> None:
        body = self.parse(RefundCreate)
        data = await self.run_db(refunds.refund_order, order_id, body, actor=self.principal, now=self.ctx.clock())
        metrics.refunds_issued(self.ctx, data["order"]["storeId"], data["refund"]["amount"])
        self.success(data)


class OrderVoidHandler(OrderHandlerBase):
    """Void today's order before any refund."""

    permissions = {"POST": "sales.void"}
    api_doc = {"post": {"summary": "Void an order (same business day, before any refund)", "body": VoidRequest,
                        "tags": ["orders"]}}

    async def post(self, order_id: str) -> None:
        body = self.parse(VoidRequest)
        data = await self.run_db(refunds.void, self.ctx.settings, order_id, body, actor=self.principal,
                                 now=self.ctx.clock())
        self.success(data)


class OrderReceiptHandler(OrderHandlerBase):
    """The receipt: text and escpos in the `receiptWidth` setting's columns, html, or json in the envelope."""

    permissions = {"GET": "receipts.print"}
    api_doc = {"get": {"summary": "Receipt of an order (format=text|html|escpos|json, default text; text and "
                                  "escpos lines fit the receiptWidth setting: 32, 42 or 48 columns)",
                       "query": FORMAT_QUERY, "raw": RECEIPT_TYPES, "tags": ["orders"]}}

    async def get(self, order_id: str) -> None:
        fmt = check_format(self.get_query_argument("format", None), "text")
        order, store = await self.run_db(receipt_prints.load, self.ctx.settings, order_id)
        await self.send_receipt(order, store, fmt, reprint=False)


class OrderReprintHandler(OrderHandlerBase):
    """Reprint: counted, and marked as a copy."""

    permissions = {"POST": "receipts.reprint"}
    api_doc = {"post": {"summary": "Reprint a receipt (counts reprints; format like GET, default json)",
                        "query": FORMAT_QUERY, "raw": RECEIPT_TYPES, "tags": ["orders"]}}

    async def post(self, order_id: str) -> None:
        fmt = check_format(self.get_query_argument("format", None), "json")
        order, store = await self.run_db(receipt_prints.load_reprint, self.ctx.settings, order_id,
                                         now=self.ctx.clock())
        await self.send_receipt(order, store, fmt, reprint=True)


class OrderEmailReceiptHandler(OrderHandlerBase):
    """E-mail the receipt (HTML and text) through the SMTP service."""

    permissions = {"POST": "receipts.email"}
    api_doc = {"post": {"summary": "E-mail the receipt; 200 once the SMTP server accepted it",
                        "body": EmailReceiptRequest, "tags": ["orders"]}}

    async def post(self, order_id: str) -> None:
        body = self.parse(EmailReceiptRequest)
        order, store = await self.run_db(receipt_prints.load, self.ctx.settings, order_id)
        _, text = render(order, store, "text")
        _, html = render(order, store, "html")
        try:
            msg = build_message(sender=self.ctx.settings.smtp_from, to=[body.email],
                                subject=email_subject(order, store), text=text, html=html)
        except ValidationFailed as exc:
            problem = exc.field_errors.get("to")
            if problem is None:
                raise
            raise ValidationFailed(f"email: {problem}", field_errors={"email": problem}) from None
        try:
            await self.mailer.send(msg)
        except EmailDeliveryError:
            raise ServiceUnavailable("The receipt could not be e-mailed right now; try again later") from None
        self.success({"sent": True, "email": body.email, "orderId": order["id"]},
                     message=f"Receipt sent to {body.email}")


default_handlers = [
    (r"/orders", OrdersHandler),
    (rf"/orders/{ORDER_ID}", OrderHandler),
    (rf"/orders/{ORDER_ID}/refund", OrderRefundHandler),
    (rf"/orders/{ORDER_ID}/void", OrderVoidHandler),
    (rf"/orders/{ORDER_ID}/receipt", OrderReceiptHandler),
    (rf"/orders/{ORDER_ID}/reprint-receipt", OrderReprintHandler),
    (rf"/orders/{ORDER_ID}/email-receipt", OrderEmailReceiptHandler),
]
