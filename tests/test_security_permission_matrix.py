"""API.md's permission table for every built-in role on every menu, inventory, alert, order, receipt,
shift, report, settings, store, journal, image and preparation-queue endpoint (users/roles/audit/auth
rows are in tests/test_users_permission_matrix.py).  The six built-in roles: the four demo staff and
a barista and a display screen made for the test.

Each row names the permission API.md gives the endpoint; the roles holding it (API.md's table,
copied below, not read from the code) must NOT get 403/401/500 — a 400/404/409/503 still proves
the permission check let them through — and every other role must get 403 FORBIDDEN with nothing
written.  A completeness check fails when a protected route has no row in either matrix.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

import orm.models as models
from apis.base import AUTHENTICATED, BaseHandler
from tests.conftest import ROLES, run_unit
from tests.test_route_security import handled_methods, is_public, routes
from tests.test_users_permission_matrix import MATRIX as USERS_MATRIX

# API.md "Roles and permissions", the default grants of the built-in roles.
MATRIX_ROLES = (*ROLES, "barista", "display")
MANAGERS = {"admin", "manager"}
TILL = {"admin", "manager", "cashier"}
EVERYONE = set(ROLES)  # the four till roles (not the barista nor the display screen)
MAKERS = TILL | {"barista"}
API_MD_ROLES: dict[str, set[str]] = {
    "menu.view": EVERYONE | {"barista"}, "menu.create": MANAGERS, "menu.edit": MANAGERS, "menu.delete": MANAGERS,
    "menu.import": MANAGERS,
    "inventory.view": EVERYONE | {"barista"}, "inventory.edit": MANAGERS, "inventory.adjust_stock": MANAGERS,
    "inventory.export": MANAGERS, "inventory.view_costs": MANAGERS,
    "sales.process": EVERYONE, "sales.apply_discount": TILL, "sales.view_history": TILL,
    "sales.refund": MANAGERS, "sales.override_price": MANAGERS, "sales.void": MANAGERS,
    "receipts.print": EVERYONE, "receipts.reprint": TILL, "receipts.email": MANAGERS,
    "reports.view": TILL, "reports.export": MANAGERS, "reports.financial": MANAGERS,
    "reports.send_email": MANAGERS, "shifts.open_close": TILL,
    "system.settings": MANAGERS, "system.logs": {"admin"},
    "prep.view": MAKERS, "prep.update": MAKERS, "prep.board": MANAGERS | {"display"},
    AUTHENTICATED: set(MATRIX_ROLES),
}
# Rows written by authentication itself, not by the endpoint under test.
VOLATILE_TABLES = {"auth_sessions", "login_attempts", "rate_limit_hits", "refresh_tokens", "job_runs",
                   "menu_revisions", "report_email_runs"}
PNG_1PX = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
           b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
           b"\xaeB`\x82")


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def multipart(field: str, filename: str, content: bytes, ctype: str) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {ctype}\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # {item} menu item, {group} modifier group, {inv} inventory item, {alert}, {order} a fresh
    #            sale, {shift} the caller's own open shift, {store} the default store, {ticket} a fresh
    #            sale with a line for the bar, {line} that line
    permission: str
    body: Callable[[dict[str, str]], Any] | None = None
    multipart: Callable[[], tuple[bytes, dict[str, str]]] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.permission}]"


def sale(t: dict[str, str], **extra: Any) -> dict[str, Any]:
    line = {"menuItemId": t["item"], "quantity": 1, **extra.pop("line", {})}
    return {"items": [line], "payments": [{"method": "card"}], **extra}


MATRIX = [
    # menu
    Row("GET", "/menu_items", "menu.view"),
    Row("POST", "/menu_items", "menu.create", lambda t: {"name": unique("Matrix"), "price": "2.50",
                                                         "category": "Matrix"}),
    Row("GET", "/menu_items/categories", "menu.view"),
    Row("PUT", "/menu_items/categories/Matrix", "menu.edit", lambda t: {"sortOrder": 5}),
    Row("PUT", "/menu_items/categories/Matrix", "menu.edit", lambda t: {"station": "bar"}),
    Row("POST", "/menu_items/bulk-import?dryRun=true", "menu.import",
        lambda t: {"rows": [{"name": unique("Imported"), "price": "1.00"}]}),
    Row("GET", "/menu_items/export", "menu.view"),
    Row("GET", "/menu_items/modifier-groups", "menu.view"),
    Row("POST", "/menu_items/modifier-groups", "menu.create",
        lambda t: {"name": unique("Milk"), "minSelect": 0, "maxSelect": 1, "modifiers": [{"name": "Oat"}]}),
    Row("GET", "/menu_items/modifier-groups/{group}", "menu.view"),
    Row("PUT", "/menu_items/modifier-groups/{group}", "menu.edit", lambda t: {"maxSelect": 2}),
    Row("DELETE", "/menu_items/modifier-groups/{group}", "menu.delete"),
    Row("GET", "/menu_items/{item}", "menu.view"),
    Row("PUT", "/menu_items/{item}", "menu.edit", lambda t: {"description": "changed"}),
    Row("DELETE", "/menu_items/{item}", "menu.delete"),
    # images
    Row("POST", "/upload/image", "menu.edit", multipart=lambda: multipart("file", "a.png", PNG_1PX, "image/png")),
    Row("POST", "/upload/bulk-images", "menu.edit",
        multipart=lambda: multipart("file", "nothing-matches.png", PNG_1PX, "image/png")),
    Row("GET", "/images/management", "menu.edit"),
    Row("DELETE", "/images/management/{item}", "menu.edit"),
    # inventory and alerts
    Row("GET", "/inventory", "inventory.view"),
    Row("POST", "/inventory", "inventory.edit", lambda t: {"name": unique("Flour"), "unit": "kg",
                                                           "currentStock": "3"}),
    Row("GET", "/inventory/export", "inventory.export"),
    Row("POST", "/inventory/import?dryRun=true", "inventory.edit",
        lambda t: {"rows": [{"name": unique("Sugar"), "unit": "kg", "currentStock": "1"}]}),
    Row("GET", "/inventory/forecast", "inventory.view"),
    Row("GET", "/inventory/movements", "inventory.view"),
    Row("GET", "/inventory/{inv}", "inventory.view"),
    Row("GET", "/inventory/{inv}/movements", "inventory.view"),
    Row("POST", "/inventory/{inv}/adjust", "inventory.adjust_stock",
        lambda t: {"quantity": "1", "type": "restock", "reason": "delivery"}),
    Row("PUT", "/inventory/{inv}", "inventory.edit", lambda t: {"location": "Back shelf"}),
    Row("DELETE", "/inventory/{inv}", "inventory.edit"),
    Row("GET", "/alerts", "inventory.view"),
    Row("GET", "/alerts/{alert}", "inventory.view"),
    Row("PATCH", "/alerts/{alert}/acknowledge", "inventory.edit"),
    # orders and receipts; in-handler checks need a body that reaches them
    Row("POST", "/orders", "sales.process", sale),
    Row("POST", "/orders", "sales.apply_discount",
        lambda t: sale(t, discount={"type": "percent", "value": "10", "reason": "staff"})),
    Row("POST", "/orders", "sales.override_price", lambda t: sale(t, line={"priceOverride": "1.00"})),
    Row("GET", "/orders", "sales.view_history"),
    Row("GET", "/orders/{order}", "sales.view_history"),
    Row("GET", "/orders/{order}/receipt", "receipts.print"),
    Row("POST", "/orders/{order}/reprint-receipt", "receipts.reprint"),
    Row("POST", "/orders/{order}/email-receipt", "receipts.email", lambda t: {"email": "guest@cafe.example"}),
    Row("POST", "/orders/{order}/refund", "sales.refund", lambda t: {"reason": "spilt"}),
    Row("POST", "/orders/{order}/void", "sales.void", lambda t: {"reason": "rang up twice"}),
    Row("GET", "/journal/verify", "system.logs"),
    # tabs ({tab}: a fresh open tab with one unsent line, {tabline})
    Row("POST", "/tabs", "sales.process", lambda t: {"name": unique("Table")}),
    Row("GET", "/tabs", "sales.process"),
    Row("GET", "/tabs/{tab}", "sales.process"),
    Row("POST", "/tabs/{tab}/items", "sales.process",
        lambda t: {"items": [{"menuItemId": t["item"], "quantity": 1}], "send": False}),
    Row("DELETE", "/tabs/{tab}/items/{tabline}", "sales.process"),
    Row("POST", "/tabs/{tab}/send", "sales.process"),
    Row("POST", "/tabs/{tab}/pay", "sales.process", lambda t: {"payments": [{"method": "card"}]}),
    Row("POST", "/tabs/{tab}/void", "sales.void", lambda t: {"reason": "walked out"}),
    Row("GET", "/tabs/{tab}/bill", "receipts.print"),
    # shifts: each caller works on its own shift (the owner rule is tested with the shifts)
    Row("POST", "/shifts/open", "shifts.open_close", lambda t: {"openingCash": "100.00"}),
    Row("GET", "/shifts/current", "shifts.open_close"),
    Row("GET", "/shifts/{shift}", "shifts.open_close"),
    Row("GET", "/shifts/{shift}/report", "shifts.open_close"),
    Row("POST", "/shifts/{shift}/cash", "shifts.open_close",
        lambda t: {"type": "paid_in", "amount": "5.00", "reason": "change float"}),
    Row("POST", "/shifts/{shift}/close", "shifts.open_close", lambda t: {"countedCash": "105.00"}),
    Row("GET", "/shifts", "reports.view"),
    # reports
    Row("GET", "/sales/dashboard", "reports.view"),
    Row("GET", "/reports/dashboard", "reports.view"),
    Row("GET", "/reports/daily-sales", "reports.view"),
    Row("GET", "/reports/sales.csv", "reports.export"),
    Row("GET", "/reports/products.csv", "reports.export"),
    Row("POST", "/reports/email-summary", "reports.send_email", lambda t: {"recipients": ["boss@cafe.example"]}),
    Row("POST", "/reports/email-daily-summary", "reports.send_email",
        lambda t: {"recipients": ["boss@cafe.example"]}),
    Row("POST", "/reports/test-email", "reports.send_email", lambda t: {"recipients": ["boss@cafe.example"]}),
    # settings and stores
    Row("GET", "/settings", AUTHENTICATED),
    Row("PUT", "/settings", "system.settings", lambda t: {"receiptFooter": unique("Thanks")}),
    Row("PUT", "/settings", "system.settings", lambda t: {"stations": ["bar", "kitchen", unique("x")[2:]],
                                                          "tabMaxHours": 12}),
    Row("GET", "/stores", "system.settings"),
    Row("POST", "/stores", "system.settings", lambda t: {"name": unique("Branch")}),
    Row("GET", "/stores/{store}", "system.settings"),
    Row("PUT", "/stores/{store}", "system.settings", lambda t: {"address": unique("Main street")}),
    # the preparation queue (bar and kitchen)
    Row("GET", "/prep/tickets", "prep.view"),
    Row("GET", "/prep/tickets?station=bar&status=ready,collected", "prep.view"),
    Row("POST", "/prep/tickets/{ticket}/bar/start", "prep.update"),
    Row("POST", "/prep/tickets/{ticket}/bar/ready", "prep.update"),
    Row("POST", "/prep/tickets/{ticket}/bar/recall", "prep.update"),
    Row("GET", "/prep/tickets/{ticket}/bar/print", "prep.view"),
    Row("GET", "/prep/tickets/{ticket}/bar/print?format=escpos", "prep.view"),
    Row("POST", "/prep/items/{line}/start", "prep.update"),
    Row("POST", "/prep/items/{line}/ready", "prep.update"),
    Row("POST", "/orders/{ticket}/collected", "prep.update"),
]


def fingerprint(settings) -> dict[str, int]:
    """A hash of every row of every table a request could write (login bookkeeping aside)."""
    from orm.db import make_engine

    engine = make_engine(settings.database_url, pooled=False)
    try:
        with engine.connect() as conn:  # plain SQL: 40 compiled ORM selects per call were the slow part
            out = {}
            for name in sorted(models.Base.metadata.tables):
                if name not in VOLATILE_TABLES:
                    rows = conn.exec_driver_sql(f'SELECT * FROM "{name}"').all()
                    out[name] = hash(tuple(sorted(tuple(str(v) for v in row) for row in rows)))
            return out
    finally:
        engine.dispose()


def first_id(data: Any) -> str:
    """The id of the one resource in a response's data ({"menuItem": {...}} and friends)."""
    for value in (data or {}).values():
        if isinstance(value, dict) and "id" in value:
            return value["id"]
    if isinstance(data, dict) and "id" in data:
        return data["id"]
    raise AssertionError(f"no resource id in {data!r}")


