"""The receipt as a self-contained HTML page (e-mail and browser), every value escaped.
"""

from __future__ import annotations

import html
from typing import Any

from orm.domain.receipts import (
    fmt_money,
    item_details,
    item_title,
    mark_lines,
    meta_rows,
    payment_rows,
    receipt_json,
    total_rows,
)

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
    marks = "".join(f'<p style="{_CENTER};font-weight:bold">{_e(m)}</p>' for m in mark_lines(r))
    head_lines = [*header["storeAddress"].split("\n"), *(
        [f"VAT No: {header['vatNumber']}"] if header["vatNumber"] else []), *header["lines"]]
    items = "".join(
        f'<tr><td>{_e(item_title(it))}'
        + "".join(f'<div style="{_DETAIL}">{_e(d)}</div>' for d in item_details(it))
        + f'</td><td style="{_AMOUNT}">{_e(fmt_money(it["lineTotal"]))}</td></tr>'
        for it in r["items"]
    )
    above, total, below = total_rows(r)
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
        + f'<table style="{_TABLE}">{_rows_html(meta_rows(r), value_style=_META)}</table>{rule}'
        + f'<table style="{_TABLE}">{items}</table>{rule}'
        + f'<table style="{_TABLE}">{_rows_html(above)}'
        + _rows_html([total], "font-weight:bold;font-size:16px;border-top:2px solid #111;"
                     "border-bottom:2px solid #111")
        + f"{_rows_html(below)}{_rows_html(payment_rows(r))}</table>"
        + (rule + marks if marks else "")
        + (rule + footer if footer else "")
        + "</div></body></html>\n"
    )
