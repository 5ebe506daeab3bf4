"""Report latency at a large history: median of single requests, one manager waiting.

    .venv/bin/python bench/report_timings.py                       # 1M orders in cafepos_bench_reports
    .venv/bin/python bench/report_timings.py --orders 100000 --runs 9
    .venv/bin/python bench/report_timings.py --database-url postgresql://postgres@127.0.0.1:5432/other

The database is built once (staff, stock, the bench menu through the API, `--orders` history
orders by bench/history.py) and kept: a second run with the same size reuses it.  Then the
sales rollup is brought up to date in-process (what report_rollup_service does in the
background), a server (WORKERS=1) is started, and each report scenario of bench/scenarios.py
(30-day and 365-day dashboard, daily report) is asked once to warm up and then `--runs` times;
prints and returns the median, min and max in milliseconds.

bench/run.py can call `measure(base_url, token, yesterday, runs)` with a server of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.exc import OperationalError, ProgrammingError  # noqa: E402

from bench import dataset  # noqa: E402
from bench.client import Api  # noqa: E402
from bench.history import HISTORY_TERMINALS, HistoryLoader, menu_rows  # noqa: E402
from bench.procs import Server, cpu_seconds, free_port  # noqa: E402
from bench.scenarios import report_scenarios  # noqa: E402
from orm.db import normalise_url  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cafepos_bench_reports"
LOGS = REPO / "bench" / "results" / "logs"


def log(message: str) -> None:
    print(message, flush=True)


def server(url: str, label: str, code: Path = REPO) -> Server:
    """A CafePOS server (one process) on `url`; `code`: the checkout whose main.py serves."""
    port = free_port()
    env = dict(os.environ)
    env.update(DATABASE_URL=url, PORT=str(port), ADDRESS="127.0.0.1", WORKERS="1", AUTO_MIGRATE="true",
               SEED_DEMO_DATA="false", PYTHONUNBUFFERED="1")
    return Server(f"cafepos {label}", [sys.executable, str(code / "main.py")], env, port,
                  LOGS / f"report-timings-{label}.log", cwd=code)


def history_size(url: str) -> int:
    """History orders already in the database (0 when it or its tables do not exist)."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM orders WHERE terminal_id = ANY(:t)"),
                               {"t": list(HISTORY_TERMINALS)}) or 0
    except (OperationalError, ProgrammingError):  # no database, or no schema yet
        return 0
    finally:
        engine.dispose()


def build(url: str, orders: int, per_day: int, tz: str, yesterday: date) -> dict[str, Any]:
    """A fresh database with the bench menu and `orders` history orders ending `yesterday`."""
    log(f"database {url}: creating, migrating, seeding staff, stock and menu")
    dataset.recreate_database(url)
    dataset.seed_staff(url)
    stock = dataset.seed_stock(url)
    srv = server(url, "setup")
    srv.start()
    try:
        admin = Api(srv.base_url)
        admin.login("admin", dataset.DEMO_PASSWORD)
        dataset.seed_menu(admin, stock)
        menu = dataset.load_catalogue(admin).menu
    finally:
        srv.stop()
    loader = HistoryLoader(url, menu_rows(menu), per_day=per_day, yesterday=yesterday, tz=tz, log=log)
    try:
        return loader.grow_to(orders)
    finally:
        loader.close()


def roll_up(url: str, max_days: int | None = None) -> dict[str, Any]:
    """Bring the sales rollup up to date (every closed day, or the newest `max_days` of them), as
    the rollup service would over time."""
    from orm.controllers.reports import rollup
    from orm.db import make_engine, make_session_factory, unit_of_work
    from orm.migrate import upgrade_to_head
    from settings import load_settings

    upgrade_to_head(url)  # a database built by older code may lack this code's rollup tables
    settings = load_settings(database_url=url)
    engine = make_engine(url, pooled=False)
    started = time.perf_counter()
    rolled = 0
    try:
        factory = make_session_factory(engine)
        for store_id in unit_of_work(factory, rollup.store_ids):
            while True:
                result = unit_of_work(factory, rollup.refresh, settings, store_id=store_id,
                                      now=datetime.now(ZoneInfo("UTC")), max_days=200)
                rolled += result["rolled"] + result["rerolled"]
                if result["rolled"]:
                    log(f"  rollup {store_id}: {rolled} day(s), {result['backlog']} to go")
                if not result["backlog"] or (max_days is not None and rolled >= max_days):
                    break
        # What autovacuum would have done by the time a real store had rolled this much.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in rollup.ROLLUP_TABLES:
                conn.execute(text(f"VACUUM (ANALYZE) {table.__tablename__}"))
    finally:
        engine.dispose()
    return {"days_rolled": rolled, "seconds": round(time.perf_counter() - started, 1)}


