"""Inventory CSV export and import (API.md: "all-or-nothing like the menu import").

Columns, in export order: name, category, supplier, unit, currentStock, minStockLevel, maxStockLevel,
costPerUnit (only for callers with inventory.view_costs), location, barcode, expiryDate, lastRestocked.
The export holds the active items; importing it again changes nothing (every row is "skipped"), and
importing it into an empty store recreates the same export.

Import rules:
* `name` is required; rows are matched to items by name, case-insensitively (an existing item keeps
  its spelling; inactive items match too and are reactivated). `unit` is required for a new item.
* A column left out of the file (or a key left out of a JSON row) leaves that field as it is; an empty
  cell clears an optional field (maxStockLevel, costPerUnit, barcode, expiryDate, lastRestocked) and
  empties a text field. An empty currentStock / minStockLevel / unit means "unchanged" (a new item
  gets 0 / the store's lowStockDefaultMin).
* currentStock is the counted level: a change is recorded as an `import` movement (atomic, like
  every stock change), so the movements still sum to the stock.
* Any problem in any row -> ValidationFailed (400) with {created, updated, skipped, rowErrors} and
  one message per problem; nothing is written. `dry_run` validates and counts without writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orm.column_types import new_id
from orm.controllers.identity.changes import record_change
from orm.controllers.inventory import alerts, stock
from orm.controllers.inventory.inventory_items import shows_costs
from orm.controllers.stores import store_settings
from orm.domain.business_days import day_in_range, instant_in_range
from orm.domain.csv_cells import FieldError, RowErrors, parse_decimal
from orm.domain.csv_io import CsvRow, find_duplicates, read_csv, rows_from_json
from orm.domain.csv_write import write_csv
from orm.domain.principal import Principal
from orm.models.model_inventory import UNITS, InventoryItem
from settings import Settings

COLUMNS = ("name", "category", "supplier", "unit", "currentStock", "minStockLevel", "maxStockLevel",
           "costPerUnit", "location", "barcode", "expiryDate", "lastRestocked")
ALIASES = {"item": "name", "stock": "currentStock", "quantity": "currentStock", "minimum": "minStockLevel",
           "minStock": "minStockLevel", "maximum": "maxStockLevel", "maxStock": "maxStockLevel",
           "cost": "costPerUnit", "expiry": "expiryDate"}
ATTRS = {"name": "name", "category": "category", "supplier": "supplier", "unit": "unit",
         "minStockLevel": "min_stock_level", "maxStockLevel": "max_stock_level", "costPerUnit": "cost_per_unit",
         "location": "location", "barcode": "barcode", "expiryDate": "expiry_date",
         "lastRestocked": "last_restocked"}
TEXT_LIMITS = {"name": 120, "category": 64, "supplier": 120, "location": 64, "barcode": 64}
NUMERIC = ("currentStock", "minStockLevel", "maxStockLevel", "costPerUnit")  # decimal commas in ;-separated files
MAX_QUANTITY = Decimal("999999999")


@dataclass
class Planned:
    line: int
    item: InventoryItem | None
    values: dict[str, Any] = field(default_factory=dict)  # camelCase field -> new value
    level: Decimal | None = None


def export_rows(session: Session, principal: Principal) -> bytes:
    """The store's active items as CSV bytes (UTF-8 with BOM, CRLF)."""
    columns = [c for c in COLUMNS if c != "costPerUnit" or shows_costs(principal)]
    items = session.scalars(select(InventoryItem)
                            .where(InventoryItem.store_id == principal.store_id, InventoryItem.is_active.is_(True))
                            .order_by(InventoryItem.category, InventoryItem.name, InventoryItem.id))
    rows = []
    for item in items:
        row: dict[str, Any] = {col: getattr(item, attr) for col, attr in ATTRS.items()}
        row["currentStock"] = item.current_stock
        row["lastRestocked"] = _iso(item.last_restocked)
        rows.append(row)
    return write_csv(columns, rows)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _level(text: str, name: str) -> Decimal:
    return parse_decimal(text, name, places=3, min_value=Decimal("0"), max_value=MAX_QUANTITY)


