"""Keeps the sales rollup of closed business days current (orm/controllers/reports/rollup.py).

Every few minutes, per store: re-roll the closed days that refunds touched, then roll the next
batch of closed days not rolled yet (newest first).  While a backlog remains - the first run on
a shop with years of sales - it comes back after a few seconds instead of minutes.  Reports are
exact whatever this service has or has not done yet: a day not (or no longer) rolled is read raw.
Several processes may run it; a per-store advisory lock lets one refresh a store at a time.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from orm.controllers.reports import rollup
from services.registry import PeriodicService

if TYPE_CHECKING:
    from context import AppContext

log = logging.getLogger("cafepos.services.report_rollup")


class ReportRollupService(PeriodicService):
    name = "report_rollup"
    interval_seconds = 300.0
    initial_delay = 20.0
    backlog_interval = 2.0
    days_per_run = 31

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(clock=ctx.clock)
        self.ctx = ctx
        self.backlog = 0

    def status(self) -> dict[str, Any]:
        out = super().status()
        out["backlogDays"] = self.backlog  # closed days still to roll (reports read them raw meanwhile)
        return out

    def current_interval(self) -> float:
        return self.backlog_interval if self.backlog else self.interval_seconds

    async def run_once(self) -> None:
        backlog = 0
        for store_id in await self.ctx.run_db(rollup.store_ids):
            result = await self.ctx.run_db(rollup.refresh, self.ctx.settings, store_id=store_id,
                                           now=self.ctx.clock(), max_days=self.days_per_run)
            backlog += result["backlog"]
            if result["rolled"] or result["rerolled"]:
                log.info("sales rollup for store %s: %d day(s) rolled, %d re-rolled, %d to go", store_id,
                         result["rolled"], result["rerolled"], result["backlog"])
        self.backlog = backlog


def create_service(ctx: AppContext) -> ReportRollupService:
    return ReportRollupService(ctx)
