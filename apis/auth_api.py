"""Auth: login (password or PIN), refresh, logout, who am I, password reset.

The authenticator every protected request goes through is services/authenticator.py.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from apis.base import AUTHENTICATED, BaseHandler
from orm.controllers.identity import auth, password_reset
from orm.controllers.identity.auth import GENERIC_LOGIN_ERROR, LoginContext
from orm.controllers.identity.password_reset import INVALID_TOKEN
from orm.domain import security
from orm.domain.errors import AccountLocked, RateLimited, Unauthorized, ValidationFailed
from orm.domain.schemas.identity import RefreshBody, ResetConfirmBody, ResetRequestBody, ResetTokenBody
from services import password_reset_mail

RESET_REQUESTED = "If an account uses this e-mail address, a link to reset its password is on its way."


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, max_length=security.PASSWORD_MAX_LENGTH)
    pinCode: str | None = Field(default=None, pattern=security.PIN_PATTERN)
    rememberMe: bool = False

    @model_validator(mode="after")
    def one_method(self) -> LoginBody:
        if self.pinCode is None and not (self.username and self.password):
            raise ValueError("send username and password, or pinCode")
        return self


class AuthHandler(BaseHandler):
    def login_context(self) -> LoginContext:
        return LoginContext(address=(self.request.remote_ip or "")[:64],
                            user_agent=self.request.headers.get("User-Agent", "")[:300], now=self.ctx.clock())


def locked_error(seconds: int) -> AccountLocked:
    return AccountLocked(f"Too many failed attempts; try again in {seconds} seconds", retry_after_seconds=seconds)


class LoginHandler(AuthHandler):
    """Sign in with username + password, or with a PIN on a terminal."""

    allow_unauthenticated = True
    api_doc = {"post": {"summary": "Log in (password or PIN)", "body": LoginBody, "tags": ["auth"],
                        "description": "→ {user, token, refreshToken, expiresIn, sessionExpiry}. 401 on wrong "
                                       "credentials, 423 while locked, 429 when rate limited.",
                        "responses": {"401": "Wrong credentials"}}}

    async def post(self) -> None:
        body = self.parse(LoginBody)
        lctx = self.login_context()
        settings = self.ctx.settings
        method = "pin" if body.pinCode is not None else "password"
        lookup = security.pin_lookup(body.pinCode, settings.pin_pepper) if body.pinCode is not None else None
        gate = await self.run_db(auth.begin_login, method=method, username=body.username, lookup=lookup,
                                 ctx=lctx, settings=settings)
        if gate.rate_limited_for is not None:
            raise RateLimited("Too many login attempts from this address; try again shortly",
                              retry_after_seconds=gate.rate_limited_for)
        if gate.locked_for is not None:
            raise locked_error(gate.locked_for)
        creds = gate.credentials
        secret = body.pinCode if body.pinCode is not None else body.password or ""
        ok = await self.run_blocking(security.check_secret_or_dummy, secret, creds.secret_hash if creds else None,
                                     settings.bcrypt_rounds)
        if not ok or creds is None or not creds.is_active:
            if creds is None:
                reason = "bad_pin" if method == "pin" else "unknown_user"
            else:
                reason = "inactive" if ok else f"bad_{method}"
            locked = await self.run_db(auth.record_failed_login, method=method, username=body.username,
                                       user_id=creds.user_id if creds else None, reason=reason, ctx=lctx,
                                       settings=settings)
            if locked is not None:
                raise locked_error(locked)
            raise Unauthorized(GENERIC_LOGIN_ERROR)
        result = await self.run_db(auth.complete_login, user_id=creds.user_id, method=method,
                                   remember_me=body.rememberMe, ctx=lctx, settings=settings)
        self.success(result)


class RefreshHandler(AuthHandler):
    """Swap a refresh token for a new pair; the old one stops working."""

    allow_unauthenticated = True
    api_doc = {"post": {"summary": "Rotate the token pair", "body": RefreshBody, "tags": ["auth"],
                        "description": "Presenting a refresh token twice revokes that whole login.",
                        "responses": {"401": "Invalid, expired or reused refresh token"}}}

    async def post(self) -> None:
        body = self.parse(RefreshBody)
        result = await self.run_db(auth.refresh_session, body.refreshToken, ctx=self.login_context(),
                                   settings=self.ctx.settings)
        if result is None:
            raise Unauthorized("Invalid or expired refresh token; please sign in again")
        self.success(result)


class LogoutHandler(BaseHandler):
    """End the current login: its access and refresh tokens stop working."""

    permissions = {"POST": AUTHENTICATED}
    api_doc = {"post": {"summary": "Log out (revoke this session)", "tags": ["auth"]}}

    async def post(self) -> None:
        await self.run_db(auth.logout, self.principal.session_id, self.ctx.clock())
        self.success({}, message="Signed out")


class MeHandler(BaseHandler):
    """The signed-in user."""

    permissions = {"GET": AUTHENTICATED}
    api_doc = {"get": {"summary": "The signed-in user", "tags": ["auth"]}}

    async def get(self) -> None:
        user = await self.run_db(auth.me, self.principal.user_id)
        self.success({"user": user})


class ValidateSessionHandler(BaseHandler):
    """Is this token's login still alive? (An invalid one gets 401 like any other request.)"""

    permissions = {"POST": AUTHENTICATED}
    api_doc = {"post": {"summary": "Check the current session → {valid, user, sessionExpiry}", "tags": ["auth"]}}

    async def post(self) -> None:
        self.success(await self.run_db(auth.validate_session, self.principal, self.ctx.settings))


