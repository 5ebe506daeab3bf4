"""All models. Every `model_*.py` module is imported here so that `Base.metadata`
knows every table (alembic and the tests rely on it); import models from their
own modules, e.g. `from orm.models.model_identity import User`."""

import importlib
import pkgutil

from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.base import Base
from orm.models.model_identity import (
    AuditChange,
    AuthSession,
    LoginAttempt,
    PasswordResetToken,
    Permission,
    RateLimitHit,
    RefreshToken,
    Role,
    RolePermission,
    User,
    UserPermissionOverride,
)
from orm.models.model_store import Store

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("model_")):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = [
    "DEFAULT_STORE_ID", "AuditChange", "AuthSession", "Base", "LoginAttempt", "PasswordResetToken",
    "Permission", "RateLimitHit", "RefreshToken", "Role", "RolePermission", "Store", "User",
    "UserPermissionOverride",
]
