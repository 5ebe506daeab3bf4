"""Store settings (API.md "Settings"): one versioned row per store, first values from the environment.

`version` goes up by one with every change that actually changes something, so
a process holding a copy can tell with one `SELECT version` whether it is stale
(services/settings_cache.py).
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.column_types import utcnow
from orm.controllers.identity.changes import diff, record_change
from orm.db import Event, events
from orm.domain.emails import email_addresses
from orm.domain.errors import Conflict, NotFound
from orm.domain.money import from_minor, to_minor
from orm.domain.principal import Principal
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_menu import MenuCategory, MenuItem
from orm.models.model_settings import StoreSettings
from orm.models.model_store import Store
from settings import Settings

DEFAULT_TAX_RATE = Decimal("0.08")
TIME_OF_DAY = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
MAX_RECIPIENTS = 20

# Settings resource key -> StoreSettings column (the editable ones).
COLUMNS: dict[str, str] = {
    "storeName": "store_name",
    "storeAddress": "store_address",
    "vatNumber": "vat_number",
    "currency": "currency",
    "storeTimezone": "store_timezone",
    "taxMode": "tax_mode",
    "defaultTaxRate": "default_tax_rate",
    "receiptHeader": "receipt_header",
    "receiptFooter": "receipt_footer",
    "cashRounding": "cash_rounding",
    "dailyEmailTime": "daily_email_time",
    "dailyEmailRecipients": "daily_email_recipients",
    "lowStockDefaultMin": "low_stock_default_min",
    "alertSweepMinutes": "alert_sweep_minutes",
    "expiryWarningDays": "expiry_warning_days",
    "lockoutAttempts": "lockout_attempts",
    "lockoutMinutes": "lockout_minutes",
    "requireOpenShift": "require_open_shift",
    "allowNegativeStock": "allow_negative_stock",
    "receiptWidth": "receipt_width",
    "stations": "stations",
    "tabMaxHours": "tab_max_hours",
}
# Characters per line of receipt paper (font A): 58 mm paper prints 32, 80 mm paper 42 or 48 by printer.
RECEIPT_WIDTHS = (32, 42, 48)
DEFAULT_RECEIPT_WIDTH = 42
# Preparation stations (bar, kitchen, ...): lower-case names a category or item is sent to.
STATION_NAME = re.compile(r"[a-z0-9_-]{1,32}")
MAX_STATIONS = 20
DEFAULT_STATIONS = ("bar", "kitchen")
DEFAULT_TAB_MAX_HOURS = 16


# ---- validation -------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(name: str) -> str:
    """An IANA zone name that zoneinfo can load ("Europe/Berlin"), else ValueError."""
    if name not in _known_zones():
        raise ValueError("is not a known IANA time zone (e.g. Europe/Berlin)")
    try:
        zoneinfo.ZoneInfo(name)
    except Exception:  # IsADirectoryError, ValueError, ZoneInfoNotFoundError: all mean "not a zone"
        raise ValueError("is not a known IANA time zone (e.g. Europe/Berlin)") from None
    return name


def _no_bool(value: Any) -> Any:
    # pydantic's lax int turns true into 1; a setting sent as a boolean is a client bug.
    if isinstance(value, bool):
        raise ValueError("must be a number")
    return value


def _places(value: Decimal, scale: int, what: str) -> int:
    """The value in 1/scale units, refusing more digits than the column keeps."""
    try:
        return to_minor(value, scale)
    except ValueError:
        raise ValueError(f"may have at most {len(str(scale)) - 1} decimal places ({what})") from None


# Default of a partial update's field that may be left out but not sent as null: the field keeps its
# non-null type and the update reads only what was sent (model_dump(exclude_unset=True)).
NOT_SENT: Any = None


def partial_schema(schema: dict[str, Any]) -> None:
    """JSON schema of a partial update: fields are optional, and `null` is no default (nor allowed)."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]


Whole = Annotated[int, BeforeValidator(_no_bool)]
Text = Annotated[str, Field(max_length=500)]


