"""Password and PIN hashing, the PIN lookup index, opaque token hashing and JWTs.

- Passwords and PINs: bcrypt (cost from settings; run off the IOLoop by callers).
- PIN login must cost one indexed lookup plus one bcrypt check, never one check per
  user, so each PIN also gets `pin_lookup = HMAC-SHA256(pepper, pin)`: unique among
  active users, useless without the server-side pepper.
- Refresh and reset tokens are random and stored only as SHA-256 digests.
- Access tokens: HS256 JWTs carrying the user id (sub) and login session id (sid);
  only HS256 is accepted, so `alg: none` and other keys' tokens are refused.
- Password policy: at least PASSWORD_MIN_LENGTH (8) characters, applied on create,
  change and reset.  PINs are 4-6 digits.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import bcrypt
import jwt

from orm.domain.errors import TokenExpired, Unauthorized

JWT_ALGORITHM = "HS256"
# bcrypt only reads the first 72 bytes; longer passwords are pre-hashed so no byte is ignored.
BCRYPT_MAX = 72
# Tolerated clock skew between processes for a token's issue time.
IAT_LEEWAY_SECONDS = 60
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 1024
# ASCII digits only: \d would also accept other scripts' digits.
PIN_PATTERN = r"^[0-9]{4,6}$"
_PIN_RE = re.compile(PIN_PATTERN)


def password_problem(password: str) -> str | None:
    """Why `password` breaks the policy, or None when it is acceptable."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"must be at least {PASSWORD_MIN_LENGTH} characters"
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"must be at most {PASSWORD_MAX_LENGTH} characters"
    if not password.strip():
        return "must not be blank"
    return None


def pin_problem(pin: str) -> str | None:
    return None if _PIN_RE.fullmatch(pin) else "must be 4 to 6 digits"


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


@functools.lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    return bcrypt.hashpw(b"no-such-user", bcrypt.gensalt(rounds)).decode()


def check_secret_or_dummy(secret: str, hashed: str | None, rounds: int = 4) -> bool:
    """Check against a real hash of the same cost when the user does not exist,
    so the answer time does not tell whether a username exists."""
    if hashed is None:
        check_secret(secret, _dummy_hash(rounds))
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
            options={"require": ["sub", "sid", "exp", "iat"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError:
        raise Unauthorized("Invalid token") from None
    # A correctly signed token is still input: every claim we use must have the type we issue
    # ("exp": "tomorrow" or a NUL in "sid" is a 401, not a 500 further on).
    exp, iat = claims["exp"], claims["iat"]
    if not (_is_timestamp(exp) and _is_timestamp(iat) and _is_id(claims["sub"]) and _is_id(claims["sid"])
            and claims.get("typ") == "access"):
        raise Unauthorized("Invalid token")
    # Expiry and issue time are checked against the injectable clock, not the wall clock.
    if exp <= int(now.timestamp()):
        raise TokenExpired("Token has expired")
    if iat > int(now.timestamp()) + IAT_LEEWAY_SECONDS:
        raise Unauthorized("Invalid token")
    return claims


def _is_timestamp(value: Any) -> bool:
    """Whole seconds since the epoch, as issue_access_token writes them (no floats, bools or text)."""
    return type(value) is int and 0 <= value < 2**63


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 64 and value.isascii() and value.isprintable()
