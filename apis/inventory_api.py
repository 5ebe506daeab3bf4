"""Inventory endpoints: items, stock adjustments, movements, CSV export/import, forecast."""

from __future__ import annotations

from typing import Any

from apis.base import BaseHandler, page_from_query
from orm.controllers.inventory import csv_import, forecast, inventory_items, movements
from orm.controllers.inventory.csv_import import export_rows
from orm.domain.errors import UnsupportedMediaType, ValidationFailed
from orm.domain.schemas.inventory import InventoryItemCreate, InventoryItemUpdate, StockAdjustment

LIST_QUERY = {
    "category": {"type": "string"}, "status": {"type": "string", "description": "in_stock|low_stock|out_of_stock|"
                                                                             "expired (comma-separated)"},
    "search": {"type": "string"}, "location": {"type": "string"},
    "active": {"type": "string", "description": "true (default) | false | all"},
    "page": {"type": "integer"}, "perPage": {"type": "integer"},
}
MOVEMENT_QUERY = {
    "type": {"type": "string"}, "from": {"type": "string", "description": "ISO date or datetime"},
    "to": {"type": "string", "description": "ISO date (whole day) or datetime"},
    "page": {"type": "integer"}, "perPage": {"type": "integer"},
}


def _when(handler: BaseHandler, name: str) -> str | None:
    """`from`/`to` as sent; movements.list_movements reads them in the store's time zone."""
    return (handler.get_query_argument(name, None) or "").strip() or None


class InventoryHandler(BaseHandler):
    permissions = {"GET": "inventory.view", "POST": "inventory.edit"}
    api_doc = {
        "get": {"summary": "Inventory items (the whole list unless page/perPage is given)", "query": LIST_QUERY},
        "post": {"summary": "Create an inventory item (its stock is recorded as a count movement)",
                 "body": InventoryItemCreate, "creates": True},
    }

    async def get(self) -> None:
        data = await self.run_db(
            inventory_items.list_items, self.ctx.settings, self.principal, page_from_query(self, whole_by_default=True),
            now=self.ctx.clock(), category=self.get_query_argument("category", None),
            status=self.get_query_argument("status", None), search=self.get_query_argument("search", None),
            location=self.get_query_argument("location", None), active=self.get_query_argument("active", None))
        self.success(data)

    async def post(self) -> None:
        body = self.parse(InventoryItemCreate)
        item = await self.run_db(inventory_items.create, self.ctx.settings, self.principal, body, self.ctx.clock())
        self.created({"item": item}, location=f"/inventory/{item['id']}")


class InventoryItemHandler(BaseHandler):
    permissions = {"GET": "inventory.view", "PUT": "inventory.edit", "DELETE": "inventory.edit"}
    api_doc = {
        "get": {"summary": "One inventory item"},
        "put": {"summary": "Partial update (a changed currentStock is a correction movement and needs "
                           "inventory.adjust_stock)", "body": InventoryItemUpdate},
        "delete": {"summary": "Deactivate an inventory item (always a soft delete)"},
    }

    async def get(self, item_id: str) -> None:
        item = await self.run_db(inventory_items.get, self.ctx.settings, self.principal, item_id, self.ctx.clock())
        self.success({"item": item})

    async def put(self, item_id: str) -> None:
        body = self.parse(InventoryItemUpdate)
        item = await self.run_db(inventory_items.update, self.ctx.settings, self.principal, item_id, body,
                                 self.ctx.clock())
        self.success({"item": item})

    async def delete(self, item_id: str) -> None:
        item = await self.run_db(inventory_items.deactivate, self.ctx.settings, self.principal, item_id,
                                 self.ctx.clock())
        self.success({"item": item}, message="Inventory item deactivated")


class InventoryAdjustHandler(BaseHandler):
    permissions = {"POST": "inventory.adjust_stock"}
    api_doc = {"post": {"summary": "Adjust stock by a signed quantity or to a counted newLevel (never below zero: "
                                   "409)", "body": StockAdjustment, "status": 200}}

    async def post(self, item_id: str) -> None:
        body = self.parse(StockAdjustment)
        data = await self.run_db(inventory_items.adjust_stock, self.ctx.settings, self.principal, item_id,
                                 movement_type=body.type, quantity=body.quantity, new_level=body.newLevel,
                                 reason=body.reason, now=self.ctx.clock())
        self.success(data)


