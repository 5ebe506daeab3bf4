"""SIGTERM under load from keep-alive clients: every request a handler started is answered.

Tills keep their connection open and send the next sale at once.  Once the server stopped listening
they can still send on those connections; if it kept serving them, the in-flight set would never
drain, and at the end of the grace period closing the connections would cut requests whose work had
already been done (committed orders without an answer: scripts/crash_test.py found exactly that).
New requests during shutdown get a 503 in the envelope with `Connection: close` instead.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid

from tornado.netutil import bind_sockets

from apis.base import BaseHandler
from main import make_app, serve
from tests.support import suite_now

STARTED: set[str] = set()


class WorkHandler(BaseHandler):
    """Stands in for a sale: takes a while, and records that its work began."""

    allow_unauthenticated = True

    async def post(self) -> None:
        STARTED.add(self.request_id)
        await asyncio.sleep(0.2)
        self.success({"done": True})


async def keep_alive_till(port: int, answered: dict[str, int], stop: asyncio.Event) -> None:
    """One connection, one request after another, until the server closes it or says to."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    try:
        while not stop.is_set():
            rid = uuid.uuid4().hex
            writer.write((f"POST /test/work HTTP/1.1\r\nHost: x\r\nX-Request-ID: {rid}\r\n"
                          "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}").encode())
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
            await reader.readexactly(int(headers.get("content-length", "0")))
            answered[rid] = int(lines[0].split()[1])
            if headers.get("connection", "").lower() == "close":
                return
    except (OSError, asyncio.IncompleteReadError, TimeoutError):
        return  # cut off: checked against STARTED below
    finally:
        writer.close()


async def test_sigterm_under_keep_alive_load_answers_every_started_request(settings):
    STARTED.clear()
    settings = settings.with_overrides(shutdown_grace_seconds=1.0)
    sockets = bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    app = make_app(settings, clock=suite_now, extra_routes=[(r"/test/work", WorkHandler)])
    server = asyncio.ensure_future(serve(settings, sockets, schema_ready=True, run_services=False, app=app))
    await asyncio.sleep(0.1)
    answered: dict[str, int] = {}
    stop = asyncio.Event()
    tills = [asyncio.ensure_future(keep_alive_till(port, answered, stop)) for _ in range(8)]
    await asyncio.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(2.5)  # the tills go on selling well past the 1 s grace period
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tills), 30)
    await asyncio.wait_for(server, 30)
    cut_off = STARTED - set(answered)
    assert not cut_off, f"{len(cut_off)} requests were started but never answered"
    assert len(STARTED) >= 8 and set(answered.values()) <= {200, 503}
    assert 503 in answered.values()  # the tills did send during the shutdown, and were told to go away
