"""Receipt rendering: one Order resource + the store's Settings -> a receipt.

Pure functions, no database and no HTTP. The orders controller passes the Order
and Settings resources as plain dicts (camelCase, as in API.md); tax rates are
fractions as everywhere on the server (0.081 is printed "8.1%"). The API layer
picks the format. Everything is first normalised by `receipt_json`, and the
text (receipt_text.py), HTML (receipt_html.py) and ESC/POS (receipt_escpos.py)
renderers all draw from that one structure and the wording shared below, so the
formats cannot drift apart.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from orm.domain.business_days import store_zone
from orm.domain.money import round_money

ZERO = Decimal("0.00")
PAPER_WIDTH = 42  # Font A columns on 80 mm paper: the default of the `receiptWidth` setting
MIN_WIDTH = 24
ITEM_INDENT = "    "


def _decimal(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (bool, float)):
        # A float here means exactness was already lost upstream; fail loudly.
        raise TypeError(f"expected Decimal, int or str, got {type(value).__name__}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _money(value: Any) -> Decimal | None:
    number = _decimal(value)
    if number is None:
        return None
    return round_money(number)  # half up; never "-0.00"


def _quantity(value: Any) -> int | Decimal:
    number = _decimal(value) or Decimal(0)
    if number == number.to_integral_value():
        return int(number)
    return number.normalize()


def _clean(value: Any, *, multiline: bool = False) -> str:
    """Text safe for every format: no control bytes (a stray ESC in a product
    name would be a printer command), no invisible bidi overrides."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n")
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\n\r" or category in ("Zl", "Zp"):
            out.append("\n" if multiline else " ")
        elif category == "Cc":
            out.append(" ")
        elif category == "Cs":
            out.append("\ufffd")
        elif category != "Cf":
            out.append(ch)
    lines = [" ".join(line.split()) for line in "".join(out).split("\n")]
    return "\n".join(line for line in lines if line)


def _lines(value: Any) -> list[str]:
    text = _clean(value, multiline=True)
    return text.split("\n") if text else []


def _zone(name: Any) -> ZoneInfo:
    return store_zone(str(name) if name else None)


def _parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # API timestamps are UTC
    return moment


def _item(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "productName": _clean(raw.get("productName")),
        "size": _clean(raw.get("size")) or None,
        "quantity": _quantity(raw.get("quantity")),
        "unitPrice": _money(raw.get("unitPrice")),
        "modifiers": [
            {"name": _clean(m.get("name")), "priceDelta": _money(m.get("priceDelta")) or ZERO}
            for m in raw.get("modifiers") or []
        ],
        "lineTotal": _money(raw.get("lineTotal")) or ZERO,
        "taxRate": _decimal(raw.get("taxRate")),
        "notes": _clean(raw.get("notes")) or None,
        "refundedQuantity": _quantity(raw.get("refundedQuantity")),
    }


def _payments(order: dict[str, Any], total: Decimal) -> list[dict[str, Any]]:
    raw = order.get("payments") or []
    if not raw and order.get("paymentMethod"):
        # Older single-payment shape: paymentMethod + amountPaid + changeGiven.
        raw = [{"method": order["paymentMethod"], "amount": order.get("amountPaid", total),
                "change": order.get("changeGiven")}]
    return [
        {
            "method": _clean(p.get("method")).lower(),
            "amount": _money(p.get("amount")) or ZERO,
            "tendered": _money(p.get("tendered")),
            "change": _money(p.get("change")),
            "reference": _clean(p.get("reference")) or None,
        }
        for p in raw
    ]


def receipt_json(order: dict[str, Any], store: dict[str, Any], *, reprint: bool = False) -> dict[str, Any]:
    """The receipt as structured data (format=json); money stays Decimal."""
    created = _parse_time(order.get("createdAt"))
    local = created.astimezone(_zone(store.get("storeTimezone"))) if created else None
    total = _money(order.get("total")) or ZERO
    number = order.get("receiptNumber")
    return {
        "header": {
            "storeName": _clean(store.get("storeName")),
            "storeAddress": _clean(store.get("storeAddress"), multiline=True),
            "vatNumber": _clean(store.get("vatNumber")) or None,
            "lines": _lines(store.get("receiptHeader")),
        },
        "receiptNumber": number if isinstance(number, int) else _clean(number) or None,
        "orderNumber": _clean(order.get("orderNumber")) or None,
        "createdAt": (
            created.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            if created else None
        ),
        "localTime": local.isoformat(timespec="seconds") if local else None,
        "cashier": _clean(order.get("createdByName")) or None,
        "customerName": _clean(order.get("customerName")) or None,
        "orderNotes": _clean(order.get("orderNotes")) or None,
        "orderType": _clean(order.get("orderType")) or "eat_in",
        "status": _clean(order.get("status")) or "completed",
        "currency": _clean(store.get("currency")),
        "taxMode": _clean(store.get("taxMode")) or None,
        "items": [_item(it) for it in order.get("items") or []],
        "totals": {
            "subtotal": _money(order.get("subtotal")) or ZERO,
            "discount": _money(order.get("discountAmount")) or ZERO,
            "tax": _money(order.get("taxAmount")) or ZERO,
            "tip": _money(order.get("tipAmount")) or ZERO,
            "rounding": _money(order.get("roundingAdjustment")) or ZERO,
            "total": total,
            "refunded": _money(order.get("refundedAmount")) or ZERO,
        },
        "discountReason": _clean(order.get("discountReason")) or None,
        "taxBreakdown": [
            {"rate": _decimal(b.get("rate")) or Decimal(0),
             "base": _money(b.get("base")) or ZERO,
             "tax": _money(b.get("tax")) or ZERO}
            for b in order.get("taxBreakdown") or []
        ],
        "payments": _payments(order, total),
        "footer": _lines(store.get("receiptFooter")),
        "reprint": bool(reprint),
        "reprintCount": int(order.get("reprintCount") or 0),
    }


