"""Logins this process has just checked, so the next requests of a terminal skip the database.

Built once per process (main.make_context, `AppContext.principal_cache`) and used by the
Authenticator.  An entry is the `auth.Login` one request read; it answers later requests only while

* it is still what a fresh read would say at the request's clock: inside the login's idle limit
  and hard cap, and less than LAST_SEEN_GRANULARITY (1 min) after the last-seen time it stored,
  so the once-a-minute last-seen write still happens on the request that is due for it and
  SESSION_IDLE_MINUTES / SESSION_MAX_HOURS stay exact (`Login.usable_at`);
* nothing that could change the answer has been committed since: every logout, revocation,
  refresh-token reuse, password change or reset, deactivation, role or permission change raises
  `session_revoked` or `principals_changed` (orm/controllers/identity), which empties the cache in
  every process (services/event_bus.py; PostgreSQL LISTEN/NOTIFY between processes), and
* the event bus can vouch for that (`EventBus.reaches_here`: with PostgreSQL, while this
  process's LISTEN connection is up, notifications already waiting on its socket applied first).
  Otherwise - and always on SQLite, where a command in another process could write unheard - the
  database is read, as before.

A read that started before an invalidation never files its (possibly stale) answer: entries are
filed only if no invalidation arrived and the listener epoch did not change while it ran.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from orm.controllers.identity.auth import Login
from orm.domain.principal import Principal
from settings import Settings

if TYPE_CHECKING:
    from services.event_bus import EventBus

INVALIDATING_EVENTS = frozenset({"session_revoked", "principals_changed"})
MAX_ENTRIES = 10_000  # logins, not requests: a café chain's terminals fit many times over


class PrincipalCache:
    def __init__(self, bus: EventBus, *, max_entries: int = MAX_ENTRIES) -> None:
        self._bus = bus
        self._max = max_entries
        self._logins: dict[str, tuple[str, Login]] = {}  # session id -> (user id, login)
        self._generation = 0  # bumped by every invalidation
        self._epoch = bus.epoch
        self._unsubscribe: Callable[[], None] | None = None
        self.hits = 0
        self.misses = 0

    def ticket(self) -> tuple[int, int] | None:
        """Before a database read: what `store` must still match for its answer to be filed;
        None when answers may not be cached now (IOLoop thread only)."""
        if self._unsubscribe is None:
            self._unsubscribe = self._bus.subscribe(self._on_event)
        if not self._bus.reaches_here():
            return None
        if self._bus.epoch != self._epoch:  # notifications may have been missed: forget everything
            self._forget()
            self._epoch = self._bus.epoch
        return self._generation, self._epoch

    def lookup(self, user_id: str, session_id: str, now: datetime, settings: Settings) -> Principal | None:
        ticket = self.ticket()
        found = self._logins.get(session_id) if ticket is not None else None
        if found is None or found[0] != user_id or not found[1].usable_at(now, settings):
            self.misses += 1
            return None
        self.hits += 1
        return found[1].principal

    def store(self, ticket: tuple[int, int] | None, login: Login) -> None:
        if ticket is None or ticket != (self._generation, self._bus.epoch):
            return  # invalidated (or notifications possibly lost) while it was being read
        if len(self._logins) >= self._max:
            self._logins.clear()
        session_id = login.principal.session_id
        if session_id:
            self._logins[session_id] = (login.principal.user_id, login)

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") in INVALIDATING_EVENTS:
            self._forget()

    def _forget(self) -> None:
        # Rare (a logout, an edit of staff or roles): dropping every login costs one read per
        # active terminal and leaves no case to get wrong.
        self._generation += 1
        self._logins.clear()

    def __len__(self) -> int:
        return len(self._logins)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
