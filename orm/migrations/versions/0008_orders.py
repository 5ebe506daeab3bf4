"""orders, payments, refunds, shifts, receipt counters, journal

Revision ID: 0008_orders
Revises: 0005_menu, 0006_stock
Create Date: 2026-11-23 13:01:54.544051
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

DEFAULT_STORE_ID = '00000000-0000-0000-0000-000000000001'


revision = '0008_orders'
# Merges the menu and stock branches: order lines need menu_items, sales write stock_movements.
down_revision = ('0005_menu', '0006_stock')
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('journal_entries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('entry_type', sa.String(length=16), nullable=False),
    sa.Column('reference_id', sa.String(length=36), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_journal_entries_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entries')),
    sa.UniqueConstraint('store_id', 'seq', name='uq_journal_entries_store_seq')
    )
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_entries_reference_id'), ['reference_id'], unique=False)

    op.create_table('store_counters',
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('last_receipt_number', sa.Integer(), nullable=False),
    sa.Column('journal_seq', sa.Integer(), nullable=False),
    sa.Column('journal_head', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_store_counters_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('store_id', name=op.f('pk_store_counters'))
    )
    # The default store's receipt series and journal start here; other stores get theirs on first sale.
    counters = sa.table('store_counters', sa.column('store_id', sa.String), sa.column('last_receipt_number', sa.Integer),
                        sa.column('journal_seq', sa.Integer), sa.column('journal_head', sa.String))
    op.bulk_insert(counters, [{'store_id': DEFAULT_STORE_ID, 'last_receipt_number': 0, 'journal_seq': 0,
                               'journal_head': '0' * 64}])
    op.create_table('shifts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opening_cash', sa.BigInteger(), nullable=False),
    sa.Column('expected_cash', sa.BigInteger(), nullable=True),
    sa.Column('counted_cash', sa.BigInteger(), nullable=True),
    sa.Column('variance', sa.BigInteger(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('closed_by', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_shifts_store_id_stores')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_shifts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shifts'))
    )
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.create_index('ix_shifts_store_opened', ['store_id', 'opened_at'], unique=False)
        batch_op.create_index('uq_shifts_open_per_user', ['user_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('orders',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('order_number', sa.String(length=32), nullable=True),
    sa.Column('receipt_number', sa.Integer(), nullable=True),
    sa.Column('terminal_id', sa.String(length=64), nullable=True),
    sa.Column('order_type', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('tax_mode', sa.String(length=16), nullable=False),
    sa.Column('subtotal', sa.BigInteger(), nullable=False),
    sa.Column('discount_amount', sa.BigInteger(), nullable=False),
    sa.Column('discount_reason', sa.String(length=200), nullable=True),
    sa.Column('tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('tip_amount', sa.BigInteger(), nullable=False),
    sa.Column('rounding_adjustment', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('refunded_amount', sa.BigInteger(), nullable=False),
    sa.Column('payment_method', sa.String(length=16), nullable=False),
    sa.Column('amount_paid', sa.BigInteger(), nullable=False),
    sa.Column('change_given', sa.BigInteger(), nullable=False),
    sa.Column('customer_name', sa.String(length=120), nullable=True),
    sa.Column('order_notes', sa.String(length=500), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.Column('request_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sale_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.Column('created_by_name', sa.String(length=120), nullable=False),
    sa.Column('shift_id', sa.String(length=36), nullable=True),
    sa.Column('reprint_count', sa.Integer(), nullable=False),
    sa.Column('last_reprint', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_by', sa.String(length=36), nullable=True),
    sa.Column('void_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_orders_created_by_users')),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_orders_shift_id_shifts')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_orders_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('store_id', 'idempotency_key', name='uq_orders_store_idempotency'),
    sa.UniqueConstraint('store_id', 'receipt_number', name='uq_orders_store_receipt')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_orders_created_by', ['created_by'], unique=False)
        batch_op.create_index('ix_orders_payment_method', ['payment_method'], unique=False)
        batch_op.create_index('ix_orders_shift_id', ['shift_id'], unique=False)
        batch_op.create_index('ix_orders_status', ['status'], unique=False)
        batch_op.create_index('ix_orders_store_sale_at', ['store_id', 'sale_at'], unique=False)

    op.create_table('shift_cash_movements',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('shift_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_shift_cash_movements_shift_id_shifts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_cash_movements'))
    )
    with op.batch_alter_table('shift_cash_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shift_cash_movements_shift_id'), ['shift_id'], unique=False)

    op.create_table('order_items',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('order_id', sa.String(length=36), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('menu_item_id', sa.String(length=36), nullable=False),
    sa.Column('product_name', sa.String(length=200), nullable=False),
    sa.Column('size', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.BigInteger(), nullable=False),
    sa.Column('line_total', sa.BigInteger(), nullable=False),
    sa.Column('discount_share', sa.BigInteger(), nullable=False),
    sa.Column('tax_rate', sa.BigInteger(), nullable=False),
    sa.Column('paid_total', sa.BigInteger(), nullable=False),
    sa.Column('recipe', sa.JSON(), nullable=False),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.Column('price_overridden', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.String(length=300), nullable=True),
    sa.Column('refunded_quantity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['menu_item_id'], ['menu_items.id'], name=op.f('fk_order_items_menu_item_id_menu_items'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_items_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_items'))
    )
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_items_menu_item_id'), ['menu_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_items_order_id'), ['order_id'], unique=False)

    op.create_table('order_tax_lines',
    sa.Column('order_id', sa.String(length=36), nullable=False),
    sa.Column('rate', sa.BigInteger(), nullable=False),
    sa.Column('base', sa.BigInteger(), nullable=False),
    sa.Column('tax', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_tax_lines_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', 'rate', name=op.f('pk_order_tax_lines'))
    )
    op.create_table('payments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('order_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('tendered', sa.BigInteger(), nullable=True),
    sa.Column('change', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payments_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_order_id'), ['order_id'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('order_id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('restock', sa.Boolean(), nullable=False),
    sa.Column('shift_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.Column('created_by_name', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_refunds_created_by_users')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refunds_order_id_orders')),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_refunds_shift_id_shifts')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_refunds_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_refunds_shift_id', ['shift_id'], unique=False)
        batch_op.create_index('ix_refunds_store_created', ['store_id', 'created_at'], unique=False)

    op.create_table('order_item_modifiers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('order_item_id', sa.String(length=36), nullable=False),
    sa.Column('modifier_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('price_delta', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['order_item_id'], ['order_items.id'], name=op.f('fk_order_item_modifiers_order_item_id_order_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_item_modifiers'))
    )
    with op.batch_alter_table('order_item_modifiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_item_modifiers_order_item_id'), ['order_item_id'], unique=False)

    op.create_table('refund_items',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('refund_id', sa.String(length=36), nullable=False),
    sa.Column('order_item_id', sa.String(length=36), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['order_item_id'], ['order_items.id'], name=op.f('fk_refund_items_order_item_id_order_items')),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_refund_items_refund_id_refunds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_items'))
    )
    with op.batch_alter_table('refund_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_items_refund_id'), ['refund_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('refund_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refund_items_refund_id'))

    op.drop_table('refund_items')
    with op.batch_alter_table('order_item_modifiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_item_modifiers_order_item_id'))

    op.drop_table('order_item_modifiers')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_store_created')
        batch_op.drop_index('ix_refunds_shift_id')
        batch_op.drop_index(batch_op.f('ix_refunds_order_id'))

    op.drop_table('refunds')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_order_id'))

    op.drop_table('payments')
    op.drop_table('order_tax_lines')
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_items_order_id'))
        batch_op.drop_index(batch_op.f('ix_order_items_menu_item_id'))

    op.drop_table('order_items')
    with op.batch_alter_table('shift_cash_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_cash_movements_shift_id'))

    op.drop_table('shift_cash_movements')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_store_sale_at')
        batch_op.drop_index('ix_orders_status')
        batch_op.drop_index('ix_orders_shift_id')
        batch_op.drop_index('ix_orders_payment_method')
        batch_op.drop_index('ix_orders_created_by')
        batch_op.drop_index('ix_orders_created_at')

    op.drop_table('orders')
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.drop_index('uq_shifts_open_per_user', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_shifts_store_opened')

    op.drop_table('shifts')
    op.drop_table('store_counters')
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journal_entries_reference_id'))

    op.drop_table('journal_entries')
