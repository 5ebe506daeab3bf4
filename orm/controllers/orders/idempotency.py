"""A sale's idempotency identity: the Idempotency-Key header and the body's clientOrderId are one.

A sale stores both names: orders.idempotency_key = header (else clientOrderId) and
orders.client_order_id = clientOrderId (else header), each unique per store.  A replay carrying
either name - or both - finds the earlier order on either column, and two concurrent twins collide
on a unique index instead of racing a read (orders/sales.py inserts with ON CONFLICT DO NOTHING
on PostgreSQL, in a SAVEPOINT on SQLite).  Both names given and naming two different earlier
orders: 409; the same names with a different body: 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.domain.errors import Conflict
from orm.models.model_orders import Order

_ORDERS = Order.__table__
_STORE = _ORDERS.c.store_id == bindparam("store_id")
# Each name against each name column, an equality apiece: (store_id, name) is a unique index's whole
# key, so with statistics as autovacuum keeps them each probe is one index look-up reading a few pages.
# (Measured on a table grown from empty with no ANALYZE since: the OR of the two columns this replaced
# walked every order of the store, 6 ms at 8,000 orders; statistics that stale can mislead any form of
# the probe, which is why the benchmark ANALYZEs when the server's autovacuum is off.)
_PROBES: list[tuple[Any, Any]] = [(column, bindparam(name))
                                  for column in (_ORDERS.c.idempotency_key, _ORDERS.c.client_order_id)
                                  for name in ("key", "client")]
# Is any of the names taken (params: store_id, key, client)?
NAME_TAKEN = select(func.coalesce(*(select(_ORDERS.c.id).where(_STORE, column == name).limit(1).scalar_subquery()
                                    for column, name in _PROBES)))
_EARLIER_ROWS = union(*(select(_ORDERS.c.id, _ORDERS.c.request_hash, _ORDERS.c.created_at).where(_STORE, column == name)
                        for column, name in _PROBES)).subquery()
_EARLIER = select(_EARLIER_ROWS.c.id, _EARLIER_ROWS.c.request_hash).order_by(_EARLIER_ROWS.c.created_at,
                                                                             _EARLIER_ROWS.c.id)
_CONSTRAINT_MARKS = ("uq_orders_store_idempotency", "orders.idempotency_key",
                     "uq_orders_store_client_order", "orders.client_order_id")


@dataclass(frozen=True)
class Identity:
    """`key` = header else clientOrderId, `client` = clientOrderId else header."""

    key: str
    client: str

    @staticmethod
    def of(header: str | None, client_order_id: str | None) -> Identity | None:
        if not header and not client_order_id:
            return None
        return Identity(header or client_order_id or "", client_order_id or header or "")

    def params(self) -> dict[str, str]:
        return {"key": self.key, "client": self.client}


def no_names() -> dict[str, None]:
    return {"key": None, "client": None}


def is_name_conflict(exc: IntegrityError) -> bool:
    """The insert lost to an order holding one of its names (SQLite names the columns, PostgreSQL the index)."""
    text = str(exc.orig)
    return any(mark in text for mark in _CONSTRAINT_MARKS)


def earlier_order(session: Session, store_id: str, names: Identity, fingerprint: str | None, *,
                  probe: bool = True) -> str | None:
    """The id of the earlier order these names identify (None: a new sale); 409 when they name two
    orders, or the order was sent with another body."""
    params = {"store_id": store_id, **names.params()}
    # Almost every name is new: the probe answers that before anything else is read.
    if probe and session.scalar(NAME_TAKEN, params) is None:
        return None
    found = session.execute(_EARLIER, params).all()
    if not found:
        return None
    if len(found) > 1:
        raise Conflict("The Idempotency-Key and clientOrderId name two different earlier orders",
                       data={"orderIds": [row.id for row in found]})
    if found[0].request_hash != fingerprint:
        raise Conflict("This Idempotency-Key was already used for a different order",
                       data={"orderId": found[0].id})
    return str(found[0].id)
