"""Request bodies of the inventory endpoints (validated at the edge, typed for the controllers)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from orm.domain.business_days import day_in_range

MAX_QUANTITY = Decimal("999999999")


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


Unit = Annotated[Literal["kg", "g", "l", "ml", "pcs"], BeforeValidator(_lower)]
Name = Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=120)]
Text64 = Annotated[str, BeforeValidator(_strip), Field(max_length=64)]
Text120 = Annotated[str, BeforeValidator(_strip), Field(max_length=120)]
Level = Annotated[Decimal, Field(ge=0, le=MAX_QUANTITY, decimal_places=3)]
SignedQuantity = Annotated[Decimal, Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY, decimal_places=3)]
Cost = Annotated[Decimal, Field(ge=0, le=Decimal("99999999"), decimal_places=4)]
# An empty barcode is no barcode.
ExpiryDate = Annotated[date, AfterValidator(day_in_range)]
Barcode = Annotated[Annotated[str, Field(max_length=64)] | None,
                    BeforeValidator(lambda v: (_strip(v) or None) if isinstance(v, str) else v)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InventoryItemCreate(_Body):
    """A new item. minStockLevel defaults to the store's lowStockDefaultMin; currentStock (default 0)
    is recorded as a `count` movement."""

    name: Name
    unit: Unit
    category: Text64 = ""
    supplier: Text120 = ""
    location: Text64 = ""
    currentStock: Level = Decimal("0")
    minStockLevel: Level | None = None
    maxStockLevel: Level | None = None
    costPerUnit: Cost | None = None
    barcode: Barcode = None
    expiryDate: ExpiryDate | None = None

    @model_validator(mode="after")
    def _levels(self) -> InventoryItemCreate:
        if self.maxStockLevel is not None and self.minStockLevel is not None \
                and self.maxStockLevel < self.minStockLevel:
            raise ValueError("maxStockLevel must be at least minStockLevel")
        return self


class InventoryItemUpdate(_Body):
    """Partial update: only the fields sent change. A different currentStock is recorded as a
    `correction` movement (and needs inventory.adjust_stock). The read-only fields of the resource
    (id, status, daysOfCover, lastRestocked) are accepted and ignored, so a client may send back what
    it read."""

    name: Name | None = None
    unit: Unit | None = None
    category: Text64 | None = None
    supplier: Text120 | None = None
    location: Text64 | None = None
    currentStock: Level | None = None
    minStockLevel: Level | None = None
    maxStockLevel: Level | None = None
    costPerUnit: Cost | None = None
    barcode: Barcode = None
    expiryDate: ExpiryDate | None = None
    isActive: bool | None = None
    id: Any = None
    status: Any = None
    daysOfCover: Any = None
    lastRestocked: Any = None

    @model_validator(mode="after")
    def _not_null(self) -> InventoryItemUpdate:
        for name in ("name", "unit", "category", "supplier", "location", "currentStock", "minStockLevel",
                     "isActive"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} must not be null")
        return self

    def changes(self) -> dict[str, Any]:
        ignored = {"id", "status", "daysOfCover", "lastRestocked"}
        return {k: getattr(self, k) for k in self.model_fields_set if k not in ignored}


class StockAdjustment(_Body):
    """{quantity (signed delta) | newLevel, type, reason}."""

    type: Literal["restock", "waste", "count", "correction"]
    quantity: SignedQuantity | None = None
    newLevel: Level | None = None
    reason: Annotated[str, BeforeValidator(_strip), Field(max_length=255)] = ""

    @model_validator(mode="after")
    def _one_of(self) -> StockAdjustment:
        if (self.quantity is None) == (self.newLevel is None):
            raise ValueError("send either quantity or newLevel")
        return self
