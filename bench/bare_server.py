"""The yardstick: bare Tornado handlers on the same machine, same Python, same wrk.

    python bench/bare_server.py --port 8899 --menu-file menu.json [--health-file health.json] [--workers 2]

GET /small  a small JSON object, encoded per request (the cheapest useful handler)
GET /menu   the very bytes our GET /menu_items answered, read once at start
GET /health 200, so the harness can wait for it like for the real server
GET /health_bytes  the very bytes our GET /health answered (--health-file), read once at start
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.process import fork_processes


class SmallJsonHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        # Roughly our envelope's size, encoded per request as a real handler would.
        self.write({"success": True, "data": {"status": "ok", "count": 3}, "errors": [],
                    "timestamp": "2026-11-23T10:00:00.123Z"})


class MenuBytesHandler(tornado.web.RequestHandler):
    def initialize(self, body: bytes) -> None:
        self.body = body

    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.write(self.body)


class HealthHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write({"status": "healthy"})


def make_app(menu_body: bytes, health_body: bytes = b'{"status": "healthy"}') -> tornado.web.Application:
    return tornado.web.Application(
        [(r"/small", SmallJsonHandler), (r"/menu", MenuBytesHandler, {"body": menu_body}),
         (r"/health_bytes", MenuBytesHandler, {"body": health_body}), (r"/health", HealthHandler)],
        compress_response=True,  # as in main.py (wrk sends no Accept-Encoding, so it never applies)
        log_function=lambda handler: None,
    )


async def serve(sockets: list, menu_body: bytes, health_body: bytes) -> None:
    server = HTTPServer(make_app(menu_body, health_body))
    server.add_sockets(sockets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--menu-file", type=Path, required=True)
    parser.add_argument("--health-file", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    body = args.menu_file.read_bytes()
    health = args.health_file.read_bytes() if args.health_file else b'{"status": "healthy"}'
    sockets = bind_sockets(args.port, "127.0.0.1")
    if args.workers > 1:
        fork_processes(args.workers)
    asyncio.run(serve(sockets, body, health))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
