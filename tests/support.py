"""Test support: fresh databases, an in-process server and a small HTTP client.

Every test gets a database of its own, at the current schema:
- SQLite: a copy of a template file migrated once per test session;
- PostgreSQL (when TEST_DATABASE_URL is set): `CREATE DATABASE ... TEMPLATE`,
  from a template database migrated once per session, dropped after the test.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import tornado.web
from sqlalchemy import create_engine, text
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from orm.db import normalise_url
from orm.domain import jsonenc
from orm.migrate import upgrade_to_head

PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()


def _test_now() -> datetime | None:
    raw = os.environ.get("CAFEPOS_TEST_NOW", "").strip()
    if not raw:
        return None
    moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("CAFEPOS_TEST_NOW needs a UTC offset, e.g. 2026-03-30T02:30:00+02:00")
    return moment.astimezone(UTC)


TEST_NOW = _test_now()


class SuiteClock:
    """The injected clock of every app and seed in the suite (`suite_now`).

    Without CAFEPOS_TEST_NOW it is the real time.  With CAFEPOS_TEST_NOW=2026-03-30T02:30:00+02:00
    every test starts at that instant (conftest restarts it per test) and the clock moves on by the
    test's own elapsed time, so the order of events within a test is kept, while the hour and the
    day the whole suite sees are the ones chosen: a test that depends on the wall clock shows up.
    """

    def __init__(self, start: datetime | None) -> None:
        self.start = start
        self.restart()

    def restart(self) -> None:
        self._began = time.monotonic()

    def __call__(self) -> datetime:
        if self.start is None:
            return datetime.now(UTC)
        return self.start + timedelta(seconds=time.monotonic() - self._began)


suite_now = SuiteClock(TEST_NOW)

CLOCK_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday


class FakeClock:
    """The app's clock in tests that move time themselves: call it for 'now', advance it instead of sleeping.

    The `clock` fixture (conftest) is one, starting at CLOCK_START or at the test module's own CLOCK_START.
    """

    def __init__(self, start: datetime = CLOCK_START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def _admin_engine(url: str):
    return create_engine(normalise_url(url), isolation_level="AUTOCOMMIT", poolclass=None)


class DatabaseFactory:
    """Hands out fresh, migrated databases; the backend is fixed for the session."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.kind = "postgresql" if PG_URL else "sqlite"
        self._template: str | None = None
        self._created: list[str] = []

    def _prepare_template(self) -> str:
        if self._template:
            return self._template
        if self.kind == "sqlite":
            path = self.workdir / "template.db"
            upgrade_to_head(f"sqlite:///{path}")
            self._template = str(path)
        else:
            base = urlsplit(PG_URL).path.lstrip("/") or "cafepos_test"
            tpl = f"{base}_tpl_{os.getpid()}"
            engine = _admin_engine(PG_URL)
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{tpl}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{tpl}"'))
            engine.dispose()
            upgrade_to_head(_with_db(PG_URL, tpl))
            self._template = tpl
        return self._template

    def create(self) -> str:
        template = self._prepare_template()
        if self.kind == "sqlite":
            path = self.workdir / f"t_{uuid.uuid4().hex[:12]}.db"
            shutil.copyfile(template, path)
            return f"sqlite:///{path}"
        name = f"cafepos_t_{uuid.uuid4().hex[:12]}"
        engine = _admin_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        engine.dispose()
        self._created.append(name)
        return _with_db(PG_URL, name)

    def drop(self, url: str) -> None:
        if self.kind == "sqlite":
            path = Path(urlsplit(url).path)
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            return
        name = urlsplit(url).path.lstrip("/")
        engine = _admin_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    def close(self) -> None:
        if self.kind == "postgresql" and self._template:
            engine = _admin_engine(PG_URL)
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)'))
            engine.dispose()


@dataclass
class Response:
    status: int
    headers: Any
    body: bytes
    _json: Any = field(default=None, repr=False)

    @property
    def json(self) -> Any:
        if self._json is None:
            self._json = jsonenc.loads(self.body)
        return self._json

    @property
    def data(self) -> Any:
        return self.json["data"]


class Client:
    """Real HTTP against the in-process server."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = AsyncHTTPClient(force_instance=True)
        self.token: str | None = None

    async def request(self, method: str, path: str, *, json: Any = None, body: bytes | str | None = None,
                      headers: dict[str, str] | None = None, token: str | None = None,
                      auth: bool = True) -> Response:
        hdrs = dict(headers or {})
        use_token = token if token is not None else (self.token if auth else None)
        if use_token and "Authorization" not in hdrs:
            hdrs["Authorization"] = f"Bearer {use_token}"
        if json is not None:
            body = jsonenc.dumps(json)
            hdrs.setdefault("Content-Type", "application/json")
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        req = HTTPRequest(self.base_url + path, method=method, headers=hdrs, body=body,
                          allow_nonstandard_methods=True, follow_redirects=False,
                          request_timeout=60, decompress_response=True)
        resp = await self.http.fetch(req, raise_error=False)
        if resp.code == 599:
            raise resp.error  # connection problems are test failures, not statuses
        return Response(resp.code, resp.headers, resp.body or b"")

    async def get(self, path: str, **kw: Any) -> Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> Response:
        return await self.request("POST", path, json=json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> Response:
        return await self.request("PUT", path, json=json, **kw)

    async def patch(self, path: str, json: Any = None, **kw: Any) -> Response:
        return await self.request("PATCH", path, json=json, **kw)

    async def delete(self, path: str, **kw: Any) -> Response:
        return await self.request("DELETE", path, **kw)

    def close(self) -> None:
        self.http.close()


class RunningServer:
    """An app served on an unused loopback port."""

    def __init__(self, app: tornado.web.Application, **server_kw: Any) -> None:
        self.app = app
        self.ctx = app.settings["ctx"]
        sock, self.port = bind_unused_port()
        self.server = HTTPServer(app, **server_kw)
        self.server.add_sockets([sock])
        self.base_url = f"http://127.0.0.1:{self.port}"

    def client(self) -> Client:
        return Client(self.base_url)

    async def stop(self) -> None:
        self.server.stop()
        await self.ctx.services.stop_all()
        await self.server.close_all_connections()
        self.ctx.release()
