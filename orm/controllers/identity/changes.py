"""The change audit trail (`GET /audit/changes`): who changed what, old and new values.

Every controller that changes a user, role, permission, setting or price calls
`record_change` in the same transaction as the change itself.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from orm.column_types import utcnow
from orm.domain.principal import Principal
from orm.models.model_identity import AuditChange


def _plain(value: Any) -> Any:
    """JSON-safe copy: Decimals as strings (exact), times as ISO text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values changed, as (old, new)."""
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new[k] for k in keys}


def record_change(session: Session, actor: Principal | None, *, entity: str, entity_id: str | None,
                  action: str, old: dict[str, Any] | None = None, new: dict[str, Any] | None = None,
                  at: datetime | None = None) -> None:
    session.add(AuditChange(
        actor_id=actor.user_id if actor else None,
        actor_name=actor.username if actor else "system",
        entity=entity, entity_id=entity_id, action=action,
        old_values=_plain(old) if old is not None else None,
        new_values=_plain(new) if new is not None else None,
        at=at or utcnow(),
    ))
