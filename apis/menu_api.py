"""Menu endpoints: items, categories, modifier groups, bulk import.

`GET /menu_items` is what every terminal polls, so whole answers are kept per process as
ready bytes (services/menu_pages.py, over orm/controllers/menu/list_cache.py); its ETag lets
`If-None-Match` answer 304.

Modifier groups are shared by name; they can be managed inside an item's
body (`modifierGroups`, see MenuItemCreate) or through
/menu_items/modifier-groups.
"""

from __future__ import annotations

from typing import Any

from apis.base import BaseHandler, page_from_query
from orm.controllers.menu import bulk_import as menu_import
from orm.controllers.menu import categories, menu_items, modifier_groups
from orm.controllers.menu import export as menu_export
from orm.domain import jsonenc
from orm.domain.csv_cells import FieldError, parse_bool
from orm.domain.errors import ValidationFailed
from orm.domain.schemas.menu import (
    CategoryUpdate,
    MenuItemCreate,
    MenuItemUpdate,
    ModifierGroupCreate,
    ModifierGroupUpdate,
)
from services.upload_store import delete_image_files

LIST_QUERY = {
    "category": {"type": "string", "description": "category name (case-insensitive)"},
    "search": {"type": "string", "description": "in name, description, SKU; exact barcode"},
    "active": {"type": "boolean"},
    "page": {"type": "integer", "minimum": 1},
    "perPage": {"type": "integer", "minimum": 1, "maximum": 200},
}

EXPORT_CELLS = ("recipe: inventory item names with quantities, `Espresso beans:0.018;Milk:0.2`. modifierGroups: "
                "the item's groups separated by `;`, each a group's name or its definition "
                "`Milk (0-1): Whole milk = 0 | Oat milk = 0.50 [Oat milk:0.2]` (min-max to choose, modifiers "
                "with price change and, in brackets, what they consume); a `\\` escapes `\\ ; | [ ] = :` "
                "in names. station: the item's own preparation station (one of settings.stations), `none` "
                "(nothing to prepare) or empty (the category's; `inherit` resets an item to it on import).")




def _bool_query(handler: BaseHandler, name: str) -> bool | None:
    try:
        return parse_bool(handler.get_query_argument(name, "") or "", name)
    except FieldError as exc:
        raise ValidationFailed(f"{name} {exc.message}", field_errors={name: exc.message}) from None


class MenuItemsHandler(BaseHandler):
    """The menu: list (whole by default, ETag-cached) and create."""

    permissions = {"GET": "menu.view", "POST": "menu.create"}
    api_doc = {
        "get": {"summary": "The menu, sorted by category, sortOrder, name (whole list unless page/perPage)",
                "query": LIST_QUERY, "not_modified": True, "tags": ["menu"],
                "description": "Send If-None-Match with the last ETag to get 304 when nothing changed."},
        "post": {"summary": "Create a menu item (category and modifier groups are created by naming them)",
                 "body": MenuItemCreate, "creates": True, "tags": ["menu"]},
    }

    async def get(self) -> None:
        page = page_from_query(self, whole_by_default=True)
        filters = {
            "category": (self.get_query_argument("category", "") or "").strip() or None,
            "search": (self.get_query_argument("search", "") or "").strip()[:100] or None,
            "active": _bool_query(self, "active"),
        }
        ready = await self.ctx.menu_pages.page(self.principal.store_id, page, filters)
        self.set_header("ETag", ready.etag)
        # Revalidate every time (the menu changes during the day), but never resend an unchanged one.
        self.set_header("Cache-Control", "private, no-cache")
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(ready.head + jsonenc.dumps(jsonenc.iso_utc(self.ctx.clock())).encode() + b"}")

    async def post(self) -> None:
        body = self.parse(MenuItemCreate)
        item = await self.run_db(menu_items.create, self.ctx.settings, body, actor=self.principal,
                                 store_id=self.principal.store_id, now=self.ctx.clock())
        self.created({"menuItem": item}, location=f"/menu_items/{item['id']}")


