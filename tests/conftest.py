"""Fixtures shared by every test: settings, a fresh database, a running server, clients."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from main import make_app  # noqa: E402
from settings import Settings, load_settings  # noqa: E402
from tests.support import CLOCK_START, Client, DatabaseFactory, FakeClock, RunningServer, suite_now  # noqa: E402

TEST_JWT_SECRET = "test-secret-0123456789-abcdefghijklmnop"


@pytest.fixture(autouse=True)
def _suite_clock() -> None:
    """Each test starts at CAFEPOS_TEST_NOW when it is set (see tests.support.SuiteClock)."""
    suite_now.restart()


@pytest.fixture(scope="session")
def db_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    factory.close()


@pytest.fixture
def database_url(db_factory: DatabaseFactory) -> Iterator[str]:
    url = db_factory.create()
    yield url
    db_factory.drop(url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=database_url,
        uploads_dir=tmp_path / "uploads",
        jwt_secret=TEST_JWT_SECRET,
        pin_pepper="test-pin-pepper",
        bcrypt_rounds=4,
        debug=True,
        smtp_server="",
        log_format="text",
    )


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    running = RunningServer(make_app(settings, clock=suite_now))
    yield running
    await running.stop()


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[Client]:
    c = server.client()
    yield c
    c.close()


ROLES = ("admin", "manager", "cashier", "trainee")
DEMO_PASSWORD = "password123"


def run_unit(settings: Settings, fn, *args, **kw):
    """Run one unit of work against the test database outside the server (arrange/assert)."""
    from orm.db import make_engine, make_session_factory, unit_of_work

    engine = make_engine(settings.database_url, pooled=False)
    try:
        return unit_of_work(make_session_factory(engine), fn, *args, **kw)
    finally:
        engine.dispose()


@pytest.fixture
def demo_users(settings: Settings) -> dict[str, int]:
    """The four demo staff (password123; PINs 1234/2345/3456/4567)."""
    from orm.seed.identity import seed_test

    return run_unit(settings, seed_test, settings)


@pytest.fixture
async def tokens(server: RunningServer, demo_users) -> dict[str, str]:
    """An access token per built-in role, obtained through POST /auth/login."""
    c = server.client()
    out: dict[str, str] = {}
    try:
        for role in ROLES:
            resp = await c.post("/auth/login", {"username": role, "password": DEMO_PASSWORD})
            assert resp.status == 200, resp.body
            out[role] = resp.data["token"]
    finally:
        c.close()
    return out


@pytest.fixture
async def as_role(server: RunningServer, tokens: dict[str, str]) -> AsyncIterator:
    """`as_role("cashier")` -> a Client that sends that role's token."""
    made: list[Client] = []

    def make(role: str) -> Client:
        c = server.client()
        c.token = tokens[role]
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
async def admin(as_role) -> Client:
    return as_role("admin")


# ---- a server on a clock the test moves (identity, reports, dashboards) ----------------------------------


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> FakeClock:
    """A FakeClock at tests.support.CLOCK_START, or at the test module's own CLOCK_START."""
    return FakeClock(getattr(request.module, "CLOCK_START", CLOCK_START))


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    """The settings `app_server` runs with; modules override this fixture (e.g. to add SMTP)."""
    return settings


@pytest.fixture
async def app_server(app_settings: Settings, clock: FakeClock) -> AsyncIterator[RunningServer]:
    running = RunningServer(make_app(app_settings, clock=clock))
    yield running
    await running.stop()


@pytest.fixture
async def staff(app_server: RunningServer, demo_users) -> AsyncIterator[dict[str, Client]]:
    """A logged-in client per built-in role (tokens issued by the fake-clock server)."""
    clients: dict[str, Client] = {}
    for role in ROLES:
        c = app_server.client()
        r = await c.post("/auth/login", {"username": role, "password": DEMO_PASSWORD})
        assert r.status == 200, r.body
        c.token = r.data["token"]
        clients[role] = c
    yield clients
    for c in clients.values():
        c.close()


@pytest.fixture
async def menu(staff: dict[str, Client]) -> dict[str, str]:
    """The reports' menu (tests.reports_support.MENU): key -> menu item id, created through POST /menu_items."""
    from tests.reports_support import MENU

    ids = {}
    for key, body in MENU.items():
        r = await staff["admin"].post("/menu_items", body)
        assert r.status == 201, r.body
        ids[key] = r.data["menuItem"]["id"]
    return ids


@pytest.fixture
async def sockets() -> AsyncIterator[list]:
    """WebSocket connections a test opens (tests.test_ws_dashboard.connect), closed after it."""
    opened: list = []
    yield opened
    for conn in opened:
        conn.close()


@pytest.fixture
def cafe(settings: Settings, demo_users):
    """A small café straight in the database (tests.orders_support.build_cafe)."""
    from tests.orders_support import build_cafe

    return run_unit(settings, build_cafe, settings)


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, of the suite's kind (migrations and first-run commands)."""
    from sqlalchemy import text

    from tests.support import PG_URL, _admin_engine, _with_db

    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"cafepos_empty_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(PG_URL)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _with_db(PG_URL, name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
async def timed(settings: Settings, clock: FakeClock, demo_users) -> AsyncIterator[RunningServer]:
    """A server whose clock the test moves (with the demo users signed up)."""
    running = RunningServer(make_app(settings, clock=clock))
    yield running
    await running.stop()


@pytest.fixture
async def c(timed: RunningServer) -> AsyncIterator[Client]:
    """A client of `timed`."""
    client = timed.client()
    yield client
    client.close()
