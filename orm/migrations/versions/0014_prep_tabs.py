"""prep and tabs: preparation stations, ticket state on order lines, tabs as open orders

- store_settings.stations (the store's stations, default bar and kitchen), store_settings.tab_max_hours
- menu_categories.station and menu_items.station (an item's own station overrides its category's)
- order_items: station, prep_status and the time of each move (sent, started, ready, collected,
  cancelled); for tabs stock_taken, paid_quantity, added_by, and tab_line_id on a child order's lines
- orders: tab_id (a tab's paid child orders), tab_name, split_ways/split_paid, closed_at

Existing order lines were never sent to a station: their prep columns stay NULL, stock_taken true.

Revision ID: 0014_prep_tabs
Revises: 0013_refund_lines
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0014_prep_tabs'
down_revision = '0013_refund_lines'
branch_labels = None
depends_on = None

OPEN_TICKETS = "prep_status IN ('queued', 'in_progress', 'ready')"
# The same predicate spelled as PostgreSQL prints it back (pg_get_indexdef), so an index rebuilt from its
# printed definition (bench/history.py's bulk load) is exactly the one created here.
OPEN_TICKETS_PG = ("((prep_status)::text = 'queued'::text) OR ((prep_status)::text = 'in_progress'::text) "
                   "OR ((prep_status)::text = 'ready'::text)")


def upgrade() -> None:
    # Columns (and plain indexes) only: SQLite adds them in place, so no table is copied.
    with op.batch_alter_table('store_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stations', sa.JSON(), nullable=False, server_default='["bar", "kitchen"]'))
        batch_op.add_column(sa.Column('tab_max_hours', sa.Integer(), nullable=False, server_default='16'))
    with op.batch_alter_table('menu_categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('station', sa.String(length=32), nullable=True))
    with op.batch_alter_table('menu_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('station', sa.String(length=32), nullable=True))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        # No foreign key: SQLite would copy the orders table to add one (the controller keeps it true).
        batch_op.add_column(sa.Column('tab_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('tab_name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('split_ways', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('split_paid', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_orders_tab_id', 'orders', ['tab_id'])
    # Plain ALTER TABLE ... ADD COLUMN (batch mode would copy order_items, which other tables reference).
    op.add_column('order_items', sa.Column('station', sa.String(length=32), nullable=True))
    op.add_column('order_items', sa.Column('prep_status', sa.String(length=16), nullable=True))
    for name in ('sent_at', 'started_at', 'ready_at', 'collected_at', 'cancelled_at'):
        op.add_column('order_items', sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column('order_items', sa.Column('stock_taken', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column('order_items', sa.Column('paid_quantity', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('order_items', sa.Column('added_by', sa.String(length=36), nullable=True))
    op.add_column('order_items', sa.Column('tab_line_id', sa.String(length=36), nullable=True))
    op.create_index('ix_order_items_prep_open', 'order_items', ['station', 'sent_at'],
                    sqlite_where=sa.text(OPEN_TICKETS), postgresql_where=sa.text(OPEN_TICKETS_PG))
    op.create_index('ix_order_items_tab_line_id', 'order_items', ['tab_line_id'])


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite >= 3.35): no copy of referenced tables.
    op.drop_index('ix_order_items_tab_line_id', table_name='order_items')
    op.drop_index('ix_order_items_prep_open', table_name='order_items')
    for name in ('tab_line_id', 'added_by', 'paid_quantity', 'stock_taken', 'cancelled_at', 'collected_at',
                 'ready_at', 'started_at', 'sent_at', 'prep_status', 'station'):
        op.drop_column('order_items', name)
    op.drop_index('ix_orders_tab_id', table_name='orders')
    for name in ('closed_at', 'split_paid', 'split_ways', 'tab_name', 'tab_id'):
        op.drop_column('orders', name)
    op.drop_column('menu_items', 'station')
    op.drop_column('menu_categories', 'station')
    op.drop_column('store_settings', 'tab_max_hours')
    op.drop_column('store_settings', 'stations')
