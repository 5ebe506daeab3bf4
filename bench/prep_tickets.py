"""GET /prep/tickets with 200 open tickets: how long a bar screen waits for its queue.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cafepos_bench_prep python bench/prep_tickets.py
    python bench/prep_tickets.py --database-url postgresql://... --tickets 200 --requests 50

It (re)creates the database named in the URL, migrates and seeds the staff, and starts the real
server in a process of its own (`python main.py`, WORKERS=1, as `make bench` does).  Through one
keep-alive connection (http.client, this process) it sells `--tickets` counter sales through
POST /orders (each one bar ticket of two lines, one with two modifiers and a note - the shape a
Saturday queue has), then times `--requests` GETs of /prep/tickets?station=bar (after 5 warm-up
requests; `Accept-Encoding: gzip` as a browser sends it): from sending the request to the last byte
of the body read, nothing decoded inside the timing.  It prints p50/p90/min/max in ms and the CPU
the requests cost, read from /proc: the server process's and the PostgreSQL backends' of the
database, per request - the steadier figure on a busy machine.

The parts of the server's work, timed in this process after the HTTP figures (no client running
meanwhile; the same code, pool and database as the server's): the read alone (one unit of work of
orm/controllers/orders/prep.open_tickets on the db executor, its rows shaped into tickets) and the
JSON encoding of the answer alone.  BENCH_PROFILE=1 prints a cProfile of those two steps.

Last, with a bar socket open (WS /ws/prep?station=bar), it makes 32 sales at once and prints how
long after each sale's answer its ticket reached the socket.  The database is dropped at the end
unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import http.client
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from bench.dataset import database_name, drop_database, recreate_database, seed_staff  # noqa: E402
from bench.procs import Server, cpu_seconds, free_port  # noqa: E402
from orm.db import normalise_url  # noqa: E402
from orm.domain import jsonenc  # noqa: E402

T = TypeVar("T")
SOCKET_SALES = 32
WARM_UP = 5
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cafepos_bench_prep"
PATH = "/prep/tickets?station=bar"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


class Client:
    """One keep-alive HTTP/1.1 connection to the server, as a screen's browser holds one."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.token: str | None = None

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {"Content-Type": "application/json", **auth, **(extra or {})}

    def raw(self, method: str, path: str, body: object = None,
            headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPResponse, bytes]:
        self.conn.request(method, path, body=None if body is None else jsonenc.dumps(body).encode(),
                          headers=self.headers(headers))
        resp = self.conn.getresponse()
        return resp.status, resp, resp.read()

    def call(self, method: str, path: str, body: object = None) -> Any:
        status, resp, raw = self.raw(method, path, body)
        if status >= 300:
            raise SystemExit(f"{method} {path} -> {status}: {raw[:300]!r}")
        if resp.getheader("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        return jsonenc.loads(raw)["data"]

    def close(self) -> None:
        self.conn.close()


def postgres_backends(url: str) -> list[int]:
    """The pids of the PostgreSQL backends connected to the bench database (the server's pool)."""
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"),
                {"name": database_name(url)})]
    finally:
        engine.dispose()


def cpu_of(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) or 0.0 for pid in pids)


def seed_tickets(client: Client, tickets: int) -> dict[str, Any]:
    client.token = client.call("POST", "/auth/login", {"username": "admin", "password": "password123"})["token"]
    latte = client.call("POST", "/menu_items", {
        "name": "Latte", "price": "4.20", "category": "Coffee", "station": "bar",
        "modifierGroups": [{"name": "Milk", "minSelect": 0, "maxSelect": 2, "modifiers": [
            {"name": "Oat milk", "priceDelta": "0.50"}, {"name": "Extra shot", "priceDelta": "0.80"}]}]})["menuItem"]
    espresso = client.call("POST", "/menu_items", {"name": "Espresso", "price": "2.40", "category": "Coffee",
                                                  "station": "bar"})["menuItem"]
    mods = [m["id"] for g in latte["modifierGroups"] for m in g["modifiers"]]
    for n in range(tickets):
        client.call("POST", "/orders", {"items": [
            {"menuItemId": latte["id"], "quantity": 1 + n % 2, "modifierIds": mods, "notes": "extra hot"},
            {"menuItemId": espresso["id"], "quantity": 1}], "payments": [{"method": "card"}],
            "customerName": f"Guest {n}"})
    return espresso


