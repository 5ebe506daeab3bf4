"""Hostile transport: oversized and slow bodies, slow clients, security headers on every kind of answer,
and error answers that give nothing internal away.

Raw sockets are used where the HTTP client would be too polite (declaring a body it never sends,
trickling headers).  Nothing asserts on time: a cut-off is seen as the server closing the socket
(read() returning EOF) well before a generous cap.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
import sqlalchemy.exc
from tornado.testing import bind_unused_port

import main
from apis.base import BaseHandler
from orm.models.model_orders import Order
from tests.conftest import run_unit
from tests.support import Client, RunningServer, suite_now
from tests.test_logging_json import captured_logs
from tests.test_route_security import handled_methods, routes, sample_path
from tests.test_security_permission_matrix import PNG_1PX, multipart

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
LEAKS = re.compile(r"Traceback|File \"|sqlalchemy|psycopg|sqlite3|\bSELECT\b.*\bFROM\b|INSERT INTO|\[SQL:|"
                   r"\bUPDATE\b.*\bSET\b|RuntimeError|IntegrityError", re.S)


async def raw_exchange(port: int, data: bytes, *, read_timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are, read until the server closes: (status, headers, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), read_timeout)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return status, headers, body


def body_routes() -> list[tuple[str, str]]:
    out = []
    for pattern, handler in routes():
        if issubclass(handler, BaseHandler):
            for method in handled_methods(handler):
                if method in ("post", "put", "patch"):
                    out.append((method.upper(), sample_path(pattern)))
    return out


# ---- 413 before the body is read ------------------------------------------------------------------

async def test_every_body_route_answers_413_from_content_length_alone(server, tokens, settings):
    """Declared too large, no body byte sent: the envelope 413 comes back at once (with or without a token)."""
    checked = []
    for method, path in body_routes():
        for token in (tokens["admin"], None):
            auth = f"Authorization: Bearer {token}\r\n" if token else ""
            head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n"
                    f"Content-Length: {settings.max_body_bytes * 20}\r\nConnection: close\r\n\r\n")
            status, headers, body = await raw_exchange(server.port, head.encode())
            assert status == 413, (method, path, status, body[:200])
            assert b'"errorCode":"PAYLOAD_TOO_LARGE"' in body and b'"success":false' in body, (method, path)
            assert headers.get("x-content-type-options") == "nosniff"
            checked.append(path)
    assert len(checked) > 40


async def test_chunked_body_over_the_limit_is_cut_off_and_writes_nothing(server, tokens, settings):
    """No Content-Length to check: Tornado's per-request limit (set in prepare) stops the stream."""
    chunk = b"x" * 65536
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write((f"POST /orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tokens['admin']}\r\n"
                  "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
    sent = 0
    try:
        while sent <= settings.max_body_bytes * 2:
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
            sent += len(chunk)
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server hung up mid-stream: that is the cut-off
    try:
        answer = await asyncio.wait_for(reader.read(), 10)
    except ConnectionResetError:
        answer = b""  # closed with our bytes unread: a reset instead of a FIN
    writer.close()
    assert not answer.startswith((b"HTTP/1.1 2", b"HTTP/1.1 5")), answer[:200]
    assert run_unit(settings, lambda s: s.query(Order).count()) == 0
    # And the server is still serving.
    c = server.client()
    try:
        assert (await c.get("/health")).status == 200
    finally:
        c.close()


# ---- slow clients ---------------------------------------------------------------------------------

@pytest.fixture
async def strict_server(settings):
    """The real server construction (main.make_http_server) with short limits for slow clients."""
    strict = settings.with_overrides(body_timeout=0.5, idle_connection_timeout=0.5)
    app = main.make_app(strict, clock=suite_now)
    http = main.make_http_server(app, strict)
    sock, port = bind_unused_port()
    http.add_sockets([sock])
    ctx = app.settings["ctx"]
    yield port, ctx
    http.stop()
    await http.close_all_connections()
    await ctx.services.stop_all()
    ctx.release()


async def test_idle_connection_is_closed(strict_server):
    port, _ctx = strict_server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await asyncio.wait_for(reader.read(), 15) == b""  # EOF: the server hung up
    writer.close()


async def test_headers_never_finished_are_cut_off(strict_server):
    """Slowloris: a header line every now and then never completes the request."""
    port, _ctx = strict_server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    await writer.drain()
    closed = False
    for i in range(150):  # at most ~15 s of trickling, far beyond the 0.5 s limit
        try:
            writer.write(f"X-Trickle-{i}: a\r\n".encode())
            await writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            closed = True
            break
        try:
            if await asyncio.wait_for(reader.read(1), 0.1) == b"":
                closed = True
                break
        except TimeoutError:
            continue
    writer.close()
    assert closed, "the server kept waiting for headers that never end"


async def test_body_never_finished_is_cut_off_and_writes_nothing(strict_server, settings, demo_users):
    port, ctx = strict_server
    client = Client(f"http://127.0.0.1:{port}")
    try:
        token = (await client.post("/auth/login", {"username": "admin", "password": "password123"})).data["token"]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write((f"POST /orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                      "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"items\": [").encode())
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 15)  # returns once the server closes
        writer.close()
        assert not answer.startswith((b"HTTP/1.1 2", b"HTTP/1.1 5")), answer[:200]
        assert run_unit(settings, lambda s: s.query(Order).count()) == 0
        for _ in range(100):  # the abandoned request leaves the in-flight set (shutdown waits on it)
            if not ctx.in_flight:
                break
            await asyncio.sleep(0.05)
        assert not ctx.in_flight
        assert (await client.get("/health")).status == 200
    finally:
        client.close()


# ---- security headers on every kind of answer ------------------------------------------------------

class LeakyHandler(BaseHandler):
    """A bug that surfaces a database error carrying SQL and parameters."""

    allow_unauthenticated = True

    async def get(self) -> None:
        raise sqlalchemy.exc.IntegrityError("INSERT INTO users (username, password_hash) VALUES (?, ?)",
                                            ("eve", "$2b$12$secret"), Exception("UNIQUE constraint failed"))


@pytest.fixture
async def leaky_server(settings):
    running = RunningServer(main.make_app(settings, clock=suite_now, extra_routes=[(r"/test/leaky", LeakyHandler)]))
    yield running
    await running.stop()


def assert_security_headers(what: str, headers: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, f"{what}: {name}={headers.get(name)!r}"
    assert "Server" not in headers, f"{what}: Server header {headers.get('Server')!r}"


async def test_security_headers_on_every_kind_of_answer(leaky_server, tokens, settings):
    c = leaky_server.client()
    admin = leaky_server.client()
    admin.token = tokens["admin"]
    trainee = leaky_server.client()
    trainee.token = tokens["trainee"]
    try:
        item = (await admin.post("/menu_items", {"name": "Latte", "price": "3.40"})).data["menuItem"]
        order = (await admin.post("/orders", {"items": [{"menuItemId": item["id"], "quantity": 1}],
                                              "payments": [{"method": "card"}]})).data["order"]
        body, headers = multipart("file", "x.png", PNG_1PX, "image/png")
        image = (await admin.post("/upload/image", body=body, headers=headers)).data
        etag = (await admin.get("/menu_items")).headers["ETag"]
        answers = {
            "304": await admin.get("/menu_items", headers={"If-None-Match": etag}),
            "200 json": await c.get("/health"),
            "201 json": await admin.post("/menu_items", {"name": "Mocha", "price": "3.90"}),
            "204 preflight": await c.request("OPTIONS", "/orders", headers={
                "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"}),
            "400": await admin.post("/orders", body=b"{nope", headers={"Content-Type": "application/json"}),
            "401": await c.get("/orders"),
            "403": await trainee.get("/orders"),
            "404 unknown path": await c.get("/no/such/path"),
            "404 resource": await admin.get("/orders/00000000-0000-0000-0000-000000000000"),
            "405": await admin.request("TRACE", "/orders"),
            "409": await admin.post(f"/orders/{order['id']}/refund", {"amount": "999.00", "reason": "x"}),
            "415": await admin.post("/orders", body=b"a=b",
                                    headers={"Content-Type": "application/x-www-form-urlencoded"}),
            "500": await c.get("/test/leaky"),
            "csv inventory": await admin.get("/inventory/export"),
            "csv menu": await admin.get("/menu_items/export"),
            "csv report": await admin.get("/reports/sales.csv"),
            "receipt text": await admin.get(f"/orders/{order['id']}/receipt?format=text"),
            "receipt escpos": await admin.get(f"/orders/{order['id']}/receipt?format=escpos"),
            "uploaded image": await c.get(image["imageUrl"]),
            "docs page": await c.get("/docs"),
            "docs asset": await c.get("/docs/static/swagger-ui.css"),
            "docs script": await c.get("/docs/static/docs-init.js"),
            "openapi": await c.get("/openapi.json"),
            "metrics": await c.get("/metrics"),
        }
        status, raw_headers, _ = await raw_exchange(leaky_server.port, (
            f"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: {settings.max_body_bytes + 1}\r\n"
            "Connection: close\r\n\r\n").encode())
    finally:
        for client in (c, admin, trainee):
            client.close()
    expected = {"200 json": 200, "201 json": 201, "304": 304, "204 preflight": 204, "400": 400, "401": 401,
                "403": 403, "404 unknown path": 404, "404 resource": 404, "405": 405, "409": 409, "415": 415,
                "500": 500}
    for what, resp in answers.items():
        assert resp.status == expected.get(what, 200), (what, resp.status, resp.body[:200])
        assert_security_headers(what, resp.headers)
        assert resp.headers.get("X-Request-ID"), what
    assert status == 413
    assert_security_headers("413", {k.title(): v for k, v in raw_headers.items()})
    assert answers["uploaded image"].headers["Content-Type"].startswith("image/")
    assert answers["csv inventory"].headers["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("log_format", ["json", "text"])
async def test_error_answers_carry_no_internals_and_the_log_no_secrets(leaky_server, log_format):
    """The client gets a request id and nothing else; the log line has the detail, parameters blanked."""
    c = leaky_server.client()
    try:
        with captured_logs(log_format) as buffer:
            resp = await c.get("/test/leaky")
    finally:
        c.close()
    assert resp.status == 500 and resp.json["errorCode"] == "INTERNAL_ERROR" and resp.json["requestId"]
    assert not LEAKS.search(resp.body.decode()), resp.body
    assert b"secret" not in resp.body and b"eve" not in resp.body
    log = buffer.getvalue()
    assert resp.json["requestId"] in log and "IntegrityError" in log  # findable by the quoted id
    assert "$2b$12$secret" not in log