def backend_pids(url: str | None) -> list[int]:
    """PostgreSQL backends of the reports pools (application_name cafepos-reports) on `url`'s database."""
    if not url:
        return []
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE application_name = "
                                          "'cafepos-reports' AND datname = current_database()")))
    finally:
        engine.dispose()


def cpu_now(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) or 0.0 for pid in pids)


def measure(base_url: str, token: str, yesterday: date, runs: int = 7, *, server_pids: list[int] | None = None,
            database_url: str | None = None) -> dict[str, dict[str, Any]]:
    """Per report scenario: one warm-up request, then `runs` timed ones (ms: median, min, max).

    With the server's pids and the database URL it also gives `cpu_ms`: CPU time per request of
    the server process plus its reports backends in PostgreSQL (same machine) - what the answer
    costs, which other work on a shared machine does not inflate as it does the wall time."""
    api = Api(base_url, token)
    out: dict[str, dict[str, Any]] = {}
    for sc in report_scenarios(yesterday):
        status, _, body = api.raw("GET", sc.path, timeout=300)
        if status != 200:
            raise RuntimeError(f"GET {sc.path} -> {status}: {body[:300]!r}")
        period = json.loads(body)["data"].get("period") or {}
        pids = list(server_pids or []) + backend_pids(database_url)
        cpu_before = cpu_now(pids)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            status, _, body = api.raw("GET", sc.path, timeout=300)
            times.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"GET {sc.path} -> {status}: {body[:300]!r}")
        cpu_ms = (cpu_now(pids) - cpu_before) * 1000 / runs if pids else None
        out[sc.key] = {"median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
                       "max_ms": round(max(times), 1), "runs": runs, "path": sc.path,
                       "cpu_ms": None if cpu_ms is None else round(cpu_ms, 1),
                       "rolled_up_days": period.get("rolledUpDays")}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("BENCH_REPORTS_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--orders", type=int, default=1_000_000, help="history orders (default 1,000,000)")
    p.add_argument("--per-day", type=int, default=300, help="history orders per day (default 300)")
    p.add_argument("--runs", type=int, default=7, help="timed requests per scenario (default 7)")
    p.add_argument("--rebuild", action="store_true", help="build the database again even if it has the history")
    p.add_argument("--skip-rollup", action="store_true", help="measure without bringing the rollup up to date")
    p.add_argument("--rollup-days", type=int, default=None,
                   help="roll up only the newest N closed days (default: all; 800 cover the 365-day "
                        "dashboard and its previous period)")
    p.add_argument("--code", type=Path, default=REPO,
                   help="the checkout whose main.py serves (e.g. an older commit, for a before/after)")
    p.add_argument("--output", type=Path, default=None, help="also write the figures here as JSON")
    a = p.parse_args(argv)
    from settings import load_settings

    tz = load_settings(database_url=a.database_url).store_timezone
    results: dict[str, Any] = {"database": a.database_url, "orders": a.orders}
    have = 0 if a.rebuild else history_size(a.database_url)
    if have != a.orders:
        yesterday = datetime.now(ZoneInfo(tz)).date() - timedelta(days=1)
        results["build"] = build(a.database_url, a.orders, a.per_day, tz, yesterday)
    engine = create_engine(normalise_url(a.database_url))
    try:
        with engine.connect() as conn:
            newest = conn.scalar(text("SELECT max(sale_at) FROM orders WHERE terminal_id = ANY(:t)"),
                                 {"t": list(HISTORY_TERMINALS)})
    finally:
        engine.dispose()
    yesterday = newest.astimezone(ZoneInfo(tz)).date()
    results["history_until"] = yesterday.isoformat()
    if not a.skip_rollup:
        results["rollup"] = roll_up(a.database_url, a.rollup_days)
    srv = server(a.database_url, "measure", a.code)
    srv.start()
    try:
        api = Api(srv.base_url)
        api.login("manager", dataset.DEMO_PASSWORD)
        results["load_average"] = Path("/proc/loadavg").read_text().split()[:3]
        results["timings"] = measure(srv.base_url, api.token or "", yesterday, a.runs,
                                     server_pids=list(srv.pids()), database_url=a.database_url)
    finally:
        srv.stop()
    for key, row in results["timings"].items():
        log(f"{key:<15} median {row['median_ms']:8.1f} ms  (min {row['min_ms']:.1f}, max {row['max_ms']:.1f}, "
            f"{row['runs']} runs; CPU {row['cpu_ms']} ms/request server + PostgreSQL; "
            f"rolled-up days {row['rolled_up_days']})")
    log(f"load average at the start: {' '.join(results['load_average'])} on {os.cpu_count()} CPUs")
    if a.output:
        a.output.parent.mkdir(parents=True, exist_ok=True)
        a.output.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