class Targets:
    """Fresh resources, made by the admin through the API, for the rows that change or delete them."""

    def __init__(self, admin, as_role) -> None:
        self.admin, self.as_role = admin, as_role
        self.shared: dict[str, str] = {}

    async def _make(self, path: str, body: dict[str, Any]) -> str:
        resp = await self.admin.post(path, body)
        assert resp.status == 201, (path, resp.body)
        return first_id(resp.data)

    async def item(self) -> str:
        return await self._make("/menu_items", {"name": unique("Latte"), "price": "3.40", "category": "Matrix"})

    async def inventory(self) -> str:
        return await self._make("/inventory", {"name": unique("Beans"), "unit": "kg", "currentStock": "5",
                                               "minStockLevel": "1"})

    async def ticket(self) -> tuple[str, str]:
        """(order id, its bar line's id): a sale of an item made at the bar."""
        item = await self._make("/menu_items", {"name": unique("Flat white"), "price": "3.60", "category": "Matrix",
                                                "station": "bar"})
        resp = await self.admin.post("/orders", {"items": [{"menuItemId": item, "quantity": 1}],
                                                 "payments": [{"method": "card"}]})
        assert resp.status == 201, resp.body
        return resp.data["order"]["id"], resp.data["order"]["items"][0]["id"]

    async def order(self, item: str) -> str:
        return await self._make("/orders", {"items": [{"menuItemId": item, "quantity": 2}],
                                            "payments": [{"method": "card"}]})

    async def tab(self, item: str) -> tuple[str, str]:
        tab = await self._make("/tabs", {"name": unique("Table")})
        resp = await self.admin.post(f"/tabs/{tab}/items", {"items": [{"menuItemId": item, "quantity": 1}],
                                                            "send": False})
        assert resp.status == 200, resp.body
        return tab, resp.data["tab"]["items"][0]["id"]

    async def alert(self) -> str:
        if "alert" not in self.shared:
            inv = await self.inventory()
            resp = await self.admin.post(f"/inventory/{inv}/adjust", {"newLevel": "0", "type": "count",
                                                                      "reason": "empty"})
            assert resp.status == 200, resp.body
            alerts = (await self.admin.get("/alerts?status=active")).data["alerts"]
            self.shared["alert"] = next(a["id"] for a in alerts if a["inventoryItemId"] == inv)
        return self.shared["alert"]

    async def shift(self, role: str) -> str:
        c = self.as_role(role if role != "trainee" else "admin")  # the trainee is refused before any lookup
        current = await c.get("/shifts/current")
        if current.status == 200 and current.data.get("shift"):
            return current.data["shift"]["id"]
        opened = await c.post("/shifts/open", {"openingCash": "100.00"})
        assert opened.status in (200, 201), opened.body
        return opened.data["shift"]["id"]

    async def store(self) -> str:
        if "store" not in self.shared:
            self.shared["store"] = (await self.admin.get("/stores")).data["stores"][0]["id"]
        return self.shared["store"]

    async def for_row(self, row: Row, role: str) -> dict[str, str]:
        t: dict[str, str] = {}
        needs = set(re.findall(r"{(\w+)}", row.path)) | ({"item"} if row.path == "/orders" else set())
        if needs & {"item", "order", "tab"}:
            t["item"] = await self.item()
        if "order" in needs:
            t["order"] = await self.order(t["item"])
        if "tab" in needs:
            t["tab"], t["tabline"] = await self.tab(t["item"])
        if "group" in needs:
            t["group"] = await self._make("/menu_items/modifier-groups",
                                          {"name": unique("Syrup"), "minSelect": 0, "maxSelect": 1,
                                           "modifiers": [{"name": "Vanilla"}]})
        if "inv" in needs:
            t["inv"] = await self.inventory()
        if "alert" in needs:
            t["alert"] = await self.alert()
        if "shift" in needs:
            t["shift"] = await self.shift(role)
        if "store" in needs:
            t["store"] = await self.store()
        if needs & {"ticket", "line"}:
            t["ticket"], t["line"] = await self.ticket()
        return t


