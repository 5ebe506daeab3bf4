"""Validated request bodies for auth, users and roles (camelCase, as the API sends them).

Handlers parse into these (400 with fieldErrors on bad input); controllers receive
them typed and valid.  Writes forbid unknown fields so a typo is an error, not a no-op.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orm.domain import security
from orm.domain.permissions import PERMISSIONS

_USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{1,63}")
_ROLE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}")
# Loose on purpose (the mail server is the judge); refuses what could smuggle headers.
_EMAIL_RE = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\.]+(\.[^@\s<>(),;:\"\[\]\\.]+)*$")
_WRITE = ConfigDict(extra="forbid")


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL_RE.match(value):
        raise ValueError("is not a valid e-mail address")
    return value


def _password(value: str) -> str:
    problem = security.password_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _pin(value: str | None) -> str | None:
    if value is None:
        return None
    problem = security.pin_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _permission_list(values: list[str]) -> list[str]:
    unknown = [v for v in values if v not in PERMISSIONS]
    if unknown:
        raise ValueError(f"unknown permission(s): {', '.join(sorted(set(unknown)))}")
    return sorted(set(values))


def _username(value: str | None) -> str | None:
    if value is not None and not _USERNAME_RE.fullmatch(value):
        raise ValueError("must be 2-64 letters, digits or . _ @ - (starting with a letter or digit)")
    return value


def _role_name(value: str | None) -> str | None:
    if value is not None and not _ROLE_NAME_RE.fullmatch(value):
        raise ValueError("must be 1-64 letters, digits, spaces or . _ - (starting with a letter or digit)")
    return value


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


class UserCreate(BaseModel):
    model_config = _WRITE

    username: str = Field(max_length=64, description="2-64 letters, digits, . _ @ -")
    password: str = Field(description=f"at least {security.PASSWORD_MIN_LENGTH} characters")
    firstName: str = Field(max_length=100)
    lastName: str = Field(max_length=100)
    email: str = Field(max_length=254)
    role: str | None = Field(default=None, max_length=64, description="role name (or send roleId)")
    roleId: str | None = Field(default=None, max_length=36)
    pin: str | None = Field(default=None, description="4-6 digits, unique among active users")
    storeId: str | None = Field(default=None, max_length=36,
                                description="the store the user works in; default: the creator's store")

    _check_username = field_validator("username")(_username)
    _check_password = field_validator("password")(_password)
    _check_email = field_validator("email")(_email)
    _check_pin = field_validator("pin")(_pin)
    _check_first = field_validator("firstName")(_name)

    @field_validator("lastName")
    @classmethod
    def _last(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _one_role(self) -> UserCreate:
        if not self.role and not self.roleId:
            raise ValueError("send role or roleId")
        return self


class UserUpdate(BaseModel):
    """Partial update: only the fields sent change; `pin: null` removes the PIN."""

    model_config = _WRITE

    username: str | None = Field(default=None, max_length=64)
    firstName: str | None = Field(default=None, max_length=100)
    lastName: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    password: str | None = None
    currentPassword: str | None = Field(default=None, max_length=security.PASSWORD_MAX_LENGTH,
                                        description="required when changing your own password")
    pin: str | None = None
    role: str | None = Field(default=None, max_length=64)
    roleId: str | None = Field(default=None, max_length=36)
    isActive: bool | None = None
    storeId: str | None = Field(default=None, max_length=36,
                                description="move the user to this store (null: the default store)")

    @field_validator("password")
    @classmethod
    def _pw(cls, value: str | None) -> str | None:
        return None if value is None else _password(value)

    @field_validator("email")
    @classmethod
    def _mail(cls, value: str | None) -> str | None:
        return None if value is None else _email(value)

    _check_pin = field_validator("pin")(_pin)
    _check_username = field_validator("username")(_username)

    @field_validator("firstName")
    @classmethod
    def _first(cls, value: str | None) -> str | None:
        return None if value is None else _name(value)

    @model_validator(mode="after")
    def _no_nulls(self) -> UserUpdate:
        for name in ("username", "firstName", "lastName", "email", "password", "isActive"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} must not be null")
        if self.role and self.roleId:
            raise ValueError("send role or roleId, not both")
        return self

    @property
    def changes_pin(self) -> bool:
        return "pin" in self.model_fields_set


class RoleAssignment(BaseModel):
    model_config = _WRITE

    role: str | None = Field(default=None, max_length=64)
    roleId: str | None = Field(default=None, max_length=36)

    @model_validator(mode="after")
    def _exactly_one(self) -> RoleAssignment:
        if bool(self.role) == bool(self.roleId):
            raise ValueError("send exactly one of role or roleId")
        return self


class PermissionOverrides(BaseModel):
    """Per-user grants and revokes on top of the role; a list sent replaces the stored one."""

    model_config = _WRITE

    grants: list[str] | None = Field(default=None, max_length=200)
    revokes: list[str] | None = Field(default=None, max_length=200)

    @field_validator("grants", "revokes")
    @classmethod
    def _known(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _permission_list(values)

    @model_validator(mode="after")
    def _disjoint(self) -> PermissionOverrides:
        if self.grants is None and self.revokes is None:
            raise ValueError("send grants and/or revokes")
        both = set(self.grants or ()) & set(self.revokes or ())
        if both:
            raise ValueError(f"granted and revoked at once: {', '.join(sorted(both))}")
        return self


class RoleCreate(BaseModel):
    model_config = _WRITE

    name: str = Field(max_length=64)
    description: str = Field(default="", max_length=200)
    permissions: list[str] = Field(default_factory=list, max_length=200)

    _check_name = field_validator("name")(_role_name)
    _check_permissions = field_validator("permissions")(_permission_list)


class RoleUpdate(BaseModel):
    model_config = _WRITE

    name: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=200)
    permissions: list[str] | None = Field(default=None, max_length=200)

    _check_name = field_validator("name")(_role_name)
    @field_validator("permissions")
    @classmethod
    def _known(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _permission_list(values)

    @model_validator(mode="after")
    def _no_nulls(self) -> RoleUpdate:
        for name in ("name", "description", "permissions"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} must not be null")
        return self


class RefreshBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    refreshToken: str = Field(min_length=1, max_length=200)


class ResetRequestBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: str = Field(max_length=254)

    _check_email = field_validator("email")(_email)


class ResetTokenBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    token: str = Field(min_length=1, max_length=200)


class ResetConfirmBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    token: str = Field(min_length=1, max_length=200)
    newPassword: str = Field(description=f"at least {security.PASSWORD_MIN_LENGTH} characters")

    _check_password = field_validator("newPassword")(_password)
