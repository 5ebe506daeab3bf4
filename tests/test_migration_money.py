"""Migration 0013_refund_lines back-fills existing orders with the arithmetic the code uses.

Sales and refunds of the kinds that existed before 0010 (cash rounding, refunds of some units,
amount-only refunds - which then left no refund items) are made through the API, the schema is
taken back to 0009 (dropping the new columns) and up again: the back-filled rounding shares,
refunded amounts and clientOrderIds equal what the code booked, and the rollup is emptied.
"""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import delete, select

from orm.migrate import alembic_config
from orm.models.model_orders import Order, OrderItem, RefundItem
from orm.models.model_reports import ReportRollupState
from tests.conftest import run_unit
from tests.orders_support import cash, line


def booked(settings) -> dict[str, tuple]:
    return run_unit(settings, lambda s: {
        it.id: (it.rounding_share, it.refunded_amount) for it in s.scalars(select(OrderItem))})


async def test_back_fill_reproduces_what_the_code_booked(as_role, cafe, settings) -> None:
    admin, m = as_role("admin"), as_role("manager")
    assert (await admin.put("/settings", {"cashRounding": "0.05"})).status == 200
    rounded = await m.post("/orders", {"items": [line(cafe.items["latte"], 2), line(cafe.items["juice"])],
                                       **cash("50"), "clientOrderId": "till-9-1"})
    assert rounded.status == 201 and rounded.data["order"]["roundingAdjustment"] != 0
    order = rounded.data["order"]
    path = f"/orders/{order['id']}/refund"
    assert (await m.post(path, {"amount": "1.99", "reason": "goodwill"})).status == 200
    assert (await m.post(path, {"items": [{"orderItemId": order["items"][0]["id"], "quantity": 1}],
                                "reason": "cold"})).status == 200
    assert (await m.post(path, {"amount": "0.37", "reason": "goodwill"})).status == 200
    before = booked(settings)
    assert any(share != 0 for share, _ in before.values()) and any(money != 0 for _, money in before.values())
    sold = run_unit(settings, lambda s: s.scalar(select(Order.created_at)))
    run_unit(settings, lambda s: s.add(ReportRollupState(store_id=order["storeId"], timezone="UTC",
                                                         checked_until=sold, updated_at=sold)))

    config = alembic_config(settings.database_url)
    command.downgrade(config, ScriptDirectory.from_config(config).get_revision("0013_refund_lines").down_revision)
    # Before 0013 an amount-only refund left no refund items.
    run_unit(settings, lambda s: s.execute(delete(RefundItem).where(RefundItem.quantity == 0)))
    command.upgrade(config, "heads")

    assert booked(settings) == before
    assert run_unit(settings, lambda s: s.scalar(select(Order.client_order_id))) == "till-9-1"
    assert run_unit(settings, lambda s: s.scalar(select(ReportRollupState.store_id))) is None
