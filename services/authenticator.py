"""The authenticator BaseHandler.prepare() (and the dashboard socket) call for every protected request.

Built once per process at start-up (main.make_context, `AppContext.authenticator`):

    principal = await ctx.authenticator(token)    # Unauthorized when the token or its session is not good
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from orm.controllers.identity import auth
from orm.domain import security
from orm.domain.principal import Principal

if TYPE_CHECKING:
    from context import AppContext


class VerifiedTokens:
    """Claims of access tokens already verified in the current second (IOLoop thread only).

    `security.decode_access_token` depends on the token, the secret and the clock in whole
    seconds only, so its answer is reused within the same second: a terminal polling several
    times a second pays for the signature check once.  Refusals are never kept; the login
    itself (revoked? deactivated?) is checked by the Authenticator on every request.
    """

    MAX_ENTRIES = 4096

    def __init__(self) -> None:
        self._key: tuple[int, str] | None = None
        self._claims: dict[str, dict] = {}

    def claims(self, token: str, *, secret: str, now: datetime) -> dict:
        key = (int(now.timestamp()), secret)
        if key != self._key:
            self._key, self._claims = key, {}
        claims = self._claims.get(token)
        if claims is None:
            claims = security.decode_access_token(token, secret=secret, now=now)
            if len(self._claims) < self.MAX_ENTRIES:
                self._claims[token] = claims
        return claims


class Authenticator:
    """Access token -> Principal: signature and expiry checked here, the login from the process's
    principal cache (services/principal_cache.py) or else read from the database."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.verified = VerifiedTokens()

    async def __call__(self, token: str) -> Principal:
        ctx = self.ctx
        now = ctx.clock()
        claims = self.verified.claims(token, secret=ctx.settings.jwt_secret, now=now)
        user_id, session_id = claims["sub"], claims["sid"]
        cache = ctx.principal_cache
        principal = cache.lookup(user_id, session_id, now, ctx.settings)
        if principal is not None:
            return principal
        ticket = cache.ticket()
        login = await ctx.run_db_read(auth.login_for, user_id, session_id, now, ctx.settings)
        cache.store(ticket, login)
        return login.principal
