"""Receipt rendering: text, HTML, ESC/POS and JSON from one Order resource."""

from __future__ import annotations

import copy
import unicodedata
from decimal import Decimal
from typing import Any

import pytest

from orm.domain.receipt_escpos import render_escpos
from orm.domain.receipt_html import render_html
from orm.domain.receipt_text import render_text
from orm.domain.receipts import receipt_json

ESC_INIT = b"\x1b@"
CODEPAGE_CP858 = b"\x1bt\x13"
DRAWER_KICK_PIN2 = b"\x1bp\x00\x32\x32"  # ESC p m=0, 100 ms on / 100 ms off
FEED_AND_FULL_CUT = b"\x1bd\x06\x1dV\x00"  # ESC d 6 (feed past the cutter), GS V 0

LONG_NAME = "Extraordinarily Long Handcrafted Seasonal Pumpkin Spice Latte With Cinnamon Dust"

STORE: dict[str, Any] = {
    "storeName": "Café Zentral",
    "storeAddress": "Bahnhofstrasse 1\n8001 Zürich, Switzerland - entrance via the courtyard behind the bakery",
    "vatNumber": "CHE-123.456.789 MWST",
    "currency": "EUR",
    "storeTimezone": "Europe/Zurich",
    "receiptHeader": "Welcome!\nFree Wi-Fi: cafe-guest",
    "receiptFooter": "Thank you for your visit",
    "taxMode": "exclusive",
}


def make_order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "7d8f5a8e-0000-4000-8000-000000000001",
        "orderNumber": "A-0042",
        "receiptNumber": 1042,
        "orderType": "take_away",
        "status": "completed",
        "items": [
            {"productName": "Cappuccino", "size": "Large", "quantity": 2, "unitPrice": Decimal("4.50"),
             "modifiers": [{"name": "Oat milk", "priceDelta": Decimal("0.50")}],
             "lineTotal": Decimal("10.00"), "taxRate": Decimal("0.026"), "notes": "extra hot",
             "refundedQuantity": 0},
            # Money as str and int, as some callers send it.
            {"productName": LONG_NAME, "size": None, "quantity": 1, "unitPrice": "6.2",
             "modifiers": [], "lineTotal": "6.2", "taxRate": "0.081", "notes": None, "refundedQuantity": 0},
            {"productName": "Croissant", "size": "", "quantity": 1, "unitPrice": 3,
             "modifiers": [{"name": "No butter", "priceDelta": "0"}], "lineTotal": 3, "taxRate": "0.081",
             "notes": None, "refundedQuantity": 0},
        ],
        "subtotal": Decimal("19.20"),
        "discountAmount": Decimal("1.92"),
        "discountReason": "Staff 10%",
        "taxAmount": Decimal("1.08"),
        "taxBreakdown": [
            {"rate": Decimal("0.026"), "base": Decimal("9.00"), "tax": Decimal("0.23")},
            {"rate": Decimal("0.081"), "base": Decimal("8.28"), "tax": Decimal("0.85")},
        ],
        "tipAmount": Decimal("1.00"),
        "roundingAdjustment": Decimal("0.02"),
        "total": Decimal("19.38"),
        "payments": [{"method": "cash", "amount": Decimal("19.38"), "tendered": Decimal("50.00"),
                      "change": Decimal("30.62"), "reference": None}],
        "paymentMethod": "cash",
        "amountPaid": Decimal("50.00"),
        "changeGiven": Decimal("30.62"),
        "refundedAmount": Decimal("0.00"),
        "createdAt": "2026-11-23T23:30:00.000Z",
        "createdByName": "Anna Muster",
        "customerName": "Bob",
        "orderNotes": None,
        "reprintCount": 0,
    }
    order.update(overrides)
    return order


def card_order(**overrides: Any) -> dict[str, Any]:
    return make_order(
        payments=[{"method": "card", "amount": Decimal("19.38"), "tendered": None, "change": None,
                   "reference": "AUTH 829371 ****4242"}],
        paymentMethod="card", amountPaid=Decimal("19.38"), changeGiven=Decimal("0.00"), **overrides,
    )


def columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def row(label: str, value: str, width: int = 42) -> str:
    return label + " " * (width - len(label) - len(value)) + value


