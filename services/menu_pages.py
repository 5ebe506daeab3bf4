"""Whole `GET /menu_items` answers of this process, as ready bytes: a hit costs no database round
trip and no JSON encoding.

Built once per process (main.make_context, `AppContext.menu_pages`).  Below it,
orm/controllers/menu/list_cache.py still keys listings on the store's menu state (revision,
default tax rate, counted stock levels), read in one statement; this layer skips even that
read while the event bus vouches that nothing changed:

* every change of what a listing shows commits an event: `menu_changed` for each menu revision
  bump (orm/controllers/menu/revision.py) and a new default tax rate (store_settings.update) -
  the editing request is answered only once it is sent to the other processes (context.py
  AWAITED_EVENTS) - and `stock_levels_changed` for counted stock (orm/controllers/menu/
  counted_stock.py: sales, refunds, voids), sent right after the sale's commit without holding the
  sale up, so another process may show the previous level until it arrives (about a millisecond).
  Either empties this cache in every process.  A write that bypasses the server's units of work
  (a script editing the database) is not seen until the next such event;
* answers are served only while `EventBus.reaches_here()` (PostgreSQL, while this process
  LISTENs, pending notifications applied first; never on SQLite) and filed only if no
  invalidation arrived while they were read (generation and listener epoch), as in
  principal_cache.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orm.controllers.menu.list_cache import menu_page
from orm.controllers.paging import Page

if TYPE_CHECKING:
    from context import AppContext

INVALIDATING_EVENTS = frozenset({"menu_changed", "stock_levels_changed"})
MAX_ENTRIES = 256
BODY_START = b'{"success":true,"data":'
BODY_END = b',"errors":[],"timestamp":'


@dataclass(frozen=True)
class ReadyPage:
    etag: str
    head: bytes  # the envelope up to its timestamp: answer = head + timestamp + b"}"


class MenuPages:
    def __init__(self, ctx: AppContext, *, max_entries: int = MAX_ENTRIES) -> None:
        self._ctx = ctx
        self._max = max_entries
        self._pages: dict[tuple[Any, ...], ReadyPage] = {}
        self._generation = 0
        self._epoch = ctx.event_bus.epoch
        self._unsubscribe: Callable[[], None] | None = None
        self.hits = 0
        self.misses = 0

    async def page(self, store_id: str, page: Page, filters: dict[str, Any]) -> ReadyPage:
        key = (store_id, page, *filters.items())
        ticket = self._ticket()
        if ticket is not None:
            hit = self._pages.get(key)
            if hit is not None:
                self.hits += 1
                return hit
        self.misses += 1
        ctx = self._ctx
        etag, data = await ctx.run_db(menu_page, ctx.settings, ctx.menu_list_cache, store_id, page, filters)
        ready = ReadyPage(etag, BODY_START + data + BODY_END)
        if ticket is not None and ticket == (self._generation, ctx.event_bus.epoch):
            if len(self._pages) >= self._max:
                self._pages.clear()
            self._pages[key] = ready
        return ready

    def _ticket(self) -> tuple[int, int] | None:
        bus = self._ctx.event_bus
        if self._unsubscribe is None:
            self._unsubscribe = bus.subscribe(self._on_event)
        if not bus.reaches_here():
            return None
        if bus.epoch != self._epoch:
            self._forget()
            self._epoch = bus.epoch
        return self._generation, self._epoch

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") in INVALIDATING_EVENTS:
            self._forget()

    def _forget(self) -> None:
        self._generation += 1
        self._pages.clear()

    def __len__(self) -> int:
        return len(self._pages)
