"""Password reset end to end through a real SMTP server (aiosmtpd) started in the test."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from main import make_app
from orm.models.model_identity import AuditChange, PasswordResetToken
from tests.identity_support import count, live_sessions, make_user, user_row
from tests.support import RunningServer

HOST = "127.0.0.1"
SAME_MESSAGE = "If an account uses this e-mail address, a link to reset its password is on its way."


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 OK"

    async def wait_for(self, n: int, timeout: float = 10.0) -> None:
        """Delivery happens in the background after the 200; wait for it (a bound, not an assertion)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.messages) < n and loop.time() < deadline:
            await asyncio.sleep(0.02)
        assert len(self.messages) >= n, f"expected {n} message(s), got {len(self.messages)}"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    controller = Controller(inbox, hostname=HOST, port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
async def mail_server(settings, smtp, clock, demo_users) -> AsyncIterator[RunningServer]:
    _inbox, port = smtp
    s = settings.with_overrides(smtp_server=HOST, smtp_port=port, smtp_security="none",
                                smtp_from="till@cafe.example", public_base_url="https://pos.cafe.example")
    running = RunningServer(make_app(s, clock=clock))
    yield running
    await running.stop()


def token_from(msg: email.message.EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"https://pos\.cafe\.example/reset-password\?token=([A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


async def test_reset_end_to_end(mail_server, smtp, settings, clock):
    inbox, _port = smtp
    c = mail_server.client()
    try:
        old = (await c.post("/auth/login", {"username": "cashier", "password": "password123"})).data
        resp = await c.post("/auth/password-reset-request", {"email": "Cashier@CafePOS.local"})
        assert resp.status == 200 and resp.json["message"] == SAME_MESSAGE and resp.data == {}
        await inbox.wait_for(1)
        msg = inbox.messages[0]
        assert msg["To"] == "cashier@cafepos.local" and msg["From"] == "till@cafe.example"
        assert "cashier" in msg.get_body(preferencelist=("plain",)).get_content()
        token = token_from(msg)
        # Only the digest is stored.
        assert count(settings, PasswordResetToken, PasswordResetToken.token_hash == token) == 0

        assert (await c.post("/auth/validate-reset-token", {"token": token})).data == {"valid": True}
        resp = await c.post("/auth/password-reset-confirm", {"token": token, "newPassword": "short"})
        assert resp.status == 400 and "newPassword" in resp.json["fieldErrors"]
        resp = await c.post("/auth/password-reset-confirm", {"token": token, "newPassword": "a-new-secret"})
        assert resp.status == 200, resp.body

        # Single use, every old session revoked, old password gone, new one works.
        assert (await c.post("/auth/validate-reset-token", {"token": token})).data == {"valid": False}
        resp = await c.post("/auth/password-reset-confirm", {"token": token, "newPassword": "another-secret"})
        assert resp.status == 400 and resp.json["fieldErrors"] == {"token": "is invalid or has expired"}
        assert (await c.get("/auth/me", token=old["token"])).status == 401
        assert (await c.post("/auth/refresh", {"refreshToken": old["refreshToken"]})).status == 401
        assert live_sessions(settings, old["user"]["id"]) == 0
        assert (await c.post("/auth/login", {"username": "cashier", "password": "password123"})).status == 401
        assert (await c.post("/auth/login", {"username": "cashier", "password": "a-new-secret"})).status == 200
        assert count(settings, AuditChange, AuditChange.action == "password_reset",
                     AuditChange.entity_id == old["user"]["id"]) == 1
    finally:
        c.close()


async def test_unknown_address_same_answer_and_no_mail(mail_server, smtp, settings):
    inbox, _port = smtp
    make_user(settings, username="left", active=False, email="left@cafe.example")
    c = mail_server.client()
    try:
        for address in ("nobody@cafe.example", "left@cafe.example"):
            resp = await c.post("/auth/password-reset-request", {"email": address})
            assert resp.status == 200 and resp.json["message"] == SAME_MESSAGE
        resp = await c.post("/auth/password-reset-request", {"email": "manager@cafepos.local"})
        await inbox.wait_for(1)
        assert [m["To"] for m in inbox.messages] == ["manager@cafepos.local"]
        assert count(settings, PasswordResetToken) == 1
    finally:
        c.close()


async def test_token_expires_after_an_hour_and_newer_request_replaces_it(mail_server, smtp, clock):
    inbox, _port = smtp
    c = mail_server.client()
    try:
        await c.post("/auth/password-reset-request", {"email": "manager@cafepos.local"})
        await inbox.wait_for(1)
        first = token_from(inbox.messages[0])
        await c.post("/auth/password-reset-request", {"email": "manager@cafepos.local"})
        await inbox.wait_for(2)
        second = token_from(inbox.messages[1])
        assert (await c.post("/auth/validate-reset-token", {"token": first})).data == {"valid": False}
        assert (await c.post("/auth/validate-reset-token", {"token": second})).data == {"valid": True}
        clock.advance(minutes=60)
        assert (await c.post("/auth/validate-reset-token", {"token": second})).data == {"valid": False}
        resp = await c.post("/auth/password-reset-confirm", {"token": second, "newPassword": "a-new-secret"})
        assert resp.status == 400
    finally:
        c.close()


async def test_reset_without_smtp_still_answers_200(client, demo_users, settings):
    resp = await client.post("/auth/password-reset-request", {"email": "admin@cafepos.local"})
    assert resp.status == 200 and resp.json["message"] == SAME_MESSAGE


async def test_reset_bad_inputs_write_nothing(client, demo_users, settings):
    cases = [("/auth/password-reset-request", {}), ("/auth/password-reset-request", {"email": "not-an-address"}),
             ("/auth/password-reset-request", {"email": "a@b.c\r\nBcc: x@y.z"}),
             ("/auth/validate-reset-token", {}), ("/auth/validate-reset-token", {"token": ""}),
             ("/auth/password-reset-confirm", {"token": "x"}),
             ("/auth/password-reset-confirm", {"token": "made-up", "newPassword": "long-enough-pw"})]
    before = user_row(settings, (await client.post("/auth/login", {"username": "admin", "password": "password123"}))
                      .data["user"]["id"])
    for path, body in cases:
        resp = await client.post(path, body)
        assert resp.status == 400 and resp.json["errorCode"] == "VALIDATION_ERROR", (path, body, resp.body)
    assert count(settings, PasswordResetToken) == 0 and count(settings, AuditChange) == 0
    after = user_row(settings, (await client.post("/auth/login", {"username": "admin", "password": "password123"}))
                     .data["user"]["id"])
    assert before["passwordHash"] == after["passwordHash"]
