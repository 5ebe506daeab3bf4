"""services/event_bus.py: in-process delivery, thread safety, and PostgreSQL LISTEN/NOTIFY between processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import text

from main import make_app
from orm.db import Event, events
from orm.domain.errors import ValidationFailed
from services.event_bus import MAX_PAYLOAD_BYTES, EventBus
from settings import Settings
from tests.support import PG_URL, FakeClock, RunningServer

WAIT = 10.0  # generous upper bound for a delivery; never a timing assertion


class Received:
    """Collects events and lets a test wait for one that matches."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, predicate: Any) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()
        return await asyncio.wait_for(find(), WAIT)

    def count(self, predicate: Any) -> int:
        return sum(1 for e in self.events if predicate(e))


@pytest.fixture
async def servers(settings: Settings) -> AsyncIterator[list[RunningServer]]:
    """Two app instances on one database: two processes as far as the bus can tell."""
    made = [RunningServer(make_app(settings, clock=FakeClock(datetime(2026, 10, 27, 9, tzinfo=UTC))))
            for _ in range(2)]
    yield made
    for s in made:
        await s.stop()


async def test_local_subscribers_get_events_from_the_loop_and_from_threads(servers) -> None:
    ctx = servers[0].ctx
    bus = ctx.event_bus
    assert isinstance(bus, EventBus)
    got = Received()
    unsubscribe = bus.subscribe(got)
    bus.publish({"type": "order", "storeId": "s1", "orderId": "o1", "total": Decimal("12.30")})
    first = got.events[0]  # delivered synchronously on the loop
    assert first["type"] == "order" and first["total"] == Decimal("12.30") and "origin" not in first
    assert first["eventId"] and first["at"] == "2026-10-27T09:00:00.000Z"
    # An executor thread (where controllers run) publishes too; delivery hops to the loop.
    await asyncio.get_running_loop().run_in_executor(ctx.db_pool, bus.publish, {"type": "refund", "orderId": "o1"})
    refund = await got.wait_for(lambda e: e["type"] == "refund")
    assert refund["orderId"] == "o1"
    unsubscribe()
    bus.publish({"type": "order", "orderId": "o2"})
    assert [e["type"] for e in got.events] == ["order", "refund"]


async def test_a_failing_subscriber_does_not_stop_the_others(servers) -> None:
    bus = servers[0].ctx.event_bus
    got = Received()

    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(broken)
    bus.subscribe(got)
    bus.publish({"type": "alert", "alert": {"id": "a1"}})
    assert got.events[0]["alert"] == {"id": "a1"}


async def test_oversized_and_unencodable_events(servers) -> None:
    bus = servers[0].ctx.event_bus
    got = Received()
    bus.subscribe(got)
    bus.publish({"type": "order", "storeId": "s1", "blob": "x" * (MAX_PAYLOAD_BYTES + 10)})
    assert got.events[0]["truncated"] is True and got.events[0]["storeId"] == "s1"
    assert "blob" not in got.events[0]
    bus.publish({"type": "order", "thing": object()})  # logged, never raised
    assert len(got.events) == 1


@pytest.mark.skipif(not PG_URL, reason="LISTEN/NOTIFY between processes needs PostgreSQL")
async def test_events_cross_processes_once(servers) -> None:
    bus_a, bus_b = (s.ctx.event_bus for s in servers)
    assert bus_a.cross_process and bus_b.cross_process and bus_a.origin != bus_b.origin
    await bus_a.start()
    await bus_b.start()
    got_a, got_b = Received(), Received()
    bus_a.subscribe(got_a)
    bus_b.subscribe(got_b)
    bus_a.publish({"type": "order", "orderId": "from-a", "total": Decimal("4.50")})
    seen = await got_b.wait_for(lambda e: e.get("orderId") == "from-a")
    assert seen["total"] == Decimal("4.50")
    # NOTIFYs arrive in commit order: once A has B's later event, it has also had (and skipped)
    # the echo of its own first one.
    bus_b.publish({"type": "order", "orderId": "from-b"})
    await got_a.wait_for(lambda e: e.get("orderId") == "from-b")
    assert got_a.count(lambda e: e.get("orderId") == "from-a") == 1
    assert got_b.count(lambda e: e.get("orderId") == "from-b") == 1
    # From an executor thread on B as well.
    await asyncio.get_running_loop().run_in_executor(None, bus_b.publish, {"type": "refund", "orderId": "thr"})
    await got_a.wait_for(lambda e: e.get("orderId") == "thr")


