"""Domain exceptions raised by controllers and handlers.

`apis.access.AuthMixin.write_error` (every handler's) is the one place that maps them onto the
JSON envelope: status code, `errorCode`, `errors[]` and `fieldErrors`.
Controllers never know about HTTP; they only pick the exception that says
what went wrong in the café's terms.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    error_code = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        field_errors: dict[str, str] | None = None,
        errors: list[str] | None = None,
        data: dict[str, Any] | None = None,
        error_code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
        # One human-readable string per problem; the first is what clients show.
        self.errors = errors or [message]
        self.data = data or {}
        if error_code:
            self.error_code = error_code
        self.headers = headers or {}
        # Extra top-level envelope keys (e.g. retryAfterSeconds on 423).
        self.extra = extra or {}


class ValidationFailed(DomainError):
    status_code = 400
    error_code = "VALIDATION_ERROR"


class InvalidJSON(DomainError):
    status_code = 400
    error_code = "INVALID_JSON"


class Unauthorized(DomainError):
    status_code = 401
    error_code = "UNAUTHORIZED"


class TokenExpired(Unauthorized):
    error_code = "TOKEN_EXPIRED"


class PermissionDenied(DomainError):
    status_code = 403
    error_code = "FORBIDDEN"


class NotFound(DomainError):
    status_code = 404
    error_code = "NOT_FOUND"


class Conflict(DomainError):
    status_code = 409
    error_code = "CONFLICT"


class SoldOut(Conflict):
    error_code = "SOLD_OUT"


class PayloadTooLarge(DomainError):
    status_code = 413
    error_code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(DomainError):
    status_code = 415
    error_code = "UNSUPPORTED_MEDIA_TYPE"


class AccountLocked(DomainError):
    status_code = 423
    error_code = "ACCOUNT_LOCKED"

    def __init__(self, message: str, *, retry_after_seconds: int, **kw: Any) -> None:
        kw.setdefault("extra", {})["retryAfterSeconds"] = retry_after_seconds
        kw.setdefault("headers", {})["Retry-After"] = str(retry_after_seconds)
        super().__init__(message, **kw)
        self.retry_after_seconds = retry_after_seconds


class RateLimited(DomainError):
    status_code = 429
    error_code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_seconds: int, **kw: Any) -> None:
        kw.setdefault("extra", {})["retryAfterSeconds"] = retry_after_seconds
        kw.setdefault("headers", {})["Retry-After"] = str(retry_after_seconds)
        super().__init__(message, **kw)
        self.retry_after_seconds = retry_after_seconds


class ServiceUnavailable(DomainError):
    status_code = 503
    error_code = "SERVICE_UNAVAILABLE"
