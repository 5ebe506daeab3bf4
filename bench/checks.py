"""Checks behind every figure: other load on the machine, orders in the database, both worker processes."""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.procs import Server, http_json


def noise(row: dict) -> str:
    """CPU the machine spent on anything but wrk, the server and PostgreSQL during the run."""
    cpu = row["extra"]["cpu"]
    ours = row["extra"].get("wrk_cpu_s", 0) + sum(row["extra"]["server_process_cpu_s"].values())
    other = cpu["machine_busy_cpu_s"] - ours - cpu["postgres_cpu_s"]
    capacity = cpu["wall_s"] * cpu["cores"]
    share = other / capacity if capacity else 0.0
    row["extra"]["other_cpu_share"] = round(share, 3)
    return f"other processes used {share:.0%} of the CPUs" if share > 0.10 else ""


def count_orders(engine: Engine, table: str = "orders") -> int:
    with engine.connect() as conn:
        return conn.scalar(text(f"SELECT count(*) FROM {table}"))


def settled_order_count(engine: Engine, table: str = "orders") -> int:
    """The order count once it stops moving (sales in flight when wrk stopped have committed)."""
    now, previous = count_orders(engine, table), -1
    deadline = time.monotonic() + 15
    while now != previous and time.monotonic() < deadline:
        time.sleep(0.3)
        previous, now = now, count_orders(engine, table)
    return now


def check_orders(engine: Engine, row: dict, before: int, table: str = "orders") -> None:
    """Every 201 wrk saw is an order row; requests wrk abandoned at the end may add a few more."""
    after = settled_order_count(engine, table)
    created = row["statuses"].get("201", 0)
    delta = after - before
    row["extra"]["orders_in_db"] = {"before": before, "after": after, "delta": delta, "responses_201": created}
    if delta < created:
        row["problems"].append(f"only {delta} new orders in the database for {created} answers 201")
    elif delta > created + row["connections"]:
        row["problems"].append(f"{delta} new orders for {created} answers 201 (more than in flight)")
    if row["statuses"].keys() - {"201"}:
        row["problems"].append(f"statuses other than 201: {row['statuses']}")
    row["ok"] = not row["problems"]


def check_workers(results: dict, server: Server, workers: int) -> None:
    """Both processes serve; background services run in one of them only."""
    pids = server.pids()
    mine = {f"{role}:{pid}" for pid, role in pids.items()}
    served = dict.fromkeys(sorted(mine), 0.0)
    for row in results["figures"]:
        for key, used in row["extra"].get("server_process_cpu_s", {}).items():
            if key in mine:  # runs against this server, not earlier ones
                served[key] = round(served[key] + used, 2)
    schedulers = {}
    server.begin_window()
    for _ in range(100):  # a new connection each time: the kernel hands them to either process
        status, body = http_json(server.base_url + "/health")
        sched = body.get("data", {}).get("checks", {}).get("scheduler", {}).get("status", f"http {status}")
        schedulers[sched] = schedulers.get(sched, 0) + 1
    probe = server.end_window()
    results["workers_check"].update({
        "workers": workers, "processes": sorted(mine),
        "cpu_s_by_process_during_runs": served,
        "cpu_s_by_process_answering_100_health_checks": probe,
        "health_scheduler_statuses": schedulers,
    })