class ItemMovementsHandler(BaseHandler):
    permissions = {"GET": "inventory.view"}
    api_doc = {"get": {"summary": "Stock movements of one item, newest first", "query": MOVEMENT_QUERY}}

    async def get(self, item_id: str) -> None:
        data = await self.run_db(movements.list_movements, self.ctx.settings, self.principal.store_id,
                                 page_from_query(self), item_id=item_id, require_item=True,
                                 movement_type=self.get_query_argument("type", None) or None,
                                 since=_when(self, "from"), until=_when(self, "to"))
        self.success(data)


class MovementsHandler(BaseHandler):
    permissions = {"GET": "inventory.view"}
    api_doc = {"get": {"summary": "Stock movements (the audit trail), newest first",
                       "query": {"itemId": {"type": "string"}, **MOVEMENT_QUERY}}}

    async def get(self) -> None:
        data = await self.run_db(movements.list_movements, self.ctx.settings, self.principal.store_id,
                                 page_from_query(self), item_id=self.get_query_argument("itemId", None) or None,
                                 movement_type=self.get_query_argument("type", None) or None,
                                 since=_when(self, "from"), until=_when(self, "to"))
        self.success(data)


class ExportHandler(BaseHandler):
    permissions = {"GET": "inventory.export"}
    api_doc = {"get": {"summary": "Active inventory items as CSV (costs only with inventory.view_costs)",
                       "raw": "text/csv"}}

    async def get(self) -> None:
        data = await self.run_report(export_rows, self.principal)
        stamp = self.ctx.clock().strftime("%Y%m%d")
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="inventory-{stamp}.csv"')
        self.finish(data)


class ImportHandler(BaseHandler):
    permissions = {"POST": "inventory.edit"}
    api_doc = {"post": {"summary": "Import items from CSV (multipart `file`, raw text/csv, or JSON {rows}); "
                                   "all-or-nothing, upsert by name; ?dryRun=true validates only",
                        "description": "The columns of GET /inventory/export. A CSV whose header is separated by "
                                       "semicolons is read with decimal commas (0,25), as a German or French "
                                       "spreadsheet saves it; with or without a UTF-8 BOM.",
                        "query": {"dryRun": {"type": "boolean"}}, "status": 200}}

    async def post(self) -> None:
        ctype = (self.request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        csv_data: bytes | None = None
        json_rows: Any = None
        if ctype == "multipart/form-data":
            _, files = self.multipart()
            if not files.get("file"):
                raise ValidationFailed("Attach the CSV as the form field 'file'", field_errors={"file": "is required"})
            csv_data = files["file"][0].body
        elif ctype in ("text/csv", "application/csv", "text/plain"):
            csv_data = self.body
        elif ctype == "application/json":
            body = self.json_body()
            if not isinstance(body, dict) or "rows" not in body:
                raise ValidationFailed("Send {\"rows\": [...]}", field_errors={"rows": "is required"})
            json_rows = body["rows"]
        else:
            raise UnsupportedMediaType("Send the CSV as multipart/form-data (file), text/csv, or JSON {rows}")
        dry_run = (self.get_query_argument("dryRun", "") or "").lower() in ("1", "true", "yes")
        result = await self.run_db(csv_import.import_rows, self.ctx.settings, self.principal,
                                   csv_data=csv_data, json_rows=json_rows, now=self.ctx.clock(), dry_run=dry_run)
        self.success(result)


class ForecastHandler(BaseHandler):
    permissions = {"GET": "inventory.view"}
    api_doc = {"get": {"summary": "Average daily usage (28 days of sales), days of cover and suggested reorder"}}

    async def get(self) -> None:
        rows = await self.run_db(forecast.forecast, self.principal.store_id, self.ctx.clock())
        self.success({"forecast": rows})


default_handlers = [
    (r"/inventory", InventoryHandler),
    (r"/inventory/export", ExportHandler),
    (r"/inventory/import", ImportHandler),
    (r"/inventory/forecast", ForecastHandler),
    (r"/inventory/movements", MovementsHandler),
    (r"/inventory/(?P<item_id>[^/]+)/adjust", InventoryAdjustHandler),
    (r"/inventory/(?P<item_id>[^/]+)/movements", ItemMovementsHandler),
    (r"/inventory/(?P<item_id>[^/]+)", InventoryItemHandler),
]