class MenuItemHandler(BaseHandler):
    """One menu item."""

    permissions = {"GET": "menu.view", "PUT": "menu.edit", "DELETE": "menu.delete"}
    api_doc = {
        "get": {"summary": "A menu item", "tags": ["menu"]},
        "put": {"summary": "Update a menu item (partial: only the fields sent change; null clears)",
                "body": MenuItemUpdate, "tags": ["menu"]},
        "delete": {"summary": "Delete a menu item; one that appears in orders is deactivated instead",
                   "tags": ["menu"]},
    }

    async def get(self, item_id: str) -> None:
        item = await self.run_db(menu_items.get, self.ctx.settings, item_id, store_id=self.principal.store_id)
        self.success({"menuItem": item})

    async def put(self, item_id: str) -> None:
        body = self.parse(MenuItemUpdate)
        item = await self.run_db(menu_items.update_item, self.ctx.settings, item_id, body, actor=self.principal,
                                 store_id=self.principal.store_id, now=self.ctx.clock())
        self.success({"menuItem": item})

    async def delete(self, item_id: str) -> None:
        result = await self.run_db(menu_items.delete, self.ctx.settings, item_id, actor=self.principal,
                                   store_id=self.principal.store_id, now=self.ctx.clock())
        images = result.pop("imageUrls")
        if images:  # only now that the delete is committed
            await self.run_blocking(delete_image_files, self.ctx.settings.uploads_dir, *images)
        message = "Menu item deleted" if result["deleted"] else \
            "The item appears in orders, so it was deactivated instead of deleted"
        self.success(result, message=message)


class CategoriesHandler(BaseHandler):
    """Menu categories with item counts and effective tax rates."""

    permissions = {"GET": "menu.view"}
    api_doc = {"get": {"summary": "Categories: {name, itemCount, taxRate, takeAwayTaxRate, sortOrder, "
                                  "ownTaxRate, ownTakeAwayTaxRate, station} (own* = null when inherited; "
                                  "station null = nothing to prepare)", "tags": ["menu"]}}

    async def get(self) -> None:
        self.success(await self.run_db(categories.list_categories, self.ctx.settings,
                                       store_id=self.principal.store_id))


class CategoryHandler(BaseHandler):
    """Edit one category (by its name)."""

    permissions = {"PUT": "menu.edit"}
    api_doc = {"put": {"summary": "Rename a category, set its default tax rates (null = store default), "
                                  "sort order or preparation station (one of settings.stations; null = "
                                  "nothing to prepare)", "body": CategoryUpdate, "tags": ["menu"]}}

    async def put(self, name: str) -> None:
        body = self.parse(CategoryUpdate)
        self.success(await self.run_db(categories.update_category, self.ctx.settings, name, body,
                                       actor=self.principal, store_id=self.principal.store_id,
                                       now=self.ctx.clock()))


class ModifierGroupsHandler(BaseHandler):
    """Shared modifier groups (Milk, Extras, Syrups)."""

    permissions = {"GET": "menu.view", "POST": "menu.create"}
    api_doc = {
        "get": {"summary": "Active modifier groups with their modifiers and how many items offer them",
                "tags": ["menu"]},
        "post": {"summary": "Create a modifier group (attach it to items via their modifierGroups)",
                 "body": ModifierGroupCreate, "creates": True, "tags": ["menu"]},
    }

    async def get(self) -> None:
        self.success(await self.run_db(modifier_groups.modifier_groups, store_id=self.principal.store_id))

    async def post(self) -> None:
        body = self.parse(ModifierGroupCreate)
        group = await self.run_db(modifier_groups.create_modifier_group, body, store_id=self.principal.store_id)
        self.created({"modifierGroup": group}, location=f"/menu_items/modifier-groups/{group['id']}")


class ModifierGroupHandler(BaseHandler):
    """One modifier group."""

    permissions = {"GET": "menu.view", "PUT": "menu.edit", "DELETE": "menu.delete"}
    api_doc = {
        "get": {"summary": "A modifier group", "tags": ["menu"]},
        "put": {"summary": "Update a group (partial); `modifiers` replaces the list, matched by id then name, "
                           "left-out modifiers are retired", "body": ModifierGroupUpdate, "tags": ["menu"]},
        "delete": {"summary": "Detach the group from every item and retire it", "tags": ["menu"]},
    }

    async def get(self, group_id: str) -> None:
        group = await self.run_db(modifier_groups.get_modifier_group, group_id, store_id=self.principal.store_id)
        self.success({"modifierGroup": group})

    async def put(self, group_id: str) -> None:
        body = self.parse(ModifierGroupUpdate)
        group = await self.run_db(modifier_groups.update_modifier_group, group_id, body,
                                  store_id=self.principal.store_id)
        self.success({"modifierGroup": group})

    async def delete(self, group_id: str) -> None:
        self.success(await self.run_db(modifier_groups.delete_modifier_group, group_id,
                                       store_id=self.principal.store_id), message="Modifier group removed")