def test_every_text_line_fits_the_paper() -> None:
    order = make_order(
        customerName="Maximiliane Theodora von Hohenzollern-Sigmaringen the Third",
        discountReason="Loyalty card stamp bonus for the tenth coffee of the month",
        orderNotes="Please bring everything to the table next to the big window",
    )
    order["items"].append({"productName": "Supercalifragilisticexpialidociousandmoreandmore-XL-Special",
                           "size": "Large", "quantity": 1, "unitPrice": "1", "modifiers": [],
                           "lineTotal": "1", "taxRate": "0.081"})
    order["items"].append({"productName": "抹茶ラテ 抹茶ラテ 抹茶ラテ 抹茶ラテ 抹茶ラテ 抹茶ラテ",
                           "quantity": 1, "unitPrice": "5", "lineTotal": "5", "taxRate": "0.081"})
    for width in (42, 32):
        text = render_text(order, STORE, reprint=True, width=width)
        lines = text.splitlines()
        assert len(lines) > 30
        too_wide = [ln for ln in lines if columns(ln) > width or len(ln) > width]
        assert too_wide == []
    text = render_text(order, STORE)
    # The long name is wrapped, not cut: every word is still on the receipt.
    for word in LONG_NAME.split():
        assert word in text
    # A word longer than a line is split across lines, never cut off.
    joined = "".join(ln.strip() for ln in text.splitlines())
    assert "Supercalifragilisticexpialidociousandmoreandmore-XL-Special(Large)" in joined


def test_totals_tax_and_numbers_are_formatted() -> None:
    lines = render_text(make_order(tipAmount=Decimal("2.345")), STORE).splitlines()
    assert "Receipt No: 1042" in lines
    assert "Order: A-0042" in lines
    assert "Cashier: Anna Muster" in lines
    assert "Type: TAKE-AWAY" in lines
    assert row("2 x Cappuccino (Large)", "10.00") in lines
    assert "    + Oat milk (+0.50)" in lines
    assert "    Note: extra hot" in lines
    assert "    @ 4.50" in lines
    assert row("1 x Croissant", "3.00") in lines
    assert row("1 x Extraordinarily Long Handcrafted", "6.20") in lines
    assert row("Subtotal", "19.20") in lines
    assert row("Discount (Staff 10%)", "-1.92") in lines
    assert row("VAT 2.6% on 9.00", "0.23") in lines
    assert row("VAT 8.1% on 8.28", "0.85") in lines
    assert row("Tip", "2.35") in lines  # ROUND_HALF_UP, not banker's rounding
    assert row("Rounding", "0.02") in lines
    assert row("TOTAL EUR", "19.38") in lines
    assert row("Cash", "19.38") in lines
    assert row("  Tendered", "50.00") in lines
    assert row("  Change", "30.62") in lines
    assert lines.index(row("Subtotal", "19.20")) < lines.index(row("TOTAL EUR", "19.38"))
    assert "Café Zentral" in lines[0]
    assert any("VAT No: CHE-123.456.789 MWST" in ln for ln in lines)
    assert any(ln.strip() == "Thank you for your visit" for ln in lines)


def test_whole_percent_rate_keeps_one_decimal() -> None:
    order = make_order(taxBreakdown=[{"rate": Decimal("0.08"), "base": Decimal("12.00"), "tax": Decimal("0.96")}])
    assert row("VAT 8.0% on 12.00", "0.96") in render_text(order, STORE).splitlines()


def test_rates_are_fractions_printed_as_percentages() -> None:
    breakdown = [{"rate": Decimal("0.0255"), "base": Decimal("10.00"), "tax": Decimal("0.26")},
                 {"rate": Decimal("0.1"), "base": Decimal("5.00"), "tax": Decimal("0.50")},
                 {"rate": Decimal("0"), "base": Decimal("1.00"), "tax": Decimal("0.00")}]
    lines = render_text(make_order(taxBreakdown=breakdown), STORE).splitlines()
    assert row("VAT 2.55% on 10.00", "0.26") in lines
    assert row("VAT 10.0% on 5.00", "0.50") in lines
    assert row("VAT 0.0% on 1.00", "0.00") in lines


def test_inclusive_tax_is_shown_below_the_total() -> None:
    lines = render_text(make_order(), {**STORE, "taxMode": "inclusive"}).splitlines()
    total = lines.index(row("TOTAL EUR", "19.38"))
    assert lines.index(row("incl. VAT 8.1% on 8.28", "0.85")) > total
    assert row("VAT 8.1% on 8.28", "0.85") not in lines


def test_float_money_is_refused() -> None:
    with pytest.raises(TypeError):
        render_text(make_order(total=19.38), STORE)


def test_time_is_shown_in_the_store_time_zone() -> None:
    # 23:30 UTC on 23 Nov is already the 24th in Zurich (UTC+1 in winter).
    assert "Date: 2026-11-24 00:30" in render_text(make_order(), STORE).splitlines()
    summer = make_order(createdAt="2026-07-01T22:30:00Z")
    assert "Date: 2026-07-02 00:30" in render_text(summer, STORE).splitlines()
    new_york = {**STORE, "storeTimezone": "America/New_York"}
    assert "Date: 2026-11-23 18:30" in render_text(make_order(), new_york).splitlines()
    data = receipt_json(make_order(), STORE)
    assert data["createdAt"] == "2026-11-23T23:30:00.000Z"
    assert data["localTime"] == "2026-11-24T00:30:00+01:00"


