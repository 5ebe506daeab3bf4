"""The menu: categories, items, modifier groups and recipes.

Sizes are stored as "" (never NULL) so that the (store, name, size) unique
constraint also holds for items without a size on both databases: SQL treats
NULLs as distinct, "" as a value.  SKUs are NULL when absent, so only real
SKUs must be unique.

Modifiers and modifier groups are retired (is_active = false) rather than
deleted: order lines may point at them, and a sale must keep its history.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orm.column_types import Money, Quantity, Rate
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.base import Base, created_at_column, id_column, updated_at_column


def _store_column() -> Mapped[str]:
    return mapped_column(ForeignKey("stores.id"), nullable=False, index=True, default=DEFAULT_STORE_ID)


class MenuCategory(Base):
    __tablename__ = "menu_categories"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_menu_categories_store_name"),)

    id: Mapped[str] = id_column()
    store_id: Mapped[str] = _store_column()
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    # NULL: fall back to the store's default rate (eat-in) / the eat-in rate (take-away).
    tax_rate: Mapped[Decimal | None] = mapped_column(Rate(), nullable=True)
    take_away_tax_rate: Mapped[Decimal | None] = mapped_column(Rate(), nullable=True)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # The preparation station its items go to (a name from settings.stations); NULL: nothing to prepare.
    station: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class MenuItem(Base):
    __tablename__ = "menu_items"
    __table_args__ = (
        UniqueConstraint("store_id", "name", "size", name="uq_menu_items_store_name_size"),
        UniqueConstraint("store_id", "sku", name="uq_menu_items_store_sku"),
    )

    id: Mapped[str] = id_column()
    store_id: Mapped[str] = _store_column()
    category_id: Mapped[str | None] = mapped_column(ForeignKey("menu_categories.id"), nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    size: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    description: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    # NULL: inherit from the category, then the store settings.
    tax_rate: Mapped[Decimal | None] = mapped_column(Rate(), nullable=True)
    take_away_tax_rate: Mapped[Decimal | None] = mapped_column(Rate(), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sku: Mapped[str | None] = mapped_column(String(64), nullable=True)
    barcode: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # NULL for made-to-order items; counted goods change only by atomic UPDATEs.
    stock_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    image_url: Mapped[str | None] = mapped_column(String(255), nullable=True)
    thumbnail_url: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The item's own preparation station, overriding its category's; NULL: the category's.
    station: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class ModifierGroup(Base):
    __tablename__ = "modifier_groups"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_modifier_groups_store_name"),)

    id: Mapped[str] = id_column()
    store_id: Mapped[str] = _store_column()
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    min_select: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_select: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class Modifier(Base):
    __tablename__ = "modifiers"
    __table_args__ = (UniqueConstraint("group_id", "name", name="uq_modifiers_group_name"),)

    id: Mapped[str] = id_column()
    group_id: Mapped[str] = mapped_column(ForeignKey("modifier_groups.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    price_delta: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class MenuItemModifierGroup(Base):
    """Which groups an item offers, in display order (many-to-many)."""

    __tablename__ = "menu_item_modifier_groups"

    menu_item_id: Mapped[str] = mapped_column(ForeignKey("menu_items.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("modifier_groups.id", ondelete="CASCADE"), primary_key=True,
                                          index=True)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class MenuItemRecipeLine(Base):
    """Inventory consumed per unit of the item sold, in the inventory item's unit."""

    __tablename__ = "menu_item_recipe_lines"
    __table_args__ = (UniqueConstraint("menu_item_id", "inventory_item_id", name="uq_menu_item_recipe_lines_item"),)

    id: Mapped[str] = id_column()
    menu_item_id: Mapped[str] = mapped_column(ForeignKey("menu_items.id", ondelete="CASCADE"), nullable=False)
    # RESTRICT: an ingredient still used in a recipe cannot vanish under it.
    inventory_item_id: Mapped[str] = mapped_column(ForeignKey("inventory_items.id", ondelete="RESTRICT"),
                                                   nullable=False, index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity(), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ModifierRecipeLine(Base):
    """Extra inventory a modifier consumes (oat milk instead of whole milk, an extra shot)."""

    __tablename__ = "modifier_recipe_lines"
    __table_args__ = (UniqueConstraint("modifier_id", "inventory_item_id", name="uq_modifier_recipe_lines_item"),)

    id: Mapped[str] = id_column()
    modifier_id: Mapped[str] = mapped_column(ForeignKey("modifiers.id", ondelete="CASCADE"), nullable=False)
    inventory_item_id: Mapped[str] = mapped_column(ForeignKey("inventory_items.id", ondelete="RESTRICT"),
                                                   nullable=False, index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity(), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class MenuRevision(Base):
    """A per-store counter bumped by every menu change, in the same transaction.

    `GET /menu_items` keys its ETag cache on it, so an unchanged menu costs one
    indexed read instead of loading every item, group and recipe.
    """

    __tablename__ = "menu_revisions"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
