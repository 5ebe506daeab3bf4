"""Store settings kept in memory, shared by every handler and service of one process.

    settings = await ctx.store_settings.get(store_id)   # the Settings resource dict (one per process)

Several processes (WORKERS>1, or several hosts behind a load balancer) share one
database, so a copy may go stale when another process changes the settings.
Instead of PostgreSQL LISTEN/NOTIFY (which SQLite lacks), a copy older than
`check_interval` seconds is re-validated with one `SELECT version`: a change made
anywhere is seen everywhere within about half a second, on both databases, for
at most two cheap queries a second per store and process.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orm.controllers.stores import store_settings
from orm.domain.stores import DEFAULT_STORE_ID

if TYPE_CHECKING:
    from context import AppContext

log = logging.getLogger("cafepos.settings")
CHECK_INTERVAL_SECONDS = 0.5


@dataclass
class _Entry:
    data: dict[str, Any]
    checked_at: float


class StoreSettingsCache:
    def __init__(self, ctx: AppContext, *, check_interval: float = CHECK_INTERVAL_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ctx = ctx
        self._interval = check_interval
        self._now = monotonic
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, store_id: str = DEFAULT_STORE_ID) -> dict[str, Any]:
        """The store's Settings resource; NotFound for an unknown store.

        Served from memory while fresh; otherwise re-validated by version.  When the
        database cannot be asked, the last known copy is served (a terminal keeps
        selling with yesterday's receipt footer rather than failing).
        """
        entry = self._entries.get(store_id)
        if entry is not None and self._now() - entry.checked_at < self._interval:
            return copy.deepcopy(entry.data)
        lock = self._locks.setdefault(store_id, asyncio.Lock())
        async with lock:  # one re-validation per store at a time; the others reuse it
            entry = self._entries.get(store_id)
            if entry is not None and self._now() - entry.checked_at < self._interval:
                return copy.deepcopy(entry.data)
            known = entry.data["version"] if entry else None
            try:
                fresh = await self._ctx.run_db(store_settings.current_if_changed, self._ctx.settings,
                                               store_id, known)
            except Exception as exc:
                if entry is None or getattr(exc, "status_code", None) == 404:
                    raise
                log.warning("settings re-validation failed (%s); serving version %s",
                            type(exc).__name__, known)
                fresh = None
            if fresh is not None:
                data = fresh
            elif entry is not None:  # still current, or the database could not be asked
                data = entry.data
            else:  # None only answers a known version
                raise AssertionError("no settings and no known copy")
            self._entries[store_id] = _Entry(data, self._now())
            return copy.deepcopy(data)

    def put(self, store_id: str, data: dict[str, Any]) -> None:
        """After a change made by this process: its own next read needs no query."""
        current = self._entries.get(store_id)
        if current is None or data["version"] >= current.data["version"]:
            self._entries[store_id] = _Entry(copy.deepcopy(data), self._now())

    def invalidate(self, store_id: str | None = None) -> None:
        if store_id is None:
            self._entries.clear()
        else:
            self._entries.pop(store_id, None)
