"""Property tests (hypothesis) over real HTTP: boundary values in every kind of parameter.

For dates, numbers and free text, in query strings and JSON bodies, a representative set of
endpoints gets generated requests mixing edge values (scripts/fuzz_strategies.py: year 1 and 9999
with offsets, 2**63, "²", NUL, ...) with ordinary ones.  Whatever the value, the answer is never a
5xx, and it is the envelope (or the CSV a report export promises).  The server's clock is injected;
hypothesis is derandomized, so a CI run is repeatable (scripts/fuzz.py explores further).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from main import make_app
from scripts import fuzz_strategies as fs
from tests.support import FakeClock, RunningServer

EXAMPLES = 60
Request = tuple[str, str, dict[str, Any] | None, Any]  # method, path, query, JSON body (bytes: sent as is)


def answer_problem(resp: requests.Response) -> str | None:
    """Why this answer breaks API.md Conventions, or None."""
    if resp.status_code >= 500:
        return f"server error {resp.status_code}"
    ctype = resp.headers.get("Content-Type", "")
    if "json" not in ctype:
        return None if resp.status_code == 200 and "text/csv" in ctype else f"unexpected content type {ctype!r}"
    body = resp.json()
    if not (isinstance(body.get("success"), bool) and isinstance(body.get("errors"), list) and "data" in body
            and body.get("timestamp")):
        return "not the envelope"
    if not body["success"]:
        if not (body["errors"] and all(isinstance(e, str) for e in body["errors"]) and body.get("errorCode")
                and body.get("statusCode") == resp.status_code and body.get("requestId")):
            return "error without errors/errorCode/statusCode/requestId"
    return None


class Plan:
    """Requests for one property: generated ones, and explicit ones (every critical value of its kind
    in every parameter, tried first, so the known killers are never left to chance)."""

    def __init__(self, *parts: tuple[st.SearchStrategy[Request], list[Request]]) -> None:
        self.strategy = st.one_of(*(p[0] for p in parts))
        self.explicit = [r for p in parts for r in p[1]]


def explore(base_url: str, token: str | None, plan: Plan, examples: int = EXAMPLES) -> int:
    """Send the plan's requests (blocking: run in a thread); fail on the first bad answer, shrunk."""
    session = requests.Session()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    sent = 0

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(plan.strategy)
    def one(req: Request) -> None:
        nonlocal sent
        method, path, query, body = req
        raw = {"data": body, "headers": {"Content-Type": "application/json"}} if isinstance(body, bytes) else \
            {"json": body}
        resp = session.request(method, base_url + path, params=query, timeout=60, allow_redirects=False, **raw)
        sent += 1
        problem = answer_problem(resp)
        assert problem is None, f"{method} {resp.request.url} body={body!r}: {problem}: {resp.text[:300]}"

    for req in plan.explicit:
        one = example(req)(one)
    try:
        one()
    finally:
        session.close()
    return sent


def queries(endpoints: list[tuple[str, list[str]]]) -> tuple[st.SearchStrategy[Request], list[Request]]:
    """GET requests: each endpoint with some of its parameters set to boundary values."""
    strategy = st.sampled_from(endpoints).flatmap(
        lambda ep: fs.with_boundaries({}, fs.for_query, declared=ep[1])
        .map(lambda q, path=ep[0]: ("GET", path, q, None)))
    explicit = [("GET", path, {name: value}, None)
                for path, names in endpoints for name in names for value in fs.critical_query(name)]
    return strategy, explicit


def bodies(method: str, path: str, base: dict[str, Any],
           lines: tuple[str, dict[str, Any]] | None = None) -> tuple[st.SearchStrategy[Request], list[Request]]:
    """`method path` with a JSON body: `base` with boundary values in its known-kind fields, and
    with `lines` = (key, one line) a list of one or two such lines under that key."""
    fields = fs.with_boundaries(base, fs.for_json)
    explicit = [{**base, name: value} for name in base for value in fs.critical_json(name)]
    if lines:
        key, one_line = lines
        items = st.lists(fs.with_boundaries(one_line, fs.for_json), min_size=1, max_size=2)
        fields = st.tuples(fields, items).map(lambda t: {**t[0], key: t[1]})
        explicit = [{**b, key: [one_line]} for b in explicit]
        explicit += [{**base, key: [{**one_line, name: value}]} for name in one_line
                     for value in fs.critical_json(name)]
    return fields.map(lambda b: (method, path, None, b)), [(method, path, None, b) for b in explicit]


@pytest.fixture
async def shop(settings, demo_users, cafe) -> AsyncIterator[tuple[RunningServer, str, Any]]:
    s = settings.with_overrides(login_rate_limit_per_minute=100_000)
    running = RunningServer(make_app(s, clock=FakeClock()))
    c = running.client()
    try:
        login = await c.post("/auth/login", {"username": "admin", "password": "password123"})
        assert login.status == 200, login.body
        yield running, login.data["token"], cafe
    finally:
        c.close()
        await running.stop()


