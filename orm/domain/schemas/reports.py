"""Typed query parameters and bodies of the report endpoints (validated at the edge)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orm.domain.emails import email_addresses

PaymentFilter = Literal["all", "cash", "card", "split"]
NO_FILTER = frozenset({"", "all", "undefined", "null"})


def _means_all(value: object) -> bool:
    """A cleared select box sends "", and the web client sends its unset state as the literal text
    "undefined" or "null": like "all", they mean no filter (API.md, dashboard)."""
    return isinstance(value, str) and value.strip().lower() in NO_FILTER


class _Params(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store or compare NUL characters; refuse them as bad input (400).
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and "\x00" in text:
                raise ValueError("must not contain NUL characters")
        return value


class SalesQuery(_Params):
    """`?start_date=&end_date=&payment_method=&category=&storeId=` (dashboard and CSV exports)."""

    start_date: str | None = Field(default=None, max_length=40)
    end_date: str | None = Field(default=None, max_length=40)
    payment_method: PaymentFilter = "all"
    category: str | None = Field(default=None, max_length=64)
    storeId: str | None = Field(default=None, max_length=64)

    @field_validator("payment_method", mode="before")
    @classmethod
    def _method(cls, v: object) -> object:
        if _means_all(v):
            return "all"
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, v: object) -> object:
        return None if _means_all(v) else v

    @property
    def method(self) -> str | None:
        return None if self.payment_method == "all" else self.payment_method

    @property
    def category_name(self) -> str | None:
        return self.category or None


class DailySalesQuery(_Params):
    date: str | None = Field(default=None, max_length=10)
    storeId: str | None = Field(default=None, max_length=64)


def _addresses(value: list[str] | None) -> list[str] | None:
    return None if value is None else email_addresses(value)


class EmailSummaryRequest(_Params):
    """POST /reports/email-summary: a business day (default today) and optional recipients."""

    date: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD, default today (store time)")
    recipients: list[str] | None = Field(default=None, max_length=20,
                                         description="default: settings dailyEmailRecipients")
    storeId: str | None = Field(default=None, max_length=64)

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, v: list[str] | None) -> list[str] | None:
        return _addresses(v)


class TestEmailRequest(_Params):
    recipients: list[str] | None = Field(default=None, max_length=20,
                                         description="default: settings dailyEmailRecipients")

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, v: list[str] | None) -> list[str] | None:
        return _addresses(v)
