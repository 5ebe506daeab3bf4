"""Receipts of real orders: text, HTML, ESC/POS and JSON; reprints; e-mail through a real SMTP server."""

from __future__ import annotations

import email
import email.policy
import socket
import unicodedata
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from main import make_app
from tests.orders_support import CARD, cash, line
from tests.support import RunningServer, suite_now

D = Decimal
ESC_INIT = b"\x1b@"
DRAWER_KICK = b"\x1bp"
CUT = b"\x1dV"


async def sell(client, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/orders", body)
    assert r.status == 201, r.body
    return r.data["order"]


def basket(cafe) -> dict[str, Any]:
    return {"items": [line(cafe.items["latte"], 2, modifierIds=[cafe.mods["Oat milk"]], notes="extra hot"),
                      line(cafe.items["croissant"])], "customerName": "Bob", **cash("20")}


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


async def test_text_receipt_fits_80mm_paper(as_role, cafe) -> None:
    c = as_role("cashier")
    order = await sell(c, basket(cafe))
    r = await c.get(f"/orders/{order['id']}/receipt?format=text")
    assert r.status == 200
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    text = r.body.decode("utf-8")
    lines = text.splitlines()
    assert max(columns(ln) for ln in lines) <= 42
    for expected in ("Receipt No: 1", "Order: A-000001", "Cashier: Cara Cashier", "2 x Latte", "+ Oat milk (+0.50)",
                     "Note: extra hot", "1 x Croissant", "VAT 2.6% on 3.20", "VAT 8.0% on 10.00"):
        assert expected in text, expected
    assert any(ln.startswith("TOTAL EUR") and ln.endswith(f"{order['total']:.2f}") for ln in lines)
    assert any(ln.startswith("  Change") and ln.endswith(f"{order['changeGiven']:.2f}") for ln in lines)
    default = await c.get(f"/orders/{order['id']}/receipt")
    assert default.body == r.body  # text is the default


async def test_html_escpos_and_json_receipts(as_role, cafe) -> None:
    c = as_role("cashier")
    order = await sell(c, basket(cafe))
    html = await c.get(f"/orders/{order['id']}/receipt?format=html")
    assert html.status == 200 and html.headers["Content-Type"] == "text/html; charset=utf-8"
    assert html.body.startswith(b"<!DOCTYPE html>") and b"A-000001" in html.body
    raw = await c.get(f"/orders/{order['id']}/receipt?format=escpos")
    assert raw.status == 200 and raw.headers["Content-Type"] == "application/octet-stream"
    assert raw.body.startswith(ESC_INIT) and CUT in raw.body[-8:]
    assert DRAWER_KICK in raw.body  # cash sale opens the drawer
    js = await c.get(f"/orders/{order['id']}/receipt?format=json")
    assert js.status == 200 and js.json["success"] is True
    receipt = js.data["receipt"]
    assert (receipt["receiptNumber"], receipt["orderNumber"], receipt["reprint"]) == (1, "A-000001", False)
    assert receipt["totals"]["total"] == order["total"]
    assert [b["rate"] for b in receipt["taxBreakdown"]] == [D("0.026"), D("0.08")]
    card = await sell(c, {"items": [line(cafe.items["espresso"])], **CARD})
    card_raw = await c.get(f"/orders/{card['id']}/receipt?format=escpos")
    assert DRAWER_KICK not in card_raw.body


async def test_receipt_errors_and_permissions(as_role, client, cafe) -> None:
    c = as_role("trainee")
    order = await sell(c, basket(cafe))
    assert (await c.get(f"/orders/{order['id']}/receipt")).status == 200  # trainees may print
    assert (await c.get(f"/orders/{order['id']}/receipt?format=pdf")).status == 400
    assert (await c.get("/orders/nope/receipt")).status == 404
    assert (await client.get(f"/orders/{order['id']}/receipt")).status == 401
    assert (await c.post(f"/orders/{order['id']}/reprint-receipt")).status == 403
    assert (await as_role("cashier").post(f"/orders/{order['id']}/email-receipt",
                                          {"email": "a@example.com"})).status == 403


async def test_reprints_are_counted_and_marked(as_role, cafe) -> None:
    c = as_role("cashier")
    order = await sell(c, basket(cafe))
    first = await c.post(f"/orders/{order['id']}/reprint-receipt")
    assert first.status == 200
    assert first.data["receipt"]["reprint"] is True and first.data["receipt"]["reprintCount"] == 1
    text = await c.post(f"/orders/{order['id']}/reprint-receipt?format=text")
    assert "*** REPRINT ***" in text.body.decode()
    escpos = await c.post(f"/orders/{order['id']}/reprint-receipt?format=escpos")
    assert escpos.body.startswith(ESC_INIT) and DRAWER_KICK not in escpos.body  # a copy never opens the till
    got = (await as_role("manager").get(f"/orders/{order['id']}")).data["order"]
    assert got["reprintCount"] == 3 and got["lastReprint"] is not None
    plain = await c.get(f"/orders/{order['id']}/receipt?format=text")
    assert "REPRINT" not in plain.body.decode()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def _login(server: RunningServer, username: str) -> Any:
    c = server.client()
    r = await c.post("/auth/login", {"username": username, "password": "password123"})
    assert r.status == 200, r.body
    c.token = r.data["token"]
    return c


async def test_email_receipt_through_smtp(settings, demo_users, cafe, smtp) -> None:
    inbox, port = smtp
    server = RunningServer(make_app(settings.with_overrides(smtp_server="127.0.0.1", smtp_port=port,
                                                            smtp_security="none"), clock=suite_now))
    try:
        m = await _login(server, "manager")
        order = await sell(m, basket(cafe))
        r = await m.post(f"/orders/{order['id']}/email-receipt", {"email": "guest@example.com"})
        assert r.status == 200, r.body
        assert r.data["sent"] is True
        assert inbox.recipients == [["guest@example.com"]]
        msg = inbox.messages[0]
        assert "A-000001" in msg["Subject"]
        text = msg.get_body(preferencelist=("plain",)).get_content()
        html = msg.get_body(preferencelist=("html",)).get_content()
        assert "2 x Latte" in text and "<!DOCTYPE html>" in html
        bad = await m.post(f"/orders/{order['id']}/email-receipt", {"email": "not an address"})
        assert bad.status == 400 and "email" in bad.json["fieldErrors"]
        assert (await m.post("/orders/nope/email-receipt", {"email": "a@example.com"})).status == 404
        assert len(inbox.messages) == 1
        m.close()
    finally:
        await server.stop()


async def test_email_receipt_without_smtp_is_503(as_role, cafe) -> None:
    m = as_role("manager")
    order = await sell(m, basket(cafe))
    r = await m.post(f"/orders/{order['id']}/email-receipt", {"email": "guest@example.com"})
    assert r.status == 503
