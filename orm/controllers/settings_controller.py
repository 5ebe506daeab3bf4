"""Store settings (API.md "Settings"): one row per store, first values from the environment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.models.base import DEFAULT_STORE_ID
from orm.models.model_settings import StoreSettings
from orm.types import utcnow
from settings import Settings

DEFAULT_TAX_RATE = Decimal("0.08")


def initial_row(settings: Settings, store_id: str) -> StoreSettings:
    """The first values come from the environment (STORE_TIMEZONE, STORE_NAME, CURRENCY, …)."""
    return StoreSettings(
        store_id=store_id, store_name=settings.store_name, store_address="", vat_number="",
        currency=settings.currency, store_timezone=settings.store_timezone, tax_mode="exclusive",
        default_tax_rate=DEFAULT_TAX_RATE, receipt_header="", receipt_footer="Thank you for your visit!",
        cash_rounding="none", daily_email_time="21:00", daily_email_recipients=[],
        low_stock_default_min=Decimal("0"), alert_sweep_minutes=15, expiry_warning_days=3,
        lockout_attempts=settings.lockout_attempts, lockout_minutes=settings.lockout_minutes,
        require_open_shift=False, allow_negative_stock=True, version=1, updated_at=utcnow(),
        updated_by=None,
    )


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
        "version": row.version,
        "updatedAt": row.updated_at,
        "updatedBy": row.updated_by,
    }


class SettingsController:
    @staticmethod
    def row(session: Session, settings: Settings, store_id: str = DEFAULT_STORE_ID) -> StoreSettings:
        """The store's settings row, created from the environment on first use."""
        row = session.get(StoreSettings, store_id)
        if row is None:
            try:
                with session.begin_nested():  # another process may create it first
                    session.add(initial_row(settings, store_id))
            except IntegrityError:
                pass
            row = session.get(StoreSettings, store_id, populate_existing=True)
        return row

    @staticmethod
    def current(session: Session, settings: Settings, store_id: str = DEFAULT_STORE_ID) -> dict[str, Any]:
        """The Settings resource (camelCase, Decimals exact)."""
        return serialize(SettingsController.row(session, settings, store_id))
