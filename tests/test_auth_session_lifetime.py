"""Session lifetime (API.md Auth, issue 13 item 2): the access token lives as long as its login.

A login ends on logout or revocation, after SESSION_IDLE_MINUTES without a request, or
SESSION_MAX_HOURS after sign-in.  The clock is injected: tests move time, never wait.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from main import make_app
from orm.models.model_identity import AuthSession
from tests.support import CLOCK_START, Client, RunningServer


async def sign_in(c: Client, **extra) -> dict:
    resp = await c.post("/auth/login", {"username": "cashier", "password": "password123", **extra})
    assert resp.status == 200, resp.body
    return resp.data


def last_seen(settings) -> list:
    from tests.conftest import run_unit
    return run_unit(settings, lambda s: list(s.scalars(select(AuthSession.last_seen_at))))


async def test_a_busy_terminal_keeps_selling_all_day(c, clock, settings):
    """Requests every few minutes keep the login alive past the old 15 min (and 12 h) marks."""
    data = await sign_in(c)
    for _ in range(8 * 12):  # 16 hours, a request every 10 minutes
        clock.advance(minutes=10)
        resp = await c.get("/auth/me", token=data["token"])
        assert resp.status == 200, (clock.now, resp.body)
    # The hard cap: SESSION_MAX_HOURS after sign-in, however busy.
    clock.now = CLOCK_START + timedelta(hours=settings.session_max_hours, seconds=-1)
    assert (await c.get("/auth/me", token=data["token"])).status == 200
    clock.advance(seconds=1)
    resp = await c.get("/auth/me", token=data["token"])
    assert resp.status == 401 and resp.json["errorCode"] == "TOKEN_EXPIRED"
    assert (await c.post("/auth/refresh", {"refreshToken": data["refreshToken"]})).status == 401


async def test_idle_login_ends_and_refresh_cannot_revive_it(c, clock, settings):
    data = await sign_in(c)
    clock.advance(minutes=settings.session_idle_minutes - 1)
    assert (await c.get("/auth/me", token=data["token"])).status == 200  # a request restarts the idle clock
    clock.advance(minutes=settings.session_idle_minutes)  # idle since; still inside SESSION_MAX_HOURS
    resp = await c.get("/auth/me", token=data["token"])
    assert resp.status == 401 and resp.json["errorCode"] == "TOKEN_EXPIRED"
    assert resp.json["errors"] == ["This session has expired; please sign in again"]
    assert (await c.post("/auth/refresh", {"refreshToken": data["refreshToken"]})).status == 401


async def test_revoked_login_is_unauthorized_not_expired(c):
    data = await sign_in(c)
    assert (await c.post("/auth/logout", token=data["token"])).status == 200
    resp = await c.get("/auth/me", token=data["token"])
    assert resp.status == 401 and resp.json["errorCode"] == "UNAUTHORIZED"


async def test_expiry_reported_slides_with_use(c, clock, settings):
    data = await sign_in(c, rememberMe=True)  # rememberMe lengthens nothing
    idle = timedelta(minutes=settings.session_idle_minutes)
    assert data["sessionExpiry"] == (CLOCK_START + idle).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert data["expiresIn"] == settings.session_idle_minutes * 60
    clock.advance(hours=11)
    resp = await c.post("/auth/validate-session", token=data["token"])
    assert resp.status == 200
    assert resp.data["sessionExpiry"] == (clock.now + idle).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    # Near the hard cap the cap is what is reported (and what a refresh returns).
    clock.now = CLOCK_START + timedelta(hours=settings.session_max_hours - 2)
    fresh = (await c.post("/auth/refresh", {"refreshToken": data["refreshToken"]})).data
    cap = CLOCK_START + timedelta(hours=settings.session_max_hours)
    assert fresh["sessionExpiry"] == cap.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert fresh["expiresIn"] == 2 * 3600


async def test_last_seen_is_written_at_most_once_a_minute(c, clock, settings):
    data = await sign_in(c)
    assert last_seen(settings) == [CLOCK_START]
    for _ in range(5):
        clock.advance(seconds=10)
        assert (await c.get("/auth/me", token=data["token"])).status == 200
    assert last_seen(settings) == [CLOCK_START]  # 50 s of requests: no write
    clock.advance(seconds=10)
    assert (await c.get("/auth/me", token=data["token"])).status == 200
    assert last_seen(settings) == [CLOCK_START + timedelta(minutes=1)]


async def test_shorter_caps_apply_to_logins_already_open(settings, clock, demo_users):
    """The caps are read per request, so an operator lowering them affects open logins too."""
    running = RunningServer(make_app(settings, clock=clock))
    c = running.client()
    try:
        data = await sign_in(c)
    finally:
        c.close()
        await running.stop()
    strict = settings.with_overrides(session_idle_minutes=5, session_max_hours=1)
    running = RunningServer(make_app(strict, clock=clock))
    c = running.client()
    try:
        clock.advance(minutes=4)
        assert (await c.get("/auth/me", token=data["token"])).status == 200
        clock.advance(minutes=5, seconds=1)
        assert (await c.get("/auth/me", token=data["token"])).json["errorCode"] == "TOKEN_EXPIRED"
    finally:
        c.close()
        await running.stop()


def test_session_caps_are_validated():
    from settings import Settings, SettingsError, validate

    for bad in ({"session_idle_minutes": 0}, {"session_max_hours": 0}, {"session_idle_minutes": 10**9},
                {"session_max_hours": 10**9}):
        with pytest.raises(SettingsError):
            validate(Settings(jwt_secret="x" * 32, **bad))
