"""LOG_FORMAT=json: one JSON object per line, request fields present, secrets and tokens never logged."""

from __future__ import annotations

import io
import json
import logging

from log_config import redact, setup_logging
from orm.domain.stores import DEFAULT_STORE_ID

PASSWORD = "password123"


class captured_logs:
    """setup_logging() as main() calls it, into a buffer; the previous logging restored afterwards."""

    def __init__(self, log_format: str) -> None:
        self.log_format = log_format
        self.buffer = io.StringIO()

    def __enter__(self) -> io.StringIO:
        root = logging.getLogger()
        self.saved = (list(root.handlers), root.level)
        setup_logging(self.log_format, "INFO", stream=self.buffer)
        return self.buffer

    def __exit__(self, *exc) -> None:
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        handlers, level = self.saved
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


async def test_json_lines_carry_request_fields_and_no_secrets(server, client, demo_users):
    with captured_logs("json") as buffer:
        login = await client.post("/auth/login", {"username": "manager", "password": PASSWORD},
                                   headers={"X-Request-ID": "trace-login-1"})
        assert login.status == 200
        token, refresh = login.data["token"], login.data["refreshToken"]
        await client.post("/auth/login", {"username": "manager", "password": "Wrong-Secret-77"})
        await client.post("/auth/login", {"pinCode": "2345"})
        me = (await client.get("/auth/me", token=token)).data["user"]
        assert (await client.get("/settings", token=token)).status == 200
        # Tokens in query strings (the dashboard websocket takes ?token=) must not reach the log.
        assert (await client.get(f"/settings?storeId=&token={token}", token=token)).status == 200
        assert (await client.put("/settings", {"receiptHeader": "Hi"}, token=token)).status == 200
        await client.post("/auth/refresh", {"refreshToken": refresh})
        await client.get(f"/no/such/path?refreshToken={refresh}", token=token)
        assert (await client.get("/metrics")).status == 200
        assert (await client.get(f"/stores/{DEFAULT_STORE_ID}", token=token)).status == 200
    text = buffer.getvalue()
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) >= 9
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    for secret in (PASSWORD, "Wrong-Secret-77", token, refresh, token.split(".")[2]):
        assert secret not in text
    access = [e for e in entries if e["logger"] == "cafepos.access"]
    assert len(access) >= 9
    for e in access:
        assert {"ts", "level", "message", "request_id", "method", "route", "path", "status", "duration_ms"} <= set(e)
        assert "?" not in e["path"] and "?" not in e["message"]
    first = access[0]
    assert first["request_id"] == "trace-login-1" and first["route"] == "/auth/login" and first["status"] == 200
    settings_lines = [e for e in access if e["route"] == "/settings"]
    assert len(settings_lines) == 3 and all(e["user_id"] == me["id"] for e in settings_lines)
    assert {e["status"] for e in access if e["path"] == "/no/such/path"} == {404}
    # Routes are templates, as in /metrics and the OpenAPI document.
    assert [e["route"] for e in access if e["path"] == f"/stores/{DEFAULT_STORE_ID}"] == ["/stores/{store_id}"]


async def test_text_format_is_redacted_too(server, client, demo_users):
    with captured_logs("text") as buffer:
        login = await client.post("/auth/login", {"username": "cashier", "password": PASSWORD})
        token = login.data["token"]
        await client.get(f"/auth/me?token={token}", token=token)
        logging.getLogger("cafepos.test").warning("client sent Authorization: Bearer %s", token)
    text = buffer.getvalue()
    assert "GET /auth/me 200" in text
    assert token not in text and PASSWORD not in text


def test_redact_blanks_known_secret_shapes():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    cases = {
        f"Authorization: Bearer {jwt}": jwt,
        "GET /ws/dashboard?token=abc123def&x=1": "abc123def",
        '{"password": "hunter2", "username": "anna"}': "hunter2",
        "{'refreshToken': 'r-e-f-r-e-s-h', 'a': 1}": "r-e-f-r-e-s-h",
        "pinCode=4711": "4711",
        "(psycopg.errors.UniqueViolation) duplicate key\n[SQL: INSERT INTO users ...]\n"
        "[parameters: {'password_hash': '$2b$12$abcdefghijkl'}]": "$2b$12$abcdefghijkl",
        f"uri='/x?{jwt}'": jwt,
    }
    for text, secret in cases.items():
        out = redact(text)
        assert secret not in out and "[redacted]" in out, (text, out)
    # Ordinary messages are left alone.
    for text in ("Invalid username, password or PIN", "GET /settings 200 3.1ms rid=abc user=anna"):
        assert redact(text) == text


async def test_a_healthy_health_check_is_logged_at_debug_only(server, client):
    """Docker's HEALTHCHECK and load balancers ask every few seconds: at the default INFO level a healthy
    answer writes no line, any other request does; LOG_LEVEL=DEBUG shows the checks too."""
    with captured_logs("json") as buffer:
        assert (await client.get("/health")).status == 200
        assert (await client.get("/no/such/path")).status == 404
    routes = [json.loads(line).get("path") for line in buffer.getvalue().splitlines() if line.strip()]
    assert "/no/such/path" in routes and "/health" not in routes
    with captured_logs("json") as buffer:
        logging.getLogger().setLevel("DEBUG")
        assert (await client.get("/health")).status == 200
    health = [json.loads(line) for line in buffer.getvalue().splitlines() if '"/health"' in line]
    assert [(e["level"], e["status"]) for e in health] == [("DEBUG", 200)]
