"""Mailer against a real aiosmtpd server on 127.0.0.1 (plain, AUTH, STARTTLS, SSL)."""

from __future__ import annotations

import email
import email.policy
import io
import logging
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from PIL import Image

from orm.domain.errors import ValidationFailed
from services.charts import hourly_sales_chart
from services.email_service import (
    EmailDeliveryError,
    Mailer,
    SmtpConfig,
    build_message,
)
from settings import Settings

HOST = "127.0.0.1"
SENDER = "cafe@example.com"
USER, PASSWORD = "cafe", "s3cret-pw"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    authenticated: bool
    tls: bool


@dataclass
class Collector:
    """aiosmtpd handler that keeps every envelope it accepts."""

    received: list[Received] = field(default_factory=list)
    login_attempts: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(
                envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                bool(session.authenticated), session.ssl is not None,
            )
        )
        return "250 OK"

    def authenticator(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self.login_attempts.append(mechanism)
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        )
        # handled=False: let aiosmtpd send the 535 reply itself.
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[Collector, int]]]:
    """Start aiosmtpd with the given SMTP options; returns (handler, port)."""
    controllers: list[Controller] = []

    def start(**options: Any) -> tuple[Collector, int]:
        handler = Collector()
        if options.pop("with_auth", False):
            options.update(authenticator=handler.authenticator, auth_require_tls=False)
        port = free_port()
        controller = Controller(handler, hostname=HOST, port=port, **options)
        controller.start()
        controllers.append(controller)
        return handler, port

    yield start
    for c in controllers:
        c.stop()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="test-smtp")
    yield pool
    pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    # `cryptography` is not in the venv, so the openssl CLI makes the certificate.
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    return cert, key


def server_tls_context(cert_key: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert_key)
    return ctx


def config(port: int, **kw: Any) -> SmtpConfig:
    kw.setdefault("security", "none")
    return SmtpConfig(host=HOST, port=port, sender=SENDER, timeout=5.0, **kw)


def plain_message(subject: str = "Hello") -> Any:
    return build_message(sender=SENDER, to=["a@example.com", "Bob <b@example.com>"],
                         subject=subject, text="Plain body")


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


# --- configuration ---------------------------------------------------------

def test_effective_security_defaults_by_port():
    def eff(port: int, security: Any = None) -> str:
        return SmtpConfig(host="h", port=port, sender=SENDER, security=security).effective_security

    assert eff(587) == "starttls"
    assert eff(465) == "ssl"
    assert eff(25) == "none"
    assert eff(2525) == "none"
    assert eff(587, "none") == "none"
    assert eff(25, "ssl") == "ssl"
    assert eff(465, "starttls") == "starttls"


def test_configured_and_password_not_in_repr():
    cfg = SmtpConfig(host="mail.example.com", port=587, sender=SENDER,
                     username=USER, password=PASSWORD)
    assert cfg.configured
    assert cfg.verify_tls is True
    assert PASSWORD not in repr(cfg)
    assert not SmtpConfig(host="", port=587, sender=SENDER).configured


def test_from_settings_maps_smtp_options():
    s = Settings(smtp_server="mail.example.com", smtp_port=465, smtp_username="u",
                 smtp_password="p", smtp_from="shop@example.com", smtp_security="",
                 smtp_timeout=3.0)
    cfg = SmtpConfig.from_settings(s)
    assert (cfg.host, cfg.port, cfg.username, cfg.password, cfg.sender, cfg.timeout) == (
        "mail.example.com", 465, "u", "p", "shop@example.com", 3.0)
    assert cfg.security is None and cfg.effective_security == "ssl"


# --- message building --------------------------------------------------------

@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"subject": "Hi\r\nBcc: evil@example.com"}, "subject"),
        ({"subject": "Hi\nX-Evil: 1"}, "subject"),
        ({"to": ["a@example.com\nBcc: evil@example.com"]}, "to"),
        ({"to": []}, "to"),
        ({"to": ["not-an-address"]}, "to"),
        ({"to": ["a@example.com", ""]}, "to"),
        ({"sender": "cafe@example.com\r\nBcc: x@example.com"}, "sender"),
        ({"inline_images": {"chart": b"\x89PNG\r\n\x1a\n"}}, "inline_images"),  # no html
        ({"html": "<p>x</p>", "inline_images": {"chart": b"GIF89a"}}, "inline_images"),
        ({"html": "<p>x</p>", "inline_images": {"a b>": b"\x89PNG\r\n\x1a\n"}}, "inline_images"),
    ],
)
def test_build_message_refuses_bad_input(kwargs: dict[str, Any], field_name: str):
    args: dict[str, Any] = {"sender": SENDER, "to": ["a@example.com"], "subject": "Hi",
                            "text": "body"}
    args.update(kwargs)
    with pytest.raises(ValidationFailed) as info:
        build_message(**args)
    assert field_name in info.value.field_errors


def test_build_message_accepts_single_string_recipient():
    msg = build_message(sender=SENDER, to="a@example.com", subject="Hi", text="x")
    assert msg["To"] == "a@example.com"


# --- delivery ---------------------------------------------------------------

