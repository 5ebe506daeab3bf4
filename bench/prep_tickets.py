"""GET /prep/tickets with 200 open tickets: how long a bar screen waits for its queue.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cafepos_bench_prep python bench/prep_tickets.py
    python bench/prep_tickets.py --database-url postgresql://... --tickets 200 --requests 50

It (re)creates the database named in the URL, migrates and seeds the staff, serves the app in this
process, sells `--tickets` counter sales through POST /orders (each one bar ticket of two lines, one
with two modifiers and a note - the shape a Saturday queue has), then times `--requests` GETs of
/prep/tickets?station=bar over HTTP (after 5 warm-up requests) and prints p50/p90/max in ms, with
the time the read alone takes inside its unit of work; then, with a bar socket open, makes 32 sales
at once and prints how long after each sale's answer its ticket reached the socket.  The database
is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tornado.httpclient import AsyncHTTPClient, HTTPRequest  # noqa: E402
from tornado.httpserver import HTTPServer  # noqa: E402
from tornado.testing import bind_unused_port  # noqa: E402

from bench.dataset import drop_database, recreate_database, seed_staff  # noqa: E402
from orm.domain import jsonenc  # noqa: E402

SOCKET_SALES = 32
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cafepos_bench_prep"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def run(url: str, tickets: int, requests: int) -> dict[str, float]:
    from main import make_app
    from orm.controllers.orders import prep
    from orm.domain.stores import DEFAULT_STORE_ID
    from settings import load_settings

    settings = load_settings(database_url=url, debug=False, smtp_server="", log_format="text",
                             jwt_secret=secrets.token_urlsafe(48), pin_pepper=secrets.token_urlsafe(24),
                             uploads_dir=Path(os.environ.get("TMPDIR", "/tmp")) / "cafepos_bench_uploads")
    app = make_app(settings)
    ctx = app.settings["ctx"]
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    base = f"http://127.0.0.1:{port}"
    http = AsyncHTTPClient(force_instance=True)

    async def call(method: str, path: str, body: object = None, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        resp = await http.fetch(HTTPRequest(base + path, method=method, headers=headers,
                                            body=None if body is None else jsonenc.dumps(body)), raise_error=False)
        if resp.code >= 300:
            raise SystemExit(f"{method} {path} -> {resp.code}: {resp.body[:300]!r}")
        return jsonenc.loads(resp.body)["data"]

    try:
        token = (await call("POST", "/auth/login", {"username": "admin", "password": "password123"}))["token"]
        latte = (await call("POST", "/menu_items", {
            "name": "Latte", "price": "4.20", "category": "Coffee", "station": "bar",
            "modifierGroups": [{"name": "Milk", "minSelect": 0, "maxSelect": 2, "modifiers": [
                {"name": "Oat milk", "priceDelta": "0.50"}, {"name": "Extra shot", "priceDelta": "0.80"}]}]},
            token))["menuItem"]
        espresso = (await call("POST", "/menu_items", {"name": "Espresso", "price": "2.40", "category": "Coffee",
                                                       "station": "bar"}, token))["menuItem"]
        mods = [m["id"] for g in latte["modifierGroups"] for m in g["modifiers"]]
        for n in range(tickets):
            await call("POST", "/orders", {"items": [
                {"menuItemId": latte["id"], "quantity": 1 + n % 2, "modifierIds": mods, "notes": "extra hot"},
                {"menuItemId": espresso["id"], "quantity": 1}], "payments": [{"method": "card"}],
                "customerName": f"Guest {n}"}, token)
        path = "/prep/tickets?station=bar"
        for _ in range(5):
            got = await call("GET", path, token=token)
        assert len(got["tickets"]) == tickets, len(got["tickets"])
        profiler = None
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        http_ms: list[float] = []
        request = HTTPRequest(base + path, headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"})
        for _ in range(requests):
            t0 = time.perf_counter()  # to the last byte (not decoded: the client's work is not the server's)
            resp = await http.fetch(request, raise_error=False)
            http_ms.append((time.perf_counter() - t0) * 1000)
            assert resp.code == 200, resp.code
        if profiler is not None:
            import pstats
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        read_ms: list[float] = []
        for _ in range(requests):
            t0 = time.perf_counter()
            await ctx.run_db_read(prep.open_tickets, DEFAULT_STORE_ID, "bar",
                                  prep.OPEN_STATUSES, now=ctx.clock())
            read_ms.append((time.perf_counter() - t0) * 1000)
        # A station socket while 32 sales are made at once: from each sale's 201 (its commit came
        # before) to its ticket on the socket (0 when the ticket came first).
        from tornado.websocket import websocket_connect
        conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws/prep?station=bar&token={token}")
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

        async def sale(n: int) -> None:
            order = (await call("POST", "/orders", {"items": [{"menuItemId": espresso["id"], "quantity": 1}],
                                                    "payments": [{"method": "card"}]}, token))["order"]
            answered[order["id"]] = time.perf_counter()

        listener = asyncio.ensure_future(listen())
        await asyncio.gather(*(sale(n) for n in range(SOCKET_SALES)))
        await asyncio.wait_for(listener, 30)
        conn.close()
        lags = [max(0.0, arrived[o] - answered[o]) * 1000 for o in answered]
        return {"p50": statistics.median(http_ms), "p90": percentile(http_ms, 90), "max": max(http_ms),
                "min": min(http_ms), "read_p50": statistics.median(read_ms), "read_min": min(read_ms),
                "lag_p50": statistics.median(lags), "lag_max": max(lags)}
    finally:
        http.close()
        server.stop()
        await ctx.services.stop_all()
        ctx.db_pool.shutdown(wait=True)
        ctx.cpu_pool.shutdown(wait=True)
        ctx.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    recreate_database(args.database_url)
    try:
        seed_staff(args.database_url)
        result = asyncio.run(run(args.database_url, args.tickets, args.requests))
    finally:
        if not args.keep:
            drop_database(args.database_url)
    load = os.getloadavg()[0]
    print(f"GET /prep/tickets?station=bar, {args.tickets} open tickets, {args.requests} requests: "
          f"p50 {result['p50']:.1f} ms, p90 {result['p90']:.1f} ms, min {result['min']:.1f} ms, "
          f"max {result['max']:.1f} ms (the read alone: p50 {result['read_p50']:.1f} ms, min "
          f"{result['read_min']:.1f} ms; load average {load:.1f} on {os.cpu_count()} CPUs)")
    print(f"WS /ws/prep?station=bar during {SOCKET_SALES} concurrent sales: ticket after the sale's 201 "
          f"p50 {result['lag_p50']:.0f} ms, max {result['lag_max']:.0f} ms")


if __name__ == "__main__":
    main()
