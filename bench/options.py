"""The benchmark's command line (bench/run.py --help): options and their --quick defaults."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/cafepos_bench"
SCENARIOS = ("menu_items", "orders", "reports")
RESULTS = REPO / "bench" / "results"


def parse_args(argv: list[str] | None, description: str | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny dataset and short runs (a smoke test, not figures)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}")
    p.add_argument("--orders-history", default=None,
                   help="history sizes for the report scenarios (default 10000,100000,1000000)")
    p.add_argument("--orders-per-day", type=int, default=None,
                   help="history orders per day (default 300: 1M orders = 9 years)")
    p.add_argument("--duration", type=float, default=None, help="seconds per measured run (default 15)")
    p.add_argument("--warmup", type=float, default=None, help="seconds of unmeasured load first (default 3)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--report-connections", default=None,
                   help="connections for the report scenarios (default 1: the time one manager waits; "
                        "e.g. '1,32' adds throughput figures; the latency targets read the first)")
    p.add_argument("--workers", default="1,2", help="server process counts to measure (default 1,2)")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    p.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place")
    p.add_argument("--profile", action="store_true",
                   help="py-spy profiles of every scenario (one process, largest history)")
    p.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target fails, too")
    p.add_argument("--quiet-wait", type=float, default=None,
                   help="before each run wait up to this many seconds for other load to stop, and repeat "
                        "a run that other processes disturbed once (default 60; 0 turns both off)")
    args = p.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s) {sorted(unknown)}; choose from {SCENARIOS}")
    quick = args.quick
    history = args.orders_history or ("200,1000" if quick else "10000,100000,1000000")
    args.histories = sorted({int(x.replace("_", "")) for x in history.split(",") if x.strip()})
    args.per_day = args.orders_per_day or (50 if quick else 300)
    args.duration = args.duration if args.duration is not None else (2 if quick else 15)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 3)
    args.quiet_wait = args.quiet_wait if args.quiet_wait is not None else (0 if quick else 60)
    if quick:
        args.connections = min(args.connections, 8)
    conns = args.report_connections or "1"
    args.report_conns = list(dict.fromkeys(int(x) for x in conns.split(",") if x.strip()))
    args.workers = sorted({int(x) for x in args.workers.split(",") if x.strip()})
    return args
