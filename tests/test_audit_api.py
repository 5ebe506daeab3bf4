"""Audit endpoints: access log, failed logins, change trail — shapes, filters, paging, newest first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from main import make_app
from orm.models.model_identity import AuditChange
from tests.identity_support import count
from tests.support import Client, RunningServer


@pytest.fixture
async def c(settings, clock, demo_users) -> AsyncIterator[Client]:
    running = RunningServer(make_app(settings, clock=clock))
    client = running.client()
    yield client
    client.close()
    await running.stop()


async def admin_token(c: Client) -> str:
    return (await c.post("/auth/login", {"username": "admin", "password": "password123"})).data["token"]


async def test_access_log_and_failed_logins(c, clock):
    await c.post("/auth/login", {"username": "cashier", "password": "nope-nope"},
                 headers={"User-Agent": "till-7"})
    clock.advance(minutes=1)
    await c.post("/auth/login", {"pinCode": "0000"})
    clock.advance(minutes=1)
    await c.post("/auth/login", {"username": "cashier", "password": "password123"})
    clock.advance(days=1)
    c.token = await admin_token(c)

    resp = await c.get("/audit/access-log")
    assert resp.status == 200, resp.body
    data = resp.data
    assert set(data) == {"accessLog", "total", "page", "perPage", "pages"} and data["total"] == 4
    rows = data["accessLog"]
    assert [(r["username"], r["success"]) for r in rows] == [
        ("admin", True), ("cashier", True), (None, False), ("cashier", False)]
    assert set(rows[0]) == {"id", "username", "userId", "method", "address", "userAgent", "success", "reason", "at"}

    failed = (await c.get("/audit/failed-logins")).data
    assert failed["total"] == 2
    assert failed["failedLogins"] == [
        {"username": None, "method": "pin", "address": "127.0.0.1", "userAgent": failed["failedLogins"][0][
            "userAgent"], "reason": "bad_pin", "at": "2026-11-23T09:01:00.000Z"},
        {"username": "cashier", "method": "password", "address": "127.0.0.1", "userAgent": "till-7",
         "reason": "bad_password", "at": "2026-11-23T09:00:00.000Z"}]

    only = (await c.get("/audit/failed-logins?username=cashier")).data
    assert only["total"] == 1, only
    assert (await c.get("/audit/access-log?method=pin")).data["total"] == 1
    assert (await c.get("/audit/access-log?success=true")).data["total"] == 2
    assert (await c.get("/audit/access-log?from=2026-11-24")).data["total"] == 1
    assert (await c.get("/audit/access-log?to=2026-11-23")).data["total"] == 3  # a date covers its whole day
    window = "from=2026-11-23T09:00:30Z&to=2026-11-23T09:01:00Z"
    assert (await c.get(f"/audit/access-log?{window}")).data["total"] == 1
    assert (await c.get("/audit/access-log?to=2026-11-23T10:00:30+01:00")).data["total"] == 1
    page2 = (await c.get("/audit/access-log?perPage=3&page=2")).data
    assert page2["pages"] == 2 and [r["username"] for r in page2["accessLog"]] == ["cashier"]
    for bad in ("from=yesterday", "to=2026-13-01", "success=maybe", "perPage=0",
                "from=2026-11-24&to=2026-11-23"):
        resp = await c.get(f"/audit/access-log?{bad}")
        assert resp.status == 400 and resp.json["errorCode"] == "VALIDATION_ERROR", bad


async def test_change_trail(c, clock, settings):
    c.token = await admin_token(c)
    created = (await c.post("/roles", {"name": "Runner", "permissions": ["menu.view"]})).data["role"]
    clock.advance(minutes=5)
    await c.put(f"/roles/{created['id']}", {"permissions": ["menu.view", "sales.process"]})
    clock.advance(minutes=5)
    trainee = (await c.get("/users?role=trainee")).data["users"][0]
    await c.put(f"/users/{trainee['id']}", {"firstName": "Tim"})

    resp = await c.get("/audit/changes")
    assert resp.status == 200
    rows = resp.data["changes"]
    assert resp.data["total"] == 3 == count(settings, AuditChange)
    assert set(rows[0]) == {"id", "actorId", "actorName", "entity", "entityId", "action", "oldValues", "newValues",
                            "at"}
    assert [(r["entity"], r["action"]) for r in rows] == [("user", "update"), ("role", "update"), ("role", "create")]
    assert rows[0]["actorName"] == "admin" and rows[0]["entityId"] == trainee["id"]
    assert rows[0]["oldValues"] == {"firstName": "Tom"} and rows[0]["newValues"] == {"firstName": "Tim"}
    assert rows[1]["oldValues"] == {"permissions": ["menu.view"]}
    assert rows[1]["newValues"] == {"permissions": ["menu.view", "sales.process"]}
    assert rows[2]["at"] == "2026-11-23T09:00:00.000Z"

    assert (await c.get("/audit/changes?entity=role")).data["total"] == 2
    assert (await c.get("/audit/changes?entity=role&action=create")).data["total"] == 1
    assert (await c.get(f"/audit/changes?entityId={created['id']}")).data["total"] == 2
    assert (await c.get("/audit/changes?from=2026-11-23T09:04:00Z")).data["total"] == 2
    assert (await c.get("/audit/changes?actorId=nobody")).data["total"] == 0
    assert (await c.get("/audit/changes?to=garbage")).status == 400
