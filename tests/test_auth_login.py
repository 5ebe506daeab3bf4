"""Login paths, lockouts, rate limit, refresh rotation, logout and session checks (clock injected)."""

from __future__ import annotations

import asyncio

import jwt

from main import make_app
from orm.domain.permissions import ROLE_IDS
from orm.models.model_identity import AuthSession, LoginAttempt, RateLimitHit, RefreshToken, User
from tests.conftest import TEST_JWT_SECRET
from tests.identity_support import attempts, count, live_sessions, make_user, user_id
from tests.support import Client, RunningServer

GENERIC = "Invalid username, password or PIN"


async def login(c: Client, **body) -> object:
    return await c.post("/auth/login", body, headers={"User-Agent": "pytest-terminal/1"})


# --- the login paths ---------------------------------------------------------------------------

async def test_password_login_shape_and_attempt_logged(c, settings, clock):
    resp = await login(c, username="cashier", password="password123")
    assert resp.status == 200, resp.body
    data = resp.data
    assert set(data) == {"user", "token", "refreshToken", "expiresIn", "sessionExpiry"}
    assert set(data["user"]) == {"id", "username", "firstName", "lastName", "email", "role", "roleId",
                                 "permissions", "isActive", "createdAt", "lastLogin", "hasPin", "storeId"}
    # The login ends after SESSION_IDLE_MINUTES without a request (it slides with use) ...
    assert data["expiresIn"] == settings.session_idle_minutes * 60 == 12 * 3600
    assert data["sessionExpiry"] == "2026-11-23T21:00:00.000Z"
    # ... and the access token lives as long as the login can: SESSION_MAX_HOURS.
    claims = jwt.decode(data["token"], TEST_JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["exp"] - claims["iat"] == settings.session_max_hours * 3600
    rows = attempts(settings)
    assert rows == [{"username": "cashier", "method": "password", "success": True, "reason": None,
                     "address": "127.0.0.1", "userAgent": "pytest-terminal/1", "at": clock.now}]


async def test_remember_me_is_recorded_but_lengthens_nothing(c, settings):
    resp = await login(c, username="cashier", password="password123", rememberMe=True)
    assert resp.status == 200
    assert resp.data["sessionExpiry"] == "2026-11-23T21:00:00.000Z"  # the same caps as any login
    assert count(settings, AuthSession, AuthSession.remember_me.is_(True)) == 1


async def test_pin_login_and_pin_narrowed_by_username(c, settings):
    resp = await login(c, pinCode="4567")
    assert resp.status == 200 and resp.data["user"]["username"] == "trainee"
    resp = await login(c, pinCode="4567", username="trainee")
    assert resp.status == 200
    resp = await login(c, pinCode="4567", username="cashier")
    assert resp.status == 401 and resp.json["errors"] == [GENERIC]
    assert [a["method"] for a in attempts(settings)] == ["pin", "pin", "pin"]


async def test_wrong_credentials_one_generic_message_and_all_logged(c, settings):
    make_user(settings, username="gone", active=False)
    bodies = [dict(username="manager", password="wrong-password"), dict(username="ghost", password="password123"),
              dict(pinCode="9999"), dict(username="gone", password="password123")]
    for body in bodies:
        resp = await login(c, **body)
        assert resp.status == 401, body
        assert resp.json["errorCode"] == "UNAUTHORIZED" and resp.json["errors"] == [GENERIC]
    assert [(a["username"], a["success"], a["reason"]) for a in attempts(settings)] == [
        ("manager", False, "bad_password"), ("ghost", False, "unknown_user"), (None, False, "bad_pin"),
        ("gone", False, "inactive")]


async def test_bad_login_bodies_are_400_and_not_counted(c, settings):
    for body in ({}, {"username": "x"}, {"pinCode": "12"}, {"pinCode": "abcd"}, {"pinCode": "١٢٣٤"},
                 {"username": "a", "password": "x" * 5000}):
        resp = await c.post("/auth/login", body)
        assert resp.status == 400 and resp.json["errorCode"] == "VALIDATION_ERROR", body
    assert count(settings, LoginAttempt) == 0 and count(settings, RateLimitHit) == 0


# --- lockouts ----------------------------------------------------------------------------------

async def test_password_lockout_then_expiry(c, settings, clock):
    for i in range(4):
        resp = await login(c, username="manager", password=f"wrong-{i}")
        assert resp.status == 401
        clock.advance(seconds=30)
    resp = await login(c, username="manager", password="wrong-5")
    assert resp.status == 423 and resp.json["errorCode"] == "ACCOUNT_LOCKED"
    assert resp.json["retryAfterSeconds"] == 15 * 60 and resp.headers["Retry-After"] == "900"
    # Locked: even the right password is refused, and the refusal does not extend the lock.
    clock.advance(minutes=10)
    resp = await login(c, username="manager", password="password123")
    assert resp.status == 423 and resp.json["retryAfterSeconds"] == 5 * 60
    # Other accounts are not affected.
    assert (await login(c, username="cashier", password="password123")).status == 200
    clock.advance(minutes=5)
    resp = await login(c, username="manager", password="password123")
    assert resp.status == 200, resp.body
    reasons = [a["reason"] for a in attempts(settings) if a["username"] == "manager"]
    assert reasons == ["bad_password"] * 5 + ["locked", None]


async def test_lockout_counts_only_failures_within_the_window(c, clock):
    for _ in range(4):
        assert (await login(c, username="manager", password="wrong-password")).status == 401
    clock.advance(minutes=16)
    # The earlier four are outside the 15-minute window now: one more failure does not lock.
    assert (await login(c, username="manager", password="wrong-password")).status == 401
    assert (await login(c, username="manager", password="password123")).status == 200


async def test_successful_login_starts_the_count_afresh(c, clock):
    for _ in range(4):
        assert (await login(c, username="manager", password="wrong-password")).status == 401
    assert (await login(c, username="manager", password="password123")).status == 200
    assert (await login(c, username="manager", password="wrong-password")).status == 401


async def test_unknown_username_locks_like_a_real_one(c):
    statuses = [(await login(c, username="nobody", password="whatever1")).status for _ in range(6)]
    assert statuses == [401, 401, 401, 401, 423, 423]


async def test_lockout_uses_store_settings(c, settings, clock):
    from orm.models.model_settings import StoreSettings
    from tests.conftest import run_unit

    def tighten(session):
        from orm.controllers.stores import store_settings

        row = store_settings.settings_row(session, settings)
        assert isinstance(row, StoreSettings)
        row.lockout_attempts, row.lockout_minutes = 2, 1

    run_unit(settings, tighten)
    assert (await login(c, username="manager", password="wrong-password")).status == 401
    resp = await login(c, username="manager", password="wrong-password")
    assert resp.status == 423 and resp.json["retryAfterSeconds"] == 60
    clock.advance(seconds=61)
    assert (await login(c, username="manager", password="password123")).status == 200


async def test_pin_cooldown_per_address(c, settings, clock):
    for _ in range(4):
        assert (await login(c, pinCode="0000")).status == 401
    resp = await login(c, pinCode="0001")
    assert resp.status == 423 and resp.json["retryAfterSeconds"] == settings.pin_lockout_seconds
    assert resp.headers["Retry-After"] == str(settings.pin_lockout_seconds)
    resp = await login(c, pinCode="3456")  # a correct PIN waits too
    assert resp.status == 423
    # Password logins from the same terminal are not part of the PIN cool-down.
    assert (await login(c, username="cashier", password="password123")).status == 200
    clock.advance(seconds=settings.pin_lockout_seconds)
    resp = await login(c, pinCode="3456")
    assert resp.status == 200 and resp.data["user"]["username"] == "cashier"


# --- rate limit --------------------------------------------------------------------------------

async def test_login_rate_limit_per_address_and_window_reset(settings, clock, demo_users):
    s = settings.with_overrides(login_rate_limit_per_minute=3)
    running = RunningServer(make_app(s, clock=clock))
    c = running.client()
    try:
        clock.advance(seconds=10)
        for _ in range(3):
            assert (await login(c, username="cashier", password="password123")).status == 200
        resp = await login(c, username="cashier", password="password123")
        assert resp.status == 429 and resp.json["errorCode"] == "RATE_LIMITED"
        assert resp.headers["Retry-After"] == "50" and resp.json["retryAfterSeconds"] == 50
        assert attempts(settings)[-1]["reason"] == "rate_limited"
        clock.advance(seconds=50)
        assert (await login(c, username="cashier", password="password123")).status == 200
        clock.advance(minutes=5)
        assert (await login(c, username="cashier", password="password123")).status == 200
        # Finished windows are pruned: only the current one is left.
        assert count(settings, RateLimitHit) == 1
    finally:
        c.close()
        await running.stop()


def test_rate_limit_counter_is_an_atomic_upsert(settings, clock):
    """Two units of work on the same key add up (the counter lives in the shared database)."""
    from orm.controllers.identity.login_guard import count_hit
    from tests.conftest import run_unit

    results = [run_unit(settings, count_hit, "login:10.0.0.9", 2, clock.now) for _ in range(3)]
    assert results[:2] == [None, None] and results[2] == 60
    hits = run_unit(settings, lambda s: s.get(RateLimitHit, ("login:10.0.0.9", int(clock.now.timestamp()) // 60)))
    assert hits.hits == 3


# --- tokens ------------------------------------------------------------------------------------

async def test_refresh_rotation_and_reuse_revokes_the_login(c, settings):
    first = (await login(c, username="cashier", password="password123")).data
    resp = await c.post("/auth/refresh", {"refreshToken": first["refreshToken"]})
    assert resp.status == 200, resp.body
    second = resp.data
    assert set(second) == {"user", "token", "refreshToken", "expiresIn", "sessionExpiry"}
    assert second["refreshToken"] != first["refreshToken"] and second["sessionExpiry"] == first["sessionExpiry"]
    assert (await c.get("/auth/me", token=second["token"])).status == 200
    # The old refresh token is spent; presenting it again kills the whole login.
    resp = await c.post("/auth/refresh", {"refreshToken": first["refreshToken"]})
    assert resp.status == 401
    assert (await c.get("/auth/me", token=second["token"])).status == 401
    assert (await c.get("/auth/me", token=first["token"])).status == 401
    assert (await c.post("/auth/refresh", {"refreshToken": second["refreshToken"]})).status == 401
    assert attempts(settings)[-1]["reason"] == "refresh_reuse"
    assert count(settings, AuthSession, AuthSession.revoked_reason == "refresh_reuse") == 1
    # Other logins of the same user live on.
    other = (await login(c, username="cashier", password="password123")).data
    assert (await c.get("/auth/me", token=other["token"])).status == 200


async def test_refresh_refusals(c, settings, clock):
    resp = await c.post("/auth/refresh", {"refreshToken": "made-up"})
    assert resp.status == 401
    for body in ({}, {"refreshToken": ""}, {"refreshToken": 5}):
        assert (await c.post("/auth/refresh", body)).status == 400
    data = (await login(c, username="cashier", password="password123")).data
    clock.advance(minutes=settings.session_idle_minutes, seconds=1)
    assert (await c.post("/auth/refresh", {"refreshToken": data["refreshToken"]})).status == 401
    assert count(settings, RefreshToken) == 1


async def test_access_token_outlives_fifteen_minutes_and_refresh_still_rotates(c, clock):
    """Issue 13: a terminal that never refreshes keeps selling; clients that refresh still can."""
    data = (await login(c, username="cashier", password="password123")).data
    clock.advance(minutes=15, seconds=1)
    assert (await c.get("/auth/me", token=data["token"])).status == 200
    fresh = (await c.post("/auth/refresh", {"refreshToken": data["refreshToken"]})).data
    assert (await c.get("/auth/me", token=fresh["token"])).status == 200
    assert (await c.get("/auth/me", token=data["token"])).status == 200  # same login, still alive


async def test_tampered_tokens_refused(c):
    data = (await login(c, username="admin", password="password123")).data
    claims = jwt.decode(data["token"], TEST_JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    other_key = "not-the-server-key-0123456789-abcdefgh"
    forged_sub = jwt.encode({**claims, "sub": "someone-else"}, other_key, algorithm="HS256")
    as_refresh = jwt.encode({**claims, "typ": "refresh"}, TEST_JWT_SECRET, algorithm="HS256")
    none_alg = jwt.encode(claims, key=None, algorithm="none")
    for token in (forged_sub, as_refresh, none_alg, data["token"] + "x", data["refreshToken"]):
        assert (await c.get("/auth/me", token=token)).status == 401, token


async def test_logout_revokes_this_session_only(c, settings):
    a = (await login(c, username="manager", password="password123")).data
    b = (await login(c, username="manager", password="password123")).data
    resp = await c.post("/auth/logout", token=a["token"])
    assert resp.status == 200 and resp.json["success"] is True
    assert (await c.get("/auth/me", token=a["token"])).status == 401
    assert (await c.post("/auth/refresh", {"refreshToken": a["refreshToken"]})).status == 401
    assert (await c.get("/auth/me", token=b["token"])).status == 200
    assert live_sessions(settings, user_id(settings, "manager")) == 1
    assert (await c.post("/auth/logout")).status == 401


async def test_validate_session(c):
    data = (await login(c, username="trainee", password="password123", rememberMe=True)).data
    resp = await c.post("/auth/validate-session", token=data["token"])
    assert resp.status == 200
    assert resp.data["valid"] is True and resp.data["sessionExpiry"] == data["sessionExpiry"]
    assert resp.data["user"]["username"] == "trainee"
    assert (await c.post("/auth/validate-session")).status == 401


async def test_deactivated_user_refused_at_once(c, settings):
    cashier = (await login(c, username="cashier", password="password123")).data
    admin = (await login(c, username="admin", password="password123")).data
    assert (await c.get("/auth/me", token=cashier["token"])).status == 200
    resp = await c.patch(f"/users/{cashier['user']['id']}/deactivate", token=admin["token"])
    assert resp.status == 200 and resp.data["user"]["isActive"] is False
    assert (await c.get("/auth/me", token=cashier["token"])).status == 401
    assert (await c.post("/auth/refresh", {"refreshToken": cashier["refreshToken"]})).status == 401
    assert (await login(c, username="cashier", password="password123")).status == 401
    assert (await login(c, pinCode="3456")).status == 401


# --- concurrency (real on PostgreSQL; serialized by BEGIN IMMEDIATE on SQLite) ---------------------

async def test_concurrent_logins_never_exceed_the_rate_limit(settings, clock, demo_users):
    s = settings.with_overrides(login_rate_limit_per_minute=5)
    running = RunningServer(make_app(s, clock=clock))
    clients = [running.client() for _ in range(12)]
    try:
        results = await asyncio.gather(*(login(cl, username="cashier", password="password123") for cl in clients))
        statuses = sorted(r.status for r in results)
        assert statuses == [200] * 5 + [429] * 7
    finally:
        for cl in clients:
            cl.close()
        await running.stop()


async def test_concurrent_refresh_with_one_token_revokes_the_login(c, timed, settings):
    data = (await login(c, username="cashier", password="password123")).data
    others = [timed.client() for _ in range(2)]
    try:
        results = await asyncio.gather(*(o.post("/auth/refresh", {"refreshToken": data["refreshToken"]})
                                         for o in others))
    finally:
        for o in others:
            o.close()
    assert sorted(r.status for r in results) == [200, 401]
    winner = next(r for r in results if r.status == 200).data
    assert (await c.get("/auth/me", token=winner["token"])).status == 401
    assert live_sessions(settings, data["user"]["id"]) == 0


async def test_two_admins_removing_each_other_leave_one(c, timed, settings):
    second = make_user(settings, role="admin")
    a = (await login(c, username="admin", password="password123")).data
    b = (await login(c, username=second["username"], password="password123")).data
    ca, cb = timed.client(), timed.client()
    try:
        results = await asyncio.gather(ca.patch(f"/users/{b['user']['id']}/deactivate", token=a["token"]),
                                       cb.patch(f"/users/{a['user']['id']}/deactivate", token=b["token"]))
    finally:
        ca.close()
        cb.close()
    assert sorted(r.status for r in results)[0] == 200
    assert sorted(r.status for r in results)[1] in (401, 409)
    active_admins = count(settings, User, User.role_id == ROLE_IDS["admin"], User.is_active.is_(True))
    assert active_admins == 1
