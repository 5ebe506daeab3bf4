"""How long a sale takes to reach a station's screen: `bench/prep_latency.py` (PostgreSQL).

Issue 16: "a ticket reaches a connected station socket <= 1 s after the sale commits, measured
under 32 concurrent sales".  This starts the real server (python main.py, WORKERS=1 or 2) on a
PostgreSQL database it creates and drops, seeds staff, stock and the bench's 50-item menu (coffee,
tea and cold drinks -> bar, food -> kitchen, pastries -> nothing), opens ONE live socket, then
fires rounds of 32 concurrent POST /orders and records, for every order, the time from its 201
response (the sale has committed before the response is written) to the first socket message that
contains it.  With WORKERS=2 the socket sits on one process and the sales land on both, so half of
them cross processes through PostgreSQL LISTEN/NOTIFY (services/event_bus.py).

    .venv/bin/python bench/prep_latency.py                                  # pickup board, 1 worker
    .venv/bin/python bench/prep_latency.py --workers 2 --rounds 20
    .venv/bin/python bench/prep_latency.py --socket prep --station bar     # WS /ws/prep, once it exists

Sockets: `pickup` = WS /ws/pickup (a board {preparing, ready} of order numbers; an order is seen
when its number first appears); `prep` = WS /ws/prep?station=... ({type: hello|ticket}; an order is
seen when a message names its orderId or orderNumber).  Between rounds the orders of the round are
marked collected in the database (what the baristas do), so the board never fills beyond what a
screen shows.  A message may even arrive before the client has read the 201 (both follow the
commit): such latencies count as 0 and are counted separately.

Prints p50 / p95 / max (ms) and writes --output (JSON).  BENCH_DATABASE_URL or --database-url names
the database to create (default postgresql://postgres@127.0.0.1:5432/cafepos_bench_prep).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402
from tornado.httpclient import AsyncHTTPClient, HTTPRequest  # noqa: E402
from tornado.websocket import WebSocketClientConnection, websocket_connect  # noqa: E402

from bench import dataset  # noqa: E402
from bench.client import Api  # noqa: E402
from bench.procs import Server, free_port  # noqa: E402
from orm.db import normalise_url  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cafepos_bench_prep"
STATIONS = {"Coffee": "bar", "Tea": "bar", "Cold drinks": "bar", "Food": "kitchen", "Pastries": None}
FIRST_NAMES = ("Anna", "Ben", "Carla", "Dev", "Emil", "Fatima", "Greta", "Hugo")
SEEN_TIMEOUT = 15.0  # seconds to wait for the socket to show every order of a round


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--socket", choices=("pickup", "prep"), default="pickup")
    p.add_argument("--station", default="bar", help="the station of the prep socket")
    p.add_argument("--concurrency", type=int, default=32, help="concurrent sales per round")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--warmup", type=int, default=1, help="rounds not measured")
    p.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "prep_latency.json")
    p.add_argument("--keep-database", action="store_true")
    return p.parse_args(argv)


def set_stations(url: str) -> None:
    """Categories to stations, as a manager would (PUT /menu_items/categories/{name}), plus a menu revision."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.begin() as conn:
            for name, station in STATIONS.items():
                conn.execute(text("UPDATE menu_categories SET station = :s WHERE name = :n"),
                             {"s": station, "n": name})
            conn.execute(text("UPDATE menu_revisions SET revision = revision + 1"))
    finally:
        engine.dispose()


def mark_collected(url: str, order_ids: list[str]) -> None:
    engine = create_engine(normalise_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE order_items SET prep_status = 'collected', collected_at = now() "
                              "WHERE order_id = ANY(:ids) AND prep_status IN ('queued', 'in_progress', 'ready')"),
                         {"ids": order_ids})
    finally:
        engine.dispose()


class Watcher:
    """Reads the socket and notes when each order was first seen (perf_counter)."""

    def __init__(self, conn: WebSocketClientConnection, kind: str) -> None:
        self.conn = conn
        self.kind = kind
        self.seen: dict[str, float] = {}
        self.messages = 0
        self.changed = asyncio.Event()

    async def run(self) -> None:
        while True:
            raw = await self.conn.read_message()
            now = time.perf_counter()
            if raw is None:
                return
            self.messages += 1
            message = json.loads(raw)
            for key in self.keys(message):
                self.seen.setdefault(key, now)
            self.changed.set()

    def keys(self, message: dict[str, Any]) -> list[str]:
        if self.kind == "pickup":
            return list(message.get("preparing", [])) + list(message.get("ready", []))
        tickets = message.get("tickets") or ([message["ticket"]] if message.get("ticket") else [])
        return [str(t.get(k)) for t in tickets for k in ("orderId", "orderNumber") if t.get(k)]


