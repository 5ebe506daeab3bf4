"""stock movements, alerts, job runs

Revision ID: 0006_stock
Revises: 0003_settings_inventory
Create Date: 2026-11-23 12:59:57.190588
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006_stock'
down_revision = '0003_settings_inventory'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('period_key', sa.String(length=40), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('name', 'period_key', name='uq_job_runs_name_period')
    )
    op.create_table('stock_alerts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('inventory_item_id', sa.String(length=36), nullable=True),
    sa.Column('alert_type', sa.String(length=16), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=36), nullable=True),
    sa.Column('dismissed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['inventory_item_id'], ['inventory_items.id'], name=op.f('fk_stock_alerts_inventory_item_id_inventory_items')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_stock_alerts_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_alerts'))
    )
    with op.batch_alter_table('stock_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_stock_alerts_store_status_created', ['store_id', 'status', 'created_at'], unique=False)
        batch_op.create_index('uq_stock_alerts_open_item_type', ['inventory_item_id', 'alert_type'], unique=True, sqlite_where=sa.text("status IN ('active', 'acknowledged')"), postgresql_where=sa.text("status IN ('active', 'acknowledged')"))

    op.create_table('stock_movements',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('inventory_item_id', sa.String(length=36), nullable=False),
    sa.Column('movement_type', sa.String(length=16), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('resulting_level', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inventory_item_id'], ['inventory_items.id'], name=op.f('fk_stock_movements_inventory_item_id_inventory_items')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_stock_movements_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movements'))
    )
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index('ix_stock_movements_item_created', ['inventory_item_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_movements_reference'), ['reference'], unique=False)
        batch_op.create_index('ix_stock_movements_store_created', ['store_id', 'created_at'], unique=False)
        batch_op.create_index('ix_stock_movements_store_type_created', ['store_id', 'movement_type', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_movements_store_type_created')
        batch_op.drop_index('ix_stock_movements_store_created')
        batch_op.drop_index(batch_op.f('ix_stock_movements_reference'))
        batch_op.drop_index('ix_stock_movements_item_created')

    op.drop_table('stock_movements')
    with op.batch_alter_table('stock_alerts', schema=None) as batch_op:
        batch_op.drop_index('uq_stock_alerts_open_item_type', sqlite_where=sa.text("status IN ('active', 'acknowledged')"), postgresql_where=sa.text("status IN ('active', 'acknowledged')"))
        batch_op.drop_index('ix_stock_alerts_store_status_created')

    op.drop_table('stock_alerts')
    op.drop_table('job_runs')
