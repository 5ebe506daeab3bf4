"""Core login paths and the per-request authenticator."""

from __future__ import annotations

import jwt

from tests.conftest import TEST_JWT_SECRET


async def test_password_login_returns_token_pair_and_user(client, demo_users):
    resp = await client.post("/auth/login", {"username": "manager", "password": "password123"})
    assert resp.status == 200, resp.body
    data = resp.data
    assert set(data) >= {"user", "token", "refreshToken", "expiresIn", "sessionExpiry"}
    assert data["expiresIn"] == 720 * 60  # SESSION_IDLE_MINUTES: the token lives as long as the login
    user = data["user"]
    assert user["username"] == "manager" and user["role"] == "manager" and user["hasPin"] is True
    assert "menu.edit" in user["permissions"] and "roles.manage" not in user["permissions"]
    assert "password" not in str(user).lower() and "pin_" not in str(user)
    me = await client.get("/auth/me", token=data["token"])
    assert me.status == 200 and me.data["user"]["id"] == user["id"]


async def test_pin_login(client, demo_users):
    resp = await client.post("/auth/login", {"pinCode": "3456"})
    assert resp.status == 200, resp.body
    assert resp.data["user"]["username"] == "cashier"


async def test_wrong_credentials_one_generic_message(client, demo_users):
    bad = [
        {"username": "manager", "password": "nope"},
        {"username": "ghost", "password": "password123"},
        {"pinCode": "9999"},
    ]
    messages = set()
    for body in bad:
        resp = await client.post("/auth/login", body)
        assert resp.status == 401 and resp.json["errorCode"] == "UNAUTHORIZED"
        messages.add(resp.json["errors"][0])
    assert len(messages) == 1


async def test_login_validation(client, demo_users):
    for body in ({}, {"username": "x"}, {"pinCode": "12"}, {"pinCode": "abcd"}):
        resp = await client.post("/auth/login", body)
        assert resp.status == 400 and resp.json["errorCode"] == "VALIDATION_ERROR"


async def test_tampered_alg_none_and_foreign_key_tokens_refused(client, tokens):
    good = tokens["admin"]
    # The suite clock, not the wall clock, decides expiry (CAFEPOS_TEST_NOW may lie in the past).
    claims = jwt.decode(good, TEST_JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    none_token = jwt.encode(claims, key=None, algorithm="none")
    foreign = jwt.encode(claims, "another-key-that-is-long-enough!", algorithm="HS256")
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    for token in (none_token, foreign, tampered, "not-a-jwt"):
        resp = await client.get("/auth/me", token=token)
        assert resp.status == 401, token
    expired = jwt.encode({**claims, "exp": claims["iat"] - 10}, TEST_JWT_SECRET, algorithm="HS256")
    resp = await client.get("/auth/me", token=expired)
    assert resp.status == 401 and resp.json["errorCode"] == "TOKEN_EXPIRED"
