"""Property-based fuzzing of every operation in GET /openapi.json (schemathesis), CI-sized.

The in-process server is fuzzed over real HTTP with a bounded, seeded budget (scripts/fuzz.py is
the long run, same engine): valid and invalid requests as admin, some with ids that exist, and a
few without a token.  No answer may be a 5xx (a 503 in the envelope is declared and allowed), and
every answer must use a status code, content type and body the document declares.  Undeclared
methods answer 405 with an `Allow` header, in the envelope.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.orm import Session

from apis.base import BaseHandler, NotFoundHandler
from scripts.fuzz import real_ids, run_fuzz
from settings import Settings
from tests.conftest import run_unit
from tests.support import suite_now
from tests.test_route_security import handled_methods, routes, sample_path

SEED = 20261123


def seed_cafe(session: Session, settings: Settings) -> None:
    """Demo users, stock, menu and yesterday's and today's orders: ids for the fuzzer to reach past the 404s
    (yesterday is a whole day, so there are orders at any hour the suite runs)."""
    from orm.seed import identity, inventory, menu, orders

    now = suite_now()
    identity.seed_test(session, settings)
    inventory.seed_test(session, settings, now=now)
    menu.seed_test(session, settings, now=now)
    orders.seed_test(session, settings, days=2, now=now)


@pytest.fixture
async def cafe_server(server, settings):
    await asyncio.to_thread(run_unit, settings, seed_cafe, settings)
    return server


@pytest.mark.timeout(600)
async def test_every_operation_survives_generated_requests(cafe_server):
    base = cafe_server.base_url
    c = cafe_server.client()
    try:
        login = await c.post("/auth/login", {"username": "admin", "password": "password123"})
        assert login.status == 200, login.body
        token = login.data["token"]
        doc = (await c.get("/openapi.json")).json
    finally:
        c.close()
    operations = {f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops}
    params_for = await asyncio.to_thread(real_ids, base, token)
    report = await asyncio.to_thread(run_fuzz, base, token=token, max_examples=5, anonymous_examples=1,
                                     seed_value=SEED, params_for=params_for)
    print(report.summary())
    assert set(report.operations) == operations
    assert not report.server_errors, "\n".join(map(str, report.server_errors))
    assert not report.violations, "\n".join(map(str, report.violations))
    # The token worked: the fuzzer was not just collecting 401s.
    assert report.statuses[200] > len(operations) and report.statuses[401] < report.requests / 2


async def test_undeclared_methods_are_405_with_allow(server, tokens):
    """RFC 9110: a method a route does not have is 405 with `Allow` (not 403, with or without a token)."""
    c = server.client()
    checked, wrong = 0, []
    try:
        for pattern, handler in routes():
            if not issubclass(handler, BaseHandler) or handler is NotFoundHandler:
                continue
            path = sample_path(pattern)
            implemented = {m.upper() for m in handled_methods(handler)}
            missing = [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if m not in implemented]
            for method in missing[:1] + ["TRACE"]:
                for token in (tokens["admin"], None):
                    resp = await c.request(method, path, token=token, auth=token is not None,
                                           body=b"{}" if method in ("POST", "PUT", "PATCH") else None,
                                           headers={"Content-Type": "application/json"})
                    checked += 1
                    allow = {m.strip() for m in resp.headers.get("Allow", "").split(",")}
                    if resp.status != 405 or resp.json.get("errorCode") != "METHOD_NOT_ALLOWED" or \
                            allow != implemented | {"OPTIONS"}:
                        wrong.append(f"{method} {path}: {resp.status} Allow={resp.headers.get('Allow')}")
    finally:
        c.close()
    assert checked > 100
    assert not wrong, "\n".join(wrong)
