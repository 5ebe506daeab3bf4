"""`GET /menu_items/export`: the whole menu as the bulk import's CSV (RFC 4180, UTF-8 with BOM).

One row per item, inactive ones included, in menu order (category, sortOrder,
name), so categories are re-created in the same order.  Tax rates are the
item's own (empty = inherited).  `modifierGroups` defines each shared group on
the first item offering it and names it on the others; recipes name inventory
items (menu_csv_cells).  Importing the file into the same menu changes
nothing; into an empty menu (with the inventory in place) it re-creates it.
Not carried: counted stock (`stockCount`, a level that sales change all day),
images, and a category's own tax rates.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orm.controllers.menu import catalogue as menu_catalogue
from orm.controllers.menu.bulk_import import COLUMNS
from orm.domain.csv_write import write_csv
from orm.domain.menu_csv_cells import GroupCell, GroupEntry, ModifierCell, format_groups, format_recipe
from orm.models.model_inventory import InventoryItem


def _recipe(lines: list[dict[str, Any]], names: dict[str, str]) -> tuple[tuple[str, Any], ...]:
    return tuple((names[line["inventoryItemId"]], line["quantity"]) for line in lines)


def export_csv(session: Session, settings: Any, store_id: str) -> bytes:
    rows = session.execute(menu_catalogue.filtered_query(store_id)).all()
    items = menu_catalogue.resources(session, rows, menu_catalogue.default_tax_rate(session, settings, store_id))
    names = dict(session.execute(select(InventoryItem.id, InventoryItem.name)
                                 .where(InventoryItem.store_id == store_id)).tuples().all())
    defined: set[str] = set()
    out = []
    for row, item in zip(rows, items, strict=True):
        entries: list[GroupEntry] = []
        for group in item["modifierGroups"]:
            if group["id"] in defined:
                entries.append(group["name"])
                continue
            defined.add(group["id"])
            entries.append(GroupCell(group["name"], group["minSelect"], group["maxSelect"], tuple(
                ModifierCell(m["name"], m["priceDelta"], _recipe(m["recipe"], names)) for m in group["modifiers"])))
        out.append({
            "name": item["name"], "category": item["category"], "size": item["size"], "price": item["price"],
            "description": item["description"], "isActive": item["isActive"], "sku": item["sku"],
            "barcode": item["barcode"], "taxRate": row.tax_rate, "takeAwayTaxRate": row.take_away_tax_rate,
            "sortOrder": item["sortOrder"], "modifierGroups": format_groups(entries),
            "recipe": format_recipe(_recipe(item["recipe"], names)),
            # The item's own station: empty = its category's, "none" = nothing to prepare.
            "station": "none" if row.station == "" else (row.station or ""),
        })
    return write_csv(COLUMNS, out)
