"""The receipt as ESC/POS bytes for a thermal printer: the text layout in code page CP858,
emphasis, feed and cut, and the cash-drawer kick when cash was taken.
"""

from __future__ import annotations

from typing import Any

from orm.domain.receipt_text import layout, paper_width
from orm.domain.receipts import paid_in_cash, receipt_json

# CP858 is Latin-1 plus the euro sign: covers the café's European names; what
# it cannot hold prints as "?" instead of python-escpos guessing code pages.
ESCPOS_CODEPAGE = "CP858"
DRAWER_PIN = 2


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

    width = paper_width(store, width)
    r = _as_printed(receipt_json(order, store, reprint=reprint))
    printer = Dummy()
    printer.hw("INIT")
    printer.charcode(ESCPOS_CODEPAGE)
    for text, bold in layout(r, width):
        if bold:
            printer.set(bold=True)
        printer.text(text + "\n")
        if bold:
            printer.set(bold=False)
    if open_drawer is None:
        open_drawer = paid_in_cash(r) and not reprint
    if open_drawer:
        printer.cashdraw(DRAWER_PIN)
    printer.cut()
    return bytes(printer.output)
