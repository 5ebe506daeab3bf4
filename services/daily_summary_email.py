"""The daily sales summary e-mail: built from sales_reports.summary_data, sent via the Mailer.

Used by the scheduler (services/daily_email_service.py) and by POST /reports/email-summary.
The message has a plain-text part and an HTML part with the hourly sales chart inline
(cid:hourly-sales); the HTML escapes every name that came from the database.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from orm.controllers.reports import sales_reports
from orm.controllers.reports.sql import percent_change
from orm.controllers.stores import store_settings
from orm.domain.errors import DomainError, ServiceUnavailable, ValidationFailed
from orm.domain.money import format_money
from services.charts import hour_label, hourly_sales_chart
from services.email_service import EmailDeliveryError, build_message

if TYPE_CHECKING:
    from context import AppContext

CHART_CID = "hourly-sales"
TOP_IN_MAIL = 10


class EmailNotDelivered(DomainError):
    """The SMTP server did not accept the message (answered 502 with the reason)."""

    status_code = 502
    error_code = "EMAIL_DELIVERY_FAILED"


def _money(value: Decimal, currency: str) -> str:
    return format_money(value, currency)


def _amount(value: Decimal | int) -> str:
    """A quantity as a person writes it: 8.000 -> "8", 2.500 -> "2.5", 1500 -> "1,500"."""
    number = Decimal(value)
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number.normalize():,f}"


def _count(value: Decimal | int, noun: str, plural: str | None = None) -> str:
    """ "1 sale", "8 sales", "2.5 days": the noun agrees with the number."""
    return f"{_amount(value)} {noun if Decimal(value) == 1 else plural or noun + 's'}"


def _cover(days: Decimal | int | None) -> str:
    return "n/a" if days is None else _count(days, "day")


def _change(now: Decimal | int, before: Decimal | int) -> str:
    """ "+25%", "-12.5%"; "n/a" when there is nothing to compare with (a ratio to zero means nothing)."""
    if not before:
        return "n/a"
    change = percent_change(now, before)
    return f"{'+' if change > 0 else ''}{_amount(change)}%"


def render_summary(data: dict[str, Any], *, sender: str, recipients: list[str]) -> EmailMessage:
    """The summary message (text + HTML + inline PNG chart) for sales_reports.summary_data()."""
    report, last_week, currency = data["report"], data["lastWeek"], data["currency"]
    totals = report["totals"]
    day = date.fromisoformat(report["date"])
    store = data["storeName"]
    subject = f"{store}: daily summary {day:%a %d %b %Y} - {_money(totals['revenue'], currency)}"
    chart = hourly_sales_chart([(h["hour"], h["revenue"]) for h in report["hourly"]], currency=currency,
                               title=f"Sales by hour, {day:%d %b %Y} ({data['timezone']})")
    rows = [
        ("Revenue", _money(totals["revenue"], currency), _money(last_week["revenue"], currency),
         _change(totals["revenue"], last_week["revenue"])),
        ("Transactions", _amount(totals["transactions"]), _amount(last_week["transactions"]),
         _change(totals["transactions"], last_week["transactions"])),
        ("Average sale", _money(totals["averageOrderValue"], currency),
         _money(last_week["averageOrderValue"], currency),
         _change(totals["averageOrderValue"], last_week["averageOrderValue"])),
        ("Refunds", _money(totals["refunds"], currency), _money(last_week["refunds"], currency), ""),
        ("Discounts", _money(totals["discounts"], currency), _money(last_week["discounts"], currency), ""),
        ("Tax", _money(totals["tax"], currency), _money(last_week["tax"], currency), ""),
        ("Tips", _money(totals["tips"], currency), _money(last_week["tips"], currency), ""),
    ]
    top = report["products"][:TOP_IN_MAIL]
    busy = [h for h in report["hourly"] if h["transactions"]]
    reorder = data["reorder"]
    last_week_label = f"{date.fromisoformat(last_week['date']):%a %d %b}"
    return build_message(
        sender=sender, to=recipients, subject=subject,
        text=_text(store, day, rows, top, busy, reorder, currency, last_week_label),
        html=_html(store, day, rows, top, reorder, currency, last_week_label),
        inline_images={CHART_CID: chart},
    )


def _text(store: str, day: date, rows: Sequence[tuple[str, ...]], top: list[dict[str, Any]],
          busy: list[dict[str, Any]], reorder: list[dict[str, Any]], currency: str, last_week: str) -> str:
    lines = [f"{store} - daily summary for {day:%A %d %B %Y}", "",
             f"{'':14}{'Today':>16}{last_week:>16}{'Change':>10}"]
    lines += [f"{name:14}{now:>16}{before:>16}{change:>10}" for name, now, before, change in rows]
    lines += ["", "Top products"]
    lines += [f"  {_amount(p['quantitySold']):>5} x {p['name']:<30} {_money(p['revenue'], currency):>14}"
              for p in top] or ["  (no sales)"]
    lines += ["", "Sales by hour"]
    lines += [f"  {hour_label(h['hour'])}  {_count(h['transactions'], 'sale'):>10}  "
              f"{_money(h['revenue'], currency):>14}" for h in busy] or ["  (no sales)"]
    lines += ["", "Stock to reorder"]
    lines += [f"  {r['name']}: {_amount(r['currentStock'])} {r['unit']} left, {_cover(r['daysOfCover'])} of cover, "
              f"reorder {_amount(r['suggestedReorder'])} {r['unit']}" for r in reorder] or ["  Nothing to reorder."]
    return "\n".join(lines) + "\n"


def _html(store: str, day: date, rows: Sequence[tuple[str, ...]], top: list[dict[str, Any]],
          reorder: list[dict[str, Any]], currency: str, last_week: str) -> str:
    e = html.escape
    td = '<td style="padding:4px 10px;text-align:right">'
    summary = "".join(f"<tr><th style='text-align:left;padding:4px 10px'>{e(name)}</th>{td}{e(now)}</td>"
                      f"{td}{e(before)}</td>{td}{e(change)}</td></tr>" for name, now, before, change in rows)
    products = "".join(f"<tr><td style='padding:4px 10px'>{e(p['name'])}</td>{td}{_amount(p['quantitySold'])}</td>"
                       f"{td}{e(_money(p['revenue'], currency))}</td></tr>" for p in top) \
        or "<tr><td colspan='3' style='padding:4px 10px'>No sales.</td></tr>"
    stock = "".join(f"<tr><td style='padding:4px 10px'>{e(r['name'])}</td>{td}{_amount(r['currentStock'])} "
                    f"{e(r['unit'])}</td>{td}{_cover(r['daysOfCover'])}</td>"
                    f"{td}{_amount(r['suggestedReorder'])} {e(r['unit'])}</td></tr>" for r in reorder) \
        or "<tr><td colspan='4' style='padding:4px 10px'>Nothing to reorder.</td></tr>"
    return f"""<!doctype html>