def time_gets(client: Client, url: str, server_pid: int, path: str, requests: int,
              extra_headers: dict[str, str] | None = None) -> dict[str, float]:
    """`requests` GETs of `path` over the client's one connection, each timed from the request sent to
    the body's last byte read (not decoded), with the CPU per request of the server and of PostgreSQL."""
    backends = postgres_backends(url)
    headers = client.headers(extra_headers)
    http_ms: list[float] = []
    app_cpu0, db_cpu0 = cpu_seconds(server_pid) or 0.0, cpu_of(backends)
    for _ in range(requests):
        t0 = time.perf_counter()
        client.conn.request("GET", path, headers=headers)
        resp = client.conn.getresponse()
        resp.read()
        http_ms.append((time.perf_counter() - t0) * 1000)
        assert resp.status == 200, resp.status
    app_cpu, db_cpu = (cpu_seconds(server_pid) or 0.0) - app_cpu0, cpu_of(backends) - db_cpu0
    return {"p50": statistics.median(http_ms), "p90": percentile(http_ms, 90), "max": max(http_ms),
            "min": min(http_ms), "app_cpu": app_cpu * 1000 / requests, "db_cpu": db_cpu * 1000 / requests,
            "backends": len(backends)}


def lone_server(url: str, logfile: Path) -> Server:
    """`python main.py` on `url`, one process on a free port, its log in `logfile` (not started)."""
    port = free_port()
    env = dict(os.environ)
    env.update(DATABASE_URL=url, PORT=str(port), ADDRESS="127.0.0.1", WORKERS="1", AUTO_MIGRATE="true",
               SEED_DEMO_DATA="false", PYTHONUNBUFFERED="1")
    return Server("cafepos", [sys.executable, str(ROOT / "main.py")], env, port, logfile, cwd=ROOT)


@dataclass(frozen=True)
class Served:
    pid: int
    port: int


@contextmanager
def serving(url: str, logfile: Path) -> Iterator[tuple[Served, Client]]:
    """`python main.py` on `url` (lone_server), started, and one keep-alive client of it; the client is
    closed and the server stopped on the way out."""
    server = lone_server(url, logfile)
    server.start()
    try:
        assert server.proc is not None
        client = Client(server.port)
        try:
            yield Served(server.proc.pid, server.port), client
        finally:
            client.close()
    finally:
        server.stop()


def common_arguments(parser: argparse.ArgumentParser, default_url: str) -> None:
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", default_url))
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--logdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "cafepos_bench_logs",
                        help="where the server's log goes")


def on_fresh_database(args: argparse.Namespace, fn: Callable[[], T]) -> T:
    """(Re)create the database, seed the staff, run `fn`, drop the database (unless --keep)."""
    recreate_database(args.database_url)
    try:
        seed_staff(args.database_url)
        return fn()
    finally:
        if not args.keep:
            drop_database(args.database_url)


def time_http(client: Client, url: str, server_pid: int, tickets: int, requests: int) -> dict[str, float]:
    for _ in range(WARM_UP):
        got = client.call("GET", PATH)
    assert len(got["tickets"]) == tickets, len(got["tickets"])
    return time_gets(client, url, server_pid, PATH, requests, {"Accept-Encoding": "gzip"})


async def time_parts(url: str, tickets: int, requests: int) -> dict[str, float]:
    """The read and the encoding alone, in this process (nothing else running in it meanwhile)."""
    from main import make_context
    from orm.controllers.orders import prep
    from orm.domain.stores import DEFAULT_STORE_ID
    from settings import load_settings

    settings = load_settings(database_url=url, debug=False, smtp_server="", log_format="text",
                             jwt_secret=secrets.token_urlsafe(48), pin_pepper=secrets.token_urlsafe(24),
                             uploads_dir=Path(os.environ.get("TMPDIR", "/tmp")) / "cafepos_bench_uploads")
    ctx = make_context(settings)
    try:
        async def read() -> list[dict[str, Any]]:
            return await ctx.run_db_read(prep.open_tickets, DEFAULT_STORE_ID, "bar", prep.OPEN_STATUSES,
                                         now=ctx.clock())

        for _ in range(WARM_UP):
            found = await read()
        assert len(found) == tickets, len(found)
        profiler = None
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        read_ms: list[float] = []
        encode_ms: list[float] = []
        for _ in range(requests):
            t0 = time.perf_counter()
            found = await read()
            t1 = time.perf_counter()
            # What TicketsHandler sends: the envelope, encoded by success(..., plain=True).
            jsonenc.dumps_plain({"success": True, "data": {"tickets": found}, "errors": [],
                           "timestamp": jsonenc.iso_utc(ctx.clock())}).encode()
            t2 = time.perf_counter()
            read_ms.append((t1 - t0) * 1000)
            encode_ms.append((t2 - t1) * 1000)
        if profiler is not None:
            import pstats
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return {"read_p50": statistics.median(read_ms), "read_min": min(read_ms),
                "encode_p50": statistics.median(encode_ms), "encode_min": min(encode_ms)}
    finally:
        await ctx.services.stop_all()
        ctx.db_pool.shutdown(wait=True)
        ctx.cpu_pool.shutdown(wait=True)
        ctx.engine.dispose()
        ctx.reports_engine.dispose()