class BulkImportHandler(BaseHandler):
    """CSV/JSON menu import, all or nothing."""

    permissions = {"POST": "menu.import"}
    api_doc = {"post": {
        "summary": "Import menu items: multipart `file` (CSV), text/csv body, or JSON {rows:[...]}",
        "description": "Columns name,category,size,price,description,isActive,sku,barcode,taxRate,"
                       "takeAwayTaxRate,sortOrder,modifierGroups,recipe,station (name and price required; "
                       "the columns of GET /menu_items/export). ?mode=upsert (default; key name+size; empty "
                       "cells leave fields unchanged) or create; ?dryRun=true validates only. Any problem -> 400 "
                       "with data {created, updated, skipped, rowErrors[{row, field, message}]} and nothing "
                       "written. A CSV whose header is separated by semicolons is read with decimal commas "
                       "(3,50), as a German or French "
                       "spreadsheet saves it; with or without a UTF-8 BOM. " + EXPORT_CELLS,
        "query": {"mode": {"type": "string", "enum": list(menu_import.MODES)}, "dryRun": {"type": "boolean"}},
        "tags": ["menu"],
    }}

    async def post(self) -> None:
        mode = self.get_query_argument("mode", "upsert") or "upsert"
        if mode not in menu_import.MODES:
            raise ValidationFailed("mode must be upsert or create", field_errors={"mode": "must be upsert or create"})
        dry_run = bool(_bool_query(self, "dryRun"))
        ctype = self.request.headers.get("Content-Type", "").lower()
        if ctype.startswith("multipart/form-data"):
            _args, files = self.multipart()
            if not files.get("file"):
                raise ValidationFailed("Attach the CSV as the multipart field 'file'",
                                       field_errors={"file": "is required"})
            source: dict[str, Any] = {"csv_bytes": files["file"][0]["body"]}
        elif ctype.startswith("text/csv"):
            source = {"csv_bytes": self.body}
        else:
            data = self.json_body()
            if not isinstance(data, dict) or "rows" not in data:
                raise ValidationFailed("Send {rows: [...]} or a CSV file", field_errors={"rows": "is required"})
            source = {"json_rows": data["rows"]}
        rows, errors = await self.run_blocking(menu_import.parse_source, **source)
        result = await self.run_db(menu_items.bulk_import, rows, errors, mode=mode, dry_run=dry_run,
                                   actor=self.principal, store_id=self.principal.store_id, now=self.ctx.clock())
        message = ("Dry run: nothing was written" if dry_run else
                   f"Imported: {result['created']} created, {result['updated']} updated, "
                   f"{result['skipped']} unchanged")
        self.success(result, message=message)


class MenuExportHandler(BaseHandler):
    """The menu as the bulk import's CSV."""

    permissions = {"GET": "menu.view"}
    api_doc = {"get": {
        "summary": "The whole menu as CSV (RFC 4180, UTF-8 with BOM) in the bulk import's columns; re-imports "
                   "unchanged", "raw": "text/csv", "tags": ["menu"],
        "description": "Columns name,category,size,price,description,isActive,sku,barcode,taxRate,takeAwayTaxRate,"
                       "sortOrder,modifierGroups,recipe,station; tax rates are the item's own (empty = inherited); "
                       "each group is defined on the first item offering it and named on the others. " + EXPORT_CELLS,
    }}

    async def get(self) -> None:
        data = await self.run_report(menu_export.export_csv, self.ctx.settings, self.principal.store_id)
        stamp = self.ctx.clock().strftime("%Y%m%d")
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="menu-{stamp}.csv"')
        self.finish(data)


_ID = r"(?P<item_id>[^/]+)"
default_handlers = [
    (r"/menu_items", MenuItemsHandler),
    (r"/menu_items/categories", CategoriesHandler),
    (r"/menu_items/categories/(?P<name>[^/]+)", CategoryHandler),
    (r"/menu_items/bulk-import", BulkImportHandler),
    (r"/menu_items/export", MenuExportHandler),  # before /menu_items/{id}, which would take "export" as an id
    (r"/menu_items/modifier-groups", ModifierGroupsHandler),
    (r"/menu_items/modifier-groups/(?P<group_id>[^/]+)", ModifierGroupHandler),
    (r"/menu_items/" + _ID, MenuItemHandler),
]
