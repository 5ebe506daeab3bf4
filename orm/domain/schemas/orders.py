"""Typed request bodies for orders, refunds, voids, receipts and shifts.

Validated at the edge (apis/*) into these models; controllers receive only
valid, typed data.  Money is a Decimal with at most 2 places (JSON numbers
or strings like "3.50"); quantities are whole numbers (2 and "2" and 2.0 are
fine, 1.5 and true are not).  Unknown fields are ignored, so client-sent
prices, totals and createdBy never reach the controllers.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from orm.domain.business_days import instant_in_range
from orm.domain.canonical import canonical_json

MAX_ORDER_LINES = 200  # the same limit as pricing.MAX_LINES
MAX_LINE_QUANTITY = 999
MAX_MONEY = Decimal("100000")


def _whole_number(value: Any) -> Any:
    # pydantic's lax int accepts True as 1; a boolean quantity is a client bug.
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, Decimal) and value.is_finite() and value != value.to_integral_value():
        raise ValueError("must be a whole number")
    return value


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be an amount")
    return value


WholeQuantity = Annotated[int, BeforeValidator(_whole_number), Field(ge=1, le=MAX_LINE_QUANTITY)]
Money = Annotated[Decimal, BeforeValidator(_no_bool), Field(ge=0, le=MAX_MONEY, decimal_places=2, allow_inf_nan=False)]
PositiveMoney = Annotated[Decimal, BeforeValidator(_no_bool),
                          Field(gt=0, le=MAX_MONEY, decimal_places=2, allow_inf_nan=False)]
Id = Annotated[str, Field(min_length=1, max_length=64)]
PaymentMethod = Literal["cash", "card"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class OrderItemIn(_Body):
    menuItemId: Id | None = None
    productId: Id | None = None  # older clients
    quantity: WholeQuantity
    modifierIds: list[Id] = Field(default_factory=list, max_length=20)
    notes: str | None = Field(default=None, max_length=300)
    priceOverride: Money | None = None

    @model_validator(mode="after")
    def _one_item_id(self) -> OrderItemIn:
        if not (self.menuItemId or self.productId):
            raise ValueError("menuItemId is required")
        return self

    @property
    def item_id(self) -> str:
        return self.menuItemId or self.productId or ""


class DiscountIn(_Body):
    type: Literal["percent", "fixed"]
    value: Annotated[Decimal, BeforeValidator(_no_bool), Field(gt=0, le=MAX_MONEY, allow_inf_nan=False)]
    reason: str | None = Field(default=None, max_length=200)


class PaymentIn(_Body):
    method: PaymentMethod
    amount: Money | None = None
    tendered: Money | None = None
    reference: str | None = Field(default=None, max_length=64)


class OrderCreate(_Body):
    items: list[OrderItemIn] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    orderType: Literal["eat_in", "take_away"] = "eat_in"
    discount: DiscountIn | None = None
    discountAmount: Money | None = None  # older clients: a fixed discount
    discountReason: str | None = Field(default=None, max_length=200)
    tipAmount: Money = Decimal("0")
    payments: list[PaymentIn] | None = Field(default=None, min_length=1, max_length=10)
    paymentMethod: Literal["cash", "card", "split"] | None = None
    amountPaid: Money | None = None
    customerName: str | None = Field(default=None, max_length=120)
    orderNotes: str | None = Field(default=None, max_length=500)
    clientOrderId: str | None = Field(default=None, min_length=1, max_length=128)
    terminalId: str | None = Field(default=None, min_length=1, max_length=64)
    clientCreatedAt: Annotated[AwareDatetime, AfterValidator(instant_in_range)] | None = None

    @model_validator(mode="after")
    def _payment_given(self) -> OrderCreate:
        if self.payments is None:
            if self.paymentMethod is None:
                raise ValueError("payments (or paymentMethod) is required")
            if self.paymentMethod == "split":
                raise ValueError("a split payment needs the payments list")
            if self.paymentMethod == "cash" and self.amountPaid is None:
                raise ValueError("amountPaid is required for a cash payment")
        return self

    def effective_payments(self) -> list[PaymentIn]:
        """The payments list; the legacy paymentMethod/amountPaid pair maps to one payment."""
        if self.payments is not None:
            return list(self.payments)
        if self.paymentMethod == "cash":
            return [PaymentIn(method="cash", tendered=self.amountPaid)]
        return [PaymentIn(method="card", amount=self.amountPaid)]

    def effective_discount(self) -> DiscountIn | None:
        if self.discount is not None:
            return self.discount
        if self.discountAmount:  # 0 from an older client means "no discount"
            return DiscountIn(type="fixed", value=self.discountAmount, reason=self.discountReason)
        return None

    def fingerprint(self) -> str:
        """SHA-256 of the canonical body: the same order sent twice hashes the same."""
        return hashlib.sha256(canonical_json(self.model_dump()).encode()).hexdigest()


class RefundLineIn(_Body):
    orderItemId: Id
    quantity: WholeQuantity


class RefundCreate(_Body):
    items: list[RefundLineIn] | None = Field(default=None, min_length=1, max_length=MAX_ORDER_LINES)
    amount: PositiveMoney | None = None
    reason: str = Field(min_length=1, max_length=300)
    restock: bool = True
    method: PaymentMethod | None = None


class VoidRequest(_Body):
    reason: str = Field(min_length=1, max_length=200)


class EmailReceiptRequest(_Body):
    email: str = Field(min_length=3, max_length=254)


class ShiftOpen(_Body):
    openingCash: Money


class ShiftCashIn(_Body):
    type: Literal["paid_in", "paid_out"]
    amount: PositiveMoney
    reason: str = Field(min_length=1, max_length=200)


class ShiftClose(_Body):
    countedCash: Money
    notes: str | None = Field(default=None, max_length=500)


class OrderQuery(_Body):
    """GET /orders filters (paging and sort are read separately)."""

    status: Literal["completed", "partially_refunded", "refunded", "voided"] | None = None
    from_: str | None = Field(default=None, alias="from", max_length=40)
    to: str | None = Field(default=None, max_length=40)
    createdBy: str | None = Field(default=None, max_length=64)
    paymentMethod: Literal["cash", "card", "split"] | None = Field(
        default=None, validation_alias=AliasChoices("paymentMethod", "payment_method"))
    search: str | None = Field(default=None, max_length=120)
    shiftId: str | None = Field(default=None, max_length=64)
    storeId: str | None = Field(default=None, max_length=64)
