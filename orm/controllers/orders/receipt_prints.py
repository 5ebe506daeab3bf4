"""Receipts of stored orders: load (and count reprints), then render in the asked format."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from orm.controllers.orders.order_history import load_order, serialize_order
from orm.controllers.stores import store_settings
from orm.domain.errors import Conflict, ValidationFailed
from orm.domain.receipt_escpos import render_escpos
from orm.domain.receipt_html import render_html
from orm.domain.receipt_text import render_text
from orm.domain.receipts import receipt_json
from orm.models.model_orders import Order
from settings import Settings

ReceiptFormat = Literal["text", "html", "escpos", "json"]
FORMATS: tuple[str, ...] = ("text", "html", "escpos", "json")
CONTENT_TYPES = {"text": "text/plain; charset=utf-8", "html": "text/html; charset=utf-8",
                 "escpos": "application/octet-stream"}


def check_format(raw: str | None, default: str) -> str:
    fmt = (raw or default).strip().lower()
    if fmt not in FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}",
                               field_errors={"format": f"must be one of {', '.join(FORMATS)}"})
    return fmt


def _not_a_tab(order: Order) -> Order:
    if order.tab_name is not None:
        raise Conflict("A tab has no receipt: print its interim bill (GET /tabs/{id}/bill) or its payments' receipts")
    return order


def _store(session: Session, settings: Settings, order: dict[str, Any]) -> dict[str, Any]:
    store = store_settings.current(session, settings, order["storeId"])
    # The receipt shows the tax mode the sale was priced in, whatever the setting is today.
    return {**store, "taxMode": order["taxMode"]}


def load(session: Session, settings: Settings, order_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Order resource, store settings) for rendering."""
    order = serialize_order(_not_a_tab(load_order(session, order_id)))
    return order, _store(session, settings, order)


def load_reprint(session: Session, settings: Settings, order_id: str, *,
                 now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """Count the reprint (reprintCount + 1, lastReprint) and return what to render."""
    order = serialize_order(record_reprint(session, order_id, now=now))
    return order, _store(session, settings, order)


def record_reprint(session: Session, order_id: str, *, now: datetime) -> Order:
    """Count a reprint (row locked, so concurrent reprints each count)."""
    order = _not_a_tab(load_order(session, order_id, lock=True))
    order.reprint_count += 1
    order.last_reprint = now
    session.flush()
    return order


def render(order: dict[str, Any], store: dict[str, Any], fmt: str, *, reprint: bool = False) -> tuple[str, Any]:
    """(content type or "json", body): str for text/html, bytes for escpos, a dict for json."""
    if fmt == "json":
        return "json", receipt_json(order, store, reprint=reprint)
    if fmt == "html":
        return CONTENT_TYPES["html"], render_html(order, store, reprint=reprint)
    if fmt == "escpos":
        return CONTENT_TYPES["escpos"], render_escpos(order, store, reprint=reprint)
    return CONTENT_TYPES["text"], render_text(order, store, reprint=reprint)


def email_subject(order: dict[str, Any], store: dict[str, Any]) -> str:
    name = " ".join(str(store.get("storeName") or "CafePOS").split())
    return f"Your receipt {order.get('orderNumber') or ''} from {name}".replace("  ", " ")
