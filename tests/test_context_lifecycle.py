"""The typed AppContext (issue 15.3/15.6): every shared object is built at start-up, shutdown ends
everything the server started in the background, and no arrow points upwards between layers."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import socket
from pathlib import Path

import pytest
from tornado.websocket import websocket_connect

from context import AppContext
from main import make_app
from orm.domain.errors import ServiceUnavailable
from services.background import BackgroundTasks
from tests.support import RunningServer

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


async def wait_until(condition, what: str, timeout: float = 10.0) -> None:
    """Wait for a condition (a bound, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition() and loop.time() < deadline:
        await asyncio.sleep(0.01)
    assert condition(), f"timed out waiting for {what}"


def refusing_port() -> int:
    """A loopback port nobody listens on: every SMTP connection is refused (a transient failure)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


async def test_every_shared_object_is_built_at_start_up(settings) -> None:
    server = RunningServer(make_app(settings, with_services=False))
    try:
        names = [f.name for f in dataclasses.fields(AppContext)]
        assert "extras" not in names
        missing = [name for name in names if not hasattr(server.ctx, name)]
        assert missing == []
        # The background workers are owned by the registry even without the periodic services.
        assert list(server.ctx.services) == []
    finally:
        await server.stop()


async def test_stop_leaves_no_task_pending_and_no_executor_thread_alive(settings, demo_users) -> None:
    """A password-reset mail waiting to retry, a live dashboard socket and an event in flight:
    after the server's stop() none of its tasks is still pending and its executors' threads ended."""
    before = asyncio.all_tasks()
    s = settings.with_overrides(smtp_server=HOST, smtp_port=refusing_port(), smtp_security="none",
                                smtp_from="till@cafe.example")
    server = RunningServer(make_app(s))
    ctx = server.ctx
    c = server.client()
    try:
        login = await c.post("/auth/login", {"username": "manager", "password": "password123"})
        assert login.status == 200
        ws = await websocket_connect(f"ws://127.0.0.1:{server.port}/ws/dashboard?token={login.data['token']}")
        assert "hello" in (await ws.read_message() or "")
        resp = await c.post("/auth/password-reset-request", {"email": "cashier@cafepos.local"})
        assert resp.status == 200
        # The first attempt failed; the delivery task now waits to retry (Mailer.send backoff).
        await wait_until(lambda: ctx.mailer.failures >= 1, "the first SMTP attempt")
        assert ctx.background.pending == 1
        ctx.event_bus.publish({"type": "alert", "alertId": "a1"})
    finally:
        c.close()
    await server.stop()
    ws.close()
    leftover = [t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()]
    assert [repr(t.get_coro()) for t in leftover] == []
    threads = [*ctx.db_pool._threads, *ctx.cpu_pool._threads]
    assert threads and not [t.name for t in threads if t.is_alive()]
    assert ctx.background.pending == 0 and ctx.dashboard_hub.sockets == set()
    with pytest.raises(ServiceUnavailable):  # a socket arriving during shutdown is refused
        await ctx.dashboard_hub.attach(None)  # type: ignore[arg-type]


async def test_background_work_is_refused_once_stopped() -> None:
    tasks = BackgroundTasks()
    release = asyncio.Event()
    task = tasks.spawn(release.wait(), name="waits")
    assert task is not None and tasks.pending == 1
    await tasks.stop()
    assert task.cancelled() and tasks.pending == 0
    late = release.wait()
    assert tasks.spawn(late, name="too-late") is None  # and the coroutine is closed, never run
    assert late.cr_frame is None


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize(("package", "forbidden"), [("services", ("apis",)), ("orm", ("apis", "services"))])
def test_no_upward_imports(package: str, forbidden: tuple[str, ...]) -> None:
    """services/ never imports apis/; orm/ imports neither (issue 15.6)."""
    wrong = sorted(f"{path.relative_to(ROOT)}: {name}" for path in (ROOT / package).rglob("*.py")
                   for name in _imports(path) if name.split(".")[0] in forbidden)
    assert wrong == []
