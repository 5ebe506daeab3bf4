"""formats: the store's receipt paper width (store_settings.receipt_width)

Revision ID: 0012_receipt_width
Revises: 0011_movement_seq
Create Date: 2026-12-07 04:30:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012_receipt_width'
down_revision = '0011_movement_seq'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 42 columns (80 mm paper) for existing stores, as receipts were printed until now.
    with op.batch_alter_table('store_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_width', sa.Integer(), server_default='42', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('store_settings', schema=None) as batch_op:
        batch_op.drop_column('receipt_width')
