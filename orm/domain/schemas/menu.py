"""Typed, validated input for the menu (request bodies of /menu_items and friends).

They live beside the controller rather than in apis/ because the seeds build
them too.  Money and quantities arrive as Decimals (orm.domain.jsonenc) or strings
such as "3.50"; every amount is checked for exactness here, so controllers
never see a float, a NaN or a third decimal on a price.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator, model_validator

MAX_PRICE = Decimal("10000")
MAX_DELTA = Decimal("1000")
MAX_QUANTITY = Decimal("100000")
MAX_STOCK_COUNT = 1_000_000
MAX_SELECT = 20


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise ValueError("must be a number")
    try:
        d = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not d.is_finite():
        raise ValueError("must be a finite number")
    return d


def _places(d: Decimal, places: int) -> Decimal:
    # Callers check the range first, so quantize never overflows the context.
    quantized = d.quantize(Decimal(1).scaleb(-places))
    if quantized != d:
        raise ValueError(f"must have at most {places} decimal places")
    return quantized


def _price(value: Any) -> Decimal:
    d = _decimal(value)
    if d <= 0:
        raise ValueError("must be greater than 0")
    if d > MAX_PRICE:
        raise ValueError(f"must be at most {MAX_PRICE}")
    return _places(d, 2)


def _price_delta(value: Any) -> Decimal:
    d = _decimal(value)
    if abs(d) > MAX_DELTA:
        raise ValueError(f"must be between -{MAX_DELTA} and {MAX_DELTA}")
    return _places(d, 2)


def _tax_rate(value: Any) -> Decimal | None:
    if value is None:
        return None
    d = _decimal(value)
    if d < 0 or d >= 1:
        raise ValueError("must be a fraction between 0 and 1 (e.g. 0.08 for 8 %)")
    return _places(d, 5).normalize() if d else Decimal("0")


def _quantity(value: Any) -> Decimal:
    d = _decimal(value)
    if d <= 0:
        raise ValueError("must be greater than 0")
    if d > MAX_QUANTITY:
        raise ValueError(f"must be at most {MAX_QUANTITY}")
    return _places(d, 3)


def _whole(value: Any) -> Any:
    # JSON numbers arrive as Decimals; 3.0 is a whole number, 3.5 and true are not.
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise ValueError("must be a whole number")
        return int(value)
    return value


def _text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _optional_text(value: Any) -> Any:
    value = _text(value)
    return None if value == "" else value


Price = Annotated[Decimal, BeforeValidator(_price)]
PriceDelta = Annotated[Decimal, BeforeValidator(_price_delta)]
TaxRate = Annotated[Decimal | None, BeforeValidator(_tax_rate)]
RecipeQuantity = Annotated[Decimal, BeforeValidator(_quantity)]
WholeNumber = Annotated[int, BeforeValidator(_whole)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120), BeforeValidator(_text)]
ShortName = Annotated[str, StringConstraints(min_length=1, max_length=64), BeforeValidator(_text)]
Description = Annotated[str, StringConstraints(min_length=0, max_length=1000), BeforeValidator(_text)]
# Empty text means "none" for these: stored as NULL ("" for size).
OptionalCode = Annotated[
    Annotated[str, StringConstraints(min_length=1, max_length=64)] | None, BeforeValidator(_optional_text)]
Size = Annotated[
    Annotated[str, StringConstraints(min_length=1, max_length=32)] | None, BeforeValidator(_optional_text)]
CategoryName = Annotated[
    Annotated[str, StringConstraints(min_length=1, max_length=64)] | None, BeforeValidator(_optional_text)]


STATION_NAME = re.compile(r"[a-z0-9_-]{1,32}")
NO_STATION = ""  # an item's "nothing to prepare", whatever its category says


def _item_station(value: Any) -> str | None:
    """null: inherit the category's station; "" or "none": nothing to prepare; else a station name."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError('must be a station name, "none" or null')
    text = value.strip()
    if text == "" or text.lower() == "none":
        return NO_STATION
    if not STATION_NAME.fullmatch(text):
        raise ValueError("is not a station name (1-32 characters: a-z, 0-9, _ and -)")
    return text


def _category_station(value: Any) -> str | None:
    """A station name, or null ("" and "none" too) for nothing to prepare."""
    station = _item_station(value)
    return station or None


STATION_DOC = ('the preparation station (one of settings.stations); null: the category\'s; "" or "none": '
               'nothing to prepare, whatever the category says')
ItemStation = Annotated[str | None, BeforeValidator(_item_station)]
CategoryStation = Annotated[str | None, BeforeValidator(_category_station)]


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("may not be null")
    return value