async def socket_lag(port: int, token: str, espresso: dict[str, Any]) -> dict[str, float]:
    """A station socket while 32 sales are made at once: from each sale's 201 (its commit came
    before) to its ticket on the socket (0 when the ticket came first)."""
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    base = f"http://127.0.0.1:{port}"
    http = AsyncHTTPClient(force_instance=True)
    conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws/prep?station=bar&token={token}")
    try:
        await conn.read_message()  # hello
        arrived: dict[str, float] = {}
        answered: dict[str, float] = {}

        async def listen() -> None:
            while len(arrived) < SOCKET_SALES:
                raw = await conn.read_message()
                if raw is None:
                    return
                ticket = jsonenc.loads(raw)["ticket"]
                arrived.setdefault(ticket["orderId"], time.perf_counter())

        async def sale() -> None:
            body = {"items": [{"menuItemId": espresso["id"], "quantity": 1}], "payments": [{"method": "card"}]}
            resp = await http.fetch(HTTPRequest(base + "/orders", method="POST", body=jsonenc.dumps(body),
                                                headers={"Content-Type": "application/json",
                                                         "Authorization": f"Bearer {token}"}), raise_error=False)
            if resp.code != 201:
                raise SystemExit(f"POST /orders -> {resp.code}: {resp.body[:300]!r}")
            answered[jsonenc.loads(resp.body)["data"]["order"]["id"]] = time.perf_counter()

        listener = asyncio.ensure_future(listen())
        await asyncio.gather(*(sale() for _ in range(SOCKET_SALES)))
        await asyncio.wait_for(listener, 30)
    finally:
        conn.close()
        http.close()
    lags = [max(0.0, arrived[o] - answered[o]) * 1000 for o in answered]
    return {"lag_p50": statistics.median(lags), "lag_max": max(lags)}


def run(url: str, tickets: int, requests: int, logdir: Path) -> dict[str, float]:
    with serving(url, logdir / "prep-tickets-server.log") as (server, client):
        espresso = seed_tickets(client, tickets)
        result = time_http(client, url, server.pid, tickets, requests)
        assert client.token is not None
        result |= asyncio.run(time_parts(url, tickets, requests))
        result |= asyncio.run(socket_lag(server.port, client.token, espresso))
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common_arguments(parser, DEFAULT_URL)
    parser.add_argument("--tickets", type=int, default=200)
    args = parser.parse_args()
    result = on_fresh_database(args, lambda: run(args.database_url, args.tickets, args.requests, args.logdir))
    load = os.getloadavg()
    print(f"GET /prep/tickets?station=bar, {args.tickets} open tickets, {args.requests} requests over one "
          f"keep-alive connection to `python main.py`: p50 {result['p50']:.1f} ms, p90 {result['p90']:.1f} ms, "
          f"min {result['min']:.1f} ms, max {result['max']:.1f} ms; CPU per request: server "
          f"{result['app_cpu']:.1f} ms, PostgreSQL {result['db_cpu']:.1f} ms ({result['backends']:.0f} backends)")
    print(f"  in-process parts: the read alone p50 {result['read_p50']:.1f} ms (min {result['read_min']:.1f}), "
          f"the JSON encoding alone p50 {result['encode_p50']:.1f} ms (min {result['encode_min']:.1f})")
    print(f"  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    print(f"WS /ws/prep?station=bar during {SOCKET_SALES} concurrent sales: ticket after the sale's 201 "
          f"p50 {result['lag_p50']:.0f} ms, max {result['lag_max']:.0f} ms")


if __name__ == "__main__":
    main()