class SettingsUpdate(BaseModel):
    """`PUT /settings`: any subset of the Settings resource; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=partial_schema)

    storeName: str = Field(default=NOT_SENT, min_length=1, max_length=120)
    storeAddress: Text = NOT_SENT
    vatNumber: str = Field(default=NOT_SENT, max_length=64)
    currency: str = Field(default=NOT_SENT, description="ISO 4217 code, e.g. EUR")
    storeTimezone: str = Field(default=NOT_SENT, description="IANA time zone, e.g. Europe/Berlin")
    taxMode: Literal["exclusive", "inclusive"] = NOT_SENT
    defaultTaxRate: Decimal = Field(default=NOT_SENT, ge=0, le=1, description="0.08 = 8 %")
    receiptHeader: Text = NOT_SENT
    receiptFooter: Text = NOT_SENT
    cashRounding: str | Decimal = Field(default=NOT_SENT, description="none or 0.05")
    dailyEmailTime: str = Field(default=NOT_SENT, description="HH:MM, 24 h, store time")
    dailyEmailRecipients: list[str] = Field(default=NOT_SENT, max_length=MAX_RECIPIENTS)
    lowStockDefaultMin: Decimal = Field(default=NOT_SENT, ge=0, le=Decimal("999999999"))  # as inventory levels
    alertSweepMinutes: Whole = Field(default=NOT_SENT, ge=1, le=1440)
    expiryWarningDays: Whole = Field(default=NOT_SENT, ge=0, le=365)
    lockoutAttempts: Whole = Field(default=NOT_SENT, ge=1, le=100)
    lockoutMinutes: Whole = Field(default=NOT_SENT, ge=1, le=1440)
    requireOpenShift: StrictBool = NOT_SENT
    allowNegativeStock: StrictBool = NOT_SENT
    receiptWidth: Whole = Field(default=NOT_SENT, description="characters per receipt line: 32 (58 mm paper), "
                                                          "42 or 48 (80 mm paper)")
    stations: list[str] = Field(default=NOT_SENT, min_length=1, max_length=MAX_STATIONS,
                                description="preparation stations: unique lower-case names of 1-32 "
                                            "characters a-z 0-9 _ -; a station a category or item "
                                            "still uses cannot be removed (409)")
    tabMaxHours: Whole = Field(default=NOT_SENT, ge=1, le=168, description="an open tab older than this "
                                                                           "raises an alert")
    # Read-only parts of the resource, accepted so a client may PUT back what it got:
    # `version` (when sent) must still be current, otherwise 409; the others are ignored.
    version: Whole = Field(default=NOT_SENT, ge=1)
    updatedAt: Any = None
    updatedBy: Any = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        v = v.upper()
        if not re.fullmatch(r"[A-Z]{3}", v):
            raise ValueError("must be a three-letter ISO 4217 code such as EUR")
        return v

    @field_validator("storeTimezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        return check_timezone(v)

    @field_validator("defaultTaxRate")
    @classmethod
    def _rate(cls, v: Decimal) -> Decimal:
        # The same form the Rate column reads back, so the answer equals a later GET.
        return from_minor(_places(v, 100_000, "0.08 means 8 %"), 100_000).normalize() if v else Decimal("0")

    @field_validator("lowStockDefaultMin")
    @classmethod
    def _min_stock(cls, v: Decimal) -> Decimal:
        return from_minor(_places(v, 1000, "stock quantity"), 1000)

    @field_validator("cashRounding", mode="before")
    @classmethod
    def _rounding(cls, v: Any) -> str:
        if isinstance(v, str) and v.strip().lower() == "none":
            return "none"
        if isinstance(v, (str, Decimal, int)) and not isinstance(v, bool):
            try:
                if Decimal(str(v).strip()) == Decimal("0.05"):
                    return "0.05"
            except ArithmeticError:
                pass
        raise ValueError("must be none or 0.05")

    @field_validator("dailyEmailTime")
    @classmethod
    def _time(cls, v: str) -> str:
        if not TIME_OF_DAY.fullmatch(v):
            raise ValueError("must be a 24-hour time HH:MM, e.g. 21:00")
        return v

    @field_validator("receiptWidth")
    @classmethod
    def _receipt_width(cls, v: int) -> int:
        if v not in RECEIPT_WIDTHS:
            raise ValueError("must be 32 (58 mm paper), 42 or 48 (80 mm paper)")
        return v

    @field_validator("stations")
    @classmethod
    def _stations(cls, v: list[str]) -> list[str]:
        for name in v:
            if not STATION_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a station name (1-32 characters: a-z, 0-9, _ and -)")
        if len(set(v)) != len(v):
            raise ValueError("must not name a station twice")
        return v

    @field_validator("dailyEmailRecipients")
    @classmethod
    def _recipients(cls, v: list[str]) -> list[str]:
        return email_addresses(v)

    def changes(self) -> dict[str, Any]:
        """The editable keys the client sent (camelCase)."""
        sent = self.model_dump(exclude_unset=True)
        return {k: v for k, v in sent.items() if k in COLUMNS}


# ---- rows ----------------------------------------------------------------------------------

def initial_row(settings: Settings, store_id: str) -> StoreSettings:
    """The first values come from the environment (STORE_TIMEZONE, STORE_NAME, CURRENCY, …)."""
    return StoreSettings(
        store_id=store_id, store_name=settings.store_name, store_address="", vat_number="",
        currency=settings.currency, store_timezone=settings.store_timezone, tax_mode="exclusive",
        default_tax_rate=DEFAULT_TAX_RATE, receipt_header="", receipt_footer="Thank you for your visit!",
        cash_rounding="none", daily_email_time="21:00", daily_email_recipients=[],
        low_stock_default_min=Decimal("0"), alert_sweep_minutes=15, expiry_warning_days=3,
        lockout_attempts=settings.lockout_attempts, lockout_minutes=settings.lockout_minutes,
        require_open_shift=False, allow_negative_stock=True, receipt_width=DEFAULT_RECEIPT_WIDTH,
        stations=list(DEFAULT_STATIONS), tab_max_hours=DEFAULT_TAB_MAX_HOURS, version=1,
        updated_at=utcnow(), updated_by=None,
    )


def copied_row(source: StoreSettings, store_id: str, **overrides: Any) -> StoreSettings:
    """A new store starts with another store's settings (tax, rounding, receipts ...), at version 1."""
    values = {column: getattr(source, column) for column in COLUMNS.values()}
    values["daily_email_recipients"] = list(values["daily_email_recipients"] or [])
    values["stations"] = list(values["stations"] or DEFAULT_STATIONS)
    values.update(overrides)
    values.setdefault("updated_at", utcnow())
    return StoreSettings(store_id=store_id, version=1, **values)


