"""The preparation queue (bar and kitchen): tickets, their moves, and the printed ticket.

GET /prep/tickets lists what each station has to make, oldest first; the moves answer the ticket
as it is after the move (409 when nothing could make it, 404 for an unknown ticket or line).
Live updates go over WS /ws/prep (apis/prep_ws_api.py).
"""

from __future__ import annotations

from typing import Any, ClassVar

from apis.base import BaseHandler
from orm.controllers.orders import prep
from orm.domain.errors import NotFound, ValidationFailed
from orm.domain.prep_ticket import render_ticket_escpos, render_ticket_text

ORDER_ID = r"(?P<order_id>[^/]+)"
STATION = r"(?P<station>[^/]+)"
ITEM_ID = r"(?P<item_id>[^/]+)"
TICKETS_QUERY = {
    "station": {"type": "string", "description": "one of settings.stations (default: every station)"},
    "status": {"type": "string", "description": "comma-separated: queued, in_progress, ready, collected, "
                                                "cancelled (default queued,in_progress,ready; collected and "
                                                "cancelled lines of the last 24 hours only)"},
}
PRINT_FORMATS = {"text": "text/plain; charset=UTF-8", "escpos": "application/octet-stream"}


class PrepHandler(BaseHandler):
    async def stations(self) -> list[str]:
        return list((await self.store_settings.get(self.principal.store_id)).get("stations") or [])

    async def station_argument(self, raw: str | None) -> str | None:
        """None (all stations) or one of the store's; 400 for any other name."""
        station = (raw or "").strip() or None
        if station is not None:
            known = await self.stations()
            if station not in known:
                message = f"is not one of this store's stations ({', '.join(known)})"
                raise ValidationFailed(f"station {message}", field_errors={"station": message})
        return station


class TicketsHandler(PrepHandler):
    """What the stations have to make, oldest first, one ticket per order and station."""

    permissions = {"GET": "prep.view"}
    api_doc = {"get": {"summary": "Tickets {tickets[{orderId, orderNumber, orderType, customerName, tabName, "
                                  "station, createdAt, waitingSeconds, items[{id, productName, size, quantity, "
                                  "modifiers[{name}], notes, prepStatus}]}]}, oldest first",
                       "query": TICKETS_QUERY, "tags": ["prep"]}}

    async def get(self) -> None:
        station = await self.station_argument(self.get_query_argument("station", None))
        statuses = prep.parse_statuses(self.get_query_argument("status", None))
        tickets = await self.run_db(prep.open_tickets, self.principal.store_id, station, statuses,
                                    now=self.ctx.clock())
        self.success({"tickets": tickets}, plain=True)  # open_tickets: plain values, times as ISO strings


class TicketMoveHandler(PrepHandler):
    move: ClassVar[str]
    permissions = {"POST": "prep.update"}

    async def post(self, order_id: str, station: str) -> None:
        self.success(await self.run_db(prep.move_ticket, self.principal.store_id, order_id, station, self.move,
                                       now=self.ctx.clock()))


class TicketStartHandler(TicketMoveHandler):
    """Start making a ticket."""

    move = "start"
    api_doc = {"post": {"summary": "Start a ticket: its queued lines -> in_progress -> {ticket}; 409 when none is "
                                   "queued", "tags": ["prep"]}}


class TicketReadyHandler(TicketMoveHandler):
    """A ticket is ready to collect."""

    move = "ready"
    api_doc = {"post": {"summary": "A ticket is ready: its queued and in_progress lines -> ready -> {ticket}",
                        "tags": ["prep"]}}


class TicketRecallHandler(TicketMoveHandler):
    """Back to the counter: a ready ticket is made again."""

    move = "recall"
    api_doc = {"post": {"summary": "Recall a ticket: its ready lines -> in_progress (to be made again; "
                                   "nothing goes back to queued) -> {ticket}", "tags": ["prep"]}}


class ItemMoveHandler(PrepHandler):
    move: ClassVar[str]
    permissions = {"POST": "prep.update"}

    async def post(self, item_id: str) -> None:
        self.success(await self.run_db(prep.move_item, self.principal.store_id, item_id, self.move,
                                       now=self.ctx.clock()))


class ItemStartHandler(ItemMoveHandler):
    """Start one line."""

    move = "start"
    api_doc = {"post": {"summary": "Start one line (queued -> in_progress) -> {ticket}", "tags": ["prep"]}}


class ItemReadyHandler(ItemMoveHandler):
    """One line is ready."""

    move = "ready"
    api_doc = {"post": {"summary": "One line is ready (queued or in_progress -> ready) -> {ticket}",
                        "tags": ["prep"]}}


class OrderCollectedHandler(PrepHandler):
    """The guest took it: every line still on a station is collected."""

    permissions = {"POST": "prep.update"}
    api_doc = {"post": {"summary": "Every open ticket line of the order -> collected -> {tickets} (each "
                                   "station's ticket); 409 when nothing is left to collect", "tags": ["prep"]}}

    async def post(self, order_id: str) -> None:
        self.success(await self.run_db(prep.collect_order, self.principal.store_id, order_id,
                                       now=self.ctx.clock()))


class TicketPrintHandler(PrepHandler):
    """The ticket for the station's printer: text or ESC/POS, no prices."""

    permissions = {"GET": "prep.view"}
    api_doc = {"get": {"summary": "Print a kitchen/bar ticket (format=text|escpos, default text): large order "
                                  "number, station, time, order type, name, items with size, modifiers and notes; "
                                  "no prices; in the receiptWidth setting's columns",
                       "query": {"format": {"type": "string", "enum": list(PRINT_FORMATS)}},
                       "raw": list(PRINT_FORMATS.values()), "tags": ["prep"]}}

    async def get(self, order_id: str, station: str) -> None:
        fmt = (self.get_query_argument("format", None) or "text").strip().lower()
        if fmt not in PRINT_FORMATS:
            raise ValidationFailed("format must be text or escpos", field_errors={"format": "must be text or escpos"})
        store: dict[str, Any] = await self.store_settings.get(self.principal.store_id)
        ticket = await self.run_db(prep.ticket, self.principal.store_id, order_id, station, now=self.ctx.clock())
        if ticket is None:
            raise NotFound("No such ticket")
        body: str | bytes = (render_ticket_escpos(ticket, store) if fmt == "escpos"
                             else render_ticket_text(ticket, store))
        self.set_header("Content-Type", PRINT_FORMATS[fmt])
        self.finish(body)


default_handlers = [
    (r"/prep/tickets", TicketsHandler),
    (rf"/prep/tickets/{ORDER_ID}/{STATION}/start", TicketStartHandler),
    (rf"/prep/tickets/{ORDER_ID}/{STATION}/ready", TicketReadyHandler),
    (rf"/prep/tickets/{ORDER_ID}/{STATION}/recall", TicketRecallHandler),
    (rf"/prep/tickets/{ORDER_ID}/{STATION}/print", TicketPrintHandler),
    (rf"/prep/items/{ITEM_ID}/start", ItemStartHandler),
    (rf"/prep/items/{ITEM_ID}/ready", ItemReadyHandler),
    (rf"/orders/{ORDER_ID}/collected", OrderCollectedHandler),
]
