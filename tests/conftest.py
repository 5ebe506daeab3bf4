"""Fixtures shared by every test: settings, a fresh database, a running server, clients."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from main import make_app  # noqa: E402
from settings import Settings, load_settings  # noqa: E402
from tests.support import Client, DatabaseFactory, RunningServer, suite_now  # noqa: E402

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