@pytest.fixture
async def matrix_role(server, as_role, admin):
    """`matrix_role("barista")` -> a Client of that built-in role (the four demo staff, or a barista
    and a display screen signed up through the API for the test)."""
    made: dict[str, Any] = {}
    for role in ("barista", "display"):
        username = f"{role}{uuid.uuid4().hex[:6]}"
        r = await admin.post("/users", {"username": username, "password": "password123", "firstName": role.title(),
                                        "lastName": "Matrix", "email": f"{username}@cafe.example", "role": role})
        assert r.status == 201, r.body
        c = server.client()
        r = await c.post("/auth/login", {"username": username, "password": "password123"})
        assert r.status == 200, r.body
        c.token = r.data["token"]
        made[role] = c
    yield lambda role: made[role] if role in made else as_role(role)
    for c in made.values():
        c.close()


@pytest.mark.timeout(450)
async def test_permission_matrix(matrix_role, admin, settings):
    """One database for the whole table (fresh targets per call); every mismatch is listed at the end."""
    as_role = matrix_role
    targets = Targets(admin, as_role)
    mismatches = []

    async def send(row: Row, role: str, t: dict[str, str]):
        kw: dict[str, Any] = {}
        if row.multipart:
            kw["body"], kw["headers"] = row.multipart()
        elif row.body:
            kw["json"] = row.body(t)
        return await as_role(role).request(row.method, row.path.format(**t), **kw)

    for row in MATRIX:
        allowed = API_MD_ROLES[row.permission]
        refused = [role for role in MATRIX_ROLES if role not in allowed]
        if refused:  # one set of targets and one before/after comparison for all the refused roles
            t = await targets.for_row(row, "trainee")
            before = fingerprint(settings)
            for role in refused:
                resp = await send(row, role, t)
                if resp.status != 403 or resp.json["errorCode"] != "FORBIDDEN":
                    mismatches.append(f"{row} as {role}: expected 403, got {resp.status} {resp.body[:200]!r}")
            if fingerprint(settings) != before:
                mismatches.append(f"{row}: a refused request changed the database ({', '.join(refused)})")
        for role in MATRIX_ROLES:
            if role not in allowed:
                continue
            resp = await send(row, role, await targets.for_row(row, role))
            # A 400/404/409 (or 503 for e-mail without an SMTP server) still got past the permission check.
            if resp.status in (401, 403) or (resp.status >= 500 and resp.status != 503):
                mismatches.append(f"{row} as {role}: expected allowed, got {resp.status} {resp.body[:200]!r}")
    assert not mismatches, "\n".join(mismatches)