@pytest.mark.skipif(not PG_URL, reason="LISTEN/NOTIFY between processes needs PostgreSQL")
async def test_a_lost_listener_connection_is_reopened(servers) -> None:
    bus_a, bus_b = (s.ctx.event_bus for s in servers)
    await bus_a.start()
    got_a = Received()
    bus_a.subscribe(got_a)
    with servers[1].ctx.engine.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'cafepos-events' AND datname = current_database()")).scalar()
    assert killed == 1

    async def keep_publishing() -> None:
        n = 0
        while True:  # events sent while A is reconnecting are lost, so keep sending
            n += 1
            bus_b.publish({"type": "order", "orderId": f"after-{n}"})
            await asyncio.sleep(0.2)

    sender = asyncio.get_running_loop().create_task(keep_publishing())
    try:
        await got_a.wait_for(lambda e: str(e.get("orderId", "")).startswith("after-"))
    finally:
        sender.cancel()
    assert bus_a.status()["listening"] is True


@pytest.mark.skipif(not PG_URL, reason="LISTEN/NOTIFY between processes needs PostgreSQL")
async def test_a_burst_of_notifications_arrives_whole_in_order_and_once(servers) -> None:
    """Many NOTIFYs land in one socket read or in several: the listener drains them all, none twice."""
    bus_a, bus_b = (s.ctx.event_bus for s in servers)
    await bus_a.start()
    got_a = Received()
    bus_a.subscribe(got_a)

    def burst() -> None:  # blocking publishes from a thread: one NOTIFY after another, as fast as they go
        for n in range(200):
            bus_b.publish({"type": "order", "orderId": f"burst-{n}"})

    await asyncio.get_running_loop().run_in_executor(None, burst)
    await got_a.wait_for(lambda e: e.get("orderId") == "burst-199")
    ids = [e["orderId"] for e in got_a.events if str(e.get("orderId", "")).startswith("burst-")]
    assert ids == [f"burst-{n}" for n in range(200)]


def _raise(kind: str, fail: bool = False) -> Any:
    def work(session) -> str:
        events(session).add(Event("principals_changed" if kind == "awaited" else "order", None,
                                  {"orderId": kind}))
        session.execute(text("SELECT 1"))
        if fail:
            raise ValidationFailed("no")
        return kind
    return work


@pytest.mark.skipif(not PG_URL, reason="LISTEN/NOTIFY between processes needs PostgreSQL")
async def test_a_units_events_are_notified_in_its_own_transaction_once_and_never_on_rollback(servers) -> None:
    ctx_a, ctx_b = (s.ctx for s in servers)
    await ctx_a.event_bus.start()
    await ctx_b.event_bus.start()
    got_a, got_b = Received(), Received()
    ctx_a.event_bus.subscribe(got_a)
    ctx_b.event_bus.subscribe(got_b)
    transactions: list[list[str]] = []
    current: list[str] = []
    listeners = [("before_cursor_execute", lambda conn, cur, sql, *a: current.append(sql)),
                 ("commit", lambda conn: (transactions.append(list(current)), current.clear()))]
    for name, fn in listeners:
        sa_event.listen(ctx_a.engine, name, fn)
    try:
        with pytest.raises(ValidationFailed):
            await ctx_a.run_db(_raise("rolled-back", fail=True))
        assert await ctx_a.run_db(_raise("sale")) == "sale"
    finally:
        for name, fn in listeners:
            sa_event.remove(ctx_a.engine, name, fn)
    # The NOTIFY went out in the unit's own transaction, right before COMMIT: no second one.
    assert len(transactions) == 1 and "pg_notify" in transactions[0][-1], transactions
    assert got_a.count(lambda e: e.get("orderId") == "sale") == 1  # locally, at once
    await got_b.wait_for(lambda e: e.get("orderId") == "sale")
    # An awaited event is answered once heard back; a later one proves nothing came twice or late.
    assert await ctx_a.run_db(_raise("awaited")) == "awaited"
    assert await ctx_b.run_db(_raise("last")) == "last"
    await got_a.wait_for(lambda e: e.get("orderId") == "last")
    await got_b.wait_for(lambda e: e.get("orderId") == "awaited")
    for got in (got_a, got_b):
        assert got.count(lambda e: e.get("orderId") == "rolled-back") == 0
        assert [got.count(lambda e, k=k: e.get("orderId") == k) for k in ("sale", "awaited", "last")] == [1, 1, 1]
    assert not ctx_a.event_bus._echoes
