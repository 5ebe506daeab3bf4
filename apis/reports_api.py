"""Reports: the sales dashboard, the daily sales report, CSV exports and the summary e-mail."""

from __future__ import annotations

from typing import Any

from apis.base import BaseHandler
from orm.controllers.reports import sales_reports
from orm.domain.schemas.reports import DailySalesQuery, EmailSummaryRequest, SalesQuery, TestEmailRequest
from services.daily_summary_email import send_summary, send_test_email

SALES_QUERY: dict[str, Any] = {
    "start_date": {"type": "string", "description": "ISO date or date-time; default: the 1st of this month"},
    "end_date": {"type": "string", "description": "ISO date (that whole day included) or date-time (exclusive); "
                                                  "default: end of today"},
    "payment_method": {"type": "string", "enum": ["all", "cash", "card", "split"],
                       "description": "empty, undefined or null also mean all"},
    "category": {"type": "string", "description": "menu category; empty, all, undefined or null = every category"},
    "storeId": {"type": "string", "description": "one store; default all"},
}
SERVICE_TIMES_DOC = (
    "Success. `serviceTimes`: one entry per station, [{station, tickets, medianSecondsToReady, p90SecondsToReady, "
    "byHour: [{hour, tickets, medianSecondsToReady}]}] - tickets sent in the window, from the sale (or a tab's "
    "send) to ready; median and p90 by linear interpolation, seconds with one decimal, null when a station has "
    "no finished tickets; byHour lists the store-time hours that had tickets.")
# Interactive requests give up on a dead SMTP server quickly; the scheduler retries longer.
SEND_RETRIES = 2
SEND_BACKOFF = 0.5


class DashboardHandler(BaseHandler):
    """Sales dashboard: metrics, chart data and breakdowns for a window."""

    permissions = {"GET": "reports.view"}
    api_doc = {"get": {"summary": "Sales dashboard (days and hours in the store's time zone)",
                       "query": SALES_QUERY, "tags": ["reports"], "description": SERVICE_TIMES_DOC}}

    async def get(self) -> None:
        query = self.parse_query(SalesQuery)
        self.success(await self.run_report(sales_reports.dashboard, self.ctx.settings, query,
                                       actor=self.principal, now=self.ctx.clock()))


class ReportsDashboardHandler(DashboardHandler):
    """Alias of GET /sales/dashboard."""

    api_doc = {"get": {**DashboardHandler.api_doc["get"], "summary": "Alias of GET /sales/dashboard"}}


class DailySalesHandler(BaseHandler):
    """One business day: totals, hours, products, payments, staff and tax."""

    permissions = {"GET": "reports.view"}
    api_doc = {"get": {"summary": "Daily sales report for one business day (store time zone)",
                       "query": {"date": {"type": "string", "format": "date", "description": "default today"},
                                 "storeId": {"type": "string"}},
                       "tags": ["reports"], "description": SERVICE_TIMES_DOC}}

    async def get(self) -> None:
        query = self.parse_query(DailySalesQuery)
        self.success(await self.run_report(sales_reports.daily_sales, self.ctx.settings, day=query.date,
                                       store_id=query.storeId, anchor_store=self.principal.store_id,
                                       now=self.ctx.clock()))


class _CsvHandler(BaseHandler):
    permissions = {"GET": "reports.export"}
    export: Any = None
    filename = "report"

    async def get(self) -> None:
        query = self.parse_query(SalesQuery)
        body = await self.run_report(type(self).export, self.ctx.settings, query, actor=self.principal,
                                 now=self.ctx.clock())
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="{self.filename}.csv"')
        self.finish(body)


class SalesCsvHandler(_CsvHandler):
    """Sales per business day as CSV."""

    export = staticmethod(sales_reports.sales_csv)
    filename = "sales"
    api_doc = {"get": {"summary": "Sales per business day (CSV: date, transactions, revenue, averageOrderValue, "
                                  "refunds, discounts, tax, tips)", "query": SALES_QUERY, "raw": "text/csv",
                       "tags": ["reports"]}}


class ProductsCsvHandler(_CsvHandler):
    """Product sales as CSV."""

    export = staticmethod(sales_reports.products_csv)
    filename = "products"
    api_doc = {"get": {"summary": "Product sales (CSV: id, name, category, quantitySold, revenue)",
                       "query": SALES_QUERY, "raw": "text/csv", "tags": ["reports"]}}


class EmailSummaryHandler(BaseHandler):
    """Send the daily summary e-mail now."""

    permissions = {"POST": "reports.send_email"}
    api_doc = {"post": {"summary": "E-mail the daily summary of a business day (200 once the SMTP server "
                                   "accepted it; 502 when it did not, 503 when e-mail is not configured)",
                        "body": EmailSummaryRequest, "body_optional": True, "tags": ["reports"]}}

    async def post(self) -> None:
        body = self.parse(EmailSummaryRequest, allow_empty=True)
        result = await send_summary(self.ctx, store_id=body.storeId or self.principal.store_id, day=body.date,
                                    recipients=body.recipients, retries=SEND_RETRIES, backoff=SEND_BACKOFF)
        self.success(result, message="Daily summary sent")


class EmailDailySummaryHandler(EmailSummaryHandler):
    """Alias of POST /reports/email-summary."""

    api_doc = {"post": {**EmailSummaryHandler.api_doc["post"], "summary": "Alias of POST /reports/email-summary"}}


class TestEmailHandler(BaseHandler):
    """Send a test e-mail with the current SMTP settings."""

    permissions = {"POST": "reports.send_email"}
    api_doc = {"post": {"summary": "Send a test e-mail (default recipients: dailyEmailRecipients)",
                        "body": TestEmailRequest, "body_optional": True, "tags": ["reports"]}}

    async def post(self) -> None:
        body = self.parse(TestEmailRequest, allow_empty=True)
        result = await send_test_email(self.ctx, store_id=self.principal.store_id, recipients=body.recipients,
                                       retries=SEND_RETRIES, backoff=SEND_BACKOFF)
        self.success(result, message="Test e-mail sent")


default_handlers = [
    (r"/sales/dashboard", DashboardHandler),
    (r"/reports/dashboard", ReportsDashboardHandler),
    (r"/reports/daily-sales", DailySalesHandler),
    (r"/reports/sales\.csv", SalesCsvHandler),
    (r"/reports/products\.csv", ProductsCsvHandler),
    (r"/reports/email-summary", EmailSummaryHandler),
    (r"/reports/email-daily-summary", EmailDailySummaryHandler),
    (r"/reports/test-email", TestEmailHandler),
]
