"""Password and PIN hashing, the PIN lookup index, opaque token hashing and JWTs.

- Passwords and PINs: bcrypt (cost from settings; run off the IOLoop by callers).
- PIN login must cost one indexed lookup plus one bcrypt check, never one check per
  user, so each PIN also gets `pin_lookup = HMAC-SHA256(pepper, pin)`: unique among
  active users, useless without the server-side pepper.
- Refresh and reset tokens are random and stored only as SHA-256 digests.
- Access tokens: HS256 JWTs carrying the user id (sub) and login session id (sid);
  only HS256 is accepted, so `alg: none` and other keys' tokens are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

import bcrypt
import jwt

from orm.controllers.errors import TokenExpired, Unauthorized

JWT_ALGORITHM = "HS256"
# bcrypt only reads the first 72 bytes; longer passwords are pre-hashed so no byte is ignored.
BCRYPT_MAX = 72


def _bcrypt_input(secret: str) -> bytes:
    raw = secret.encode("utf-8")
    if len(raw) > BCRYPT_MAX:
        raw = hashlib.sha256(raw).hexdigest().encode()
    return raw


def hash_secret(secret: str, rounds: int) -> str:
    return bcrypt.hashpw(_bcrypt_input(secret), bcrypt.gensalt(rounds)).decode()


def check_secret(secret: str, hashed: str | None) -> bool:
    if not hashed:
        return False
    try:
        return bcrypt.checkpw(_bcrypt_input(secret), hashed.encode())
    except ValueError:
        return False


# A real hash to check against when the user does not exist, so timing does not tell.
_DUMMY_HASH = bcrypt.hashpw(b"no-such-user", bcrypt.gensalt(4)).decode()


def check_secret_or_dummy(secret: str, hashed: str | None) -> bool:
    if hashed is None:
        check_secret(secret, _DUMMY_HASH)
        return False
    return check_secret(secret, hashed)


def pin_lookup(pin: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), f"pin:{pin}".encode(), hashlib.sha256).hexdigest()


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_access_token(*, user_id: str, session_id: str, secret: str, now: datetime,
                       lifetime: timedelta) -> tuple[str, datetime]:
    expires = now + lifetime
    claims = {"sub": user_id, "sid": session_id, "typ": "access",
              "iat": int(now.timestamp()), "exp": int(expires.timestamp()),
              "jti": secrets.token_hex(8)}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM), expires


def decode_access_token(token: str, *, secret: str, now: datetime) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[JWT_ALGORITHM],
            options={"require": ["sub", "sid", "exp", "iat"], "verify_exp": False},
        )
    except jwt.InvalidTokenError:
        raise Unauthorized("Invalid token") from None
    # Expiry is checked against the injectable clock, not the wall clock.
    if int(claims["exp"]) <= int(now.timestamp()):
        raise TokenExpired("Token has expired")
    if claims.get("typ") != "access":
        raise Unauthorized("Invalid token")
    return claims
