"""The receipt as plain text for a monospaced printer or screen: wrapped to the paper's columns.

The content and wording are receipts.py's; ESC/POS prints this layout (receipt_escpos.py).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from orm.domain.receipts import (
    ITEM_INDENT,
    MIN_WIDTH,
    PAPER_WIDTH,
    fmt_money,
    item_details,
    item_title,
    mark_lines,
    meta_rows,
    payment_rows,
    receipt_json,
    total_rows,
)

Line = tuple[str, bool]  # (text, emphasised)


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


def layout(r: dict[str, Any], width: int) -> list[Line]:
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
    marks = mark_lines(r)
    for mark in marks:
        add(_center(mark, width), bold=True)
    add([rule])
    for label, value in meta_rows(r):
        add(_wrap(f"{label}: {value}", width, rest="  "), bold=value == "TAKE-AWAY")
    add([rule])
    for it in r["items"]:
        add(_pair(item_title(it), fmt_money(it["lineTotal"]), width, rest=ITEM_INDENT))
        for detail in item_details(it):
            add(_wrap(detail, width, ITEM_INDENT, ITEM_INDENT + "  "))
    add([rule])
    above, (total_label, total), below = total_rows(r)
    for label, value in above:
        add(_pair(label, value, width))
    add([double])
    add(_pair(total_label, total, width), bold=True)
    add([double])
    for label, value in below + payment_rows(r):
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


def paper_width(store: dict[str, Any], width: int | None) -> int:
    """Columns per line: `width` if given, else the store's `receiptWidth` setting, else 42."""
    width = width or store.get("receiptWidth") or PAPER_WIDTH
    if isinstance(width, bool) or not isinstance(width, int) or width < MIN_WIDTH:
        raise ValueError(f"receipt width must be a whole number of at least {MIN_WIDTH} columns")
    return width


def render_text(order: dict[str, Any], store: dict[str, Any], *, reprint: bool = False,
                width: int | None = None) -> str:
    """Plain-text receipt for thermal paper; no line is wider than the paper's columns."""
    width = paper_width(store, width)
    lines = layout(receipt_json(order, store, reprint=reprint), width)
    return "\n".join(text for text, _ in lines) + "\n"
