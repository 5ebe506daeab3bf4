"""List paging shared by every list endpoint (API.md "Lists")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Page:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    # Set when neither page nor perPage was given on endpoints that return whole lists.
    everything: bool = False

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def count_and_fetch(session: Session, query: Select, page: Page) -> tuple[int, list[Any]]:
    """Total matching rows and the rows of this page (scalars of the query's first entity)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    if not page.everything:
        query = query.limit(page.per_page).offset(page.offset)
    return total, list(session.scalars(query))


def listing(key: str, items: list[Any], total: int, page: Page) -> dict[str, Any]:
    """`{<key>: [...], total, page, perPage, pages}`."""
    per_page = max(total, 1) if page.everything else page.per_page
    return {
        key: items,
        "total": total,
        "page": 1 if page.everything else page.page,
        "perPage": per_page,
        "pages": 1 if page.everything else max(1, math.ceil(total / page.per_page)),
    }