def _parse_row(row: CsvRow, existing: InventoryItem | None, default_min: Decimal, errors: RowErrors) -> Planned:
    plan = Planned(row.line, existing)
    v = row.values
    for name, limit in TEXT_LIMITS.items():
        if name in v and len(v[name]) > limit:
            errors.add(row.line, name, f"must be at most {limit} characters")
    for name in ("category", "supplier", "location"):
        if name in v:
            plan.values[name] = v[name]
    if "barcode" in v:
        plan.values["barcode"] = v["barcode"] or None
    unit = v.get("unit", "").strip().lower()
    if unit:
        if unit in UNITS:
            plan.values["unit"] = unit
        else:
            errors.add(row.line, "unit", "must be one of " + ", ".join(UNITS))
    elif existing is None:
        errors.add(row.line, "unit", "is required for a new item (" + ", ".join(UNITS) + ")")
    try:
        if v.get("currentStock"):
            level = parse_decimal(v["currentStock"], "currentStock", places=3, min_value=-MAX_QUANTITY,
                                  max_value=MAX_QUANTITY)
            # A level below zero (sales may go there) re-imports unchanged, but is never set by an import.
            if level < 0 and (existing is None or level != existing.current_stock):
                raise FieldError("currentStock", "must be at least 0")
            plan.level = level
        if v.get("minStockLevel"):
            plan.values["minStockLevel"] = _level(v["minStockLevel"], "minStockLevel")
        if "maxStockLevel" in v:
            plan.values["maxStockLevel"] = _level(v["maxStockLevel"], "maxStockLevel") if v["maxStockLevel"] else None
    except FieldError as exc:
        errors.add(row.line, exc.field, exc.message)
    try:
        if "costPerUnit" in v:
            plan.values["costPerUnit"] = parse_decimal(v["costPerUnit"], "costPerUnit", places=4,
                                                       min_value=Decimal("0"), max_value=Decimal("99999999")) \
                if v["costPerUnit"] else None
    except FieldError as exc:
        errors.add(row.line, exc.field, exc.message)
    if "expiryDate" in v:
        plan.values["expiryDate"] = _date(v["expiryDate"], row.line, errors)
    if "lastRestocked" in v:
        plan.values["lastRestocked"] = _datetime(v["lastRestocked"], row.line, errors)
    min_level = plan.values.get("minStockLevel", existing.min_stock_level if existing else default_min)
    max_level = plan.values["maxStockLevel"] if "maxStockLevel" in plan.values else \
        (existing.max_stock_level if existing else None)
    if max_level is not None and min_level is not None and max_level < min_level:
        errors.add(row.line, "maxStockLevel", "must be at least minStockLevel")
    return plan


def _date(text: str, line: int, errors: RowErrors) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors.add(line, "expiryDate", "must be a date written as YYYY-MM-DD")
        return None
    try:
        return day_in_range(day)
    except ValueError as exc:
        errors.add(line, "expiryDate", str(exc))
        return None


def _datetime(text: str, line: int, errors: RowErrors) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        errors.add(line, "lastRestocked", "must be a date and time such as 2026-11-23T08:30:00Z")
        return None
    try:
        return instant_in_range(value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)
    except ValueError as exc:
        errors.add(line, "lastRestocked", str(exc))
        return None


def _differs(item: InventoryItem, plan: Planned) -> bool:
    if not item.is_active:
        return True
    if plan.level is not None and plan.level != item.current_stock:
        return True
    return any(getattr(item, ATTRS[name]) != value for name, value in plan.values.items())


def import_rows(session: Session, settings: Settings, principal: Principal, *, csv_data: bytes | str | None = None,
                json_rows: Any = None, now: datetime, dry_run: bool = False) -> dict[str, Any]:
    """Validate every row, then write all of it -> {created, updated, skipped, rowErrors: []}."""
    store_id = principal.store_id
    errors = RowErrors()
    if csv_data is not None:
        rows = read_csv(csv_data, columns=COLUMNS, required=("name",), aliases=ALIASES, errors=errors,
                        numeric=NUMERIC)
    else:
        rows = rows_from_json(json_rows, columns=COLUMNS, required=("name",), aliases=ALIASES, errors=errors)
    errors.extend(find_duplicates(rows, lambda r: r.values["name"].casefold(), field="name"))
    existing = {i.name.casefold(): i for i in session.scalars(
        select(InventoryItem).where(InventoryItem.store_id == store_id))}
    default_min = store_settings.current(session, settings, store_id)["lowStockDefaultMin"]
    plans = [_parse_row(r, existing.get(r.values["name"].casefold()), default_min, errors) for r in rows]
    created = sum(1 for p in plans if p.item is None)
    updated = sum(1 for p in plans if p.item is not None and _differs(p.item, p))
    skipped = len(plans) - created - updated
    errors.raise_if_any(created=0, updated=0, skipped=0)
    summary = errors.summary(created=created, updated=updated, skipped=skipped)
    if dry_run:
        return summary
    levels: list[tuple[str, Decimal]] = []
    touched: list[str] = []
    for plan, row in zip(plans, rows, strict=True):
        if plan.item is None:
            item = InventoryItem(id=new_id(), store_id=store_id, name=row.values["name"], current_stock=Decimal(0),
                                 min_stock_level=default_min, category="", supplier="", location="",
                                 is_active=True, created_at=now, updated_at=now)
            for name, value in plan.values.items():
                setattr(item, ATTRS[name], value)
            session.add(item)
            record_change(session, principal, entity="inventory_item", entity_id=item.id, action="import",
                          new={**plan.values, "name": item.name}, at=now)
        elif _differs(plan.item, plan):
            item = plan.item
            old = {name: getattr(item, ATTRS[name]) for name in plan.values}
            for name, value in plan.values.items():
                setattr(item, ATTRS[name], value)
            item.is_active = True
            item.updated_at = now
            record_change(session, principal, entity="inventory_item", entity_id=item.id, action="import",
                          old=old, new=plan.values, at=now)
        else:
            continue
        touched.append(item.id)
        if plan.level is not None and (plan.item is None or plan.level != plan.item.current_stock):
            levels.append((item.id, plan.level))
    session.flush()
    # Locks rows in id order, like sales do.
    for item_id, level in sorted(levels):
        stock.set_level(session, store_id=store_id, item_id=item_id, new_level=level,
                                  movement_type="import", user_id=principal.user_id, reason="CSV import",
                                  reference=None, now=now)
    if touched:
        alerts.reconcile_items(session, settings, store_id, now, sorted(touched))
    return summary
