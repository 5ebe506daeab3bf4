"""A bar or kitchen ticket for the station's printer: what to make, for whom, never prices.

The ticket (orm/controllers/orders/prep.py's shape) becomes lines of text wrapped to the store's
`receiptWidth`; ESC/POS prints the same lines with the order number in double size, so it can be
read from across the counter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from orm.domain.receipt_escpos import ESCPOS_CODEPAGE, _as_printed
from orm.domain.receipt_text import _center, _wrap, paper_width

# (text, style): "big" = the order number (double width and height), "bold", or "" (plain).
TicketLine = tuple[str, str]
ORDER_TYPES = {"eat_in": "EAT IN", "take_away": "TAKE AWAY"}


def _when(moment: Any, zone: ZoneInfo) -> str:
    if isinstance(moment, datetime):
        return moment.astimezone(zone).strftime("%H:%M")
    return ""


def ticket_lines(ticket: dict[str, Any], width: int, zone: ZoneInfo) -> list[TicketLine]:
    """The ticket laid out in `width` columns (the big order number in width // 2, as it prints)."""
    out: list[TicketLine] = []
    rule = "-" * width
    out += [(ln, "bold") for ln in _center(str(ticket.get("station") or "").upper(), width)]
    number = str(ticket.get("orderNumber") or ticket.get("tabName") or "")
    out += [(ln, "big") for ln in _center(number, max(width // 2, 8))]
    kind = ORDER_TYPES.get(str(ticket.get("orderType") or ""), str(ticket.get("orderType") or "").upper())
    when = _when(ticket.get("createdAt"), zone)
    out.append((kind + " " * max(1, width - len(kind) - len(when)) + when, "bold"))
    if ticket.get("tabName"):
        out += [(ln, "") for ln in _wrap(f"Tab: {ticket['tabName']}", width)]
    if ticket.get("customerName"):
        out += [(ln, "") for ln in _wrap(f"For: {ticket['customerName']}", width)]
    out.append((rule, ""))
    for item in ticket.get("items", []):
        title = f"{item['quantity']} x {item['productName']}"
        if item.get("size"):
            title += f" ({item['size']})"
        if item.get("prepStatus") == "cancelled":
            title = f"CANCELLED {title}"
        out += [(ln, "bold") for ln in _wrap(title, width, "", "    ")]
        for modifier in item.get("modifiers", []):
            out += [(ln, "") for ln in _wrap(f"+ {modifier['name']}", width, "    ", "      ")]
        if item.get("notes"):
            out += [(ln, "") for ln in _wrap(f"! {item['notes']}", width, "    ", "      ")]
    out.append((rule, ""))
    return out


def render_ticket_text(ticket: dict[str, Any], store: dict[str, Any], *, width: int | None = None) -> str:
    zone = ZoneInfo(str(store.get("storeTimezone") or "UTC"))
    width = paper_width(store, width)
    return "\n".join(text for text, _style in ticket_lines(ticket, width, zone)) + "\n"


def render_ticket_escpos(ticket: dict[str, Any], store: dict[str, Any], *, width: int | None = None) -> bytes:
    """Raw printer bytes: init, the lines (order number double size), feed, cut. Never a drawer kick."""
    from escpos.printer import Dummy  # slow import (capability file): on first use only

    zone = ZoneInfo(str(store.get("storeTimezone") or "UTC"))
    width = paper_width(store, width)
    printer = Dummy()
    printer.hw("INIT")
    printer.charcode(ESCPOS_CODEPAGE)
    for text, style in ticket_lines(_as_printed(ticket), width, zone):
        if style == "big":
            printer.set(bold=True, double_width=True, double_height=True)
            printer.text(text.strip().center(width // 2) + "\n")
            printer.set(normal_textsize=True, bold=False)
        elif style == "bold":
            printer.set(bold=True)
            printer.text(text + "\n")
            printer.set(bold=False)
        else:
            printer.text(text + "\n")
    printer.cut()
    return bytes(printer.output)
