"""The crash test's database: created, seeded and dropped per run, and checked after each restart."""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import create_engine, func, select, text

from orm.db import make_engine, make_session_factory, normalise_url, unit_of_work
from orm.migrate import upgrade_to_head
from orm.models.model_inventory import InventoryItem, StockMovement
from orm.models.model_menu import MenuItem
from orm.models.model_orders import JournalEntry, Order, OrderItem, Payment
from orm.seed import steps
from settings import load_settings


def _with_db(url: str, name: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


def create_database(admin_url: str) -> str:
    name = f"cafepos_crash_{uuid.uuid4().hex[:10]}"
    engine = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return _with_db(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    engine = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)'))
    engine.dispose()


def prepare(url: str, workdir: Path) -> None:
    """Schema at head, demo staff, stock and menu (no past orders: every order here is ours)."""
    upgrade_to_head(url)
    settings = load_settings(database_url=url, uploads_dir=workdir / "uploads", bcrypt_rounds=4,
                             jwt_secret="crash-test-secret-0123456789abcdefghij", pin_pepper="crash-pepper")
    engine = make_engine(url, pooled=False)
    try:
        factory = make_session_factory(engine)
        for area, fn in steps("test"):
            if area != "orders":
                unit_of_work(factory, fn, settings)
    finally:
        engine.dispose()


def check_database(url: str, acked_ids: list[str], counted_before: dict[str, int]) -> list[str]:
    problems: list[str] = []
    engine = make_engine(url, pooled=False)
    try:
        with engine.connect() as conn:
            ids = set(conn.scalars(select(Order.id)))
            missing = [i for i in acked_ids if i not in ids]
            if missing:
                problems.append(f"{len(missing)} acknowledged orders not found, e.g. {missing[:3]}")
            lines = dict(conn.execute(select(OrderItem.order_id, func.count()).group_by(OrderItem.order_id)).all())
            paid = dict(conn.execute(select(Payment.order_id, func.sum(Payment.amount))
                                     .group_by(Payment.order_id)).all())
            journaled = set(conn.scalars(select(JournalEntry.reference_id).where(JournalEntry.entry_type == "order")))
            moved = set(conn.scalars(select(StockMovement.reference).where(StockMovement.movement_type == "sale")))
            totals = dict(conn.execute(select(Order.id, Order.total)).all())
            with_recipe = {order_id for order_id, recipe in conn.execute(select(OrderItem.order_id, OrderItem.recipe))
                           if recipe}
            partial = Counter()
            for order_id in ids:
                if not lines.get(order_id):
                    partial["without lines"] += 1
                if Decimal(paid.get(order_id) or 0) < Decimal(totals[order_id]):
                    partial["not fully paid"] += 1
                if order_id not in journaled:
                    partial["without journal entry"] += 1
                if order_id in with_recipe and order_id not in moved:
                    partial["without stock movements"] += 1
            for what, n in partial.items():
                problems.append(f"{n} orders {what}")
            moved_sum = func.coalesce(func.sum(StockMovement.delta), 0)
            for item_id, level, total in conn.execute(
                    select(InventoryItem.id, InventoryItem.current_stock, moved_sum)
                    .join(StockMovement, StockMovement.inventory_item_id == InventoryItem.id, isouter=True)
                    .group_by(InventoryItem.id, InventoryItem.current_stock)):
                if Decimal(level) != Decimal(total):
                    problems.append(f"inventory {item_id}: stock {level} but movements sum to {total}")
            sold = dict(conn.execute(select(OrderItem.menu_item_id, func.sum(OrderItem.quantity))
                                     .group_by(OrderItem.menu_item_id)).all())
            for item_id, count in conn.execute(select(MenuItem.id, MenuItem.stock_count)
                                               .where(MenuItem.stock_count.is_not(None))):
                expected = counted_before.get(item_id, count) - int(sold.get(item_id) or 0)
                if item_id in counted_before and count != expected:
                    problems.append(f"counted item {item_id}: {count} left, expected {expected}")
    finally:
        engine.dispose()
    return problems


def committed_keys(url: str, keys: list[str]) -> dict[str, str]:
    engine = make_engine(url, pooled=False)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(select(Order.idempotency_key, Order.id)
                                     .where(Order.idempotency_key.in_(keys))).all()) if keys else {}
    finally:
        engine.dispose()
