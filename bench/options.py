"""The benchmark's command line (bench/run.py --help): options and their --quick defaults."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/cafepos_bench"
# orders: one store, one process, 32 and 1 connections (and WORKERS=2); stores: four stores selling at once;
# peer: the peer-shaped yardstick; menu_items: GET /menu_items, its 304; health: GET /health;
# reports: dashboards and the daily report at a large history.
SCENARIOS = ("orders", "stores", "peer", "menu_items", "health", "reports")
RESULTS = REPO / "bench" / "results"


def parse_args(argv: list[str] | None, description: str | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny dataset and short runs (a smoke test, not figures)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}")
    p.add_argument("--rounds", type=int, default=None,
                   help="interleaved rounds; ratios are taken within a round, the table shows their median "
                        "(default 3)")
    p.add_argument("--orders-history", default=None,
                   help="history sizes the report scenarios are measured at (default 1000000)")
    p.add_argument("--orders-per-day", type=int, default=None,
                   help="history orders per day (default 300: 1M orders = 9 years)")
    p.add_argument("--report-requests", type=int, default=None,
                   help="lone requests per report figure, the median is kept (default 7, at least 5)")
    p.add_argument("--duration", type=float, default=None, help="seconds per measured load run (default 10)")
    p.add_argument("--warmup", type=float, default=None, help="seconds of unmeasured load first (default 2)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--stores", type=int, default=4, help="stores selling at once in the stores scenario")
    p.add_argument("--workers", default="1,2", help="server process counts for POST /orders (default 1,2)")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    p.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place")
    p.add_argument("--profile", action="store_true",
                   help="py-spy profiles of POST /orders and GET /menu_items (one process, first round)")
    p.add_argument("--output", type=Path, default=RESULTS / "latest.json",
                   help="the JSON written (a timestamped copy is written beside it)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target fails, too")
    p.add_argument("--quiet-wait", type=float, default=None,
                   help="before each run wait up to this many seconds for other load on the machine to stop "
                        "(default 5; 0 turns it off)")
    args = p.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s) {sorted(unknown)}; choose from {SCENARIOS}")
    quick = args.quick
    history = args.orders_history or ("300" if quick else "1000000")
    args.histories = sorted({int(x.replace("_", "")) for x in history.split(",") if x.strip()})
    args.per_day = args.orders_per_day or (50 if quick else 300)
    args.rounds = max(1, args.rounds if args.rounds is not None else (1 if quick else 3))
    args.report_requests = max(5, args.report_requests or (5 if quick else 7))
    args.duration = args.duration if args.duration is not None else (3 if quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 2)
    args.quiet_wait = args.quiet_wait if args.quiet_wait is not None else (0 if quick else 5)
    if quick:
        args.connections = min(args.connections, 8)
    if args.stores < 1:
        p.error("--stores must be at least 1")
    args.workers = sorted({int(x) for x in args.workers.split(",") if x.strip()} | {1})
    return args
