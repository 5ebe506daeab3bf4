"""Sends each store's daily sales summary at its dailyEmailTime (store time), once per business day.

Every ~30 s, for every active store with dailyEmailRecipients: when the local time is at or
past dailyEmailTime and today's summary has not gone out, claim (store, today) in the
database (controllers/reports/report_runs.py), send, and mark it sent.  So:
* several server processes on one PostgreSQL send it once - only the claimer sends;
* a server that was down at the time catches up when it comes back the same day;
* an SMTP failure (after the Mailer's own retries with backoff) is logged, the claim is
  marked failed and retried after STALE_AFTER; the loop itself never dies of it.
A day whose time passed while no server ran at all, and which has ended since, is not sent
later: a summary of yesterday arriving the next morning would only confuse.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import time, timedelta
from typing import TYPE_CHECKING, Any

from orm.controllers.reports import report_runs, sales_reports
from orm.domain.business_days import store_zone
from services.daily_summary_email import send_summary
from services.registry import PeriodicService

if TYPE_CHECKING:
    from context import AppContext

log = logging.getLogger("cafepos.services.daily_email")

STALE_AFTER = timedelta(minutes=15)


class DailyEmailService(PeriodicService):
    name = "daily_email"
    interval_seconds = 30.0
    initial_delay = 5.0
    send_retries = 3
    send_backoff = 5.0

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(clock=ctx.clock)
        self.ctx = ctx
        # Who holds a claim, for whoever reads report_email_runs.
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:120]
        self.sent_count = 0

    async def run_once(self) -> None:
        schedules = await self.ctx.run_report(sales_reports.email_schedules, self.ctx.settings)
        for schedule in schedules:
            try:
                await self.send_if_due(schedule)
            except asyncio.CancelledError:
                raise
            except Exception:  # one store's trouble must not keep the others' summaries back
                self.failures += 1
                log.exception("daily summary for store %s failed", schedule.get("storeId"))

    async def send_if_due(self, schedule: dict[str, Any]) -> bool:
        """Send today's summary for one store when due and not yet sent; True when this call sent it."""
        if not schedule["recipients"]:
            return False
        now = self.ctx.clock()
        local = now.astimezone(store_zone(schedule["timezone"]))
        if local.time().replace(tzinfo=None) < time.fromisoformat(schedule["time"]):
            return False
        store_id, day = schedule["storeId"], local.date()
        claimed = await self.ctx.run_db(report_runs.claim, store_id=store_id, day=day, now=now,
                                        worker=self.worker, stale_after=STALE_AFTER)
        if not claimed:
            return False
        try:
            result = await send_summary(self.ctx, store_id=store_id, day=day, recipients=schedule["recipients"],
                                        retries=self.send_retries, backoff=self.send_backoff)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("daily summary for store %s, %s not sent: %s", store_id, day, exc)
            await self.ctx.run_db(report_runs.mark_failed, store_id=store_id, day=day,
                                  error=f"{type(exc).__name__}: {exc}")
            raise
        await self.ctx.run_db(report_runs.mark_sent, store_id=store_id, day=day, now=self.ctx.clock(),
                              recipients=len(result["recipients"]))
        self.sent_count += 1
        log.info("daily summary for store %s, %s sent to %d recipient(s)", store_id, day, len(result["recipients"]))
        return True


def create_service(ctx: AppContext) -> DailyEmailService:
    return DailyEmailService(ctx)
