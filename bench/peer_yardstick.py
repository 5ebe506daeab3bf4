"""The peer-shaped yardstick: what the implementation CafePOS is modelled on does for POST /orders.

    python bench/peer_yardstick.py --port 8898 --database-url postgresql://... [--pool 10]

A minimal Tornado handler with its own psycopg 3 connection pool.  On POST /orders it parses the same
JSON body CafePOS gets, checks the bearer token against a row of its users table (the peer does a token
check), and INSERTs one order row and its line rows into its own tables in the bench database — no
pricing, no stock, no receipt numbering, no journal, no idempotency — then answers 201 with the order as
JSON.  "3x the yardstick" in the benchmark table is measured against this, in the same run.

Its tables (peer_users, peer_orders, peer_order_lines) are created here if missing; `--token` is the
one user's token (the harness passes the same one in wrk's Authorization header).

GET /health answers 200 so the harness can wait for it like for the real server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import psycopg
import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

SCHEMA = """
CREATE TABLE IF NOT EXISTS peer_users (
    id uuid PRIMARY KEY, username text NOT NULL UNIQUE, token text NOT NULL UNIQUE, is_active boolean NOT NULL
);
CREATE TABLE IF NOT EXISTS peer_orders (
    id uuid PRIMARY KEY, user_id uuid NOT NULL REFERENCES peer_users(id), terminal_id text,
    payment_method text, amount_paid numeric(12, 2), created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_peer_orders_created_at ON peer_orders (created_at);
CREATE TABLE IF NOT EXISTS peer_order_lines (
    id uuid PRIMARY KEY, order_id uuid NOT NULL REFERENCES peer_orders(id), menu_item_id text NOT NULL,
    quantity integer NOT NULL, modifier_ids text NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_peer_order_lines_order ON peer_order_lines (order_id);
"""


class Pool:
    """A fixed set of async connections handed out one request at a time (psycopg_pool is not in the locks)."""

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self.size = size
        self.free: asyncio.Queue[psycopg.AsyncConnection] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self.size):
            self.free.put_nowait(await psycopg.AsyncConnection.connect(self.url))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        conn = await self.free.get()
        try:
            yield conn
        except BaseException:
            await conn.rollback()
            raise
        finally:
            self.free.put_nowait(conn)

    async def close(self) -> None:
        while not self.free.empty():
            await self.free.get_nowait().close()


class OrdersHandler(tornado.web.RequestHandler):
    def initialize(self, pool: Pool) -> None:
        self.pool = pool

    def fail(self, status: int, message: str) -> None:
        self.set_status(status)
        self.write({"success": False, "data": {}, "errors": [message]})

    async def post(self) -> None:
        auth = self.request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return self.fail(401, "Unauthorized")
        try:
            body = json.loads(self.request.body)
            items = body["items"]
            lines = [(str(it["menuItemId"]), int(it["quantity"]), ",".join(map(str, it.get("modifierIds") or [])))
                     for it in items]
        except (ValueError, KeyError, TypeError):
            return self.fail(400, "Invalid order")
        payments = body.get("payments") or [{}]
        order_id, now = uuid.uuid4(), datetime.now(UTC)
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT id FROM peer_users WHERE token = %s AND is_active", (auth[7:],))
            user = await cur.fetchone()
            if user is None:
                await conn.rollback()
                return self.fail(401, "Unauthorized")
            await conn.execute("INSERT INTO peer_orders (id, user_id, terminal_id, payment_method, amount_paid, "
                               "created_at) VALUES (%s, %s, %s, %s, %s, %s)",
                               (order_id, user[0], body.get("terminalId"), payments[0].get("method"),
                                payments[0].get("tendered"), now))
            async with conn.cursor() as cur:
                await cur.executemany("INSERT INTO peer_order_lines (id, order_id, menu_item_id, quantity, "
                                      "modifier_ids) VALUES (%s, %s, %s, %s, %s)",
                                      [(uuid.uuid4(), order_id, *line) for line in lines])
            await conn.commit()
        self.set_status(201)
        self.write({"success": True, "data": {"order": {
            "id": str(order_id), "createdBy": str(user[0]), "terminalId": body.get("terminalId"),
            "createdAt": now.isoformat().replace("+00:00", "Z"),
            "items": [{"menuItemId": m, "quantity": q, "modifierIds": [x for x in mods.split(",") if x]}
                      for m, q, mods in lines]}}, "errors": []})


class HealthHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write({"status": "healthy"})


async def prepare(url: str, token: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(SCHEMA)
        await conn.execute("INSERT INTO peer_users (id, username, token, is_active) VALUES (%s, 'cashier', %s, true) "
                           "ON CONFLICT (username) DO UPDATE SET token = EXCLUDED.token", (uuid.uuid4(), token))


async def serve(port: int, url: str, token: str, pool_size: int) -> None:
    await prepare(url, token)
    pool = Pool(url, pool_size)
    await pool.open()
    app = tornado.web.Application([(r"/orders", OrdersHandler, {"pool": pool}), (r"/health", HealthHandler)],
                                  log_function=lambda handler: None)
    server = HTTPServer(app)
    server.add_sockets(bind_sockets(port, "127.0.0.1"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()
    await pool.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--token", default="peer-yardstick-token")
    parser.add_argument("--pool", type=int, default=10, help="connections (CafePOS's DB_POOL_SIZE default)")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.database_url, args.token, args.pool))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
