"""Who is acting: the authenticated user as controllers see it."""

from __future__ import annotations

from dataclasses import dataclass, field

from orm.domain.stores import DEFAULT_STORE_ID


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    role: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    session_id: str | None = None
    display_name: str = ""
    store_id: str = DEFAULT_STORE_ID

    def has(self, permission: str) -> bool:
        return permission in self.permissions

    def has_any(self, *permissions: str) -> bool:
        return any(p in self.permissions for p in permissions)
