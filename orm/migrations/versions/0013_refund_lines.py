"""money: one idempotency identity (orders.client_order_id) and refunds booked on lines
(order_items.rounding_share, order_items.refunded_amount)

Existing rows are back-filled with the same arithmetic the code uses (orm/domain/line_money.py):
each order's cash rounding over its lines, and each of its refunds, oldest first, over its lines.
The sales rollup is emptied: its per-line figures were computed by the old rule, and the rollup
service rebuilds it (readers fall back to the order tables meanwhile).

Revision ID: 0013_refund_lines
Revises: 0012_receipt_width
"""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = '0013_refund_lines'
down_revision = '0012_receipt_width'
branch_labels = None
depends_on = None

ROLLUP_TABLES = ('report_rollup_sales', 'report_rollup_categories', 'report_rollup_items', 'report_rollup_days',
                 'report_rollup_state')


def upgrade() -> None:
    # Columns and a unique index only: SQLite adds both in place, so batch mode never has to copy
    # orders or order_items (which rows of other tables reference).
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_order_id', sa.String(length=128), nullable=True))
    op.create_index('uq_orders_store_client_order', 'orders', ['store_id', 'client_order_id'], unique=True)
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rounding_share', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('refunded_amount', sa.BigInteger(), nullable=False, server_default='0'))
    bind = op.get_bind()
    # Before 0010 one column held the header, else the clientOrderId: it names the sale both ways.
    bind.execute(sa.text('UPDATE orders SET client_order_id = idempotency_key WHERE idempotency_key IS NOT NULL'))
    _backfill_lines(bind)
    for table in ROLLUP_TABLES:
        bind.execute(sa.text(f'DELETE FROM {table}'))


def _backfill_lines(bind) -> None:
    orders = bind.execute(sa.text(
        'SELECT id, rounding_adjustment FROM orders WHERE rounding_adjustment <> 0 OR refunded_amount <> 0')).all()
    if not orders:
        return
    # Only a database with such orders needs the application's arithmetic (pure functions, no models);
    # a fresh install never imports it.
    from orm.domain.line_money import LineState, rounding_shares, spread_refund

    for order_id, rounding in orders:
        lines = bind.execute(sa.text('SELECT id, paid_total FROM order_items WHERE order_id = :o ORDER BY line_no'),
                             {'o': order_id}).all()
        if not lines:
            continue
        shares = rounding_shares(int(rounding), [int(paid) for _, paid in lines])
        refunded = [0] * len(lines)
        index = {line_id: i for i, (line_id, _) in enumerate(lines)}
        refunds = bind.execute(sa.text('SELECT id, amount FROM refunds WHERE order_id = :o ORDER BY created_at, id'),
                               {'o': order_id}).all()
        item_money: dict[str, list[int]] = defaultdict(lambda: [0] * len(lines))
        for refund_id, line_id, quantity, amount in bind.execute(sa.text(
                'SELECT ri.refund_id, ri.order_item_id, ri.quantity, ri.amount FROM refund_items ri '
                'JOIN refunds r ON r.id = ri.refund_id WHERE r.order_id = :o'), {'o': order_id}):
            if quantity and line_id in index:
                item_money[refund_id][index[line_id]] += int(amount)
        for refund_id, amount in refunds:
            states = [LineState(int(paid), shares[i], refunded[i]) for i, (_, paid) in enumerate(lines)]
            parts = spread_refund(states, item_money[refund_id], int(amount))
            refunded = [a + b for a, b in zip(refunded, parts, strict=True)]
        for (line_id, _), share, money in zip(lines, shares, refunded, strict=True):
            if share or money:
                bind.execute(sa.text('UPDATE order_items SET rounding_share = :s, refunded_amount = :r WHERE id = :i'),
                             {'s': share, 'r': money, 'i': line_id})


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite >= 3.35): no copy of referenced tables.
    op.drop_index('uq_orders_store_client_order', table_name='orders')
    op.drop_column('orders', 'client_order_id')
    op.drop_column('order_items', 'refunded_amount')
    op.drop_column('order_items', 'rounding_share')