async def test_costs_are_hidden_without_view_costs(matrix_role, admin):
    """inventory.view_costs is not a 403 but a blank: costPerUnit is null for the roles without it."""
    as_role = matrix_role
    created = await admin.post("/inventory", {"name": unique("Cocoa"), "unit": "kg", "currentStock": "2",
                                              "costPerUnit": "7.25"})
    item_id = first_id(created.data)
    for role in (*ROLES, "barista"):
        got = (await as_role(role).get(f"/inventory/{item_id}")).data
        cost = next(v for v in got.values() if isinstance(v, dict))["costPerUnit"]
        if role in API_MD_ROLES["inventory.view_costs"]:
            assert Decimal(str(cost)) == Decimal("7.25"), role
        else:
            assert cost is None, role


def _matches(row_path: str, pattern: str) -> bool:
    concrete = re.sub(r"{\w+}", "00000000-0000-0000-0000-000000000000", row_path.split("?")[0])
    return re.fullmatch(pattern, concrete) is not None


def test_every_protected_route_has_a_matrix_row():
    table = routes()
    covered = {(r.method, r.path) for r in MATRIX} | {(r.method, r.path) for r in USERS_MATRIX}
    missing = []
    for pattern, handler in table:
        if is_public(handler) or not issubclass(handler, BaseHandler):
            continue
        for method in handled_methods(handler):
            # Tornado takes the first route that matches, so a row belongs to the first pattern it fits.
            owners = [(m, p) for m, p in covered if m == method.upper()
                      and next((pat for pat, _h in table if _matches(p, pat)), None) == pattern]
            if not owners:
                missing.append(f"{method.upper()} {pattern}")
    assert not missing, "protected routes without a permission-matrix row:\n" + "\n".join(missing)


def test_matrix_permissions_are_the_ones_the_handlers_declare():
    """A row's permission is API.md's; the handler must declare it (in-handler checks aside)."""
    in_handler = {"sales.apply_discount", "sales.override_price"}
    wrong = []
    for row in MATRIX:
        if row.permission in in_handler:
            continue
        handler = next(h for pat, h in routes() if _matches(row.path, pat))
        declared = handler.permissions.get(row.method)
        declared = set(declared) if isinstance(declared, tuple) else {declared}
        if row.permission not in declared:
            wrong.append(f"{row}: handler declares {declared}")
    assert not wrong, "\n".join(wrong)


def test_database_fingerprint_sees_a_change(settings, demo_users):
    """The 'nothing written' check above can fail: an UPDATE changes the fingerprint."""
    before = fingerprint(settings)
    run_unit(settings, lambda s: s.execute(text("UPDATE users SET first_name = 'Changed' WHERE username = 'cashier'")))
    assert fingerprint(settings) != before