<html><body style="font-family:Arial,Helvetica,sans-serif;color:#1e1e1e">
<h2>{e(store)} &ndash; daily summary</h2>
<p>{day:%A %d %B %Y}, compared with {e(last_week)}.</p>
<table style="border-collapse:collapse"><tr><th></th>{td}Today</td>{td}{e(last_week)}</td>{td}Change</td></tr>
{summary}</table>
<h3>Sales by hour</h3>
<img src="cid:{CHART_CID}" alt="Sales by hour" width="640" height="240">
<h3>Top products</h3>
<table style="border-collapse:collapse"><tr><th style="text-align:left;padding:4px 10px">Product</th>
{td}Sold</td>{td}Revenue</td></tr>{products}</table>
<h3>Stock to reorder</h3>
<table style="border-collapse:collapse"><tr><th style="text-align:left;padding:4px 10px">Item</th>
{td}In stock</td>{td}Cover</td>{td}Reorder</td></tr>{stock}</table>
</body></html>
"""


def _delivery_error(exc: EmailDeliveryError, ctx: AppContext) -> DomainError:
    if not ctx.mailer.config.configured:
        return ServiceUnavailable("E-mail is not configured on this server (SMTP_SERVER is empty)",
                                  error_code="EMAIL_NOT_CONFIGURED")
    return EmailNotDelivered(f"The e-mail could not be delivered: {exc}")


async def send_summary(ctx: AppContext, *, store_id: str, day: str | date | None, recipients: list[str] | None,
                       retries: int, backoff: float) -> dict[str, Any]:
    """Build and send the summary of `day` (default today); raises ValidationFailed without
    recipients, EmailNotDelivered / ServiceUnavailable when SMTP does not take it."""
    data = await ctx.run_report(sales_reports.summary_data, ctx.settings, store_id=store_id, day=day,
                            now=ctx.clock())
    to = list(recipients or data["recipients"])
    if not to:
        raise ValidationFailed("No recipients: give recipients or set dailyEmailRecipients in the settings",
                               field_errors={"recipients": "no recipients given or configured"})
    mailer = ctx.mailer
    msg = await ctx.run_blocking(render_summary, data, sender=mailer.config.sender, recipients=to)
    try:
        await mailer.send(msg, retries=retries, backoff=backoff)
    except EmailDeliveryError as exc:
        raise _delivery_error(exc, ctx) from exc
    return {"date": data["report"]["date"], "recipients": to, "messageId": msg["Message-ID"],
            "revenue": data["report"]["totals"]["revenue"]}


async def send_test_email(ctx: AppContext, *, store_id: str, recipients: list[str] | None, retries: int,
                          backoff: float) -> dict[str, Any]:
    """A short message proving the SMTP settings work."""
    cfg = await ctx.run_db(store_settings.current, ctx.settings, store_id)
    to = list(recipients or cfg["dailyEmailRecipients"] or [])
    if not to:
        raise ValidationFailed("No recipients: give recipients or set dailyEmailRecipients in the settings",
                               field_errors={"recipients": "no recipients given or configured"})
    mailer = ctx.mailer
    msg = build_message(sender=mailer.config.sender, to=to, subject="CafePOS test e-mail",
                        text="This is a test message from CafePOS: the e-mail settings work.\n",
                        html="<p>This is a test message from <b>CafePOS</b>: the e-mail settings work.</p>")
    try:
        await mailer.send(msg, retries=retries, backoff=backoff)
    except EmailDeliveryError as exc:
        raise _delivery_error(exc, ctx) from exc
    return {"recipients": to, "messageId": msg["Message-ID"]}
