"""The foundation: envelope, errors, limits, CORS, health, OpenAPI, migrations, shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from urllib.parse import urlsplit

import pytest
from openapi_spec_validator import validate as validate_openapi
from pydantic import BaseModel, Field
from sqlalchemy import inspect, text
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.netutil import bind_sockets

from apis.base import BaseHandler
from main import make_app, serve
from orm.db import make_engine
from orm.migrate import (
    SchemaOutOfDate,
    current_revision,
    ensure_schema,
    head_revision,
    upgrade_to_head,
    warn_without_autovacuum,
)
from settings import SettingsError, load_settings, with_generated_secrets
from tests.support import RunningServer, suite_now


class EchoBody(BaseModel):
    name: str = Field(min_length=1)
    price: float | None = None


class EchoHandler(BaseHandler):
    """Test-only endpoint that validates a body and echoes it."""

    allow_unauthenticated = True

    async def post(self) -> None:
        body = self.parse(EchoBody)
        self.created({"echo": body.model_dump()}, location="/echo/1")


class SlowHandler(BaseHandler):
    allow_unauthenticated = True

    async def get(self) -> None:
        await asyncio.sleep(0.6)
        self.success({"slow": True})


class ExplodingHandler(BaseHandler):
    allow_unauthenticated = True

    async def get(self) -> None:
        raise RuntimeError("SELECT secret FROM users -- internal detail")


class PrivateHandler(BaseHandler):
    permissions = {"GET": "menu.view"}

    async def get(self) -> None:
        self.success({"private": True})


TEST_ROUTES = [(r"/test/echo", EchoHandler), (r"/test/slow", SlowHandler),
               (r"/test/explode", ExplodingHandler), (r"/test/private", PrivateHandler)]


@pytest.fixture
async def tserver(settings):
    running = RunningServer(make_app(settings, clock=suite_now, extra_routes=TEST_ROUTES))
    yield running
    await running.stop()


@pytest.fixture
async def tclient(tserver):
    c = tserver.client()
    yield c
    c.close()


def assert_error_envelope(resp, status: int, code: str) -> None:
    assert resp.status == status, resp.body
    body = resp.json
    assert body["success"] is False
    assert body["data"] == {} or isinstance(body["data"], dict)
    assert isinstance(body["errors"], list) and body["errors"] and all(isinstance(e, str) for e in body["errors"])
    assert body["errorCode"] == code
    assert body["statusCode"] == status
    assert body["requestId"] == resp.headers["X-Request-ID"]
    assert body["timestamp"].endswith("Z")


async def test_success_envelope_and_request_id(tclient):
    resp = await tclient.post("/test/echo", {"name": "Latte", "price": "3.50"},
                              headers={"X-Request-ID": "abc-123"})
    assert resp.status == 201
    assert resp.headers["Location"] == "/echo/1"
    assert resp.headers["X-Request-ID"] == "abc-123"
    body = resp.json
    assert body["success"] is True and body["errors"] == []
    assert body["data"] == {"echo": {"name": "Latte", "price": 3.5}}
    assert body["timestamp"].endswith("Z")


async def test_security_headers_and_no_server_version(tclient):
    resp = await tclient.get("/health")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "Server" not in resp.headers


@pytest.mark.parametrize("token", [None, "garbage-token"])
async def test_unknown_path_is_404_in_envelope(tclient, token):
    resp = await tclient.get("/no/such/thing", token=token)
    assert_error_envelope(resp, 404, "NOT_FOUND")


async def test_method_not_allowed_is_enveloped(tclient):
    resp = await tclient.request("DELETE", "/test/echo")
    assert_error_envelope(resp, 405, "METHOD_NOT_ALLOWED")


async def test_malformed_json_is_400(tclient):
    resp = await tclient.post("/test/echo", body=b'{"name": "Latte",', headers={"Content-Type": "application/json"})
    assert_error_envelope(resp, 400, "INVALID_JSON")
    resp = await tclient.post("/test/echo", body=b"", headers={"Content-Type": "application/json"})
    assert_error_envelope(resp, 400, "INVALID_JSON")


async def test_validation_errors_have_field_errors(tclient):
    resp = await tclient.post("/test/echo", {"name": ""})
    assert_error_envelope(resp, 400, "VALIDATION_ERROR")
    assert "name" in resp.json["fieldErrors"]
    resp = await tclient.post("/test/echo", [1, 2])
    assert_error_envelope(resp, 400, "VALIDATION_ERROR")


async def test_wrong_content_type_is_415(tclient):
    resp = await tclient.post("/test/echo", body=b"name=x",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error_envelope(resp, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_oversized_body_is_413_before_reading(tserver, settings):
    limit = settings.max_body_bytes
    # Declare a huge body but send only the headers: the answer must come from
    # Content-Length alone, before any body byte is read.
    host, port = "127.0.0.1", tserver.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write((f"POST /test/echo HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {limit + 1}\r\n\r\n").encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(65536), 5)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b'"errorCode":"PAYLOAD_TOO_LARGE"' in body


async def test_oversized_body_through_client_is_413(tclient, settings):
    big = b'{"name":"' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    resp = await tclient.post("/test/echo", body=big, headers={"Content-Type": "application/json"})
    assert_error_envelope(resp, 413, "PAYLOAD_TOO_LARGE")


async def test_unhandled_error_is_500_without_internals(tclient):
    resp = await tclient.get("/test/explode")
    assert_error_envelope(resp, 500, "INTERNAL_ERROR")
    text = resp.body.decode()
    assert "SELECT" not in text and "Traceback" not in text and "RuntimeError" not in text


async def test_cors_preflight(tclient):
    resp = await tclient.request("OPTIONS", "/test/private", headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Idempotency-Key"})
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    allowed = resp.headers["Access-Control-Allow-Headers"]
    for h in ("Content-Type", "Authorization", "Idempotency-Key", "X-Request-ID"):
        assert h in allowed
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]


async def test_cors_unknown_origin_gets_no_allow_header(tclient):
    resp = await tclient.get("/health", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    resp = await tclient.get("/health", headers={"Origin": "http://localhost:3000"})
    assert resp.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


async def test_protected_route_denies_without_token(tclient):
    resp = await tclient.get("/test/private")
    assert_error_envelope(resp, 401, "UNAUTHORIZED")


async def test_health_ok(tclient):
    resp = await tclient.get("/health")
    assert resp.status == 200
    data = resp.data
    assert data["status"] == "healthy"
    assert set(data) >= {"status", "version", "uptimeSeconds", "checks"}
    assert data["checks"]["database"]["status"] == "healthy"
    assert data["checks"]["database"]["latencyMs"] >= 0
    assert data["checks"]["scheduler"]["status"] in ("healthy", "degraded")
    assert data["checks"]["uploads"]["status"] == "healthy"


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def test_health_503_when_database_unreachable(tmp_path):
    dead = load_settings(database_url=f"postgresql://postgres@127.0.0.1:{_closed_port()}/nowhere",
                         uploads_dir=tmp_path / "u", jwt_secret="x" * 32)
    running = RunningServer(make_app(dead, clock=suite_now, schema_ready=False))
    c = running.client()
    try:
        resp = await c.get("/health")
        assert resp.status == 503
        assert resp.json["success"] is False
        assert resp.data["status"] == "unhealthy"
        assert resp.data["checks"]["database"]["status"] == "unhealthy"
        resp = await c.get("/no/such")
        assert resp.status == 404
    finally:
        c.close()
        await running.stop()


async def test_openapi_document_is_valid(tclient):
    resp = await tclient.get("/openapi.json")
    assert resp.status == 200
    doc = resp.json
    assert doc["openapi"].startswith("3.1")
    validate_openapi(doc)
    assert "/health" in doc["paths"]
    resp = await tclient.get("/docs")
    assert resp.status == 200 and b"swagger-ui" in resp.body
    assert b"http://" not in resp.body and b"https://" not in resp.body  # no CDN
    resp = await tclient.get("/docs/static/swagger-ui-bundle.js")
    assert resp.status == 200 and len(resp.body) > 10_000


def test_settings_refuse_placeholder_secret_without_debug():
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        load_settings(debug=False, jwt_secret="change-me")
    with pytest.raises(SettingsError, match="STORE_TIMEZONE"):
        load_settings(store_timezone="Mars/Olympus")
    s = with_generated_secrets(load_settings(debug=True, jwt_secret=""))
    assert len(s.jwt_secret) >= 32 and s.pin_pepper


def test_migrations_upgrade_from_empty(empty_database):
    url = empty_database
    with pytest.raises(SchemaOutOfDate, match="python orm/db_init.py"):
        ensure_schema(url, auto_migrate=False)
    upgrade_to_head(url)
    engine = make_engine(url, pooled=False)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert "stores" in tables
    engine.dispose()
    assert ensure_schema(url, auto_migrate=False) == head_revision()


def test_start_up_warns_when_postgresql_keeps_no_statistics(empty_database, caplog):
    """A PostgreSQL with autovacuum off keeps each table's statistics from when it was small; start-up
    says so (SQLite: nothing to say)."""
    engine = make_engine(empty_database, pooled=False)
    try:
        with caplog.at_level("WARNING", logger="cafepos.db"):
            warned = warn_without_autovacuum(engine)
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                off = conn.execute(text("SHOW autovacuum")).scalar() != "on"
        else:
            off = False
    finally:
        engine.dispose()
    assert warned == off
    assert ("autovacuum off" in caplog.text) == off


async def test_sigterm_finishes_in_flight_request(settings):
    sockets = bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    app = make_app(settings, clock=suite_now, extra_routes=TEST_ROUTES)
    task = asyncio.ensure_future(serve(settings, sockets, schema_ready=True, run_services=False, app=app))
    await asyncio.sleep(0.1)
    http = AsyncHTTPClient(force_instance=True)
    pending = asyncio.ensure_future(http.fetch(HTTPRequest(f"http://127.0.0.1:{port}/test/slow"),
                                               raise_error=False))
    await asyncio.sleep(0.2)
    os.kill(os.getpid(), signal.SIGTERM)
    resp = await asyncio.wait_for(pending, 5)
    assert resp.code == 200 and b'"slow":true' in resp.body
    await asyncio.wait_for(task, 10)
    # New connections are refused once shut down.
    with pytest.raises(OSError):
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.close()
    http.close()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.remove_signal_handler(sig)
    assert urlsplit(f"http://127.0.0.1:{port}").port == port
