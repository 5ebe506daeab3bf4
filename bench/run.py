"""CafePOS benchmark: `make bench` (BENCH_ARGS="--quick" for a smoke run).

What a chain owner would run.  Starts the real server (python main.py) against a PostgreSQL database it
creates and drops (BENCH_DATABASE_URL), seeds staff, stock and a 50-item menu in four stores, and then,
in interleaved rounds (ratios are taken within a round; the table shows their median):

* POST /orders (3 lines with modifiers, 7 ingredients, an Idempotency-Key each), one store, one process,
  32 connections and 1 connection; the cashiers of four stores selling at once; WORKERS=2;
* the peer-shaped yardstick (bench/peer_yardstick.py: parse, token check, INSERT order and lines) under
  the same load;
* GET /menu_items and GET /health against bare Tornado handlers sending the same bytes (bench/bare_server.py),
  and the menu's 304 answer to If-None-Match;

then bulk-loads 1,000,000 orders of history with SQL and times the 30- and 365-day dashboards and the daily
report (median of lone requests).  Every load figure is checked (the expected status only, no socket errors,
every 201 a row in the database).  Prints one table (figure, value, target, ratio, pass/fail) and writes it
with every raw figure and the machine's description to bench/results/latest.json and a timestamped copy.

    .venv/bin/python bench/run.py                  # the full run (<= 15 min on 2 cores)
    .venv/bin/python bench/run.py --quick          # tiny data, short runs: does it all work?
    .venv/bin/python bench/run.py --scenarios orders,peer --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402

from bench import checks, dataset, report  # noqa: E402
from bench.client import Api, ApiError  # noqa: E402
from bench.history import HistoryLoader, menu_rows, warm_rollup  # noqa: E402
from bench.machine import CpuWindow, describe, wait_until_quiet  # noqa: E402
from bench.options import parse_args  # noqa: E402
from bench.procs import Sampler, Server, free_port  # noqa: E402
from bench.profiling import Profiler  # noqa: E402
from bench.scenarios import Scenario, orders_scenario, report_scenarios  # noqa: E402
from bench.stores import Seller, Sellers, setup_sellers  # noqa: E402
from bench.timing import time_requests  # noqa: E402
from bench.wrkrun import INSTALL_HINT, WrkMissing, WrkRun, run_wrk_group, wrk_path  # noqa: E402
from orm.db import normalise_url  # noqa: E402

PEER_TOKEN = "peer-yardstick-" + secrets.token_hex(8)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.url = args.database_url
        self.workdir = args.output.parent
        self.logdir = self.workdir / "logs"
        self.started = time.monotonic()
        self.results: dict = {"meta": {}, "options": {}, "table": [], "rounds": [], "figures": [], "reports": [],
                              "history": [], "startup": [], "rss_mb": {}, "workers_check": {}, "profiles": {},
                              "skipped": [], "sellers": {}}
        self.engine = None
        self.catalogue: dataset.Catalogue | None = None
        self.sellers = Sellers()
        self.tokens: dict[str, str] = {}
        self.etag: str | None = None
        self.tz = "UTC"
        self.yesterday = None

    def log(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {message}", flush=True)

    def wants(self, scenario: str) -> bool:
        return scenario in self.args.scenarios

    # ---- servers ----------------------------------------------------------------------
    def cafepos(self, workers: int, label: str) -> Server:
        port = free_port()
        env = dict(os.environ)
        env.update(DATABASE_URL=self.url, PORT=str(port), ADDRESS="127.0.0.1", WORKERS=str(workers),
                   AUTO_MIGRATE="true", SEED_DEMO_DATA="false", PYTHONUNBUFFERED="1")
        if workers > 1:  # main.py empties and uses it; keeps the shared metric files out of /tmp
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.workdir / "metrics-multiproc")
        return Server(f"cafepos W={workers}", [sys.executable, str(REPO / "main.py")], env, port,
                      self.logdir / f"server-{label}.log", cwd=REPO)

    def bare(self) -> Server:
        port = free_port()
        argv = [sys.executable, str(REPO / "bench" / "bare_server.py"), "--port", str(port),
                "--menu-file", str(self.workdir / "menu_items.json"),
                "--health-file", str(self.workdir / "health.json")]
        return Server("bare", argv, dict(os.environ), port, self.logdir / "bare.log", cwd=REPO)

    def peer(self) -> Server:
        port = free_port()
        argv = [sys.executable, str(REPO / "bench" / "peer_yardstick.py"), "--port", str(port),
                "--database-url", self.url, "--token", PEER_TOKEN]
        return Server("peer yardstick", argv, dict(os.environ), port, self.logdir / "peer.log", cwd=REPO)

    @contextmanager
    def running(self, server: Server, workers: int, *, record_startup: bool = True):
        seconds = server.start()
        if record_startup:
            self.results["startup"].append({"workers": workers, "server": server.log_path.stem,
                                            "seconds": round(seconds, 3)})
        self.log(f"{server.name} healthy after {seconds:.2f}s on {server.base_url}")
        try:
            with Sampler([server]):
                yield server
        finally:
            server.stop()
            if record_startup:
                mode = self.results["rss_mb"].setdefault(f"workers={workers}", {})
                for key, mb in server.max_rss().items():
                    role = key.split(":")[0]
                    mode[role] = max(mode.get(role, 0.0), mb)
                if server.orphans_after_stop:
                    self.results["workers_check"].setdefault("orphans_after_sigterm", []).append(
                        {"server": server.log_path.stem, "pids": server.orphans_after_stop})

    # ---- measuring ----------------------------------------------------------------------
    def measure(self, server: Server, runs: list[tuple[Scenario, str | None]], *, key: str, workers: int,
                connections: int, round_no: int, threads: int | None = None, profile: str | None = None,
                short: bool = False) -> dict:
        """One checked figure: wrk against `server`, one wrk per (scenario, token) at once, summed."""
        a = self.args
        # Cheap reads answer thousands of requests in a few seconds: half the time is plenty.
        duration = max(1.0, a.duration / 2) if short else a.duration
        workdir = self.workdir / "lua"
        workdir.mkdir(parents=True, exist_ok=True)
        per = max(1, connections // len(runs))
        threads = threads or (a.threads if len(runs) == 1 else 1)

        def wrk(duration: float, suffix: str = "") -> list[WrkRun]:
            out = []
            for n, (sc, token) in enumerate(runs):
                headers = {**sc.headers, **({"Authorization": f"Bearer {token}"} if token else {})}
                out.append(WrkRun(f"{key}{suffix}-{n}", server.base_url + sc.path, duration, per, threads, workdir,
                                  headers, sc.prelude, 10, sc.expect))
            return out

        if dataset.keep_statistics(self.engine) and not self.results["meta"].get("analyze_before_runs"):
            self.results["meta"]["analyze_before_runs"] = True
            self.log("  (autovacuum is off on this PostgreSQL: ANALYZE before each measured run, as autovacuum "
                     "would keep statistics in production)")
        if a.warmup > 0:
            run_wrk_group(wrk(a.warmup, "-warmup"))
        table = {"orders": "orders", "peer_orders": "peer_orders"}.get(runs[0][0].key)
        before = checks.settled_order_count(self.engine, table) if table else None
        waited = wait_until_quiet(a.quiet_wait, window=1.0) if a.quiet_wait > 0 else 0.0
        profilers = []
        if profile:
            pid = max(server.pids())  # the process that serves (the worker when forked)
            profilers = [(view, Profiler(pid, duration, self.workdir / f"profile-{profile}-{view}.txt",
                                         gil_only=view == "gil")) for view in ("gil", "all")]
        cpu = CpuWindow(dataset.database_name(self.url))
        cpu.start()
        server.begin_window()
        figs = run_wrk_group(wrk(duration))
        process_cpu = server.end_window()
        cpu_used = cpu.stop()
        row = report.combine(figs) if len(figs) > 1 else figs[0].as_dict()
        row.update(scenario=key, workers=workers, round=round_no, server=server.name)
        row["extra"].update(cpu=cpu_used, server_process_cpu_s=process_cpu, waited_for_quiet_s=waited)
        row["noise"] = checks.noise(row)
        if table:
            checks.check_orders(self.engine, row, before, table)
        for view, profiler in profilers:
            self.results["profiles"][f"{profile} ({view})"] = profiler.finish()
        self.results["figures"].append(row)
        self.log(f"  r{round_no} {key:<13} W={workers} c={connections:<3} {row['rps']:>9,.1f} req/s  "
                 f"p50 {row['p50_ms']:7.2f} ms  p99 {row['p99_ms']:8.2f} ms  {'ok' if row['ok'] else 'FAIL'}"
                 + ("" if row["ok"] else f" {row['problems']}") + (f"  ({row['noise']})" if row["noise"] else ""))
        return row

    # ---- phases ----------------------------------------------------------------------
    def prepare(self) -> None:
        self.log(f"database {self.url}: creating, migrating, seeding staff and stock")
        dataset.recreate_database(self.url)
        dataset.seed_staff(self.url)
        stock = dataset.seed_stock(self.url)
        self.engine = create_engine(normalise_url(self.url))
        from settings import load_settings

        self.tz = load_settings(database_url=self.url).store_timezone
        self.yesterday = datetime.now(ZoneInfo(self.tz)).date() - timedelta(days=1)
        with self.running(self.cafepos(1, "setup"), 1) as server:
            admin = Api(server.base_url)
            admin.login("admin", dataset.DEMO_PASSWORD)
            dataset.seed_menu(admin, stock)
            cashier = Api(server.base_url)
            cashier.login("cashier", dataset.DEMO_PASSWORD)
            manager = Api(server.base_url)
            manager.login("manager", dataset.DEMO_PASSWORD)
            self.tokens = {"cashier": cashier.token or "", "manager": manager.token or ""}
            self.catalogue = dataset.load_catalogue(cashier)
            status, headers, body = cashier.raw("GET", "/menu_items")
            self.etag = headers.get("ETag") or headers.get("Etag")
            (self.workdir / "menu_items.json").write_bytes(body)
            status, _, health = Api(server.base_url).raw("GET", "/health")
            (self.workdir / "health.json").write_bytes(health)
            self.log(f"menu: {len(self.catalogue.menu)} items, GET /menu_items is {len(body):,} bytes "
                     f"(ETag {self.etag}); GET /health {status}, {len(health):,} bytes")
            self.first_sale(cashier, self.catalogue.order_body)
            first = Seller(None, "cashier", cashier.token or "", self.catalogue.order_body)
            if self.wants("stores") and self.args.stores > 1:
                self.sellers = setup_sellers(server.base_url, admin, first, self.args.stores,
                                             seed_stock=lambda store_id: dataset.seed_stock(self.url, store_id),
                                             first_sale=self.first_sale, log=self.log)
            else:
                self.sellers = Sellers(cashiers=[first])
            self.results["sellers"] = {"stores": len(self.sellers.cashiers), "bound": self.sellers.bound,
                                       "note": self.sellers.note,
                                       "cashiers": [{"username": s.username, "store_id": s.store_id}
                                                    for s in self.sellers.cashiers]}
            if self.wants("reports"):
                for sc in report_scenarios(self.yesterday):
                    status, _, raw = manager.raw("GET", sc.path)
                    if status != 200:
                        self.skip(("reports",), f"GET {sc.path} -> {status}: {raw[:200]!r}")
                        break

    def first_sale(self, api: Api, body: dict) -> None:
        """One order before any load: it must be 201 (a shift is opened first if the server wants one)."""
        key = f"bench-first-{secrets.token_hex(6)}"
        status, _, raw = api.raw("POST", "/orders", body, {"Idempotency-Key": key})
        if status == 409 and b"shift" in raw.lower():
            api.call("POST", "/shifts/open", {"openingCash": "100.00"})
            status, _, raw = api.raw("POST", "/orders", body, {"Idempotency-Key": key + "-2"})
        if status != 201:
            raise ApiError("POST", "/orders", status, raw)
        order = json.loads(raw)["data"]["order"]
        self.results["meta"].setdefault("order_sample", {
            **{k: order.get(k) for k in ("total", "taxAmount", "paymentMethod", "changeGiven")},
            "lines": len(order["items"])})

    def skip(self, scenarios: tuple[str, ...], reason: str) -> None:
        for sc in scenarios:
            if sc in self.args.scenarios:
                self.args.scenarios.remove(sc)
                self.results["skipped"].append({"scenario": sc, "reason": reason})
                self.log(f"SKIPPED {sc}: {reason}")

    def rounds(self) -> None:
        with ExitStack() as stack:
            bare = stack.enter_context(self.running(self.bare(), 1, record_startup=False)) \
                if self.wants("menu_items") or self.wants("health") else None
            peer = stack.enter_context(self.running(self.peer(), 1, record_startup=False)) \
                if self.wants("peer") else None
            for n in range(1, self.args.rounds + 1):
                self.log(f"round {n}/{self.args.rounds}")
                blocks = [lambda n=n: self.cafepos_block(n), lambda n=n: self.yardstick_block(n, bare, peer),
                          lambda n=n: self.workers_block(n)]
                if n % 2 == 0:  # alternate the order, so a drift of the machine does not favour one side
                    blocks.reverse()
                for block in blocks:
                    block()
                self.results["rounds"].append({"round": n, "ratios": report.round_ratios(self.results, n)})
                self.log(f"  r{n} ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in
                                                        self.results["rounds"][-1]["ratios"].items()))

    def cafepos_block(self, n: int) -> None:
        a, c = self.args, self.args.connections
        if not {"orders", "stores", "menu_items", "health"} & set(a.scenarios):
            return
        with self.running(self.cafepos(1, f"r{n}-w1"), 1) as server:
            token = self.tokens["cashier"]
            first = n == 1 and a.profile
            if self.wants("orders") or self.wants("stores"):
                sc = orders_scenario("orders", self.catalogue.order_body)
                self.measure(server, [(sc, token)], key="orders", workers=1, connections=c, round_no=n,
                             profile="orders" if first else None)
            if self.wants("orders"):
                self.measure(server, [(sc, token)], key="orders_c1", workers=1, connections=1, round_no=n,
                             threads=1, short=True)
            if self.wants("stores") and len(self.sellers.cashiers) > 1:
                runs = [(orders_scenario("orders", s.body), s.token) for s in self.sellers.cashiers]
                self.measure(server, runs, key="stores", workers=1, connections=c, round_no=n)
            if self.wants("menu_items"):
                self.measure(server, [(Scenario("menu_items", "/menu_items"), token)], key="menu_items",
                             workers=1, connections=c, round_no=n, profile="menu_items" if first else None,
                             short=True)
                if self.etag:
                    sc304 = Scenario("menu_304", "/menu_items", headers={"If-None-Match": self.etag}, expect=(304,))
                    self.measure(server, [(sc304, token)], key="menu_304", workers=1, connections=c, round_no=n,
                                 short=True)
            if self.wants("health"):
                self.measure(server, [(Scenario("health", "/health"), None)], key="health", workers=1,
                             connections=c, round_no=n, short=True)

    def yardstick_block(self, n: int, bare: Server | None, peer: Server | None) -> None:
        c = self.args.connections
        if peer is not None:
            sc = orders_scenario("peer_orders", self.catalogue.order_body)
            self.measure(peer, [(sc, PEER_TOKEN)], key="peer_orders", workers=1, connections=c, round_no=n)
        if bare is not None and self.wants("menu_items"):
            self.measure(bare, [(Scenario("bare_menu", "/menu"), None)], key="bare_menu", workers=1,
                         connections=c, round_no=n, short=True)
        if bare is not None and self.wants("health"):
            self.measure(bare, [(Scenario("bare_health", "/health_bytes"), None)], key="bare_health", workers=1,
                         connections=c, round_no=n, short=True)

    def workers_block(self, n: int) -> None:
        if not self.wants("orders"):
            return
        for workers in (w for w in self.args.workers if w > 1):
            with self.running(self.cafepos(workers, f"r{n}-w{workers}"), workers) as server:
                sc = orders_scenario("orders", self.catalogue.order_body)
                self.measure(server, [(sc, self.tokens["cashier"])], key=f"orders_w{workers}", workers=workers,
                             connections=self.args.connections, round_no=n)
                if n == self.args.rounds:
                    checks.check_workers(self.results, server, workers)

    def report_figures(self) -> None:
        a = self.args
        loader = HistoryLoader(self.url, menu_rows(self.catalogue.menu), per_day=a.per_day,
                               yesterday=self.yesterday, tz=self.tz, log=self.log)
        try:
            for size in a.histories:
                self.log(f"history: growing to {size:,} orders ({a.per_day}/day up to {self.yesterday})")
                info = loader.grow_to(size)
                info["in_30d_window"], info["in_365d_window"] = self.orders_in_windows()
                self.log(f"  loaded in {info['load_seconds']}s; 30-day window {info['in_30d_window']:,} "
                         f"orders, 365-day {info['in_365d_window']:,}")
                info.update(warm_rollup(self.url, self.log))
                self.results["history"].append(info)
                with self.running(self.cafepos(1, f"reports-{size}"), 1) as server:
                    for sc in report_scenarios(self.yesterday):
                        row = time_requests(server.base_url, sc.path, self.tokens["manager"], a.report_requests)
                        row.update(scenario=sc.key, history=size, workers=1)
                        self.results["reports"].append(row)
                        self.log(f"  {sc.key:<15} at {size:,} orders: median {row['p50_ms']:.1f} ms of "
                                 f"{row['requests']} (min {row['min_ms']:.1f}, max {row['max_ms']:.1f})"
                                 + ("" if row["ok"] else f" FAIL {row['problems']}"))
        finally:
            loader.close()

    def orders_in_windows(self) -> tuple[int, int]:
        counts = []
        for sc in report_scenarios(self.yesterday)[:2]:
            start = datetime.fromisoformat(sc.params["start_date"]).replace(tzinfo=ZoneInfo(self.tz))
            end = datetime.fromisoformat(sc.params["end_date"]).replace(tzinfo=ZoneInfo(self.tz)) + timedelta(days=1)
            with self.engine.connect() as conn:
                counts.append(conn.scalar(text("SELECT count(*) FROM orders WHERE sale_at >= :a AND sale_at < :b"),
                                          {"a": start, "b": end}))
        return counts[0], counts[1]

    def finish(self, ok: bool) -> int:
        a = self.args
        self.results["meta"]["total_seconds"] = round(time.monotonic() - self.started, 1)
        self.results["meta"]["completed"] = ok
        self.results["table"] = report.evaluate(self.results, a)
        self.results["options"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}
        a.output.parent.mkdir(parents=True, exist_ok=True)
        blob = json.dumps(self.results, indent=2, default=str)
        a.output.write_text(blob)
        stamp = datetime.now().astimezone().strftime("%Y%m%dT%H%M%S%z")
        copy = a.output.with_name(f"bench-{stamp}.json")
        copy.write_text(blob)
        print()
        print(report.table_text(self.results))
        if self.results["skipped"]:
            print("\nSKIPPED:", "; ".join(f"{s['scenario']}: {s['reason']}" for s in self.results["skipped"]))
        print(f"\nwritten: {a.output} and {copy.name}")
        broken = [f for f in self.results["figures"] + self.results["reports"] if not f["ok"]]
        failed = [t for t in self.results["table"] if t["pass"] is False]
        if broken:
            print(f"{len(broken)} figure(s) failed their checks: the numbers above are not valid")
            return 1
        if not ok:
            return 1
        return 1 if (a.strict and failed) else 0


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds: servers stopped, database dropped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, __doc__)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        wrk_path()
    except WrkMissing:
        print(f"wrk is needed for the benchmark: {INSTALL_HINT}", file=sys.stderr)
        return 2
    load1 = float(Path("/proc/loadavg").read_text().split()[0])
    if load1 > 0.5 * (os.cpu_count() or 1):
        print(f"WARNING: load average {load1} on {os.cpu_count()} CPUs: other work will distort the figures",
              file=sys.stderr)
    bench = Bench(args)
    bench.workdir.mkdir(parents=True, exist_ok=True)
    bench.logdir.mkdir(parents=True, exist_ok=True)
    ok = False
    try:
        bench.prepare()
        with bench.engine.connect() as conn:
            pg = conn.scalar(text("SHOW server_version"))
            pg_settings = {name: conn.scalar(text(f"SHOW {name}")) for name in (
                "max_connections", "shared_buffers", "work_mem", "synchronous_commit", "fsync")}
        bench.results["meta"] = {**describe(pg), **bench.results["meta"], "database": bench.url,
                                 "postgres_settings": pg_settings, "store_timezone": bench.tz,
                                 "history_until": str(bench.yesterday), "load_average_at_start": load1}
        bench.rounds()
        if "reports" in args.scenarios:
            bench.report_figures()
        ok = True
    finally:
        if bench.engine is not None:
            bench.engine.dispose()
        if not args.keep_db:
            dataset.drop_database(bench.url)
        if not ok:
            print("benchmark aborted (see the error above and the logs in bench/results/logs)", file=sys.stderr)
    return bench.finish(ok)


if __name__ == "__main__":
    raise SystemExit(main())
