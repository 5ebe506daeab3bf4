"""Menu bulk import (`POST /menu_items/bulk-import`): CSV or JSON rows, all or nothing.

Columns: name, category, size, price, description, isActive, sku, barcode,
taxRate, takeAwayTaxRate, sortOrder, modifierGroups, recipe, station; only name and
price are required.  `station` is the item's own preparation station: a name from
settings.stations, `none` (nothing to prepare, whatever the category says) or
`inherit` (the category's; an empty cell leaves it as it is, inherit for a new item).
Rows are keyed by name + size.  The tax rates are the
item's own (empty: inherited from the category or the settings); the
modifierGroups and recipe cells are described in menu_csv_cells, and
`GET /menu_items/export` writes exactly these columns, so an export
re-imports unchanged.

* mode=upsert (default): a new key creates an item, an existing key updates
  it; an empty cell leaves that field of an existing item as it is.  A row
  that would change nothing counts as skipped.
* mode=create: an existing key is a row error.
* Any problem anywhere (file, value, duplicate key or SKU in the file, SKU of
  another item, existing key in create mode) -> ValidationFailed with every
  problem and `data = {created: 0, updated: 0, skipped: 0, rowErrors}`;
  nothing is written.  dryRun reports the counts it would have produced.

Work is set-based: existing items for all keys are loaded in one query,
inserts and updates are executemany statements, so 1,000 rows take a few
statements, not a few thousand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.column_types import new_id, utcnow
from orm.controllers.identity.changes import record_change
from orm.controllers.menu import import_links as menu_import_links
from orm.controllers.menu import revision as menu_revision
from orm.controllers.menu.stations import configured_stations
from orm.domain.csv_cells import FieldError, RowErrors, parse_bool, parse_decimal, parse_int
from orm.domain.csv_io import CsvRow, find_duplicates, read_csv, rows_from_json
from orm.domain.errors import Conflict, ValidationFailed
from orm.domain.menu_csv_cells import parse_groups, parse_recipe
from orm.domain.principal import Principal
from orm.domain.schemas.menu import NO_STATION, STATION_NAME
from orm.models.model_menu import MenuCategory, MenuItem

COLUMNS = ("name", "category", "size", "price", "description", "isActive", "sku", "barcode", "taxRate",
           "takeAwayTaxRate", "sortOrder", "modifierGroups", "recipe", "station")
REQUIRED = ("name", "price")
NUMERIC = ("price", "taxRate", "takeAwayTaxRate")  # decimal commas in ;-separated files (csv_io)
MAX_SORT = 1_000_000
MODES = ("upsert", "create")
MAX_ROWS = 5_000
MAX_PRICE = Decimal("10000")
TEXT_LIMITS = {"name": 120, "category": 64, "size": 32, "description": 1000, "sku": 64, "barcode": 64}


@dataclass
class ImportRow:
    line: int
    name: str
    size: str
    price: Decimal
    # Only the optional columns that had a value; absent = leave as is (or default on create).
    values: dict[str, Any] = field(default_factory=dict)


def parse_source(*, csv_bytes: bytes | None = None, json_rows: object = None) -> tuple[list[ImportRow], RowErrors]:
    """Read and check every row (no database). File-level problems raise ValidationFailed at once."""
    errors = RowErrors()
    if csv_bytes is not None:
        raw = read_csv(csv_bytes, columns=COLUMNS, required=REQUIRED, max_rows=MAX_ROWS, errors=errors,
                       numeric=NUMERIC)
    else:
        raw = rows_from_json(json_rows, columns=COLUMNS, required=REQUIRED, max_rows=MAX_ROWS, errors=errors)
    if not raw and not errors:
        errors.add(2, None, "the file has no rows to import")
    rows = [r for r in (_parse_row(row, errors) for row in raw) if r is not None]
    by_line = {r.line: r for r in rows}
    errors.extend(find_duplicates([c for c in raw if c.line in by_line],
                                  lambda c: (by_line[c.line].name, by_line[c.line].size), field="name"))
    errors.extend(find_duplicates([c for c in raw if c.line in by_line and by_line[c.line].values.get("sku")],
                                  lambda c: by_line[c.line].values["sku"], field="sku"))
    menu_import_links.check_definitions(rows, errors)
    return rows, errors


def _parse_row(row: CsvRow, errors: RowErrors) -> ImportRow | None:
    before = len(errors)
    cells = {k: v.strip() for k, v in row.values.items()}
    for column, limit in TEXT_LIMITS.items():
        if len(cells.get(column, "")) > limit:
            errors.add(row.line, column, f"must be at most {limit} characters")
    values: dict[str, Any] = {}
    price = Decimal("0")
    try:
        price = parse_decimal(cells.get("price", ""), "price", places=2, min_value=Decimal("0"),
                              exclusive_min=True, max_value=MAX_PRICE)
    except FieldError as exc:
        errors.add(row.line, exc.field, exc.message)
    for column in ("category", "description", "sku", "barcode"):
        if cells.get(column):
            values[column] = cells[column]
    try:
        active = parse_bool(cells.get("isActive", ""), "isActive")
        if active is not None:
            values["isActive"] = active
    except FieldError as exc:
        errors.add(row.line, exc.field, exc.message)
    for column in ("taxRate", "takeAwayTaxRate"):
        if cells.get(column):
            try:
                rate = parse_decimal(cells[column], column, places=5, min_value=Decimal("0"))
                if rate >= 1:
                    raise FieldError(column, "must be a fraction below 1 (e.g. 0.08 for 8 %)")
                values[column] = rate.normalize() if rate else Decimal("0")
            except FieldError as exc:
                errors.add(row.line, exc.field, exc.message)
    station = cells.get("station", "").lower()
    if station == "none":
        values["station"] = NO_STATION
    elif station == "inherit":
        values["station"] = None
    elif station:
        if STATION_NAME.fullmatch(station):
            values["station"] = station
        else:
            errors.add(row.line, "station", "must be a station name, none or inherit")
    parsers = {"sortOrder": lambda text: parse_int(text, "sortOrder", min_value=-MAX_SORT, max_value=MAX_SORT),
               "modifierGroups": lambda text: parse_groups(text, "modifierGroups", row.decimal),
               "recipe": lambda text: parse_recipe(text, "recipe", row.decimal)}
    for column, parse in parsers.items():
        if cells.get(column):
            try:
                values[column] = parse(cells[column])
            except FieldError as exc:
                errors.add(row.line, exc.field, exc.message)
    if len(errors) > before:
        return None
    return ImportRow(row.line, cells["name"], cells.get("size", ""), price, values)


@dataclass
class _Plan:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    price_changes: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)
    unchanged: list[tuple[int, MenuItem]] = field(default_factory=list)  # (line, item) with no field change
    skipped: int = 0


def import_rows(session: Session, rows: list[ImportRow], errors: RowErrors, *, mode: str, dry_run: bool,
                actor: Principal | None, store_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Check rows against the menu and write them all, or raise with every problem and write nothing."""
    if mode not in MODES:
        raise ValidationFailed("mode must be upsert or create", field_errors={"mode": "must be upsert or create"})
    now = now or utcnow()
    names = {r.name for r in rows}
    existing: dict[tuple[str, str], Any] = {}
    if names:
        for known in session.execute(select(MenuItem).where(MenuItem.store_id == store_id,
                                                            MenuItem.name.in_(names))).scalars():
            existing[(known.name, known.size)] = known
    skus = {r.values["sku"] for r in rows if "sku" in r.values}
    sku_owner = dict(session.execute(select(MenuItem.sku, MenuItem.id).where(
        MenuItem.store_id == store_id, MenuItem.sku.in_(skus))).tuples().all()) if skus else {}
    categories = _Categories.load(session, store_id)
    stations = set(configured_stations(session, store_id))
    plan = _Plan()
    for row in rows:
        if row.values.get("station") and row.values["station"] not in stations:
            errors.add(row.line, "station", f"is not one of this store's stations ({', '.join(sorted(stations))})")
            continue
        item = existing.get((row.name, row.size))
        if item is not None and mode == "create":
            errors.add(row.line, "name", "an item with this name and size already exists")
            continue
        owner = sku_owner.get(row.values.get("sku"))
        if owner is not None and owner != (item.id if item else None):
            errors.add(row.line, "sku", "is already used by another menu item")
            continue
        _plan_row(plan, row, item, categories, store_id, now)
    links = menu_import_links.plan_links(session, rows, existing, store_id, errors)
    if errors:
        raise errors.exception()
    for line, item in plan.unchanged:
        if line in links.changed_lines:  # only its modifier groups or recipe change
            plan.updates.append(_update_values(item, {}, now))
        else:
            plan.skipped += 1
    summary = errors.summary(created=len(plan.inserts), updated=len(plan.updates), skipped=plan.skipped)
    summary["dryRun"] = dry_run
    if dry_run:
        return summary
    if plan.inserts or plan.updates or categories.new or links:
        item_ids = {key: item.id for key, item in existing.items()}  # read before _write expires them
        item_ids.update({(v["name"], v["size"]): v["id"] for v in plan.inserts})
        _write(session, plan, categories, actor, store_id, now)
        if links:
            menu_import_links.apply_links(session, links, item_ids, store_id)
    return summary