async def run(shop, make: Callable[[Any], Plan], *, token: bool = True) -> None:
    server, tok, cafe = shop
    sent = await asyncio.to_thread(explore, server.base_url, tok if token else None, make(cafe))
    assert sent >= EXAMPLES


def order_line(cafe) -> dict[str, Any]:
    return {"menuItemId": cafe.items["espresso"], "quantity": 1}


# ---- dates -----------------------------------------------------------------------------------------

async def test_date_query_parameters(shop):
    await run(shop, lambda cafe: Plan(queries([
        ("/sales/dashboard", ["start_date", "end_date"]), ("/reports/daily-sales", ["date"]),
        ("/reports/sales.csv", ["start_date", "end_date"]), ("/reports/products.csv", ["start_date", "end_date"]),
        ("/orders", ["from", "to"]), ("/audit/changes", ["from", "to"]), ("/audit/failed-logins", ["from", "to"]),
        ("/inventory/movements", ["from", "to"]), (f"/inventory/{cafe.inv['Milk']}/movements", ["from", "to"]),
    ])))


async def test_date_body_fields(shop):
    await run(shop, lambda cafe: Plan(
        bodies("POST", "/orders", {"items": [order_line(cafe)], "payments": [{"method": "card"}],
                                   "clientCreatedAt": "2026-11-23T08:00:00Z"}),
        bodies("POST", "/reports/email-summary", {"date": "2026-11-23"}),  # no recipients: 400 after the report
        bodies("PUT", f"/inventory/{cafe.inv['Milk']}", {"expiryDate": "2026-12-01"}),
        bodies("POST", "/inventory", {"name": "Cream", "unit": "l", "expiryDate": "2026-12-01"}),
    ))


# ---- numbers ---------------------------------------------------------------------------------------

async def test_number_query_parameters(shop):
    paging = ["page", "perPage", "per_page", "limit", "offset"]
    await run(shop, lambda cafe: Plan(queries([("/orders", paging), ("/inventory", paging), ("/menu_items", paging),
                                               ("/audit/access-log", paging), ("/users", paging),
                                               ("/inventory/movements", paging), ("/alerts", paging)])))


async def test_number_body_fields(shop):
    await run(shop, lambda cafe: Plan(
        bodies("POST", "/orders", {"paymentMethod": "cash", "amountPaid": "10.00", "tipAmount": "0"},
               lines=("items", order_line(cafe))),
        bodies("POST", f"/inventory/{cafe.inv['Milk']}/adjust", {"quantity": "1", "type": "restock",
                                                                  "reason": "delivery"}),
        bodies("PUT", "/settings", {"defaultTaxRate": "0.08", "lockoutAttempts": 5, "receiptWidth": 42}),
        bodies("POST", "/shifts/open", {"openingCash": "100.00"}),
    ))


# ---- free text -------------------------------------------------------------------------------------

async def test_text_query_parameters(shop):
    await run(shop, lambda cafe: Plan(queries([
        ("/orders", ["search", "status", "paymentMethod", "sort", "createdBy", "shiftId"]),
        ("/inventory", ["search", "category", "status", "location"]), ("/menu_items", ["search", "category"]),
        ("/users", ["search"]), ("/sales/dashboard", ["category", "payment_method", "storeId"]),
        ("/audit/access-log", ["username", "method", "address"]), ("/alerts", ["status", "type", "severity"]),
    ])))


async def test_text_body_fields(shop):
    await run(shop, lambda cafe: Plan(
        bodies("POST", "/orders", {"payments": [{"method": "card"}], "customerName": "Ann", "orderNotes": ""},
               lines=("items", {**order_line(cafe), "notes": ""})),
        bodies("POST", "/inventory", {"name": "Cream", "unit": "l", "supplier": "", "location": ""}),
    ))


async def test_login_body_without_a_token(shop):
    """The one body anybody may send: boundary text and numbers in every field, and odd shapes."""
    await run(shop, lambda cafe: Plan(
        bodies("POST", "/auth/login", {"username": "cashier", "password": "password123"}),
        bodies("POST", "/auth/login", {"pinCode": "1234"}),
        (st.recursive(st.none() | st.booleans() | fs.json_numbers() | fs.json_texts(),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(fs.json_texts(), inner, max_size=3),
                      max_leaves=8).map(lambda b: ("POST", "/auth/login", None, b)),
         # Sent as bytes: hypothesis raises the recursion limit while it runs (for the server too).
         [("POST", "/auth/login", None, deep) for deep in (b'{"username":' * 5000 + b'"x"' + b"}" * 5000,
                                                           b"[" * 100_000 + b"]" * 100_000, b"[" * 400)]),
    ), token=False)
