"""The one SMTP e-mail service: configuration, message building and delivery.

Used for password resets, e-mail receipts, the daily sales summary and the
test e-mail.  `Mailer.send_blocking` talks smtplib and is meant for the
executor; `Mailer.send` is the IOLoop-side entry point that hops to the
executor, retries with backoff and always ends in either success or one
`EmailDeliveryError` — callers decide whether that is fatal for them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import TYPE_CHECKING, Literal

from orm.domain.errors import ValidationFailed

if TYPE_CHECKING:
    from settings import Settings

log = logging.getLogger("cafepos.email")

Security = Literal["starttls", "ssl", "none"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Deliberately loose: the SMTP server is the real judge; this only catches
# typos and anything that could smuggle extra headers or SMTP commands.
_ADDRESS_RE = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+$")
_CID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class EmailDeliveryError(Exception):
    """The message could not be handed to the SMTP server.

    `permanent` is True when retrying cannot help (not configured, bad
    credentials, a 5xx rejection); `Mailer.send` then stops retrying.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, kw_only=True)
class SmtpConfig:
    host: str
    port: int
    username: str = ""
    # repr=False so a logged or printed config never shows the secret.
    password: str = field(default="", repr=False)
    sender: str
    security: Security | None = None
    timeout: float = 10.0
    # Only tests (self-signed certificates) should ever turn this off.
    verify_tls: bool = True

    @property
    def configured(self) -> bool:
        return bool(self.host.strip())

    @property
    def effective_security(self) -> Security:
        """Explicit setting, else the port convention: 587 starttls, 465 ssl."""
        if self.security:
            return self.security
        if self.port == 587:
            return "starttls"
        if self.port == 465:
            return "ssl"
        return "none"

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        """Map the SMTP_* settings (an empty SMTP_SECURITY means the port default)."""
        security = settings.smtp_security or None
        return cls(
            host=settings.smtp_server,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            sender=settings.smtp_from,
            security=security,  # type: ignore[arg-type]  # validated by settings
            timeout=settings.smtp_timeout,
        )


def _check_address(value: str) -> str | None:
    """Return a problem description, or None when `value` looks like an address."""
    if "\r" in value or "\n" in value:
        return "must not contain line breaks"
    _name, addr = parseaddr(value)
    if not addr or not _ADDRESS_RE.match(addr):
        return f"{value!r} is not a valid e-mail address"
    return None


def build_message(
    *,
    sender: str,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    inline_images: Mapping[str, bytes] | None = None,
) -> EmailMessage:
    """A text (+ optional HTML) message; inline PNGs are referenced as `cid:NAME`."""
    if isinstance(to, str):
        # A bare string would be iterated character by character.
        to = [to]
    field_errors: dict[str, str] = {}
    problem = _check_address(sender)
    if problem:
        field_errors["sender"] = problem
    recipients = [r.strip() for r in to]
    if not recipients or any(not r for r in recipients):
        field_errors["to"] = "at least one recipient is required"
    else:
        for r in recipients:
            problem = _check_address(r)
            if problem:
                field_errors["to"] = problem
                break
    if "\r" in subject or "\n" in subject:
        field_errors["subject"] = "must not contain line breaks"
    images = dict(inline_images or {})
    if images and html is None:
        field_errors["inline_images"] = "inline images need an HTML body"
    for name, data in images.items():
        if not _CID_RE.match(name):
            field_errors["inline_images"] = f"invalid image name {name!r}"
        elif not data.startswith(PNG_SIGNATURE):
            field_errors["inline_images"] = f"image {name!r} is not a PNG"
    if field_errors:
        raise ValidationFailed(
            "The e-mail message is invalid", field_errors=field_errors,
            errors=[f"{k}: {v}" for k, v in field_errors.items()],
        )

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
        html_part = list(msg.iter_parts())[1]
        for name, data in images.items():
            # add_related turns the HTML part into multipart/related, the
            # structure mail clients expect for cid: references.
            html_part.add_related(
                data, maintype="image", subtype="png", cid=f"<{name}>",
                disposition="inline", filename=f"{name}.png",
            )
    return msg


def _tls_context(verify: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError)):
        return True
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _msg in exc.recipients.values()]
        return bool(codes) and all(500 <= c < 600 for c in codes)
    return isinstance(code, int) and 500 <= code < 600


class Mailer:
    """Sends `EmailMessage`s through the configured SMTP server."""

    def __init__(
        self, config: SmtpConfig, executor: concurrent.futures.Executor | None = None
    ) -> None:
        self.config = config
        # None means the loop's default executor; pass the app's pool in production.
        self.executor = executor
        # Failed attempts since start; read by the metrics exporter.
        self.failures = 0

    def send_blocking(self, msg: EmailMessage) -> None:
        """Deliver `msg` now (blocking); raises EmailDeliveryError on any failure."""
        cfg = self.config
        if not cfg.configured:
            raise EmailDeliveryError("SMTP is not configured (no server host)", permanent=True)
        security = cfg.effective_security
        where = f"{cfg.host}:{cfg.port} ({security})"
        try:
            ctx = _tls_context(cfg.verify_tls)
            if security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=cfg.timeout, context=ctx
                )
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            with client:
                client.ehlo()
                if security == "starttls":
                    client.starttls(context=ctx)
                    client.ehlo()
                if cfg.username:
                    client.login(cfg.username, cfg.password)
                refused = client.send_message(msg)
        except smtplib.SMTPAuthenticationError as exc:
            raise EmailDeliveryError(
                f"SMTP login as {cfg.username!r} at {where} was rejected: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=True,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # OSError covers refused connections, DNS, timeouts and ssl.SSLError.
            raise EmailDeliveryError(
                f"sending e-mail via {where} failed: {type(exc).__name__}: {exc}",
                permanent=_is_permanent(exc),
            ) from exc
        if refused:
            # Some recipients got it; retrying would duplicate it for them.
            log.warning("SMTP server refused some recipients: %s", sorted(refused))

    async def send(
        self, msg: EmailMessage, *, retries: int = 0, backoff: float = 1.0
    ) -> None:
        """Deliver off the IOLoop, retrying transient failures with exponential backoff."""
        loop = asyncio.get_running_loop()
        attempts = max(retries, 0) + 1
        for attempt in range(1, attempts + 1):
            try:
                await loop.run_in_executor(self.executor, self.send_blocking, msg)
                return
            except EmailDeliveryError as exc:
                self.failures += 1
                last = attempt == attempts or exc.permanent
                log.warning(
                    "e-mail %r to %s: attempt %d/%d failed: %s%s",
                    msg.get("Subject", ""), msg.get("To", ""), attempt, attempts, exc,
                    "" if last else "; retrying",
                )
                if last:
                    raise
                await asyncio.sleep(backoff * 2 ** (attempt - 1))


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