@dataclass
class _Categories:
    """Existing categories by casefolded name, plus the ones this import will create."""

    ids: dict[str, str]
    next_sort: int
    new: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, session: Session, store_id: str) -> _Categories:
        ids: dict[str, str] = {}
        top = -1
        for c in session.scalars(select(MenuCategory).where(MenuCategory.store_id == store_id)):
            ids.setdefault(c.name.casefold(), c.id)
            top = max(top, c.sort_order)
        return cls(ids, top + 1)

    def id_for(self, name: str, store_id: str, now: datetime) -> str:
        key = name.casefold()
        if key not in self.ids:
            self.ids[key] = new_id()
            self.new.append({"id": self.ids[key], "store_id": store_id, "name": name, "sort_order": self.next_sort,
                             "created_at": now, "updated_at": now})
            self.next_sort += 1
        return self.ids[key]


_FIELDS = (("description", "description"), ("isActive", "is_active"), ("sku", "sku"), ("barcode", "barcode"),
           ("taxRate", "tax_rate"), ("takeAwayTaxRate", "take_away_tax_rate"), ("sortOrder", "sort_order"),
           ("station", "station"))


def _plan_row(plan: _Plan, row: ImportRow, item: MenuItem | None, categories: _Categories, store_id: str,
              now: datetime) -> None:
    v = row.values
    category_id = categories.id_for(v["category"], store_id, now) if "category" in v else None
    if item is None:
        plan.inserts.append({
            "id": new_id(), "store_id": store_id, "name": row.name, "size": row.size, "price": row.price,
            "category_id": category_id, "description": v.get("description", ""),
            "is_active": v.get("isActive", True), "sku": v.get("sku"), "barcode": v.get("barcode"),
            "tax_rate": v.get("taxRate"), "take_away_tax_rate": v.get("takeAwayTaxRate"),
            "sort_order": v.get("sortOrder", 0), "station": v.get("station"), "created_at": now,
            "updated_at": now,
        })
        return
    wanted: dict[str, Any] = {"price": row.price}
    for key, column in _FIELDS:
        if key in v:
            wanted[column] = v[key]
    if category_id is not None:
        wanted["category_id"] = category_id
    changes = {k: val for k, val in wanted.items() if getattr(item, k) != val}
    if not changes:
        plan.unchanged.append((row.line, item))
        return
    plan.updates.append(_update_values(item, wanted, now))
    if "price" in changes:
        plan.price_changes.append((item.id, item.price, row.price))


def _update_values(item: MenuItem, wanted: dict[str, Any], now: datetime) -> dict[str, Any]:
    # Same keys in every dict, so the ORM sends one executemany UPDATE.
    columns = ("price", "category_id", "description", "is_active", "sku", "barcode", "tax_rate",
               "take_away_tax_rate", "sort_order", "station")
    return {"id": item.id, **{c: wanted.get(c, getattr(item, c)) for c in columns}, "updated_at": now}


def _write(session: Session, plan: _Plan, categories: _Categories, actor: Principal | None, store_id: str,
           now: datetime) -> None:
    try:
        with session.begin_nested():
            if categories.new:
                session.execute(insert(MenuCategory), categories.new)
            if plan.inserts:
                session.execute(insert(MenuItem), plan.inserts)
            if plan.updates:
                session.expire_all()  # the loaded items are about to change under the ORM
                session.execute(update(MenuItem), plan.updates)
    except IntegrityError:
        raise Conflict("The menu changed during the import; nothing was imported, try again") from None
    for item_id, old, new in plan.price_changes:
        record_change(session, actor, entity="menu_item", entity_id=item_id, action="price_change",
                      old={"price": old}, new={"price": new}, at=now)
    menu_revision.bump(session, store_id)