def test_reprint_marker_only_on_reprints() -> None:
    order = make_order()
    original = render_text(order, STORE)
    assert "REPRINT" not in original and "COPY" not in original
    assert "REPRINT" not in render_html(order, STORE)
    copy_text = render_text(order, STORE, reprint=True).splitlines()
    assert copy_text.count("*** REPRINT ***".center(42).rstrip()) == 2  # top and bottom
    assert "COPY" in "".join(copy_text)
    assert "*** REPRINT ***" in render_html(order, STORE, reprint=True)
    assert receipt_json(order, STORE, reprint=True)["reprint"] is True
    assert receipt_json(order, STORE)["reprint"] is False


def test_card_payment_shows_reference_and_does_not_open_the_drawer() -> None:
    order = card_order()
    lines = render_text(order, STORE).splitlines()
    assert row("Card", "19.38") in lines
    assert "  Ref: AUTH 829371 ****4242" in lines
    assert not any("Tendered" in ln or "Change" in ln for ln in lines)
    raw = render_escpos(order, STORE)
    assert raw.startswith(ESC_INIT)
    assert b"\x1bp" not in raw
    assert raw.endswith(FEED_AND_FULL_CUT)
    assert b"Ref: AUTH 829371 ****4242" in raw


def test_cash_escpos_is_init_content_drawer_kick_cut() -> None:
    raw = render_escpos(make_order(), STORE)
    assert isinstance(raw, bytes)
    assert raw.startswith(ESC_INIT + CODEPAGE_CP858)
    assert raw.count(ESC_INIT) == 1
    assert raw.count(DRAWER_KICK_PIN2) == 1
    assert raw.endswith(DRAWER_KICK_PIN2 + FEED_AND_FULL_CUT)
    assert row("TOTAL EUR", "19.38").encode() in raw
    assert row("  Change", "30.62").encode() in raw
    assert raw.index(b"TOTAL EUR") < raw.index(DRAWER_KICK_PIN2)


def test_split_payment_with_cash_kicks_the_drawer() -> None:
    order = make_order(paymentMethod="split", payments=[
        {"method": "card", "amount": Decimal("10.00"), "reference": "R1"},
        {"method": "cash", "amount": Decimal("9.38"), "tendered": Decimal("10.00"), "change": Decimal("0.62")},
    ])
    assert DRAWER_KICK_PIN2 in render_escpos(order, STORE)


def test_legacy_single_payment_fields_are_used_when_payments_are_missing() -> None:
    order = make_order(payments=[], paymentMethod="cash", amountPaid=Decimal(20), changeGiven=Decimal("0.62"))
    lines = render_text(order, STORE).splitlines()
    assert row("Cash", "20.00") in lines
    assert row("  Change", "0.62") in lines
    assert DRAWER_KICK_PIN2 in render_escpos(order, STORE)


def test_reprint_does_not_open_the_drawer_unless_asked() -> None:
    order = make_order()
    reprint = render_escpos(order, STORE, reprint=True)
    assert b"\x1bp" not in reprint
    assert b"*** REPRINT ***" in reprint
    assert reprint.endswith(FEED_AND_FULL_CUT)
    assert DRAWER_KICK_PIN2 in render_escpos(order, STORE, reprint=True, open_drawer=True)
    assert b"\x1bp" not in render_escpos(order, STORE, open_drawer=False)


def test_html_escapes_every_value() -> None:
    order = make_order(customerName='"><img src=x onerror=alert(1)>', orderNotes="</td></table><b>x</b>")
    order["items"][0]["productName"] = "<script>alert(1)</script>"
    order["items"][0]["modifiers"][0]["name"] = "<iframe src=//evil>"
    store = {**STORE, "storeName": "Tom & Jerry's <Café>", "receiptFooter": "<style>body{display:none}</style>"}
    doc = render_html(order, store)
    assert doc.startswith("<!DOCTYPE html>")
    for raw in ("<script", "<img", "<iframe", "<b>", "</table><b>", "<style>"):
        assert raw not in doc
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in doc
    assert "Tom &amp; Jerry&#x27;s &lt;Café&gt;" in doc
    # Self-contained: nothing is fetched from elsewhere.
    for external in ("http://", "https://", "<link", "<script", "src="):
        assert external not in doc.replace("src=x", "").replace("&lt;iframe src=//evil&gt;", "")


def test_html_carries_the_same_content() -> None:
    doc = render_html(make_order(), STORE)
    for text in ("Café Zentral", "Receipt No", "1042", "A-0042", "2026-11-24 00:30", "Anna Muster", "TAKE-AWAY",
                 "2 x Cappuccino (Large)", "+ Oat milk (+0.50)", "Discount (Staff 10%)", "-1.92",
                 "VAT 2.6% on 9.00", "TOTAL EUR", "19.38", "Tendered", "30.62", "Thank you for your visit"):
        assert text in doc