def fmt_money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _fmt_rate(rate: Decimal) -> str:
    """A tax rate as a fraction (0.08, the server's form everywhere) shown as a percentage."""
    # 0.08 -> "8.0", 0.081 -> "8.1", 0.0255 -> "2.55"
    percent = rate * 100
    return f"{percent:.1f}" if percent == percent.to_integral_value() else format(percent.normalize(), "f")


def mark_lines(r: dict[str, Any]) -> list[str]:
    marks = ["*** REPRINT ***", "COPY"] if r["reprint"] else []
    status_mark = {"interim_bill": "NOT A RECEIPT / INTERIM BILL",
                   "voided": "*** VOIDED ***", "refunded": "*** REFUNDED ***",
                   "partially_refunded": "*** PARTIALLY REFUNDED ***"}.get(r["status"])
    return marks + ([status_mark] if status_mark else [])


def meta_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    local = datetime.fromisoformat(r["localTime"]) if r["localTime"] else None
    rows = [
        ("Receipt No", r["receiptNumber"]),
        ("Order", r["orderNumber"]),
        ("Date", local.strftime("%Y-%m-%d %H:%M") if local else None),
        ("Cashier", r["cashier"]),
        ("Customer", r["customerName"]),
        ("Type", "TAKE-AWAY" if r["orderType"] == "take_away" else "Eat-in"),
        ("Note", r["orderNotes"]),
    ]
    return [(label, str(value)) for label, value in rows if value not in (None, "")]


def item_title(it: dict[str, Any]) -> str:
    size = f" ({it['size']})" if it["size"] else ""
    return f"{it['quantity']} x {it['productName']}{size}"


def item_details(it: dict[str, Any]) -> list[str]:
    details = [f"@ {fmt_money(it['unitPrice'])}"] if it["quantity"] != 1 and it["unitPrice"] is not None else []
    for mod in it["modifiers"]:
        delta = mod["priceDelta"]
        details.append(f"+ {mod['name']}" + (f" ({'+' if delta > 0 else ''}{fmt_money(delta)})" if delta else ""))
    if it["notes"]:
        details.append(f"Note: {it['notes']}")
    if it["refundedQuantity"]:
        details.append(f"Refunded: {it['refundedQuantity']}")
    return details


def _tax_rows(r: dict[str, Any], inclusive: bool) -> list[tuple[str, str]]:
    prefix = "incl. VAT" if inclusive else "VAT"
    rows = [(f"{prefix} {_fmt_rate(b['rate'])}% on {fmt_money(b['base'])}", fmt_money(b["tax"]))
            for b in r["taxBreakdown"]]
    if len(rows) != 1 and r["totals"]["tax"]:
        rows.append((f"{prefix} total" if rows else prefix, fmt_money(r["totals"]["tax"])))
    return rows


def total_rows(r: dict[str, Any]) -> tuple[list[tuple[str, str]], tuple[str, str], list[tuple[str, str]]]:
    """(rows above TOTAL, the TOTAL row, rows below it)."""
    t = r["totals"]
    inclusive = r["taxMode"] == "inclusive"
    above = [("Subtotal", fmt_money(t["subtotal"]))]
    if t["discount"]:
        reason = f" ({r['discountReason']})" if r["discountReason"] else ""
        above.append((f"Discount{reason}", fmt_money(-abs(t["discount"]))))
    # Inclusive VAT is information about the total, not something added to it.
    taxes = _tax_rows(r, inclusive)
    above += [] if inclusive else taxes
    if t["tip"]:
        above.append(("Tip", fmt_money(t["tip"])))
    if t["rounding"]:
        above.append(("Rounding", fmt_money(t["rounding"])))
    label = f"TOTAL {r['currency']}".rstrip()
    return above, (label, fmt_money(t["total"])), taxes if inclusive else []


def payment_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for p in r["payments"]:
        rows.append((p["method"].replace("_", " ").capitalize() or "Payment", fmt_money(p["amount"])))
        if p["tendered"] is not None:
            rows.append(("  Tendered", fmt_money(p["tendered"])))
        if p["change"] is not None and (p["tendered"] is not None or p["change"]):
            rows.append(("  Change", fmt_money(p["change"])))
        if p["reference"]:
            rows.append((f"  Ref: {p['reference']}", ""))
    if r["totals"]["refunded"]:
        rows.append(("Refunded", fmt_money(-abs(r["totals"]["refunded"]))))
    return rows


def paid_in_cash(r: dict[str, Any]) -> bool:
    return any(p["method"] == "cash" for p in r["payments"])
