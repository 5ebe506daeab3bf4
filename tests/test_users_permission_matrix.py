"""API.md's permission table for every built-in role on every users/roles/audit/auth endpoint.

Each row names the roles that must get a 2xx; every other role must get 403 (and nothing
changes for them).  Every call works on fresh targets, so one role's success cannot
change what the next role sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.conftest import ROLES
from tests.identity_support import counts, matrix_targets, unique

ALL = frozenset(ROLES)
ADMIN = frozenset({"admin"})
STAFF = frozenset({"admin", "manager"})  # users.view / users.edit holders


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # {target}: an active trainee-role user; {inactive}: a deactivated one; {role}: an unused role;
    #            {self}: the caller
    allowed: frozenset[str]
    body: Callable[[], Any] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


MATRIX = [
    Row("GET", "/users", STAFF),
    Row("POST", "/users", ADMIN, lambda: {"username": unique("new"), "password": "password123", "firstName": "N",
                                          "lastName": "U", "email": "n@cafe.example", "role": "trainee"}),
    Row("GET", "/users/roles", STAFF),
    Row("GET", "/users/{target}", STAFF),
    Row("GET", "/users/{self}", ALL),
    Row("PUT", "/users/{target}", STAFF, lambda: {"firstName": "Renamed"}),
    Row("PUT", "/users/{self}", ALL, lambda: {"firstName": "Me", "email": "me@cafe.example"}),
    Row("DELETE", "/users/{target}", ADMIN),
    Row("PATCH", "/users/{target}/deactivate", STAFF),
    Row("PATCH", "/users/{inactive}/activate", STAFF),
    Row("PUT", "/users/{target}/role", STAFF, lambda: {"role": "cashier"}),
    Row("GET", "/users/{target}/permissions", STAFF),
    Row("PUT", "/users/{target}/permissions", STAFF, lambda: {"grants": ["menu.edit"]}),
    Row("GET", "/roles", STAFF),
    Row("POST", "/roles", ADMIN, lambda: {"name": unique("r"), "permissions": ["menu.view"]}),
    Row("GET", "/roles/{role}", STAFF),
    Row("PUT", "/roles/{role}", ADMIN, lambda: {"description": "changed"}),
    Row("DELETE", "/roles/{role}", ADMIN),
    Row("GET", "/permissions", STAFF),
    Row("GET", "/permissions/role/cashier", STAFF),
    Row("GET", "/audit/access-log", ADMIN),
    Row("GET", "/audit/failed-logins", ADMIN),
    Row("GET", "/audit/changes", ADMIN),
    Row("GET", "/auth/me", ALL),
    Row("POST", "/auth/validate-session", ALL),
    Row("POST", "/auth/logout", ALL),
]


async def test_permission_matrix(as_role, settings):
    """One database for the whole table (fresh targets per call); every mismatch is listed at the end."""
    mismatches = []
    for row in MATRIX:  # logout comes last: it ends the caller's session
        for role in ROLES:
            path = row.path.format(**matrix_targets(settings, role))
            before = counts(settings)
            resp = await as_role(role).request(row.method, path, json=row.body() if row.body else None)
            if role in row.allowed:
                ok = 200 <= resp.status < 300 and resp.json["success"] is True
            else:
                ok = (resp.status == 403 and resp.json["errorCode"] == "FORBIDDEN"
                      and counts(settings) == before)
            if not ok:
                expected = "2xx" if role in row.allowed else "403"
                mismatches.append(f"{row} as {role}: expected {expected}, got {resp.status} {resp.body[:200]!r}")
    assert not mismatches, "\n".join(mismatches)


async def test_no_token_is_401_everywhere_here(client, demo_users):
    for row in MATRIX:
        path = row.path.format(target="x", inactive="x", role="x", self="x")
        resp = await client.request(row.method, path, json=row.body() if row.body else None)
        assert resp.status == 401 and resp.json["errorCode"] == "UNAUTHORIZED", str(row)
