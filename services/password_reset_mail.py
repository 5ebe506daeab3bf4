"""Password-reset e-mails: written from what the controller returns (`ResetMail`) and sent after the
unit of work, in the background (answering only after SMTP would time-reveal known addresses)."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from orm.controllers.identity.password_reset import RESET_TOKEN_LIFETIME, ResetMail
from orm.domain.errors import ValidationFailed
from services.email_service import EmailDeliveryError, build_message
from settings import Settings

if TYPE_CHECKING:
    from context import AppContext

log = logging.getLogger("cafepos.auth")


def reset_link(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/reset-password?{urlencode({'token': token})}"


def reset_message(settings: Settings, mail: ResetMail) -> EmailMessage:
    link = reset_link(settings, mail.token)
    minutes = int(RESET_TOKEN_LIFETIME.total_seconds() // 60)
    text = (f"Hello {mail.name},\n\n"
            f"someone (hopefully you) asked to reset the password of the {settings.store_name} account "
            f"'{mail.username}'.\n\nOpen this link within {minutes} minutes to choose a new password:\n\n"
            f"{link}\n\nThe link works once. If you did not ask for this, ignore this e-mail: "
            f"your password stays as it is.\n")
    return build_message(sender=settings.smtp_from, to=[mail.to],
                         subject=f"{settings.store_name}: reset your password", text=text)


def send_later(ctx: AppContext, mails: list[ResetMail]) -> None:
    """Write the e-mails now and send them in the background (owned by ctx.background)."""
    messages = []
    for mail in mails:
        try:
            messages.append(reset_message(ctx.settings, mail))
        except ValidationFailed as exc:  # a stored address smtplib would refuse; same answer regardless
            log.warning("password-reset e-mail for %s not sent: %s", mail.username, exc.errors)
    if not messages:
        return

    async def deliver() -> None:
        for msg in messages:
            try:
                await ctx.mailer.send(msg, retries=2)
            except EmailDeliveryError as exc:
                log.warning("password-reset e-mail to %s not sent: %s", msg["To"], exc)

    ctx.background.spawn(deliver(), name="password-reset-mail")
