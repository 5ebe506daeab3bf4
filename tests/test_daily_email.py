"""The daily summary e-mail: endpoints and scheduler against a real aiosmtpd server.

The scheduler (services/daily_email_service.py) is driven tick by tick on the app's fake clock;
several instances (separate apps, engines and connection pools on one database) race for the
same day and exactly one message arrives.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import io
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from PIL import Image

from main import make_app
from orm.controllers.reports import report_runs
from orm.domain.stores import DEFAULT_STORE_ID
from services.daily_email_service import STALE_AFTER, DailyEmailService
from settings import Settings
from tests import reports_support as support
from tests.conftest import run_unit
from tests.reports_support import build_scenario, expected_totals, in_range, local, local_day_bounds
from tests.support import RunningServer

CLOCK_START = support.NOW  # the `clock` fixture starts here

HOST = "127.0.0.1"
RECIPIENTS = ["owner@example.com", "accounts@example.com"]


@dataclass
class Inbox:
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def parsed(self, i: int = -1) -> email.message.EmailMessage:
        return email.message_from_bytes(self.messages[i][1], policy=email.policy.default)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname=HOST, port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def app_settings(settings: Settings, inbox: tuple[Inbox, int]) -> Settings:
    return settings.with_overrides(smtp_server=HOST, smtp_port=inbox[1], smtp_security="none",
                                   smtp_from="cafe@example.com")


@pytest.fixture
async def configured(staff) -> None:
    r = await staff["admin"].put("/settings", {"dailyEmailRecipients": RECIPIENTS, "dailyEmailTime": "21:00",
                                               "storeName": "Café <Zeit>"})
    assert r.status == 200, r.body


def parts(msg: email.message.EmailMessage) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("text/plain", "text/html"):
            out[ctype] = part.get_content()
        elif ctype == "image/png":
            out["png"] = part.get_content()
            out["cid"] = part["Content-ID"]
    return out


async def test_summary_has_text_html_and_a_valid_png(staff, menu, clock, inbox, configured) -> None:
    scenario = await build_scenario(staff, menu, clock)
    r = await staff["manager"].post("/reports/email-summary", {"date": "2026-10-25"})
    assert r.status == 200, r.body
    handler, _port = inbox
    assert len(handler.messages) == 1
    rcpts, _raw = handler.messages[0]
    assert sorted(rcpts) == sorted(RECIPIENTS) and sorted(r.data["recipients"]) == sorted(RECIPIENTS)
    msg = handler.parsed()
    assert msg.get_content_type() == "multipart/alternative"
    got = parts(msg)
    assert {"text/plain", "text/html", "png", "cid"} <= set(got)
    image = Image.open(io.BytesIO(got["png"]))
    image.verify()
    assert image.format == "PNG" and image.size == (640, 240)
    assert f"cid:{got['cid'].strip('<>')}" in got["text/html"]
    # The day's numbers, independently computed, in both parts; names are escaped in the HTML.
    start, end = local_day_bounds(date(2026, 10, 25))
    tot = expected_totals([o for o in scenario.orders if in_range(o, start, end)])
    assert r.data["revenue"] == tot["revenue"]
    for text in (got["text/plain"], got["text/html"]):
        assert f"{tot['revenue']:,.2f}" in text and "Latte" in text
    assert "Café &lt;Zeit&gt;" in got["text/html"] and "<Zeit>" not in got["text/html"]
    assert "Sun 18 Oct" in got["text/plain"]  # compared with the same weekday a week earlier
    assert msg["Subject"].startswith("Café <Zeit>: daily summary Sun 25 Oct 2026")


async def test_given_recipients_alias_and_test_email(staff, inbox, configured) -> None:
    handler, _port = inbox
    r = await staff["admin"].post("/reports/email-daily-summary", {"recipients": ["boss@example.com"]})
    assert r.status == 200, r.body
    assert handler.messages[-1][0] == ["boss@example.com"] and r.data["date"] == "2026-10-27"
    r = await staff["admin"].post("/reports/test-email", {"recipients": ["it@example.com"]})
    assert r.status == 200, r.body
    assert handler.messages[-1][0] == ["it@example.com"]
    assert "test" in handler.parsed()["Subject"].lower()
    r = await staff["admin"].post("/reports/test-email")  # default: the configured recipients
    assert r.status == 200 and sorted(handler.messages[-1][0]) == sorted(RECIPIENTS)


async def test_no_or_bad_recipients_is_400_and_nothing_is_sent(staff, inbox) -> None:
    handler, _port = inbox
    for path in ("/reports/email-summary", "/reports/test-email"):
        r = await staff["admin"].post(path, {})
        assert r.status == 400 and "recipients" in r.json["fieldErrors"], r.body
        r = await staff["admin"].post(path, {"recipients": ["not-an-address"]})
        assert r.status == 400 and "recipients" in r.json["fieldErrors"], r.body
    r = await staff["admin"].post("/reports/email-summary", {"date": "25.10.2026", "recipients": RECIPIENTS})
    assert r.status == 400 and "date" in r.json["fieldErrors"]
    assert handler.messages == []


async def test_smtp_failures_are_clear_errors(staff, settings, app_server, clock, demo_users) -> None:
    # This app's SMTP server is the inbox fixture's: point a second app at a closed port instead.
    dead = RunningServer(make_app(settings.with_overrides(smtp_server=HOST, smtp_port=free_port(),
                                                          smtp_security="none"), clock=clock))
    unconfigured = RunningServer(make_app(settings, clock=clock))  # SMTP_SERVER empty
    try:
        for server, status, code in ((dead, 502, "EMAIL_DELIVERY_FAILED"), (unconfigured, 503, "EMAIL_NOT_CONFIGURED")):
            c = server.client()
            c.token = staff["admin"].token
            r = await c.post("/reports/email-summary", {"recipients": RECIPIENTS})
            assert r.status == status, r.body
            assert r.json["errorCode"] == code and r.json["errors"][0]
            if status == 502:
                assert f"{HOST}:" in r.json["errors"][0]  # says which server refused
            c.close()
    finally:
        await dead.stop()
        await unconfigured.stop()


@pytest.mark.parametrize("path", ["/reports/email-summary", "/reports/email-daily-summary", "/reports/test-email"])
async def test_permissions(staff, app_server, inbox, path) -> None:
    for role in ("cashier", "trainee"):
        r = await staff[role].post(path, {"recipients": RECIPIENTS})
        assert r.status == 403 and r.json["errorCode"] == "FORBIDDEN", role
    anonymous = app_server.client()
    try:
        assert (await anonymous.post(path, {"recipients": RECIPIENTS})).status == 401
    finally:
        anonymous.close()
    assert inbox[0].messages == []
    assert (await staff["manager"].post(path, {"recipients": RECIPIENTS})).status == 200


# ---- the scheduler ----------------------------------------------------------------------------

def claim_row(settings: Settings, day: date) -> dict[str, Any] | None:
    return run_unit(settings, report_runs.get, store_id=DEFAULT_STORE_ID, day=day)


async def test_scheduler_sends_once_at_the_local_time(app_server, app_settings, clock, inbox, configured) -> None:
    handler, _port = inbox
    service = DailyEmailService(app_server.ctx)
    clock.now = local(2026, 10, 27, 20, 59)
    assert await service.tick() and handler.messages == []
    clock.now = local(2026, 10, 27, 21, 0)
    assert await service.tick()
    assert len(handler.messages) == 1
    assert "Tue 27 Oct 2026" in handler.parsed()["Subject"]
    row = claim_row(app_settings, date(2026, 10, 27))
    assert row["status"] == "sent" and row["recipients"] == 2 and row["attempts"] == 1
    clock.now = local(2026, 10, 27, 23, 59)
    assert await service.tick()
    assert len(handler.messages) == 1  # not again that business day
    clock.now = local(2026, 10, 28, 21, 5)  # the next business day
    assert await service.tick()
    assert len(handler.messages) == 2 and "Wed 28 Oct 2026" in handler.parsed()["Subject"]


async def test_scheduler_catches_up_after_a_restart(app_server, app_settings, clock, inbox, configured) -> None:
    handler, _port = inbox
    # Nothing ran at 21:00; a server (re)started at 23:40 still sends today's summary, once.
    clock.now = local(2026, 10, 27, 23, 40)
    restarted = DailyEmailService(app_server.ctx)
    await restarted.tick()
    assert len(handler.messages) == 1
    await DailyEmailService(app_server.ctx).tick()
    assert len(handler.messages) == 1


async def test_several_schedulers_on_one_database_send_one_email(app_server, app_settings, clock, inbox,
                                                                 configured) -> None:
    handler, _port = inbox
    others = [RunningServer(make_app(app_settings, clock=clock, with_services=False)) for _ in range(2)]
    try:
        services = [DailyEmailService(ctx) for ctx in [app_server.ctx] + [o.ctx for o in others] for _ in range(2)]
        assert len({s.worker for s in services}) == 6
        clock.now = local(2026, 10, 27, 21, 0) + timedelta(seconds=30)
        results = await asyncio.gather(*(s.tick() for s in services))
        assert all(results)  # nobody failed; the losers simply saw the claim
        assert len(handler.messages) == 1
        assert sum(s.sent_count for s in services) == 1
        assert claim_row(app_settings, date(2026, 10, 27))["status"] == "sent"
    finally:
        for o in others:
            await o.stop()


async def test_smtp_failure_is_retried_later_and_never_kills_the_loop(app_server, app_settings, clock, inbox,
                                                                      configured) -> None:
    handler, port = inbox
    service = DailyEmailService(app_server.ctx)
    service.send_retries, service.send_backoff = 1, 0.01
    mailer = app_server.ctx.mailer
    good = mailer.config
    mailer.config = dataclasses.replace(good, port=free_port())  # the SMTP server is "down"
    clock.now = local(2026, 10, 27, 21, 1)
    await service.tick()  # survives: the failure is logged and recorded
    assert service.failures == 1 and handler.messages == []
    row = claim_row(app_settings, date(2026, 10, 27))
    assert row["status"] == "failed" and "refused" in row["lastError"].lower()
    mailer.config = good  # back up again
    clock.now += timedelta(minutes=1)
    await service.tick()
    assert handler.messages == []  # a fresh failed claim waits STALE_AFTER before the next try
    clock.now += STALE_AFTER
    await service.tick()
    assert len(handler.messages) == 1
    row = claim_row(app_settings, date(2026, 10, 27))
    assert row["status"] == "sent" and row["attempts"] == 2 and row["lastError"] is None
    assert port  # the inbox fixture stays up throughout


async def test_without_recipients_nothing_is_claimed(app_server, app_settings, clock, inbox) -> None:
    clock.now = datetime(2026, 10, 27, 22, 0, tzinfo=UTC)
    await DailyEmailService(app_server.ctx).tick()
    assert inbox[0].messages == [] and claim_row(app_settings, date(2026, 10, 27)) is None


async def test_numbers_read_like_a_person_wrote_them(staff, menu, clock, inbox, configured, settings) -> None:
    from tests.inventory_helpers import make_item

    make_item(settings, "Paper cups", unit="pcs", stock="8", min_level="10", max_level="20")
    cashier = staff["cashier"]
    # Berlin (UTC+1 on 27 Oct): two sales at 09:xx, one at 10:00.
    sales = [clock.now - timedelta(hours=1), clock.now - timedelta(minutes=50), None]
    for at in sales:
        body = {"items": [{"menuItemId": menu["latte"], "quantity": 1}], "payments": [{"method": "card"}]}
        if at is not None:
            body["clientCreatedAt"] = at.isoformat().replace("+00:00", "Z")
        r = await cashier.post("/orders", body)
        assert r.status == 201, r.body
    r = await staff["manager"].post("/reports/email-summary", {})
    assert r.status == 200, r.body
    got = parts(inbox[0].parsed())
    text, page = got["text/plain"], got["text/html"]
    assert re.search(r"09:00 +2 sales ", text) and re.search(r"10:00 +1 sale ", text), text
    assert "1 sales" not in text
    assert "    3 x Latte" in text
    assert "Paper cups: 8 pcs left, n/a of cover, reorder 12 pcs" in text, text
    for html_text in (text, page):
        assert ".000" not in html_text
    assert ">8 pcs<" in page and ">12 pcs<" in page
    assert re.search(r"Transactions +3 +0 +n/a", text) and "100.00%" not in text  # nothing last week


@pytest.mark.parametrize(("now", "before", "expected"), [
    (Decimal("15"), Decimal("12"), "+25%"), (Decimal("10.5"), Decimal("12"), "-12.5%"), (3, 3, "0%"),
    (Decimal("5"), 0, "n/a"), (0, 0, "n/a"), (Decimal("3000"), Decimal("100"), "+2,900%"),
])
def test_changes_are_short_percentages(now, before, expected) -> None:
    from services.daily_summary_email import _change

    assert _change(now, before) == expected


@pytest.mark.parametrize(("value", "noun", "expected"), [
    (1, "sale", "1 sale"), (0, "sale", "0 sales"), (8, "sale", "8 sales"), (1234, "sale", "1,234 sales"),
    (Decimal("1.0"), "day", "1 day"), (Decimal("2.50"), "day", "2.5 days"), (Decimal("8.000"), "pc", "8 pcs"),
])
def test_counts_agree_with_their_nouns(value, noun, expected) -> None:
    from services.daily_summary_email import _count

    assert _count(value, noun) == expected
