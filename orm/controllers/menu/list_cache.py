"""The per-process cache of `GET /menu_items` pages, and the unit of work that fills it.

The key is the store's menu revision, default tax rate and counted stock
levels (one indexed read, before the items), plus the filters.  An unchanged
menu costs that one read and no encoding: the cache holds the encoded bytes.
A pastry sale changes only a stock level, not the revision: the listing
loaded for the revision is reused with the new levels and encoded again.
The ETag is a hash of the data bytes, so every process agrees on it.
The cache is built once at start-up (main.make_context, `AppContext.menu_list_cache`)
and filled from DB executor threads.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from orm.controllers.menu import menu_items
from orm.controllers.menu.catalogue import with_stock_counts
from orm.controllers.paging import Page
from orm.domain import jsonenc
from settings import Settings

V = TypeVar("V")

CACHE_ENTRIES = 64


class _Lru(Generic[V]):
    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[tuple, V] = OrderedDict()
        self._lock = threading.Lock()  # filled from DB executor threads
        self._size = size

    def get(self, key: tuple) -> V | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def put(self, key: tuple, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


class MenuListCache:
    """Menu pages of this process: listings per (store, revision, tax rate, filters), and their
    encoded bytes per (that key, counted stock levels)."""

    def __init__(self, size: int = CACHE_ENTRIES) -> None:
        self.listings: _Lru[dict[str, Any]] = _Lru(size)
        self.pages: _Lru[tuple[str, bytes]] = _Lru(size)


def menu_page(session: Session, settings: Settings, cache: MenuListCache, store_id: str, page: Page,
              filters: dict[str, Any]) -> tuple[str, bytes]:
    """(etag, data JSON bytes) of one listing, encoded as the API sends JSON; one unit of work."""
    # The state is read first: data loaded after it is at least as new, so a cached
    # listing can never be older than the revision it is filed under.
    state = menu_items.menu_state(session, settings, store_id)
    listing_key = (store_id, state.revision, state.default_tax_rate, page, tuple(sorted(filters.items())))
    key = (*listing_key, state.stock_counts)
    hit = cache.pages.get(key)
    if hit is not None:
        return hit
    listing = cache.listings.get(listing_key)
    if listing is None:
        listing = menu_items.list_menu(session, settings, page, store_id=store_id, **filters)
        cache.listings.put(listing_key, listing)
    data = jsonenc.dumps(with_stock_counts(listing, dict(state.stock_counts))).encode()
    etag = 'W/"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'
    cache.pages.put(key, (etag, data))
    return etag, data
