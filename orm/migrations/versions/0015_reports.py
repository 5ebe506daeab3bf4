"""reports: day-level rollup tables (sales per method and cashier, categories per method) and the
per-day customer rollup, so a year-long dashboard reads a few thousand rows instead of hundreds of
thousands.

The existing rollup is emptied: the days it holds have no rows in the new tables, and the rollup
service rebuilds every day (readers fall back to the order tables meanwhile, exactly as before).

Revision ID: 0015_reports
Revises: 0014_prep_tabs
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015_reports'
down_revision = '0014_prep_tabs'
branch_labels = None
depends_on = None

ROLLUP_TABLES = ('report_rollup_sales', 'report_rollup_categories', 'report_rollup_items', 'report_rollup_days',
                 'report_rollup_state')


def _store_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f(f'fk_{table}_store_id_stores'),
                                   ondelete='CASCADE')


def upgrade() -> None:
    op.create_table('report_rollup_sales_days',
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('user_name', sa.String(length=120), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.BigInteger(), nullable=False),
    sa.Column('refunds', sa.BigInteger(), nullable=False),
    sa.Column('discounts', sa.BigInteger(), nullable=False),
    sa.Column('tax', sa.BigInteger(), nullable=False),
    sa.Column('tips', sa.BigInteger(), nullable=False),
    _store_fk('report_rollup_sales_days'),
    sa.PrimaryKeyConstraint('store_id', 'day', 'method', 'user_id', name=op.f('pk_report_rollup_sales_days'))
    )
    op.create_table('report_rollup_category_days',
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.BigInteger(), nullable=False),
    sa.Column('refunds', sa.BigInteger(), nullable=False),
    sa.Column('discounts', sa.BigInteger(), nullable=False),
    sa.Column('tax', sa.BigInteger(), nullable=False),
    _store_fk('report_rollup_category_days'),
    sa.PrimaryKeyConstraint('store_id', 'day', 'method', 'category', name=op.f('pk_report_rollup_category_days'))
    )
    op.create_table('report_rollup_customers',
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('customer', sa.String(length=120), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    _store_fk('report_rollup_customers'),
    sa.PrimaryKeyConstraint('store_id', 'day', 'method', 'customer', name=op.f('pk_report_rollup_customers'))
    )
    bind = op.get_bind()
    for table in ROLLUP_TABLES:
        bind.execute(sa.text(f'DELETE FROM {table}'))


def downgrade() -> None:
    op.drop_table('report_rollup_customers')
    op.drop_table('report_rollup_category_days')
    op.drop_table('report_rollup_sales_days')
