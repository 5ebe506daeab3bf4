"""What each scenario asks the server, and the wrk Lua that asks it."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass
class Scenario:
    key: str  # orders | orders_c1 | stores | peer_orders | menu_items | menu_304 | health | bare_* | reports
    path: str
    method: str = "GET"
    prelude: str | None = None
    params: dict = field(default_factory=dict)
    body: dict | None = None  # what a POST sends (the lone timing request uses it too)
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request besides the token
    expect: tuple[int, ...] | None = None  # statuses that count as right (default: any 2xx)


def orders_scenario(key: str, body: dict) -> Scenario:
    return Scenario(key, "/orders", "POST", prelude=orders_prelude(body), body=body, expect=(201,))


def orders_prelude(body: dict, run_tag: str | None = None) -> str:
    """POST /orders with the same basket and a fresh Idempotency-Key on every request."""
    tag = run_tag or f"bench-{secrets.token_hex(4)}"
    payload = json.dumps(body, separators=(",", ":"))
    return f"""
local body = [==[{payload}]==]
local run_tag = "{tag}"
local counter = 0
local headers = nil

function bench_init(args)
  -- tid comes from setup(); the seed differs per thread and per run.
  math.randomseed(os.time() * 1000 + tid)
  headers = {{}}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
end

function bench_request()
  counter = counter + 1
  headers["Idempotency-Key"] = string.format("%s-%d-%d-%08x", run_tag, tid, counter,
                                             math.random(0, 2147483647))
  return wrk.format("POST", "/orders", headers, body)
end
"""


def report_scenarios(yesterday: date) -> list[Scenario]:
    """The windows end yesterday (store time), the last full day of history."""
    d30 = (yesterday - timedelta(days=29)).isoformat()
    d365 = (yesterday - timedelta(days=364)).isoformat()
    end = yesterday.isoformat()
    return [
        Scenario("dashboard_30d", f"/sales/dashboard?start_date={d30}&end_date={end}",
                 params={"start_date": d30, "end_date": end}),
        Scenario("dashboard_365d", f"/sales/dashboard?start_date={d365}&end_date={end}",
                 params={"start_date": d365, "end_date": end}),
        Scenario("daily_sales", f"/reports/daily-sales?date={end}", params={"date": end}),
    ]
