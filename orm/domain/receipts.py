"""Receipt rendering: one Order resource + the store's Settings -> a receipt.

Pure functions, no database and no HTTP. The orders controller passes the Order
and Settings resources as plain dicts (camelCase, as in API.md); tax rates are
fractions as everywhere on the server (0.081 is printed "8.1%"). The API layer
picks the format. Everything is first normalised by `receipt_json`, and the
text, HTML and ESC/POS renderers all draw from that one structure, so the
formats cannot drift apart.
"""

from __future__ import annotations

import html
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
# CP858 is Latin-1 plus the euro sign: covers the café's European names; what
# it cannot hold prints as "?" instead of python-escpos guessing code pages.
ESCPOS_CODEPAGE = "CP858"
DRAWER_PIN = 2

Line = tuple[str, bool]  # (text, emphasised)


# --- value normalisation -----------------------------------------------------

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


# --- the structured receipt --------------------------------------------------

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


# --- wording shared by every format ------------------------------------------

def _fmt(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _fmt_rate(rate: Decimal) -> str:
    """A tax rate as a fraction (0.08, the server's form everywhere) shown as a percentage."""
    # 0.08 -> "8.0", 0.081 -> "8.1", 0.0255 -> "2.55"
    percent = rate * 100
    return f"{percent:.1f}" if percent == percent.to_integral_value() else format(percent.normalize(), "f")


def _marks(r: dict[str, Any]) -> list[str]:
    marks = ["*** REPRINT ***", "COPY"] if r["reprint"] else []
    status_mark = {"voided": "*** VOIDED ***", "refunded": "*** REFUNDED ***",
                   "partially_refunded": "*** PARTIALLY REFUNDED ***"}.get(r["status"])
    return marks + ([status_mark] if status_mark else [])


def _meta_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
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


def _item_title(it: dict[str, Any]) -> str:
    size = f" ({it['size']})" if it["size"] else ""
    return f"{it['quantity']} x {it['productName']}{size}"


def _item_details(it: dict[str, Any]) -> list[str]:
    details = [f"@ {_fmt(it['unitPrice'])}"] if it["quantity"] != 1 and it["unitPrice"] is not None else []
    for mod in it["modifiers"]:
        delta = mod["priceDelta"]
        details.append(f"+ {mod['name']}" + (f" ({'+' if delta > 0 else ''}{_fmt(delta)})" if delta else ""))
    if it["notes"]:
        details.append(f"Note: {it['notes']}")
    if it["refundedQuantity"]:
        details.append(f"Refunded: {it['refundedQuantity']}")
    return details


def _tax_rows(r: dict[str, Any], inclusive: bool) -> list[tuple[str, str]]:
    prefix = "incl. VAT" if inclusive else "VAT"
    rows = [(f"{prefix} {_fmt_rate(b['rate'])}% on {_fmt(b['base'])}", _fmt(b["tax"]))
            for b in r["taxBreakdown"]]
    if len(rows) != 1 and r["totals"]["tax"]:
        rows.append((f"{prefix} total" if rows else prefix, _fmt(r["totals"]["tax"])))
    return rows


def _total_rows(r: dict[str, Any]) -> tuple[list[tuple[str, str]], tuple[str, str], list[tuple[str, str]]]:
    """(rows above TOTAL, the TOTAL row, rows below it)."""
    t = r["totals"]
    inclusive = r["taxMode"] == "inclusive"
    above = [("Subtotal", _fmt(t["subtotal"]))]
    if t["discount"]:
        reason = f" ({r['discountReason']})" if r["discountReason"] else ""
        above.append((f"Discount{reason}", _fmt(-abs(t["discount"]))))
    # Inclusive VAT is information about the total, not something added to it.
    taxes = _tax_rows(r, inclusive)
    above += [] if inclusive else taxes
    if t["tip"]:
        above.append(("Tip", _fmt(t["tip"])))
    if t["rounding"]:
        above.append(("Rounding", _fmt(t["rounding"])))
    label = f"TOTAL {r['currency']}".rstrip()
    return above, (label, _fmt(t["total"])), taxes if inclusive else []


def _payment_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for p in r["payments"]:
        rows.append((p["method"].replace("_", " ").capitalize() or "Payment", _fmt(p["amount"])))
        if p["tendered"] is not None:
            rows.append(("  Tendered", _fmt(p["tendered"])))
        if p["change"] is not None and (p["tendered"] is not None or p["change"]):
            rows.append(("  Change", _fmt(p["change"])))
        if p["reference"]:
            rows.append((f"  Ref: {p['reference']}", ""))
    if r["totals"]["refunded"]:
        rows.append(("Refunded", _fmt(-abs(r["totals"]["refunded"]))))
    return rows


def _paid_in_cash(r: dict[str, Any]) -> bool:
    return any(p["method"] == "cash" for p in r["payments"])


# --- plain text ---------------------------------------------------------------

def _cols(text: str) -> int:
    # East Asian wide characters take two columns on screen and on paper.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _split_cols(word: str, room: int) -> tuple[str, str]:
    used = 0
    for cut, ch in enumerate(word):
        used += _cols(ch)
        if used > room:
            cut = max(cut, 1)  # always progress, even if a wide char overflows
            return word[:cut], word[cut:]
    return word, ""


def _wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """Greedy word wrap by display columns; a word longer than a line is split."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        while word:
            start = rest if lines else first
            line = line or start
            candidate = line + ("" if line == start else " ") + word
            if _cols(candidate) <= width:
                line, word = candidate, ""
            elif line != start:
                lines.append(line)
                line = ""
            else:
                head, word = _split_cols(word, width - _cols(line))
                lines.append(line + head)
                line = ""
    if line:
        lines.append(line)
    return lines


def _pair(label: str, value: str, width: int, first: str = "", rest: str = "  ") -> list[str]:
    """Label wrapped on the left, value right-aligned on its first line."""
    if not value:
        return _wrap(label, width, first, rest)
    room = width - _cols(value) - 1
    if room < MIN_WIDTH // 2:
        return _wrap(label, width, first, rest) + [value.rjust(width)]
    lines = _wrap(label, room, first, rest) or [""]
    lines[0] += " " * (width - _cols(lines[0]) - _cols(value)) + value
    return lines


def _center(text: str, width: int) -> list[str]:
    return [" " * ((width - _cols(ln)) // 2) + ln
            for para in text.split("\n") for ln in _wrap(para, width)]


def _layout(r: dict[str, Any], width: int) -> list[Line]:
    out: list[Line] = []

    def add(lines: list[str], bold: bool = False) -> None:
        out.extend((ln, bold) for ln in lines)

    rule, double = "-" * width, "=" * width
    header = r["header"]
    add(_center(header["storeName"], width), bold=True)
    add(_center(header["storeAddress"], width))
    if header["vatNumber"]:
        add(_center(f"VAT No: {header['vatNumber']}", width))
    for line in header["lines"]:
        add(_center(line, width))
    marks = _marks(r)
    for mark in marks:
        add(_center(mark, width), bold=True)
    add([rule])
    for label, value in _meta_rows(r):
        add(_wrap(f"{label}: {value}", width, rest="  "), bold=value == "TAKE-AWAY")
    add([rule])
    for it in r["items"]:
        add(_pair(_item_title(it), _fmt(it["lineTotal"]), width, rest=ITEM_INDENT))
        for detail in _item_details(it):
            add(_wrap(detail, width, ITEM_INDENT, ITEM_INDENT + "  "))
    add([rule])
    above, (total_label, total), below = _total_rows(r)
    for label, value in above:
        add(_pair(label, value, width))
    add([double])
    add(_pair(total_label, total, width), bold=True)
    add([double])
    for label, value in below + _payment_rows(r):
        indent = " " * (len(label) - len(label.lstrip()))
        add(_pair(label.lstrip(), value, width, first=indent, rest=indent + "  "))
    if marks:
        add([rule])
        for mark in marks:
            add(_center(mark, width), bold=True)
    if r["footer"]:
        add([""])
        for line in r["footer"]:
            add(_center(line, width))
    return out


def _paper_width(store: dict[str, Any], width: int | None) -> int:
    """Columns per line: `width` if given, else the store's `receiptWidth` setting, else 42."""
    width = width or store.get("receiptWidth") or PAPER_WIDTH
    if isinstance(width, bool) or not isinstance(width, int) or width < MIN_WIDTH:
        raise ValueError(f"receipt width must be a whole number of at least {MIN_WIDTH} columns")
    return width


def render_text(order: dict[str, Any], store: dict[str, Any], *, reprint: bool = False,
                width: int | None = None) -> str:
    """Plain-text receipt for thermal paper; no line is wider than the paper's columns."""
    width = _paper_width(store, width)
    lines = _layout(receipt_json(order, store, reprint=reprint), width)
    return "\n".join(text for text, _ in lines) + "\n"


# --- ESC/POS ------------------------------------------------------------------

def _as_printed(value: Any) -> Any:
    """What the printer prints: a character outside its code page is one "?" (one column),
    so the layout must count it as one, or right-aligned amounts drift left."""
    if isinstance(value, str):
        return "".join(ch if ch.encode(ESCPOS_CODEPAGE, "ignore") else "?" for ch in value)
    if isinstance(value, dict):
        return {key: _as_printed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_printed(item) for item in value]
    return value


def render_escpos(order: dict[str, Any], store: dict[str, Any], *, reprint: bool = False,
                  open_drawer: bool | None = None, width: int | None = None) -> bytes:
    """Raw printer bytes: init, the text layout, drawer kick, cut.

    The drawer opens for cash sales but not for reprints (a copy must not be a
    way to open the till); `open_drawer` overrides that choice.
    """
    # python-escpos parses a large YAML capability file on import (~1 s): load it on first use.
    from escpos.printer import Dummy

    width = _paper_width(store, width)
    r = _as_printed(receipt_json(order, store, reprint=reprint))
    printer = Dummy()
    printer.hw("INIT")
    printer.charcode(ESCPOS_CODEPAGE)
    for text, bold in _layout(r, width):
        if bold:
            printer.set(bold=True)
        printer.text(text + "\n")
        if bold:
            printer.set(bold=False)
    if open_drawer is None:
        open_drawer = _paid_in_cash(r) and not reprint
    if open_drawer:
        printer.cashdraw(DRAWER_PIN)
    printer.cut()
    return bytes(printer.output)


# --- HTML ---------------------------------------------------------------------

_PAGE = "margin:0;padding:16px;background:#f4f4f4;font-family:Menlo,Consolas,monospace;color:#111"
_PAPER = "max-width:380px;margin:0 auto;padding:16px;background:#fff;font-size:13px;line-height:1.4"
_TABLE = "width:100%;border-collapse:collapse"
_AMOUNT = "text-align:right;white-space:nowrap;vertical-align:top;padding-left:8px"
_META = "text-align:right;vertical-align:top;padding-left:8px"
_CENTER = "text-align:center;margin:0"
_RULE = "border:0;border-top:1px dashed #999;margin:8px 0"
_DETAIL = "padding-left:24px;color:#555"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _rows_html(rows: list[tuple[str, str]], row_style: str = "", value_style: str = _AMOUNT) -> str:
    # Leading spaces in a label mean "sub-row" (tendered, change, reference).
    return "".join(
        f'<tr style="{row_style}"><td style="padding-left:{(len(lb) - len(lb.lstrip())) * 8}px">'
        f'{_e(lb.strip())}</td><td style="{value_style}">{_e(v)}</td></tr>'
        for lb, v in rows
    )


def render_html(order: dict[str, Any], store: dict[str, Any], *, reprint: bool = False) -> str:
    """Self-contained HTML receipt (e-mail): inline CSS, every value escaped."""
    r = receipt_json(order, store, reprint=reprint)
    header = r["header"]
    marks = "".join(f'<p style="{_CENTER};font-weight:bold">{_e(m)}</p>' for m in _marks(r))
    head_lines = [*header["storeAddress"].split("\n"), *(
        [f"VAT No: {header['vatNumber']}"] if header["vatNumber"] else []), *header["lines"]]
    items = "".join(
        f'<tr><td>{_e(_item_title(it))}'
        + "".join(f'<div style="{_DETAIL}">{_e(d)}</div>' for d in _item_details(it))
        + f'</td><td style="{_AMOUNT}">{_e(_fmt(it["lineTotal"]))}</td></tr>'
        for it in r["items"]
    )
    above, total, below = _total_rows(r)
    footer = "".join(f'<p style="{_CENTER}">{_e(line)}</p>' for line in r["footer"])
    title = f"Receipt {r['receiptNumber'] or ''} - {header['storeName']}".strip(" -")
    rule = f'<hr style="{_RULE}">'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title></head>"
        f'<body style="{_PAGE}"><div style="{_PAPER}">'
        f'<h1 style="{_CENTER};font-size:18px">{_e(header["storeName"])}</h1>'
        + "".join(f'<p style="{_CENTER}">{_e(line)}</p>' for line in head_lines if line)
        + marks + rule
        + f'<table style="{_TABLE}">{_rows_html(_meta_rows(r), value_style=_META)}</table>{rule}'
        + f'<table style="{_TABLE}">{items}</table>{rule}'
        + f'<table style="{_TABLE}">{_rows_html(above)}'
        + _rows_html([total], "font-weight:bold;font-size:16px;border-top:2px solid #111;"
                     "border-bottom:2px solid #111")
        + f"{_rows_html(below)}{_rows_html(_payment_rows(r))}</table>"
        + (rule + marks if marks else "")
        + (rule + footer if footer else "")
        + "</div></body></html>\n"
    )
