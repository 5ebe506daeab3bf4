"""stock movements in the order they were applied: inventory_items.movement_seq, stock_movements.seq

Revision ID: 0011_movement_seq
Revises: 0010_auth
Create Date: 2026-12-07 04:40:00

The UPDATE that changes an item's stock also sets its `movement_seq` (an apply-order stamp: microseconds
of the clock, raised to previous + 1 when needed) and the movement row keeps it as `seq`; the trail lists
sort by it.  Existing movements get the same kind of stamp from their created_at, per item in the old
listing order (created_at, id), so they keep their order and each item's counter continues after them.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0011_movement_seq'
down_revision = '0010_auth'
branch_labels = None
depends_on = None

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BATCH = 2000


def _stamp(created_at: datetime) -> int:
    aware = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1)


def _backfill(conn: sa.Connection) -> None:
    """Per item (a bounded number of rows in memory at a time): stamps strictly increasing in listing order."""
    items = sa.table('inventory_items', sa.column('id', sa.String), sa.column('movement_seq', sa.BigInteger))
    moves = sa.table('stock_movements', sa.column('id', sa.String), sa.column('inventory_item_id', sa.String),
                     sa.column('created_at', sa.DateTime(timezone=True)), sa.column('seq', sa.BigInteger))
    set_seq = sa.update(moves).where(moves.c.id == sa.bindparam('m_id')).values(seq=sa.bindparam('m_seq'))
    item_ids = list(conn.scalars(sa.select(moves.c.inventory_item_id).distinct()))
    for item_id in item_ids:
        last, batch = 0, []
        rows = conn.execute(sa.select(moves.c.id, moves.c.created_at)
                            .where(moves.c.inventory_item_id == item_id)
                            .order_by(moves.c.created_at, moves.c.id)).all()
        for movement_id, created_at in rows:
            last = max(_stamp(created_at), last + 1)
            batch.append({'m_id': movement_id, 'm_seq': last})
            if len(batch) >= _BATCH:
                conn.execute(set_seq, batch)
                batch = []
        if batch:
            conn.execute(set_seq, batch)
        conn.execute(sa.update(items).where(items.c.id == item_id).values(movement_seq=last))


def upgrade() -> None:
    with op.batch_alter_table('inventory_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('movement_seq', sa.BigInteger(), server_default='0', nullable=False))
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
    _backfill(op.get_bind())
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index('ix_stock_movements_item_seq', ['inventory_item_id', 'seq'], unique=False)
        batch_op.create_index('ix_stock_movements_store_seq', ['store_id', 'seq'], unique=False)


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy of inventory_items could not drop the
    # old table while other tables' foreign keys point at it.
    op.drop_index('ix_stock_movements_store_seq', table_name='stock_movements')
    op.drop_index('ix_stock_movements_item_seq', table_name='stock_movements')
    op.drop_column('stock_movements', 'seq')
    op.drop_column('inventory_items', 'movement_seq')
