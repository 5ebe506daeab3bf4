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
from tests.support import Client, DatabaseFactory, RunningServer  # noqa: E402

TEST_JWT_SECRET = "test-secret-0123456789-abcdefghijklmnop"


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
    running = RunningServer(make_app(settings))
    yield running
    await running.stop()


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[Client]:
    c = server.client()
    yield c
    c.close()
