"""GET /metrics: Prometheus text, request counters by route template, business and job counters, access."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tornado.testing import bind_unused_port

from main import make_app
from orm.domain.stores import DEFAULT_STORE_ID
from services import metrics
from services.email_service import EmailDeliveryError, build_message
from services.registry import PeriodicService
from tests.conftest import TEST_JWT_SECRET
from tests.support import RunningServer, suite_now

ROOT = Path(__file__).resolve().parents[1]


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of a whole exposition (which must parse)."""
    out: dict[tuple[str, frozenset], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(parsed: dict, name: str, **labels: str) -> float:
    return parsed.get((name, frozenset(labels.items())), 0.0)


async def scrape(client, **kw) -> dict:
    resp = await client.get("/metrics", **kw)
    assert resp.status == 200, resp.body
    assert resp.headers["Content-Type"].startswith("text/plain")
    return samples(resp.body.decode())


async def test_request_counter_moves_by_route_template(server, client, as_role):
    before = await scrape(client)
    assert ("cafepos_db_pool_connections_in_use", frozenset()) in before
    assert ("cafepos_db_executor_queue_depth", frozenset()) in before
    health = value(before, "cafepos_http_requests_total", method="GET", route="/health", status="200")
    for _ in range(3):
        assert (await client.get("/health")).status == 200
    assert (await as_role("admin").get(f"/stores/{DEFAULT_STORE_ID}")).status == 200
    assert (await client.get("/no/such/path")).status == 404
    after = await scrape(client)
    assert value(after, "cafepos_http_requests_total", method="GET", route="/health", status="200") == health + 3
    assert value(after, "cafepos_http_requests_total", method="GET", route="/stores/{store_id}", status="200") == 1
    assert value(after, "cafepos_http_requests_total", method="GET", route="unmatched", status="404") == 1
    # Latency histogram by the same labels; raw paths never become label values.
    assert value(after, "cafepos_http_request_duration_seconds_count",
                 method="GET", route="/health", status="200") == health + 3
    assert all("/no/such/path" not in str(labels) and DEFAULT_STORE_ID not in str(labels)
               for _name, labels in after)


async def test_business_job_and_email_counters(server, client):
    ctx = server.ctx
    metrics.orders_created(ctx, DEFAULT_STORE_ID, Decimal("3.50"))
    metrics.orders_created(ctx, DEFAULT_STORE_ID, Decimal("0.10"))
    metrics.refunds_issued(ctx, DEFAULT_STORE_ID, Decimal("0.10"))

    class Flaky(PeriodicService):
        name = "flaky_test_job"
        calls = 0

        async def run_once(self) -> None:
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("second run fails")

    job = ctx.services.add(Flaky())
    for _ in range(3):
        await job.tick()
    mailer = ctx.mailer  # SMTP_SERVER is empty in tests: every send fails
    with pytest.raises(EmailDeliveryError):
        await mailer.send(build_message(sender="pos@cafe.example.org", to=["x@cafe.example.org"],
                                        subject="s", text="t"))
    parsed = await scrape(client)
    assert value(parsed, "cafepos_orders_total", store=DEFAULT_STORE_ID) == 2
    assert value(parsed, "cafepos_revenue_cents_total", store=DEFAULT_STORE_ID) == 360
    assert value(parsed, "cafepos_refunded_cents_total", store=DEFAULT_STORE_ID) == 10
    assert value(parsed, "cafepos_background_job_runs_total", job="flaky_test_job") == 2
    assert value(parsed, "cafepos_background_job_failures_total", job="flaky_test_job") == 1
    assert value(parsed, "cafepos_email_send_failures_total") == 1
    # Copied as deltas: a second scrape does not count the same runs again.
    await job.tick()
    parsed = await scrape(client)
    assert value(parsed, "cafepos_background_job_runs_total", job="flaky_test_job") == 3
    assert value(parsed, "cafepos_email_send_failures_total") == 1


async def test_outside_the_allowed_addresses_a_token_with_system_logs_is_needed(settings, demo_users):
    closed = RunningServer(make_app(settings.with_overrides(metrics_allowed_ips=("10.20.30.0/24",)), clock=suite_now))
    c = closed.client()
    try:
        assert (await c.get("/metrics")).status == 401
        assert (await c.get("/metrics", token="not-a-token")).status == 401
        tokens = {}
        for role in ("admin", "manager"):
            resp = await c.post("/auth/login", {"username": role, "password": "password123"})
            tokens[role] = resp.data["token"]
        resp = await c.get("/metrics", token=tokens["manager"])
        assert resp.status == 403 and resp.json["errorCode"] == "FORBIDDEN"
        parsed = await scrape(c, token=tokens["admin"])
        assert value(parsed, "cafepos_http_requests_total", method="GET", route="/metrics", status="401") == 2
    finally:
        c.close()
        await closed.stop()


def test_allowed_networks_and_addresses():
    from apis.metrics_api import address_allowed, allowed_networks

    nets = allowed_networks(("127.0.0.1", "::1", "10.0.0.0/8", "not-an-ip"))
    assert len(nets) == 3
    assert address_allowed("127.0.0.1", nets) and address_allowed("::1", nets)
    assert address_allowed("10.9.8.7", nets) and address_allowed("::ffff:10.1.1.1", nets)
    assert not address_allowed("192.168.1.5", nets) and not address_allowed("", nets)
    assert not address_allowed(None, nets)


def test_route_templates():
    assert metrics.route_template(r"/stores/(?P<store_id>[^/]+)") == "/stores/{store_id}"
    assert metrics.route_template(r"/docs/?") == "/docs"
    assert metrics.route_template(r"/docs/static/(?P<path>swagger-ui[\w.-]*\.(?:js|css))") == "/docs/static/{path}"


@pytest.mark.slow
async def test_several_workers_add_up_in_one_exposition(settings, tmp_path):
    """WORKERS=2 (a real main.py): whichever process answers /metrics counts both workers' requests."""
    sock, port = bind_unused_port()
    sock.close()
    prom_dir = tmp_path / "prom"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS", "prometheus"))}
    env.update(DATABASE_URL=settings.database_url, PORT=str(port), ADDRESS="127.0.0.1", WORKERS="2",
               JWT_SECRET=TEST_JWT_SECRET, SEED_DEMO_DATA="false", LOG_LEVEL="WARNING",
               UPLOADS_DIR=str(tmp_path / "uploads"), PROMETHEUS_MULTIPROC_DIR=str(prom_dir))
    log_path = tmp_path / "server.log"
    log_file = log_path.open("wb")  # a file, not a pipe: a full pipe would block the server
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log_file, start_new_session=True)
    from tests.support import Client

    client = Client(f"http://127.0.0.1:{port}")
    try:
        health_ok = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:
            try:
                if (await client.get("/health")).status == 200:
                    health_ok += 1
                    break
            except Exception:  # not listening yet
                pass
            assert proc.poll() is None and loop.time() < deadline, log_path.read_text(errors="replace")
            await asyncio.sleep(0.2)
        for _ in range(30):
            assert (await client.get("/health")).status == 200
            health_ok += 1
        # Both workers made their metrics (each writes its own files).
        loop_deadline = loop.time() + 30
        while len({p.stem.rsplit("_", 1)[1] for p in prom_dir.glob("gauge_livesum_*.db")}) < 2:
            assert loop.time() < loop_deadline, sorted(p.name for p in prom_dir.iterdir())
            await asyncio.sleep(0.2)
        # A worker counts a request once its response is on the way (the access log hook), so the last
        # /health may be counted a moment after the client has its answer: wait for the count to arrive.
        async def health_total() -> float:
            parsed = samples((await client.get("/metrics")).body.decode())
            return value(parsed, "cafepos_http_requests_total", method="GET", route="/health", status="200")

        while (total := await health_total()) != health_ok:
            assert total < health_ok and loop.time() < loop_deadline, (total, health_ok)
            await asyncio.sleep(0.05)
        for _ in range(4):  # several scrapes, possibly answered by different workers, all agree
            assert await health_total() == health_ok
    finally:
        client.close()
        proc.send_signal(signal.SIGTERM)  # the parent passes it on to its workers
        try:
            proc.wait(timeout=30)
        finally:
            log_file.close()
            try:  # whatever is left of the group started above
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
