"""The `receiptWidth` setting: text and ESC/POS receipts on 58 mm (32 columns) and 80 mm (42/48) paper."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

import pytest

from orm.domain.receipt_escpos import render_escpos
from orm.domain.receipt_text import render_text
from tests.orders_support import cash, line
from tests.test_receipt_render import STORE, make_order

D = Decimal
UNICODE_NAME = "Heiße Schokolade mit Sahne und Zimt – Großbecher für zwei Personen (hausgemacht) 抹茶"
ESCPOS_CONTROL = re.compile(rb"\x1b@|\x1bt.|\x1bE.", re.DOTALL)


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def printed_lines(raw: bytes) -> list[str]:
    """The text lines an ESC/POS printer prints (init, code page and bold commands removed)."""
    body = raw[: raw.index(b"\x1bp") if b"\x1bp" in raw else raw.index(b"\x1bd")]
    return ESCPOS_CONTROL.sub(b"", body).decode("cp858").split("\n")[:-1]


def rush_hour_order() -> dict[str, Any]:
    """Everything a receipt can carry: modifiers, a discount, two tax rates, a tip, split payment, change."""
    # Lines 10.00 + 6.20 + 3.00 + 6.90 = 26.10, 10 % off, VAT added on the net, a tip, card + cash.
    order = make_order(
        subtotal=D("26.10"), discountAmount=D("2.61"), taxAmount=D("1.40"),
        taxBreakdown=[{"rate": D("0.026"), "base": D("9.00"), "tax": D("0.23")},
                      {"rate": D("0.081"), "base": D("14.49"), "tax": D("1.17")}],
        tipAmount=D("1.50"), roundingAdjustment=D("0.00"), total=D("26.39"),
        payments=[{"method": "card", "amount": D("10.00"), "tendered": None, "change": None,
                   "reference": "AUTH 829371 ****4242"},
                  {"method": "cash", "amount": D("16.39"), "tendered": D("20.00"), "change": D("3.61"),
                   "reference": None}],
        paymentMethod="split", amountPaid=D("30.00"), changeGiven=D("3.61"),
    )
    order["items"].append({"productName": UNICODE_NAME, "size": "Large", "quantity": 1, "unitPrice": "6.50",
                           "modifiers": [{"name": "Extra Sahne", "priceDelta": "0.40"}],
                           "lineTotal": "6.90", "taxRate": "0.081"})
    return order


AMOUNT = re.compile(r"-?\d+\.\d\d$")


@pytest.mark.parametrize("width", [32, 42, 48])
def test_text_receipt_fits_each_paper_width(width: int) -> None:
    store = {**STORE, "receiptWidth": width}
    lines = render_text(rush_hour_order(), store).splitlines()
    assert [ln for ln in lines if columns(ln) > width] == []
    assert max(columns(ln) for ln in lines) == width  # rules span the paper
    # Money is right-aligned: every amount ends exactly at the paper's edge.
    for ln in lines:
        if AMOUNT.search(ln) and not ln.lstrip().startswith(("Date", "@", "VAT No")):
            assert columns(ln) == width, ln
    text = "\n".join(lines)
    for word in UNICODE_NAME.split():  # wrapped, never cut
        assert word in text, word
    for expected in ("+ Oat milk (+0.50)", "Discount (Staff 10%)", "VAT 2.6% on 9.00", "VAT 8.1% on 14.49", "Tip",
                     "Card", "Cash", "Tendered", "Change"):
        assert expected in text, expected


def test_58mm_receipt_has_every_part_on_32_columns() -> None:
    lines = render_text(rush_hour_order(), {**STORE, "receiptWidth": 32}).splitlines()
    def row(label: str, amount: str) -> str:
        return label + " " * (32 - len(label) - len(amount)) + amount
    for expected in (row("Subtotal", "26.10"), row("Discount (Staff 10%)", "-2.61"), row("Tip", "1.50"),
                     row("TOTAL EUR", "26.39"), row("Card", "10.00"), row("Cash", "16.39"),
                     row("  Tendered", "20.00"), row("  Change", "3.61"), row("VAT 2.6% on 9.00", "0.23"),
                     row("VAT 8.1% on 14.49", "1.17"), row("VAT total", "1.40")):
        assert expected in lines, expected
    name_lines = [ln for ln in lines if "Schokolade" in ln or "Personen" in ln or "抹茶" in ln]
    assert len(name_lines) >= 3  # the long name wraps over several lines
    assert name_lines[0].startswith("1 x Heiße") and name_lines[0].endswith("6.90")


@pytest.mark.parametrize("width", [32, 42, 48])
def test_escpos_lines_fit_and_amounts_align(width: int) -> None:
    raw = render_escpos(rush_hour_order(), {**STORE, "receiptWidth": width})
    lines = printed_lines(raw)
    assert len(lines) > 30
    assert [ln for ln in lines if len(ln) > width] == []
    # "抹茶" prints as "??": the layout counts what the printer prints, so the amount still ends at the edge.
    first = next(ln for ln in lines if "Heiße" in ln)
    assert first.endswith("6.90") and len(first) == width
    assert any(ln.startswith("TOTAL EUR") and ln.endswith("26.39") and len(ln) == width for ln in lines)
    assert any("??" in ln for ln in lines)


def test_an_explicit_width_wins_and_nonsense_is_refused() -> None:
    store = {**STORE, "receiptWidth": 48}
    assert max(len(ln) for ln in render_text(make_order(), store, width=32).splitlines()) == 32
    with pytest.raises(ValueError):
        render_text(make_order(), {**STORE, "receiptWidth": 10})


async def test_the_setting_drives_receipts_of_real_orders(as_role, cafe) -> None:
    admin, cashier = as_role("admin"), as_role("cashier")
    body = {"items": [line(cafe.items["latte"], 2, modifierIds=[cafe.mods["Oat milk"]], notes="extra hot"),
                      line(cafe.items["croissant"])], "customerName": "Bob", **cash("20")}
    r = await cashier.post("/orders", body)
    assert r.status == 201, r.body
    order = r.data["order"]
    for width in (32, 48, 42):
        resp = await admin.put("/settings", {"receiptWidth": width})
        assert resp.status == 200, resp.body
        text = (await cashier.get(f"/orders/{order['id']}/receipt?format=text")).body.decode()
        lines = text.splitlines()
        assert max(columns(ln) for ln in lines) == width
        assert any(ln.startswith("TOTAL EUR") and ln.endswith(f"{order['total']:.2f}") and len(ln) == width
                   for ln in lines)
        raw = (await cashier.get(f"/orders/{order['id']}/receipt?format=escpos")).body
        printed = printed_lines(raw)
        assert max(len(ln) for ln in printed) == width
