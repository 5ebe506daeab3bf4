"""The per-process cache of `GET /menu_items` pages.

The key is the store's menu revision, default tax rate and counted stock
levels (one indexed read, before the items), plus the filters.  An unchanged
menu costs that one read and no encoding: the cache holds the encoded bytes.
A pastry sale changes only a stock level, not the revision: the listing
loaded for the revision is reused with the new levels and encoded again.
The ETag is a hash of the data bytes, so every process agrees on it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.orm import Session

from orm.controllers.menu import menu_items
from orm.controllers.menu.catalogue import with_stock_counts
from orm.controllers.menu.list_cache import MenuListCache
from orm.controllers.paging import Page
from orm.domain import jsonenc
from settings import Settings


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