def serialize(row: StoreSettings) -> dict[str, Any]:
    return {
        "storeName": row.store_name,
        "storeAddress": row.store_address,
        "vatNumber": row.vat_number,
        "currency": row.currency,
        "storeTimezone": row.store_timezone,
        "taxMode": row.tax_mode,
        "defaultTaxRate": row.default_tax_rate,
        "receiptHeader": row.receipt_header,
        "receiptFooter": row.receipt_footer,
        "cashRounding": row.cash_rounding,
        "dailyEmailTime": row.daily_email_time,
        "dailyEmailRecipients": list(row.daily_email_recipients or []),
        "lowStockDefaultMin": row.low_stock_default_min,
        "alertSweepMinutes": row.alert_sweep_minutes,
        "expiryWarningDays": row.expiry_warning_days,
        "lockoutAttempts": row.lockout_attempts,
        "lockoutMinutes": row.lockout_minutes,
        "requireOpenShift": row.require_open_shift,
        "allowNegativeStock": row.allow_negative_stock,
        "receiptWidth": row.receipt_width,
        "stations": list(row.stations or []),
        "tabMaxHours": row.tab_max_hours,
        "version": row.version,
        "updatedAt": row.updated_at,
        "updatedBy": row.updated_by,
    }


def _require_store(session: Session, store_id: str) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound("No such store")
    return store


