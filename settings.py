"""The one validated settings object, read once at start-up.

Values come from the environment, then from a `.env` file beside this module
(python-decouple), then from the defaults below.  Every option is documented
in `.env.example`.  `load_settings()` is called by `main.py` and by the
scripts; nothing else reads the environment.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from decouple import AutoConfig, UndefinedValueError

BASE_DIR = Path(__file__).resolve().parent
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "please-change-this-secret"}

log = logging.getLogger("cafepos.settings")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it and says why."""


def default_database_url() -> str:
    return f"sqlite:///{BASE_DIR / 'cafepos.db'}"


@dataclass(frozen=True)
class Settings:
    debug: bool = True
    port: int = 8880
    address: str = ""
    workers: int = 1
    database_url: str = field(default_factory=default_database_url)
    db_pool_size: int = 10
    db_max_overflow: int = 5
    # Reports, dashboards, exports and the daily e-mail read through their own small pool, on this
    # database: empty = DATABASE_URL; a chain may name a streaming replica (read-only; may lag).
    reports_database_url: str = ""
    reports_db_pool_size: int = 3
    auto_migrate: bool = True
    jwt_secret: str = ""
    pin_pepper: str = ""
    session_idle_minutes: int = 720
    session_max_hours: int = 24
    bcrypt_rounds: int = 12
    cors_origins: tuple[str, ...] = ("http://localhost:3000", "http://localhost:5173")
    uploads_dir: Path = BASE_DIR / "uploads"
    max_body_bytes: int = 10 * 1024 * 1024
    max_upload_bytes: int = 5 * 1024 * 1024
    store_timezone: str = "Europe/Berlin"
    store_name: str = "CafePOS"
    currency: str = "EUR"
    smtp_server: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "cafepos@localhost"
    smtp_security: str = ""
    smtp_timeout: float = 10.0
    log_format: str = "text"
    log_level: str = "INFO"
    login_rate_limit_per_minute: int = 60
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    pin_lockout_attempts: int = 5
    pin_lockout_seconds: int = 60
    metrics_allowed_ips: tuple[str, ...] = ("127.0.0.1", "::1")
    shutdown_grace_seconds: float = 10.0
    trust_proxy: bool = False
    idle_connection_timeout: float = 60.0
    body_timeout: float = 30.0
    public_base_url: str = "http://localhost:8880"
    seed_demo_data: bool = False

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def reports_url(self) -> str:
        """Where reports read: REPORTS_DATABASE_URL, or else the main database."""
        return self.reports_database_url or self.database_url

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.store_timezone)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some values changed (tests and scripts use this)."""
        return validate(replace(self, **changes))


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def validate(s: Settings) -> Settings:
    """Check every value; return the settings with derived secrets filled in."""
    problems: list[str] = []
    if not (1 <= s.port <= 65535):
        problems.append(f"PORT must be between 1 and 65535, got {s.port}")
    if s.workers < 1:
        problems.append("WORKERS must be at least 1")
    if s.db_pool_size < 1:
        problems.append("DB_POOL_SIZE must be at least 1")
    if s.reports_db_pool_size < 1:
        problems.append("REPORTS_DB_POOL_SIZE must be at least 1")
    if s.log_format not in ("text", "json"):
        problems.append(f"LOG_FORMAT must be 'text' or 'json', got {s.log_format!r}")
    if s.smtp_security not in ("", "starttls", "ssl", "none"):
        problems.append("SMTP_SECURITY must be starttls, ssl or none")
    if not (4 <= s.bcrypt_rounds <= 16):
        problems.append("BCRYPT_ROUNDS must be between 4 and 16")
    if not (1 <= s.session_idle_minutes <= 366 * 24 * 60):
        problems.append("SESSION_IDLE_MINUTES must be between 1 and 527040 (a year)")
    if not (1 <= s.session_max_hours <= 366 * 24):
        problems.append("SESSION_MAX_HOURS must be between 1 and 8784 (a year)")
    if s.max_body_bytes < 1024:
        problems.append("MAX_BODY_BYTES must be at least 1024")
    if not s.database_url.startswith(("sqlite", "postgresql", "postgres://")):
        problems.append("DATABASE_URL must start with sqlite://, postgresql:// or postgres://")
    if s.reports_database_url and not s.reports_database_url.startswith(("sqlite", "postgresql", "postgres://")):
        problems.append("REPORTS_DATABASE_URL must start with sqlite://, postgresql:// or postgres:// (or be empty)")
    elif s.reports_database_url and s.reports_database_url.startswith("sqlite") != s.is_sqlite:
        problems.append("REPORTS_DATABASE_URL must be the same kind of database as DATABASE_URL")
    try:
        ZoneInfo(s.store_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"STORE_TIMEZONE {s.store_timezone!r} is not a known IANA time zone")
    if s.jwt_secret in PLACEHOLDER_SECRETS or len(s.jwt_secret) < 16:
        if not s.debug:
            problems.append(
                "JWT_SECRET must be set to a random value of at least 16 characters when "
                "DEBUG=false (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        elif s.jwt_secret:
            problems.append("JWT_SECRET is too short (at least 16 characters) or a placeholder")
    if problems:
        raise SettingsError("; ".join(problems))
    return s


def with_generated_secrets(s: Settings, stored: dict[str, str] | None = None) -> Settings:
    """Fill in JWT_SECRET (DEBUG only) and PIN_PEPPER when they are not configured.

    `stored` holds values kept in the database (server_secrets), so every process
    and every restart agrees on them; without it a random one is made (and warned).
    """
    stored = stored or {}
    secret = s.jwt_secret or stored.get("jwt_secret", "")
    if not secret:
        secret = secrets.token_urlsafe(48)
        log.warning("JWT_SECRET is not set: using a temporary one until the database is reachable")
    pepper = s.pin_pepper or stored.get("pin_pepper", "") or secret
    return replace(s, jwt_secret=secret, pin_pepper=pepper)


def load_settings(env_file: Path | None = None, **overrides: object) -> Settings:
    """Read every option once from the environment and `.env`."""
    search = env_file.parent if env_file else BASE_DIR
    config = AutoConfig(search_path=str(search))

    def get(name: str, default: object, cast: object = str) -> object:
        try:
            return config(name, default=default, cast=cast)
        except (ValueError, UndefinedValueError) as exc:
            raise SettingsError(f"{name}: {exc}") from exc

    base = Settings()
    values: dict[str, object] = {}
    casts = {bool: _bool, int: int, float: float, str: str}
    for f in fields(Settings):
        env_name = f.name.upper()
        default = getattr(base, f.name)
        if isinstance(default, tuple):
            raw = get(env_name, ",".join(default))
            values[f.name] = _csv(str(raw))
        elif isinstance(default, Path):
            raw = get(env_name, str(default))
            p = Path(str(raw))
            values[f.name] = p if p.is_absolute() else (BASE_DIR / p)
        else:
            cast = casts[type(default)]
            values[f.name] = get(env_name, default, cast)
    values.update(overrides)
    return validate(Settings(**values))  # type: ignore[arg-type]


def _bool(value: object) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def env_flag(name: str) -> bool:
    """Used only by scripts that must decide before settings are read."""
    return _bool(os.environ.get(name, "false"))