class PasswordResetRequestHandler(AuthHandler):
    """Send a reset link; the answer is the same whether or not the address is known."""

    allow_unauthenticated = True
    api_doc = {"post": {"summary": "Request a password-reset e-mail", "body": ResetRequestBody, "tags": ["auth"]}}

    async def post(self) -> None:
        body = self.parse(ResetRequestBody)
        lctx = self.login_context()
        mails = await self.run_db(password_reset.request, body.email, address=lctx.address, now=lctx.now,
                                  settings=self.ctx.settings)
        # Sent in the background: answering only after SMTP would time-reveal known addresses.
        password_reset_mail.send_later(self.ctx, mails)
        self.success({}, message=RESET_REQUESTED)


class ValidateResetTokenHandler(BaseHandler):
    """Is this reset token still usable?"""

    allow_unauthenticated = True
    api_doc = {"post": {"summary": "Check a password-reset token → {valid}", "body": ResetTokenBody,
                        "tags": ["auth"]}}

    async def post(self) -> None:
        body = self.parse(ResetTokenBody)
        valid = await self.run_db(password_reset.token_is_valid, body.token, self.ctx.clock())
        self.success({"valid": valid})


class PasswordResetConfirmHandler(BaseHandler):
    """Set a new password with a reset token; every session of that user ends."""

    allow_unauthenticated = True
    api_doc = {"post": {"summary": "Complete a password reset", "body": ResetConfirmBody, "tags": ["auth"]}}

    async def post(self) -> None:
        body = self.parse(ResetConfirmBody)
        # Cheap check first, so a made-up token never costs a bcrypt hash.
        if not await self.run_db(password_reset.token_is_valid, body.token, self.ctx.clock()):
            raise ValidationFailed(INVALID_TOKEN, field_errors={"token": "is invalid or has expired"})
        hashed = await self.run_blocking(security.hash_secret, body.newPassword, self.ctx.settings.bcrypt_rounds)
        await self.run_db(password_reset.confirm, body.token, hashed, self.ctx.clock())
        self.success({}, message="Your password has been changed; please sign in again")


default_handlers = [
    (r"/auth/login", LoginHandler),
    (r"/auth/refresh", RefreshHandler),
    (r"/auth/logout", LogoutHandler),
    (r"/auth/me", MeHandler),
    (r"/auth/validate-session", ValidateSessionHandler),
    (r"/auth/password-reset-request", PasswordResetRequestHandler),
    (r"/auth/validate-reset-token", ValidateResetTokenHandler),
    (r"/auth/password-reset-confirm", PasswordResetConfirmHandler),
]
