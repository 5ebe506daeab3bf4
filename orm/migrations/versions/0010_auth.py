"""auth: a login's last request (auth_sessions.last_seen_at) for the idle timeout

Revision ID: 0010_auth
Revises: 0009_reports
Create Date: 2026-12-07 04:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_auth'
down_revision = '0009_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
    # Logins from before this revision count as last seen when they began.
    op.execute("UPDATE auth_sessions SET last_seen_at = created_at")
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
