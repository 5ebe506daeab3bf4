"""Reads that skip the database (issue 17): the principal cache, /health's probe, ready menu answers.

Round trips are observed with SQLAlchemy engine events on the server's own engine (what it sends to
the database), never by replacing our code.  The login and menu caches answer only while the event
bus can vouch for their invalidations - with PostgreSQL, while the LISTEN connection is up - so each
server starts its bus as main.serve does; on SQLite they stay off (and those tests are skipped).
Across processes: two apps on one PostgreSQL database, each with its own event bus connection, as
two server processes would be.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import event, select

from main import make_app
from orm.controllers.identity import auth, password_reset
from orm.domain import security
from orm.domain.principal import Principal
from orm.models.model_identity import AuthSession
from settings import Settings
from tests.identity_support import make_role, make_user
from tests.support import PG_URL, Client, FakeClock, RunningServer

PROBE = "/menu_items/categories"  # needs menu.view; the login check is what these tests watch
REFRESH: dict[str, str] = {}  # access token -> its refresh token
pg_only = pytest.mark.skipif(not PG_URL, reason="several processes share one database only on PostgreSQL")
# On SQLite a command in another process could write unheard, so the read caches stay off there.
caching = pytest.mark.skipif(not PG_URL, reason="the read caches answer only with PostgreSQL's LISTEN")


class Statements:
    """What one server sent to its database while the block ran (the event bus's NOTIFYs aside)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def logins(self) -> list[str]:
        return [s for s in self.sent if "auth_sessions" in s]

    def probes(self) -> list[str]:
        return [s for s in self.sent if s.strip().upper() == "SELECT 1"]


@contextmanager
def statements(server: RunningServer) -> Iterator[Statements]:
    log = Statements()

    def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        if "pg_notify" not in statement:
            log.sent.append(statement)

    event.listen(server.ctx.engine, "before_cursor_execute", on_execute)
    try:
        yield log
    finally:
        event.remove(server.ctx.engine, "before_cursor_execute", on_execute)


async def started(settings: Settings, clock: FakeClock) -> RunningServer:
    running = RunningServer(make_app(settings, clock=clock))
    await running.ctx.event_bus.start()
    return running


@pytest.fixture
async def one(settings: Settings, clock: FakeClock, demo_users) -> AsyncIterator[RunningServer]:
    running = await started(settings, clock)
    yield running
    await running.stop()


@pytest.fixture
async def two(settings: Settings, clock: FakeClock, demo_users) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    a, b = await started(settings, clock), await started(settings, clock)
    yield a, b
    await a.stop()
    await b.stop()


async def sign_in(server: RunningServer, username: str, password: str = "password123") -> Client:
    c = server.client()
    resp = await c.post("/auth/login", {"username": username, "password": password})
    assert resp.status == 200, resp.body
    c.token = resp.data["token"]
    REFRESH[c.token] = resp.data["refreshToken"]
    return c


async def admin_of(server: RunningServer) -> Client:
    return await sign_in(server, "admin")


async def warm(server: RunningServer, c: Client) -> None:
    """The login is read once, then answered from the cache (no statement about it)."""
    assert (await c.get(PROBE)).status == 200
    with statements(server) as sent:
        assert (await c.get(PROBE)).status == 200
    assert sent.logins() == []


# ---- one process ---------------------------------------------------------------------------------------


@caching
async def test_the_login_is_read_once_a_minute_and_last_seen_still_moves(one, clock, settings):
    c = await sign_in(one, "cashier")
    with statements(one) as first:
        assert (await c.get(PROBE)).status == 200
    assert len(first.logins()) == 1  # the read (last seen is the sign-in time: no write due)
    clock.advance(seconds=59)
    with statements(one) as cached:
        assert (await c.get(PROBE)).status == 200
    assert cached.logins() == []
    clock.advance(seconds=1)  # a minute since last seen: the request that is due for the write reads
    with statements(one) as due:
        assert (await c.get(PROBE)).status == 200
    assert any(s.lstrip().upper().startswith("UPDATE AUTH_SESSIONS") for s in due.logins()), due.sent
    seen = await one.ctx.run_db(lambda s: s.scalar(select(AuthSession.last_seen_at)
                                                   .order_by(AuthSession.last_seen_at.desc())))
    assert seen == clock.now
    with statements(one) as again:
        assert (await c.get(PROBE)).status == 200
    assert again.logins() == []
    # The idle limit holds from cached data too: exactly SESSION_IDLE_MINUTES after the last request.
    clock.advance(minutes=settings.session_idle_minutes)
    resp = await c.get(PROBE)
    assert resp.status == 401 and resp.json["errorCode"] == "TOKEN_EXPIRED"


async def _logout(server, victim, admin, ids):
    assert (await victim.post("/auth/logout")).status == 200


async def _deactivate(server, victim, admin, ids):
    assert (await admin.patch(f"/users/{ids['user']}/deactivate")).status == 200


async def _delete(server, victim, admin, ids):
    assert (await admin.delete(f"/users/{ids['user']}")).status == 200


async def _password_change(server, victim, admin, ids):
    assert (await admin.put(f"/users/{ids['user']}", {"password": "another-password1"})).status == 200


async def _password_reset(server, victim, admin, ids):
    ctx = server.ctx
    mails = await ctx.run_db(password_reset.issue_tokens, ids["email"], ctx.clock())
    await ctx.run_db(password_reset.confirm, mails[0].token, "not-a-real-hash", ctx.clock())


async def _refresh_reuse(server, victim, admin, ids):
    body = {"refreshToken": REFRESH[victim.token]}
    assert (await victim.post("/auth/refresh", body, auth=False)).status == 200
    assert (await victim.post("/auth/refresh", body, auth=False)).status == 401  # reuse: the login ends


async def _role_permissions(server, victim, admin, ids):
    assert (await admin.put(f"/roles/{ids['role']}", {"permissions": ["inventory.view"]})).status == 200


async def _role_change(server, victim, admin, ids):
    assert (await admin.put(f"/users/{ids['user']}/role", {"roleId": ids["other_role"]})).status == 200


async def _user_revoke(server, victim, admin, ids):
    assert (await admin.put(f"/users/{ids['user']}/permissions", {"revokes": ["menu.view"]})).status == 200


CHANGES = {
    "logout": (_logout, 401),
    "deactivation": (_deactivate, 401),
    "delete": (_delete, 401),
    "password change": (_password_change, 401),
    "password reset": (_password_reset, 401),
    "refresh token reuse": (_refresh_reuse, 401),
    "role permission edit": (_role_permissions, 403),
    "role change": (_role_change, 403),
    "per-user revoke": (_user_revoke, 403),
}


async def victim_of(server: RunningServer, settings: Settings) -> tuple[Client, dict[str, str]]:
    role = make_role(settings, ["menu.view"])
    other = make_role(settings, ["inventory.view"])
    email = f"{role['name']}@example.com"
    user = make_user(settings, role=role["name"], email=email)
    c = await sign_in(server, user["username"])
    return c, {"user": user["id"], "role": role["id"], "other_role": other["id"], "email": email}


@caching
@pytest.mark.parametrize("change", list(CHANGES))
async def test_every_change_of_a_login_or_its_permissions_acts_on_the_next_request(one, settings, change):
    admin = await admin_of(one)
    victim, ids = await victim_of(one, settings)
    await warm(one, victim)
    make_change, status = CHANGES[change]
    await make_change(one, victim, admin, ids)
    assert (await victim.get(PROBE)).status == status


@caching
async def test_a_per_user_grant_acts_on_the_next_request(one, settings):
    admin = await admin_of(one)
    victim, ids = await victim_of(one, settings)
    await warm(one, victim)
    assert (await victim.get("/inventory")).status == 403
    assert (await admin.put(f"/users/{ids['user']}/permissions", {"grants": ["inventory.view"]})).status == 200
    assert (await victim.get("/inventory")).status == 200


@caching
async def test_a_store_change_acts_on_the_next_request(one):
    """A cached login carries the user's store: moving the user drops it."""
    admin = await admin_of(one)
    store = await admin.post("/stores", {"name": "Moved here"})
    assert store.status == 201, store.body
    assert (await admin.post("/inventory", {"name": "Beans here", "unit": "kg"})).status == 201
    victim = await sign_in(one, "cashier")
    victim_id = (await victim.get("/auth/me")).data["user"]["id"]
    await warm(one, victim)
    assert [i["name"] for i in (await victim.get("/inventory")).data["inventory"]] == ["Beans here"]
    assert (await admin.put(f"/users/{victim_id}", {"storeId": store.data["store"]["id"]})).status == 200
    assert (await victim.get("/inventory")).data["inventory"] == []


@caching
async def test_a_read_that_overlaps_an_invalidation_is_not_kept(one, settings, clock):
    """A login read before a revocation committed may be stale: it answers its own request only."""
    ctx = one.ctx
    victim = await sign_in(one, "cashier")
    claims = security.decode_access_token(victim.token, secret=ctx.settings.jwt_secret, now=clock.now)
    cache = ctx.principal_cache
    ticket = cache.ticket()
    login = await ctx.run_db(auth.login_for, claims["sub"], claims["sid"], clock.now, ctx.settings)
    await ctx.run_db(auth.logout, claims["sid"], clock.now)  # committed (and announced) meanwhile
    cache.store(ticket, login)
    assert cache.lookup(claims["sub"], claims["sid"], clock.now, ctx.settings) is None
    assert (await victim.get(PROBE)).status == 401


# ---- /health ---------------------------------------------------------------------------------------------


async def test_health_probes_the_database_at_most_once_a_second(one, clock):
    c = one.client()
    with statements(one) as first:
        assert (await c.get("/health")).status == 200
    assert len(first.probes()) == 1
    clock.advance(seconds=0.999)
    with statements(one) as within:
        resp = await c.get("/health")
    assert resp.status == 200 and resp.data["checks"]["database"]["status"] == "healthy"
    assert within.sent == []
    clock.advance(seconds=0.001)
    with statements(one) as after:
        assert (await c.get("/health")).status == 200
    assert len(after.probes()) == 1
    # Requests that find the probe stale together share one new probe.
    clock.advance(seconds=1)
    with statements(one) as burst:
        answers = await asyncio.gather(*(c.get("/health") for _ in range(8)))
    assert {r.status for r in answers} == {200}
    assert len(burst.probes()) == 1


# ---- GET /menu_items -------------------------------------------------------------------------------------


@caching
async def test_an_unchanged_menu_is_answered_from_memory_and_304_too(one):
    admin = await admin_of(one)
    assert (await admin.post("/menu_items", {"name": "Flat white", "price": "3.40"})).status == 201
    first = await admin.get("/menu_items")
    assert first.status == 200
    hits = one.ctx.menu_pages.hits
    with statements(one) as sent:
        again = await admin.get("/menu_items")
        not_modified = await admin.get("/menu_items", headers={"If-None-Match": first.headers["ETag"]})
    assert sent.sent == []  # neither the login nor the menu is read
    assert one.ctx.menu_pages.hits == hits + 2
    assert again.body.split(b'"timestamp"')[0] == first.body.split(b'"timestamp"')[0]
    assert again.json["timestamp"].endswith("Z")
    assert not_modified.status == 304 and not_modified.body == b""
    assert not_modified.headers["ETag"] == first.headers["ETag"]
    # An edit empties it at once.
    item = first.data["menu_items"][0]
    assert (await admin.put(f"/menu_items/{item['id']}", {"price": "3.60"})).status == 200
    changed = await admin.get("/menu_items", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status == 200 and D(str(changed.data["menu_items"][0]["price"])) == D("3.60")


async def _counted_item(admin: Client) -> str:
    resp = await admin.post("/menu_items", {"name": "Cinnamon roll", "price": "3.20", "stockCount": 5})
    assert resp.status == 201, resp.body
    return str(resp.data["menuItem"]["id"])


def _stock_count(resp, item_id: str) -> int | None:
    return next(i["stockCount"] for i in resp.data["menu_items"] if i["id"] == item_id)


SALE = {"payments": [{"method": "card"}]}


@caching
async def test_a_sale_of_counted_goods_empties_the_cached_menu(one):
    admin = await admin_of(one)
    item_id = await _counted_item(admin)
    first = await admin.get("/menu_items")
    assert _stock_count(first, item_id) == 5
    hits = one.ctx.menu_pages.hits
    assert (await admin.get("/menu_items")).status == 200 and one.ctx.menu_pages.hits == hits + 1  # cached
    sold = await admin.post("/orders", {"items": [{"menuItemId": item_id, "quantity": 2}], **SALE})
    assert sold.status == 201, sold.body
    after = await admin.get("/menu_items", headers={"If-None-Match": first.headers["ETag"]})
    assert after.status == 200 and _stock_count(after, item_id) == 3


# ---- two processes on one PostgreSQL database ----------------------------------------------------------------


@pg_only
async def test_logout_on_one_process_is_refused_by_the_other_on_the_next_request(two):
    a, b = two
    on_a = await sign_in(a, "cashier")
    on_b = b.client()
    on_b.token = on_a.token
    await warm(b, on_b)
    assert (await on_a.post("/auth/logout")).status == 200
    resp = await on_b.get(PROBE)  # the very next request, no waiting
    assert resp.status == 401 and resp.json["errorCode"] == "UNAUTHORIZED"


@pg_only
@pytest.mark.parametrize("change", ["deactivation", "password change", "role permission edit", "per-user revoke"])
async def test_changes_made_on_one_process_act_on_the_other_at_once(two, settings, change):
    a, b = two
    admin = await admin_of(a)
    victim_a, ids = await victim_of(a, settings)
    victim_b = b.client()
    victim_b.token = victim_a.token
    await warm(b, victim_b)
    make_change, status = CHANGES[change]
    await make_change(a, victim_a, admin, ids)
    assert (await victim_b.get(PROBE)).status == status


@pg_only
async def test_without_its_listener_a_process_reads_every_login(two):
    _, b = two
    c = await sign_in(b, "cashier")
    await warm(b, c)
    await b.ctx.event_bus.stop()  # notifications from A could now be missed: nothing is trusted
    for _ in range(2):
        with statements(b) as sent:
            assert (await c.get(PROBE)).status == 200
        assert len(sent.logins()) == 1
    await b.ctx.event_bus.start()  # listening again: cached from the next read on
    await warm(b, c)


@pg_only
async def test_a_menu_edit_on_one_process_changes_the_other_s_answer_at_once(two):
    a, b = two
    admin_a, admin_b = await admin_of(a), await admin_of(b)
    item = (await admin_a.post("/menu_items", {"name": "Mocha", "price": "3.90"})).data["menuItem"]
    seen = await admin_b.get("/menu_items")
    with statements(b) as sent:
        assert (await admin_b.get("/menu_items", headers={"If-None-Match": seen.headers["ETag"]})).status == 304
    assert sent.sent == []
    assert (await admin_a.put(f"/menu_items/{item['id']}", {"price": "4.10"})).status == 200
    resp = await admin_b.get("/menu_items", headers={"If-None-Match": seen.headers["ETag"]})
    assert resp.status == 200 and resp.headers["ETag"] != seen.headers["ETag"]


def test_idle_limits_are_checked_from_the_cached_login(settings):
    """Login.usable_at: the idle limit, the hard cap and the one-minute touch, all exact."""
    start = FakeClock().now
    login = auth.Login(Principal(user_id="u", username="u", role="r", session_id="s"),
                       created_at=start, expires_at=start + timedelta(hours=settings.session_max_hours),
                       last_seen_at=start)
    assert login.usable_at(start, settings)
    assert login.usable_at(start + timedelta(seconds=59), settings)
    assert not login.usable_at(start + auth.LAST_SEEN_GRANULARITY, settings)
    assert not login.usable_at(start - timedelta(seconds=1), settings)  # a clock set back: read again
    assert not login.usable_at(start, replace(settings, session_idle_minutes=0))
    capped = replace(login, created_at=start - timedelta(hours=settings.session_max_hours, seconds=-30))
    assert capped.usable_at(start + timedelta(seconds=29), settings)
    assert not capped.usable_at(start + timedelta(seconds=30), settings)


@pg_only
async def test_a_password_reset_by_the_admin_command_ends_cached_logins(one, settings):
    """`python main.py create-admin --reset-password`, a process of its own, tells the servers too."""
    from tests.test_create_admin import PASSWORD, create_admin

    made = await asyncio.to_thread(create_admin, settings, "--username", "boss", "--password-stdin",
                                   stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    boss = await sign_in(one, "boss", PASSWORD)
    await warm(one, boss)
    reset = await asyncio.to_thread(create_admin, settings, "--username", "boss", "--password-stdin",
                                    "--reset-password", stdin="another battery staple\n")
    assert reset.returncode == 0, reset.stderr

    async def refused() -> bool:
        return (await boss.get(PROBE)).status == 401

    # The NOTIFY was sent before the command exited; it may still be on its way to this listener.
    for _ in range(100):
        if await refused():
            break
        await asyncio.sleep(0.05)
    assert await refused()


@pg_only
async def test_a_sale_of_counted_goods_reaches_the_other_process_s_menu(two):
    a, b = two
    admin_a, admin_b = await admin_of(a), await admin_of(b)
    item_id = await _counted_item(admin_a)
    assert _stock_count(await admin_b.get("/menu_items"), item_id) == 5
    sold = await admin_a.post("/orders", {"items": [{"menuItemId": item_id, "quantity": 2}], **SALE})
    assert sold.status == 201, sold.body
    # Sales do not wait for their NOTIFY to come back, so wait on the condition (bounded), not a time.
    async with asyncio.timeout(10):
        while _stock_count(await admin_b.get("/menu_items"), item_id) != 3:
            await asyncio.sleep(0.01)