class _Input(BaseModel):
    # Clients often send a whole resource back on PUT (id, createdAt...): ignore what we don't own.
    model_config = ConfigDict(extra="ignore")

    def given(self) -> set[str]:
        """The fields the client actually sent (PUT is a partial update)."""
        return set(self.model_fields_set)


class RecipeLineIn(_Input):
    inventoryItemId: str = Field(min_length=1, max_length=64)
    quantity: RecipeQuantity


class ModifierIn(_Input):
    """A modifier, matched to an existing one of its group by id, else by name."""

    id: str | None = None
    name: ShortName
    priceDelta: PriceDelta = Decimal("0.00")
    recipe: list[RecipeLineIn] = Field(default_factory=list, max_length=50)


class ModifierGroupIn(_Input):
    """A modifier group, by `id` or `name`.

    Only a reference (id/name alone) attaches an existing group.  With
    minSelect/maxSelect/modifiers the shared group is created or updated, and
    `modifiers` replaces its modifier list (matched by id, then name; modifiers
    left out are retired).  The group is shared: every item offering it sees the change.
    """

    id: str | None = None
    name: CategoryName = None
    minSelect: WholeNumber | None = Field(default=None, ge=0, le=MAX_SELECT)
    maxSelect: WholeNumber | None = Field(default=None, ge=1, le=MAX_SELECT)
    modifiers: list[ModifierIn] | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _check(self) -> ModifierGroupIn:
        if not self.id and not self.name:
            raise ValueError("give the group's id or name")
        if self.minSelect is not None and self.maxSelect is not None and self.minSelect > self.maxSelect:
            raise ValueError("minSelect must not be greater than maxSelect")
        names = [m.name.casefold() for m in self.modifiers or []]
        if len(names) != len(set(names)):
            raise ValueError("modifier names must be unique within a group")
        return self

    def defines(self) -> bool:
        """True when the entry carries a definition, not only a reference."""
        return bool(self.given() & {"minSelect", "maxSelect", "modifiers"})


class ModifierGroupCreate(ModifierGroupIn):
    name: ShortName
    modifiers: list[ModifierIn] = Field(default_factory=list, max_length=50)


class ModifierGroupUpdate(_Input):
    name: ShortName | None = None
    minSelect: WholeNumber | None = Field(default=None, ge=0, le=MAX_SELECT)
    maxSelect: WholeNumber | None = Field(default=None, ge=1, le=MAX_SELECT)
    modifiers: list[ModifierIn] | None = Field(default=None, max_length=50)

    check_not_null = field_validator("name", "minSelect", "maxSelect", "modifiers", mode="before")(_not_null)


class MenuItemCreate(_Input):
    name: Name
    price: Price
    category: CategoryName = None
    size: Size = None
    description: Description = ""
    taxRate: TaxRate = None
    takeAwayTaxRate: TaxRate = None
    isActive: bool = True
    sortOrder: WholeNumber = Field(default=0, ge=-1_000_000, le=1_000_000)
    sku: OptionalCode = None
    barcode: OptionalCode = None
    stockCount: WholeNumber | None = Field(default=None, ge=0, le=MAX_STOCK_COUNT)
    station: ItemStation = Field(default=None, description=STATION_DOC)
    modifierGroups: list[ModifierGroupIn] = Field(default_factory=list, max_length=30)
    recipe: list[RecipeLineIn] = Field(default_factory=list, max_length=50)


class MenuItemUpdate(_Input):
    """Partial update: only the fields sent change; null clears the nullable ones."""

    name: Name | None = None
    price: Price | None = None
    category: CategoryName = None
    size: Size = None
    description: Description | None = None
    taxRate: TaxRate = None
    takeAwayTaxRate: TaxRate = None
    isActive: bool | None = None
    sortOrder: WholeNumber | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    sku: OptionalCode = None
    barcode: OptionalCode = None
    stockCount: WholeNumber | None = Field(default=None, ge=0, le=MAX_STOCK_COUNT)
    station: ItemStation = Field(default=None, description=STATION_DOC)
    modifierGroups: list[ModifierGroupIn] | None = Field(default=None, max_length=30)
    recipe: list[RecipeLineIn] | None = Field(default=None, max_length=50)

    check_not_null = field_validator("name", "price", "description", "isActive", "sortOrder", "modifierGroups",
                                     "recipe", mode="before")(_not_null)


class CategoryUpdate(_Input):
    """PUT /menu_items/categories/{name}: rename, default tax rates (null = inherit), sort order."""

    name: ShortName | None = None
    taxRate: TaxRate = None
    takeAwayTaxRate: TaxRate = None
    sortOrder: WholeNumber | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    station: CategoryStation = Field(default=None, description="the preparation station of its items (one of "
                                                               "settings.stations); null: nothing to prepare")

    check_not_null = field_validator("name", "sortOrder", mode="before")(_not_null)
