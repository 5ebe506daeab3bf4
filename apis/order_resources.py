"""The Order resource as GET /orders and GET /orders/{id} send it, with its deprecated snake_case aliases.

camelCase is canonical.  The existing web client's order-history screen reads snake_case names
(API.md, Orders -> "Legacy aliases"), so those two endpoints - and only they - also carry the aliases,
with the same values.  They are read-only: request bodies ignore unknown fields (order_schemas.py),
so an alias sent back is never read.  POST /orders answers without them (its replays must repeat
the original answer, and no client reads them there), as do refunds and voids.

One table per level names each alias and the field it copies; `with_legacy_aliases` builds the
aliases from it, and the OpenAPI models below add from it one deprecated, read-only property per
alias, so the document marks exactly what the server sends.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from types import GenericAlias
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

# alias -> canonical field.  Where the two names are the same, the field itself serves the client.
ORDER_ALIASES = {
    "created_at": "createdAt", "payment_method": "paymentMethod", "subtotal": "subtotal",
    "tax_amount": "taxAmount", "discount_amount": "discountAmount", "discount_reason": "discountReason",
    "total_amount": "total", "amount_paid": "amountPaid", "change_given": "changeGiven", "staff_id": "createdBy",
    "reprint_count": "reprintCount", "last_reprint": "lastReprint",
}
ITEM_ALIASES = {
    "product_id": "menuItemId", "product_name": "productName", "size": "size", "price": "unitPrice",
    "quantity": "quantity", "notes": "notes",
}


def _aliased(resource: dict[str, Any], aliases: dict[str, str]) -> dict[str, Any]:
    return {**resource, **{alias: resource[field] for alias, field in aliases.items() if alias != field}}


def with_legacy_aliases(order: dict[str, Any]) -> dict[str, Any]:
    """A copy of the Order resource with the deprecated aliases on the order and on each item."""
    aliased = _aliased(order, ORDER_ALIASES)
    aliased["items"] = [_aliased(item, ITEM_ALIASES) for item in order["items"]]
    return aliased


# --- The OpenAPI description (never used to validate: the server builds the resource itself) ---

# Amounts and rates go out as JSON numbers (exact decimals, at most 2 places for money).
Amount = Annotated[Decimal, WithJsonSchema({"type": "number"})]


class _Resource(BaseModel):
    model_config = ConfigDict(extra="allow")


class OrderModifierOut(_Resource):
    id: str
    name: str
    priceDelta: Amount


class OrderItemFields(_Resource):
    id: str
    menuItemId: str
    productName: str
    size: str | None
    category: str
    quantity: int
    unitPrice: Amount
    modifiers: list[OrderModifierOut]
    lineTotal: Amount
    discountShare: Amount
    taxRate: Amount
    paidTotal: Amount
    priceOverridden: bool
    notes: str | None
    refundedQuantity: int
    station: str | None = Field(description="the preparation station (null: nothing to prepare)")
    prepStatus: str | None = Field(description="queued | in_progress | ready | collected | cancelled; null "
                                               "until sent to its station")


class TaxLineOut(_Resource):
    rate: Amount
    base: Amount
    tax: Amount


class PaymentOut(_Resource):
    method: str
    amount: Amount
    tendered: Amount | None
    change: Amount | None
    reference: str | None


class OrderFields(_Resource):
    id: str
    orderNumber: str | None
    receiptNumber: int | None
    storeId: str
    terminalId: str | None
    orderType: str
    status: str
    taxMode: str
    items: list[Any]  # narrowed to the aliased item below
    subtotal: Amount
    discountAmount: Amount
    discountReason: str | None
    taxAmount: Amount
    taxBreakdown: list[TaxLineOut]
    tipAmount: Amount
    roundingAdjustment: Amount
    total: Amount
    payments: list[PaymentOut]
    paymentMethod: str
    amountPaid: Amount
    changeGiven: Amount
    refundedAmount: Amount
    createdAt: datetime
    saleAt: datetime
    clientCreatedAt: datetime | None
    createdBy: str
    createdByName: str
    shiftId: str | None
    customerName: str | None
    orderNotes: str | None
    reprintCount: int
    lastReprint: datetime | None
    voidedAt: datetime | None
    voidedBy: str | None
    voidReason: str | None
    tabId: str | None = Field(description="the tab this order paid (a tab's child order); null for a counter sale")


def _with_alias_fields(name: str, base: type[BaseModel], aliases: dict[str, str], **extra: Any) -> type[BaseModel]:
    """`base` plus one deprecated, read-only property per alias, typed like the field it copies."""
    fields: dict[str, Any] = {}
    for alias, field in aliases.items():
        if alias != field:
            copied = base.model_fields[field]
            annotation = Annotated[(copied.annotation, *copied.metadata)] if copied.metadata else copied.annotation
            fields[alias] = (annotation, Field(deprecated=True, description=f"Deprecated read-only alias of {field}",
                                               json_schema_extra={"readOnly": True}))
    return create_model(name, __base__=base, **extra, **fields)


OrderItemOut = _with_alias_fields("OrderItemOut", OrderItemFields, ITEM_ALIASES)
# list[OrderItemOut], spelled as the value it is: OrderItemOut is built at run time, not a static type.
OrderOut = _with_alias_fields("OrderOut", OrderFields, ORDER_ALIASES, items=(GenericAlias(list, (OrderItemOut,)), ...))


class OrderHistoryOut(BaseModel):
    """GET /orders: one page of the order history."""

    orders: list[OrderOut]  # type: ignore[valid-type]
    total: int
    page: int
    perPage: int
    pages: int


class OrderOneOut(BaseModel):
    """GET /orders/{id}."""

    order: OrderOut  # type: ignore[valid-type]
