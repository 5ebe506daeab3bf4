"""The identity seed is idempotent and gives every demo user a working password and PIN."""

from __future__ import annotations

from orm.seed.identity import DEMO_USERS, seed_test
from tests.conftest import run_unit
from tests.identity_support import user_id, user_row


async def test_seed_twice_changes_nothing(client, settings, demo_users):
    first = {name: user_row_by_name(settings, name) for name, *_ in DEMO_USERS}
    assert run_unit(settings, seed_test, settings) == demo_users == {"users": 4, "roles": 6}
    assert {name: user_row_by_name(settings, name) for name, *_ in DEMO_USERS} == first
    for username, _first, _last, role, pin in DEMO_USERS:
        by_password = await client.post("/auth/login", {"username": username, "password": "password123"})
        by_pin = await client.post("/auth/login", {"pinCode": pin})
        assert by_password.status == 200 and by_password.data["user"]["role"] == role
        assert by_pin.status == 200 and by_pin.data["user"]["username"] == username


def user_row_by_name(settings, username: str) -> dict:
    return user_row(settings, user_id(settings, username))
