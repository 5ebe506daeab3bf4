"""The stock alert sweep: every alertSweepMinutes (store setting, default 15) reconcile every item's
alerts with its stock and expiry date, so alerts appear even when nothing moved (an expiry date
coming near, a threshold edited) and disappear when their condition is gone.

Several server processes on one PostgreSQL sweep once per period
(`inventory_alerts.run_scheduled_sweep`: advisory lock + `job_runs`).  The alerts it raises reach the
live dashboard as events of its unit of work (ctx.run_db publishes them after commit).
"""

from __future__ import annotations

import logging
from typing import Any

from context import AppContext
from orm.controllers.inventory import alerts as inventory_alerts
from orm.controllers.inventory.alerts import DEFAULT_SWEEP_MINUTES
from services.registry import PeriodicService

log = logging.getLogger("cafepos.services.stock_alerts")


class StockAlertsService(PeriodicService):
    name = "stock_alerts"
    initial_delay = 5.0

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(clock=ctx.clock)
        self.ctx = ctx
        self.interval_seconds = DEFAULT_SWEEP_MINUTES * 60.0
        self.last_result: dict[str, Any] | None = None

    async def run_once(self) -> None:
        result = await self.ctx.run_db(inventory_alerts.run_scheduled_sweep, self.ctx.settings, self.ctx.clock())
        # A changed alertSweepMinutes takes effect from the next wait on.
        self.interval_seconds = result["intervalMinutes"] * 60.0
        self.last_result = result
        if result["ran"]:
            log.info("stock alert sweep %s: %d raised, %d resolved", result["periodKey"],
                     len(result["raised"]), result["resolved"])


def create_service(ctx: AppContext) -> StockAlertsService:
    return StockAlertsService(ctx)