@pytest.mark.asyncio
async def test_plain_message_delivered(smtp_server, executor):
    handler, port = smtp_server()
    mailer = Mailer(config(port), executor)
    await mailer.send(plain_message("Daily summary"))
    assert len(handler.received) == 1
    got = handler.received[0]
    assert got.mail_from == SENDER
    assert got.rcpt_tos == ["a@example.com", "b@example.com"]
    parsed = parse(got.content)
    assert parsed["Subject"] == "Daily summary"
    assert parsed["From"] == SENDER
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content().strip() == "Plain body"
    assert mailer.failures == 0


@pytest.mark.asyncio
async def test_html_text_and_inline_png(smtp_server, executor):
    handler, port = smtp_server()
    png = hourly_sales_chart([(9, Decimal("12.50")), (13, Decimal("40.00"))])
    msg = build_message(
        sender=SENDER, to=["boss@example.com"], subject="Sales 2024-05-01",
        text="Revenue: EUR 52.50", html='<p>Revenue</p><img src="cid:chart">',
        inline_images={"chart": png},
    )
    await Mailer(config(port), executor).send(msg)

    parsed = parse(handler.received[0].content)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p for p in parsed.walk()}
    assert "Revenue: EUR 52.50" in parts["text/plain"].get_content()
    assert 'src="cid:chart"' in parts["text/html"].get_content()
    image = parts["image/png"]
    assert image["Content-ID"] == "<chart>"
    data = image.get_content()
    assert data == png
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG" and img.size == (640, 240)


@pytest.mark.asyncio
async def test_auth_login_succeeds_with_right_password(smtp_server, executor):
    handler, port = smtp_server(with_auth=True)
    await Mailer(config(port, username=USER, password=PASSWORD), executor).send(plain_message())
    assert handler.login_attempts
    assert handler.received[0].authenticated


@pytest.mark.asyncio
async def test_auth_wrong_password_fails_without_retry_or_leak(smtp_server, executor, caplog):
    handler, port = smtp_server(with_auth=True)
    wrong = "wrong-pw-123"
    mailer = Mailer(config(port, username=USER, password=wrong), executor)
    with (
        caplog.at_level(logging.WARNING, logger="cafepos.email"),
        pytest.raises(EmailDeliveryError) as info,
    ):
        await mailer.send(plain_message(), retries=2, backoff=0.01)
    assert "rejected" in str(info.value)
    assert info.value.permanent
    # Bad credentials cannot fix themselves: one attempt, no retries.
    assert mailer.failures == 1
    assert handler.received == []
    assert caplog.records and wrong not in caplog.text
    assert wrong not in str(info.value)


@pytest.mark.asyncio
async def test_no_auth_when_username_empty(smtp_server, executor):
    handler, port = smtp_server(with_auth=True)
    await Mailer(config(port, username="", password="ignored"), executor).send(plain_message())
    assert handler.login_attempts == []
    assert len(handler.received) == 1
    assert not handler.received[0].authenticated


def test_send_blocking_starttls_with_self_signed_cert(smtp_server, self_signed):
    handler, port = smtp_server(tls_context=server_tls_context(self_signed),
                                require_starttls=True)
    Mailer(config(port, security="starttls", verify_tls=False)).send_blocking(plain_message())
    assert len(handler.received) == 1
    assert handler.received[0].tls


def test_starttls_verifies_certificates_by_default(smtp_server, self_signed):
    handler, port = smtp_server(tls_context=server_tls_context(self_signed),
                                require_starttls=True)
    with pytest.raises(EmailDeliveryError) as info:
        Mailer(config(port, security="starttls")).send_blocking(plain_message())
    assert "SSL" in str(info.value) or "certificate" in str(info.value).lower()
    assert handler.received == []


def test_plaintext_refused_by_server_requiring_starttls(smtp_server, self_signed):
    handler, port = smtp_server(tls_context=server_tls_context(self_signed),
                                require_starttls=True)
    with pytest.raises(EmailDeliveryError):
        Mailer(config(port, security="none")).send_blocking(plain_message())
    assert handler.received == []


def test_implicit_ssl(smtp_server, self_signed):
    handler, port = smtp_server(ssl_context=server_tls_context(self_signed))
    Mailer(config(port, security="ssl", verify_tls=False)).send_blocking(plain_message())
    assert len(handler.received) == 1


@pytest.mark.asyncio
async def test_connection_refused_retries_then_raises(executor, caplog):
    mailer = Mailer(config(free_port()), executor)  # nothing listens there
    with (
        caplog.at_level(logging.WARNING, logger="cafepos.email"),
        pytest.raises(EmailDeliveryError) as info,
    ):
        await mailer.send(plain_message(), retries=2, backoff=0.01)
    assert "ConnectionRefusedError" in str(info.value)
    assert not info.value.permanent
    assert mailer.failures == 3
    attempts = [r for r in caplog.records if "attempt" in r.getMessage()]
    assert [r.getMessage().split("attempt ")[1][:3] for r in attempts] == ["1/3", "2/3", "3/3"]


def test_send_blocking_connection_refused():
    with pytest.raises(EmailDeliveryError):
        Mailer(config(free_port())).send_blocking(plain_message())


@pytest.mark.asyncio
async def test_not_configured_mailer_raises(executor):
    mailer = Mailer(SmtpConfig(host="", port=587, sender=SENDER), executor)
    with pytest.raises(EmailDeliveryError, match="not configured"):
        mailer.send_blocking(plain_message())
    with pytest.raises(EmailDeliveryError, match="not configured"):
        await mailer.send(plain_message(), retries=3, backoff=0.01)
    assert mailer.failures == 1
