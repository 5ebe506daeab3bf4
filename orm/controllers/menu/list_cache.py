"""Menu pages of one process (GET /menu): listings per (store, revision, tax rate, filters), and
their encoded bytes per (that key, counted stock levels).  Built once at start-up (main.make_context,
`AppContext.menu_list_cache`); filled from DB executor threads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Generic, TypeVar

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
