"""Auth: login by password or PIN, who am I, and the per-request authenticator."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from apis.base import AUTHENTICATED, BaseHandler
from context import AppContext
from orm.controllers import security
from orm.controllers.auth_controller import AuthController, LoginContext
from orm.controllers.errors import Unauthorized
from orm.controllers.principal import Principal

GENERIC_LOGIN_ERROR = "Invalid username, password or PIN"


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, max_length=1024)
    pinCode: str | None = Field(default=None, pattern=r"^\d{4,6}$")
    rememberMe: bool = False

    @model_validator(mode="after")
    def one_method(self) -> LoginBody:
        if self.pinCode is None and not (self.username and self.password):
            raise ValueError("send username and password, or pinCode")
        return self


def setup(ctx: AppContext) -> None:
    """Install the authenticator BaseHandler.prepare() calls for every protected request."""

    async def authenticate(token: str) -> Principal:
        claims = security.decode_access_token(token, secret=ctx.settings.jwt_secret, now=ctx.clock())
        return await ctx.run_db(AuthController.principal_for, claims["sub"], claims["sid"], ctx.clock())

    ctx.extras["authenticator"] = authenticate


class LoginHandler(BaseHandler):
    """Sign in with username + password, or with a PIN on a terminal."""

    allow_unauthenticated = True
    api_doc = {"post": {"summary": "Log in (password or PIN)", "body": LoginBody, "tags": ["auth"]}}

    def login_context(self) -> LoginContext:
        return LoginContext(address=self.request.remote_ip or "",
                            user_agent=self.request.headers.get("User-Agent", ""), now=self.ctx.clock())

    async def post(self) -> None:
        body = self.parse(LoginBody)
        lctx = self.login_context()
        settings = self.ctx.settings
        if body.pinCode is not None:
            method = "pin"
            lookup = security.pin_lookup(body.pinCode, settings.pin_pepper)
            creds = await self.run_db(AuthController.credentials_for_pin, lookup, body.username)
            secret = body.pinCode
        else:
            method = "password"
            creds = await self.run_db(AuthController.credentials_for_password, body.username)
            secret = body.password or ""
        ok = await self.run_blocking(security.check_secret_or_dummy, secret,
                                     creds.secret_hash if creds else None)
        if not ok or creds is None or not creds.is_active:
            reason = ("unknown_user" if creds is None else "inactive" if not creds.is_active
                      else f"bad_{method}")
            await self.run_db(AuthController.record_failed_login, method=method, username=body.username,
                              user_id=creds.user_id if creds else None, reason=reason, ctx=lctx)
            raise Unauthorized(GENERIC_LOGIN_ERROR)
        result = await self.run_db(AuthController.complete_login, user_id=creds.user_id, method=method,
                                   remember_me=body.rememberMe, ctx=lctx, settings=settings)
        self.success(result)


class MeHandler(BaseHandler):
    """The signed-in user."""

    permissions = {"GET": AUTHENTICATED}
    api_doc = {"get": {"summary": "The signed-in user", "tags": ["auth"]}}

    async def get(self) -> None:
        user = await self.run_db(AuthController.me, self.principal.user_id)
        self.success({"user": user})


default_handlers = [
    (r"/auth/login", LoginHandler),
    (r"/auth/me", MeHandler),
]
