"""Reading the audit trails: login attempts (access log, failed logins) and changes. Newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from orm.controllers.paging import Page, count_and_fetch, listing
from orm.models.model_identity import AuditChange, LoginAttempt


@dataclass(frozen=True)
class AttemptFilter:
    username: str | None = None
    method: str | None = None
    address: str | None = None
    success: bool | None = None
    since: datetime | None = None   # inclusive
    until: datetime | None = None   # exclusive


@dataclass(frozen=True)
class ChangeFilter:
    entity: str | None = None
    entity_id: str | None = None
    action: str | None = None
    actor_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _attempt_row(a: LoginAttempt) -> dict[str, Any]:
    return {"id": a.id, "username": a.username, "userId": a.user_id, "method": a.method, "address": a.address,
            "userAgent": a.user_agent, "success": a.success, "reason": a.reason, "at": a.at}


def _failed_row(a: LoginAttempt) -> dict[str, Any]:
    return {"username": a.username, "method": a.method, "address": a.address, "userAgent": a.user_agent,
            "reason": a.reason, "at": a.at}


def _change_row(c: AuditChange) -> dict[str, Any]:
    return {"id": c.id, "actorId": c.actor_id, "actorName": c.actor_name, "entity": c.entity,
            "entityId": c.entity_id, "action": c.action, "oldValues": c.old_values, "newValues": c.new_values,
            "at": c.at}


def _attempts(f: AttemptFilter) -> Select:
    query = select(LoginAttempt)
    if f.username:
        query = query.where(LoginAttempt.username == f.username)
    if f.method:
        query = query.where(LoginAttempt.method == f.method)
    if f.address:
        query = query.where(LoginAttempt.address == f.address)
    if f.success is not None:
        query = query.where(LoginAttempt.success.is_(f.success))
    if f.since:
        query = query.where(LoginAttempt.at >= f.since)
    if f.until:
        query = query.where(LoginAttempt.at < f.until)
    return query.order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())


def access_log(session: Session, page: Page, f: AttemptFilter) -> dict[str, Any]:
    total, rows = count_and_fetch(session, _attempts(f), page)
    return listing("accessLog", [_attempt_row(a) for a in rows], total, page)


def failed_logins(session: Session, page: Page, f: AttemptFilter) -> dict[str, Any]:
    query = _attempts(AttemptFilter(f.username, f.method, f.address, False, f.since, f.until))
    total, rows = count_and_fetch(session, query, page)
    return listing("failedLogins", [_failed_row(a) for a in rows], total, page)


def changes(session: Session, page: Page, f: ChangeFilter) -> dict[str, Any]:
    query = select(AuditChange)
    for column, value in ((AuditChange.entity, f.entity), (AuditChange.entity_id, f.entity_id),
                          (AuditChange.action, f.action), (AuditChange.actor_id, f.actor_id)):
        if value:
            query = query.where(column == value)
    if f.since:
        query = query.where(AuditChange.at >= f.since)
    if f.until:
        query = query.where(AuditChange.at < f.until)
    total, rows = count_and_fetch(session, query.order_by(AuditChange.at.desc(), AuditChange.id.desc()), page)
    return listing("changes", [_change_row(c) for c in rows], total, page)