def settings_row(session: Session, settings: Settings, store_id: str = DEFAULT_STORE_ID, *,
        for_update: bool = False) -> StoreSettings:
    """The store's settings row, created from the environment on first use; NotFound for no store."""
    row = session.get(StoreSettings, store_id, with_for_update=for_update or None)
    if row is None:
        _require_store(session, store_id)
        try:
            with session.begin_nested():  # another process may create it first
                session.add(initial_row(settings, store_id))
        except IntegrityError:
            pass
        row = session.get_one(StoreSettings, store_id, populate_existing=True,
                              with_for_update=for_update or None)
    return row


def current(session: Session, settings: Settings, store_id: str = DEFAULT_STORE_ID) -> dict[str, Any]:
    """The Settings resource (camelCase, Decimals exact)."""
    return serialize(settings_row(session, settings, store_id))


def peek(session: Session, settings: Settings, store_id: str = DEFAULT_STORE_ID) -> dict[str, Any]:
    """`current` without writing: a store that has no settings row yet reads the values its row
    would be created with (read-only units, e.g. reports on a replica); NotFound for no store."""
    row = session.get(StoreSettings, store_id)
    if row is None:
        _require_store(session, store_id)
        row = initial_row(settings, store_id)
    return serialize(row)


def current_if_changed(session: Session, settings: Settings, store_id: str,
                       known_version: int | None) -> dict[str, Any] | None:
    """None while `known_version` is still current (one indexed SELECT), else the resource."""
    if known_version is not None:
        version = session.scalar(select(StoreSettings.version).where(StoreSettings.store_id == store_id))
        if version == known_version:
            return None
    return current(session, settings, store_id)


def _check_stations_unused(session: Session, store_id: str, removed: set[str]) -> None:
    """A station still named by a category or an item cannot go (409): its lines would go nowhere.
    Tickets already sent there stay on its queue until they are collected."""
    if not removed:
        return
    users = sorted(set(session.scalars(select(MenuCategory.name).where(
        MenuCategory.store_id == store_id, MenuCategory.station.in_(removed))))
        | set(session.scalars(select(MenuItem.name).where(
            MenuItem.store_id == store_id, MenuItem.station.in_(removed)))))
    if users:
        names = ", ".join(sorted(removed))
        raise Conflict(f"Station {names} is still used by {', '.join(users[:5])}"
                       f"{' and others' if len(users) > 5 else ''}; move them to another station first",
                       field_errors={"stations": f"{names} still in use"})


def update(session: Session, settings: Settings, changes: dict[str, Any], *, actor: Principal,
           now: datetime, store_id: str = DEFAULT_STORE_ID,
           expected_version: int | None = None) -> dict[str, Any]:
    """Apply a validated partial update (SettingsUpdate.changes()).

    Only keys whose value differs count: nothing different means no write, no new version
    and no audit row.  Otherwise the version goes up by one and one audit row records the
    old and new values of the changed keys.  The store's own address and time zone follow.
    """
    row = settings_row(session, settings, store_id, for_update=True)
    if expected_version is not None and expected_version != row.version:
        raise Conflict(f"The settings were changed meanwhile (now version {row.version}); reload and retry",
                       field_errors={"version": f"is {row.version} now"})
    before = serialize(row)
    old, new = diff(before, {k: v for k, v in changes.items() if k in COLUMNS})
    if not new:
        return before
    if "stations" in new:
        _check_stations_unused(session, store_id, set(before["stations"]) - set(new["stations"]))
    for key, value in new.items():
        setattr(row, COLUMNS[key], list(value) if isinstance(value, list) else value)
    row.version = before["version"] + 1
    row.updated_at = now
    row.updated_by = actor.user_id
    store = _require_store(session, store_id)
    if "storeTimezone" in new:
        store.timezone = new["storeTimezone"]
    if "storeAddress" in new:
        store.address = new["storeAddress"]
    if "defaultTaxRate" in new:  # what menu items without their own rate show
        events(session).add(Event("menu_changed", store_id))
    record_change(session, actor, entity="setting", entity_id=store_id, action="update",
                  old=old, new=new, at=now)
    session.flush()
    return serialize(row)