async def sell_round(http: AsyncHTTPClient, base: str, token: str, body: dict[str, Any],
                     n: int) -> list[tuple[str, str, float]]:
    """n concurrent sales -> [(order id, order number, perf_counter at the 201)]."""

    async def one(i: int) -> tuple[str, str, float]:
        payload = dict(body, customerName=f"{FIRST_NAMES[i % len(FIRST_NAMES)]} Bench")
        request = HTTPRequest(base + "/orders", method="POST", body=json.dumps(payload),
                              headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                       "Idempotency-Key": uuid.uuid4().hex}, request_timeout=60)
        response = await http.fetch(request, raise_error=False)
        at = time.perf_counter()
        if response.code != 201:
            raise RuntimeError(f"POST /orders -> {response.code}: {response.body[:300]!r}")
        order = json.loads(response.body)["data"]["order"]
        return order["id"], order["orderNumber"], at

    return list(await asyncio.gather(*(one(i) for i in range(n))))


def percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest rank (the smallest value with at least p % of the values at or below it)."""
    rank = max(1, -(-len(sorted_ms) * p // 100))
    return sorted_ms[int(rank) - 1]


async def measure(args: argparse.Namespace, server: Server) -> dict[str, Any]:
    base = server.base_url
    admin = Api(base)
    admin.login("admin", dataset.DEMO_PASSWORD)
    cashier = Api(base)
    cashier.login("cashier", dataset.DEMO_PASSWORD)
    manager = Api(base)
    manager.login("manager", dataset.DEMO_PASSWORD)
    body = dataset.load_catalogue(cashier).order_body
    ws = base.replace("http://", "ws://")
    url = (f"{ws}/ws/pickup?token={manager.token}" if args.socket == "pickup"
           else f"{ws}/ws/prep?station={args.station}&token={manager.token}")
    conn = await websocket_connect(url)
    watcher = Watcher(conn, args.socket)
    reader = asyncio.get_running_loop().create_task(watcher.run())
    http = AsyncHTTPClient(max_clients=max(64, args.concurrency))
    latencies: list[float] = []
    early = missing = 0
    started = time.perf_counter()
    try:
        for round_no in range(args.warmup + args.rounds):
            sold = await sell_round(http, base, cashier.token or "", body, args.concurrency)
            deadline = time.perf_counter() + SEEN_TIMEOUT
            keys = [(number if args.socket == "pickup" else order_id) for order_id, number, _ in sold]
            while not all(k in watcher.seen for k in keys) and time.perf_counter() < deadline:
                watcher.changed.clear()
                try:
                    await asyncio.wait_for(watcher.changed.wait(), max(0.0, deadline - time.perf_counter()))
                except TimeoutError:
                    break
            if round_no >= args.warmup:
                for key, (_oid, _num, committed) in zip(keys, sold, strict=True):
                    if key not in watcher.seen:
                        missing += 1
                        continue
                    delta = (watcher.seen[key] - committed) * 1000
                    early += delta < 0
                    latencies.append(max(0.0, delta))
            await asyncio.get_running_loop().run_in_executor(None, mark_collected, args.database_url,
                                                             [order_id for order_id, _n, _a in sold])
    finally:
        elapsed = time.perf_counter() - started
        conn.close()
        reader.cancel()
        http.close()
    latencies.sort()
    return {
        "socket": args.socket, "workers": args.workers, "concurrency": args.concurrency, "rounds": args.rounds,
        "orders": len(latencies) + missing, "missing": missing, "seenBeforeResponse": early,
        "messages": watcher.messages, "seconds": round(elapsed, 1),
        "p50Ms": round(percentile(latencies, 50), 1) if latencies else None,
        "p95Ms": round(percentile(latencies, 95), 1) if latencies else None,
        "p99Ms": round(percentile(latencies, 99), 1) if latencies else None,
        "maxMs": round(latencies[-1], 1) if latencies else None,
        "meanMs": round(statistics.fmean(latencies), 1) if latencies else None,
        "within1s": sum(1 for x in latencies if x <= 1000),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.database_url
    print(f"database {url}: creating, migrating, seeding staff, stock and menu", flush=True)
    dataset.recreate_database(url)
    dataset.seed_staff(url)
    stock = dataset.seed_stock(url)
    port = free_port()
    workdir = REPO / "bench" / "results"
    env = dict(os.environ)
    env.update(DATABASE_URL=url, PORT=str(port), ADDRESS="127.0.0.1", WORKERS=str(args.workers),
               AUTO_MIGRATE="true", SEED_DEMO_DATA="false", PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING")
    if args.workers > 1:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(workdir / "metrics-multiproc-prep")
    server = Server(f"cafepos W={args.workers}", [sys.executable, str(REPO / "main.py")], env, port,
                    workdir / "logs" / f"prep-latency-w{args.workers}.log", cwd=REPO)
    server.start()
    try:
        admin = Api(server.base_url)
        admin.login("admin", dataset.DEMO_PASSWORD)
        dataset.seed_menu(admin, stock)
        set_stations(url)
        result = asyncio.run(measure(args, server))
    finally:
        server.stop()
        if not args.keep_database:
            dataset.drop_database(url)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"sale committed -> {args.socket} socket: p50 {result['p50Ms']} ms, p95 {result['p95Ms']} ms, "
          f"max {result['maxMs']} ms over {result['orders']} orders ({result['missing']} never seen)")
    return 0 if result["missing"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
