"""Typed request bodies for tabs (API.md "Tabs and the preparation queue")."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from orm.domain.canonical import canonical_json
from orm.domain.schemas.orders import (
    MAX_ORDER_LINES,
    DiscountIn,
    Id,
    Money,
    OrderItemIn,
    PaymentIn,
    WholeQuantity,
    _Body,
    _whole_number,
)
from orm.domain.tab_split import MAX_WAYS, MIN_WAYS

TabStatus = Literal["open", "closed", "voided"]


class TabCreate(_Body):
    name: str = Field(min_length=1, max_length=120)
    customerName: str | None = Field(default=None, max_length=120)
    orderType: Literal["eat_in", "take_away"] = "eat_in"


class TabItemsAdd(_Body):
    items: list[OrderItemIn] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    send: bool = True


class TabPayLine(_Body):
    orderItemId: Id
    quantity: WholeQuantity


class SplitIn(_Body):
    ways: Annotated[int, BeforeValidator(_whole_number), Field(ge=MIN_WAYS, le=MAX_WAYS)]


class TabPay(_Body):
    payments: list[PaymentIn] | None = Field(default=None, min_length=1, max_length=10)
    paymentMethod: Literal["cash", "card", "split"] | None = None
    amountPaid: Money | None = None
    items: list[TabPayLine] | None = Field(default=None, min_length=1, max_length=MAX_ORDER_LINES)
    split: SplitIn | None = None
    discount: DiscountIn | None = None
    discountAmount: Money | None = None
    discountReason: str | None = Field(default=None, max_length=200)
    tipAmount: Money = Decimal("0")
    customerName: str | None = Field(default=None, max_length=120)
    orderNotes: str | None = Field(default=None, max_length=500)
    clientOrderId: str | None = Field(default=None, min_length=1, max_length=128)
    terminalId: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _consistent(self) -> TabPay:
        if self.items is not None and self.split is not None:
            raise ValueError("pay either by items or as a split share, not both")
        if self.payments is None:
            if self.paymentMethod is None:
                raise ValueError("payments (or paymentMethod) is required")
            if self.paymentMethod == "split":
                raise ValueError("a split payment needs the payments list")
            if self.paymentMethod == "cash" and self.amountPaid is None:
                raise ValueError("amountPaid is required for a cash payment")
        return self

    def fingerprint(self, tab_id: str) -> str:
        """The same payment of the same tab sent twice hashes the same (idempotent retries)."""
        return hashlib.sha256(canonical_json({"tab": tab_id, **self.model_dump()}).encode()).hexdigest()


class TabVoid(_Body):
    reason: str = Field(min_length=1, max_length=200)


class TabQuery(_Body):
    status: TabStatus = "open"
