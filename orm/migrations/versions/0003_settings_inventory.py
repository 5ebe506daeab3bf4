"""store settings and inventory items

Revision ID: 0003_settings_inventory
Revises: 0002_identity
Create Date: 2026-11-23 12:54:24.377826
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003_settings_inventory'
down_revision = '0002_identity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inventory_items',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('supplier', sa.String(length=120), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('current_stock', sa.BigInteger(), nullable=False),
    sa.Column('min_stock_level', sa.BigInteger(), nullable=False),
    sa.Column('max_stock_level', sa.BigInteger(), nullable=True),
    sa.Column('cost_per_unit', sa.BigInteger(), nullable=True),
    sa.Column('location', sa.String(length=64), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=True),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('last_restocked', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_inventory_items_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_items')),
    sa.UniqueConstraint('store_id', 'name', name='uq_inventory_items_store_name')
    )
    with op.batch_alter_table('inventory_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_items_barcode'), ['barcode'], unique=False)
        batch_op.create_index(batch_op.f('ix_inventory_items_store_id'), ['store_id'], unique=False)

    op.create_table('store_settings',
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('store_name', sa.String(length=120), nullable=False),
    sa.Column('store_address', sa.String(length=500), nullable=False),
    sa.Column('vat_number', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('store_timezone', sa.String(length=64), nullable=False),
    sa.Column('tax_mode', sa.String(length=16), nullable=False),
    sa.Column('default_tax_rate', sa.BigInteger(), nullable=False),
    sa.Column('receipt_header', sa.String(length=500), nullable=False),
    sa.Column('receipt_footer', sa.String(length=500), nullable=False),
    sa.Column('cash_rounding', sa.String(length=8), nullable=False),
    sa.Column('daily_email_time', sa.String(length=5), nullable=False),
    sa.Column('daily_email_recipients', sa.JSON(), nullable=False),
    sa.Column('low_stock_default_min', sa.BigInteger(), nullable=False),
    sa.Column('alert_sweep_minutes', sa.Integer(), nullable=False),
    sa.Column('expiry_warning_days', sa.Integer(), nullable=False),
    sa.Column('lockout_attempts', sa.Integer(), nullable=False),
    sa.Column('lockout_minutes', sa.Integer(), nullable=False),
    sa.Column('require_open_shift', sa.Boolean(), nullable=False),
    sa.Column('allow_negative_stock', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_store_settings_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('store_id', name=op.f('pk_store_settings'))
    )


def downgrade() -> None:
    op.drop_table('store_settings')
    with op.batch_alter_table('inventory_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inventory_items_store_id'))
        batch_op.drop_index(batch_op.f('ix_inventory_items_barcode'))

    op.drop_table('inventory_items')