def test_non_ascii_names_survive() -> None:
    order = make_order(customerName="Zoë Ångström")
    order["items"][0]["productName"] = "Crème brûlée"
    order["items"][1]["productName"] = "咖啡 ☕"
    store = {**STORE, "currency": "€"}
    text = render_text(order, store)
    assert "2 x Crème brûlée (Large)" in text and "咖啡 ☕" in text and "Zoë Ångström" in text
    assert "TOTAL €" in text
    doc = render_html(order, store)
    assert "Crème brûlée" in doc and "咖啡 ☕" in doc
    raw = render_escpos(order, store)
    assert "Crème brûlée".encode("cp858") in raw
    assert "TOTAL €".encode("cp858") in raw
    assert b"1 x ?? ?" in raw  # no CP858 glyph: a placeholder, never a crash or a code page switch
    assert raw.count(b"\x1bt") == 1


def test_decomposed_accents_are_composed_first() -> None:
    order = make_order()
    order["items"][0]["productName"] = "Cre\u0300me"  # e + combining grave
    assert "Crème".encode("cp858") in render_escpos(order, STORE)


def test_control_characters_cannot_reach_the_printer() -> None:
    order = card_order(customerName="Eve\x1bp\x00\x19\xfa")
    order["items"][0]["productName"] = "Latte\x1dV\x00\nNext line\u202e"
    raw = render_escpos(order, STORE)
    assert b"\x1bp" not in raw
    assert raw.count(b"\x1dV") == 1 and raw.endswith(FEED_AND_FULL_CUT)
    text = render_text(order, STORE)
    assert "2 x Latte V Next line (Large)" in text
    assert "\x1b" not in text and "\u202e" not in text


def test_voided_order_is_marked() -> None:
    text = render_text(make_order(status="voided"), STORE)
    assert text.count("*** VOIDED ***") == 2
    assert "*** VOIDED ***" in render_html(make_order(status="voided"), STORE)
    assert b"*** VOIDED ***" in render_escpos(make_order(status="voided"), STORE)
    assert "VOIDED" not in render_text(make_order(), STORE)


def test_refunded_orders_are_marked_with_the_refunded_amount() -> None:
    order = make_order(status="refunded", refundedAmount=Decimal("19.38"))
    lines = render_text(order, STORE).splitlines()
    assert "*** REFUNDED ***".center(42).rstrip() in lines
    assert row("Refunded", "-19.38") in lines

    partial = make_order(status="partially_refunded", refundedAmount=Decimal("5.00"))
    partial["items"][0]["refundedQuantity"] = 1
    lines = render_text(partial, STORE).splitlines()
    assert any(ln.strip() == "*** PARTIALLY REFUNDED ***" for ln in lines)
    assert row("Refunded", "-5.00") in lines
    assert "    Refunded: 1" in lines

    completed = render_text(make_order(), STORE)
    assert "REFUNDED" not in completed and "Refunded" not in completed


def test_receipt_json_structure() -> None:
    order = make_order()
    before = copy.deepcopy(order)
    data = receipt_json(order, STORE)
    assert order == before  # the caller's resource is not modified
    assert data["header"] == {
        "storeName": "Café Zentral",
        "storeAddress": STORE["storeAddress"],
        "vatNumber": "CHE-123.456.789 MWST",
        "lines": ["Welcome!", "Free Wi-Fi: cafe-guest"],
    }
    assert (data["receiptNumber"], data["orderNumber"]) == (1042, "A-0042")
    assert (data["cashier"], data["orderType"]) == ("Anna Muster", "take_away")
    assert data["totals"] == {
        "subtotal": Decimal("19.20"), "discount": Decimal("1.92"), "tax": Decimal("1.08"),
        "tip": Decimal("1.00"), "rounding": Decimal("0.02"), "total": Decimal("19.38"),
        "refunded": Decimal("0.00"),
    }
    assert data["taxBreakdown"][1] == {"rate": Decimal("0.081"), "base": Decimal("8.28"), "tax": Decimal("0.85")}
    assert data["items"][0]["modifiers"] == [{"name": "Oat milk", "priceDelta": Decimal("0.50")}]
    assert data["items"][1]["lineTotal"] == Decimal("6.20")
    assert data["items"][2]["size"] is None
    assert data["payments"] == [{"method": "cash", "amount": Decimal("19.38"), "tendered": Decimal("50.00"),
                                 "change": Decimal("30.62"), "reference": None}]
    assert data["footer"] == ["Thank you for your visit"]
    assert data["reprint"] is False


def test_too_narrow_paper_is_refused() -> None:
    with pytest.raises(ValueError):
        render_text(make_order(), STORE, width=10)
