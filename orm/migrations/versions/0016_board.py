"""pickup board and service times: the prep.board permission, and an index for service times

- permission `prep.board` (the customer-facing pickup board, WS /ws/pickup), granted to the built-in
  admin and manager roles.  Written so it can run after (or before) another migration that adds the
  same permission: nothing is inserted twice.
- index ix_order_items_sent_at on order_items(sent_at) WHERE sent_at IS NOT NULL: the service-time
  section of the dashboard and daily report reads the ticket lines sent within its window, and
  without it PostgreSQL scans every order line ever sold.  Partial, so lines that never go to a
  station (most retail lines) cost the index nothing.

Revision ID: 0016_board
Revises: 0015_reports
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016_board'
down_revision = '0015_reports'
branch_labels = None
depends_on = None

PERMISSION = 'prep.board'
DESCRIPTION = 'Show the customer-facing pickup board (order numbers and first names)'
GRANTED_TO = ('00000000-0000-0000-0000-00000000a001', '00000000-0000-0000-0000-00000000a002')  # admin, manager
SENT = "sent_at IS NOT NULL"


def upgrade() -> None:
    bind = op.get_bind()
    # CASTs: PostgreSQL must know each parameter's type when it appears both as a value and in a WHERE.
    bind.execute(sa.text("INSERT INTO permissions (name, description) "
                         "SELECT CAST(:name AS VARCHAR(64)), CAST(:description AS VARCHAR(200)) "
                         "WHERE NOT EXISTS (SELECT 1 FROM permissions WHERE name = CAST(:name AS VARCHAR(64)))"),
                 {"name": PERMISSION, "description": DESCRIPTION})
    for role_id in GRANTED_TO:
        bind.execute(sa.text("INSERT INTO role_permissions (role_id, permission) "
                             "SELECT CAST(:role_id AS VARCHAR(36)), CAST(:name AS VARCHAR(64)) "
                             "WHERE EXISTS (SELECT 1 FROM roles WHERE id = CAST(:role_id AS VARCHAR(36))) "
                             "AND NOT EXISTS (SELECT 1 FROM role_permissions WHERE role_id = CAST(:role_id AS "
                             "VARCHAR(36)) AND permission = CAST(:name AS VARCHAR(64)))"),
                     {"role_id": role_id, "name": PERMISSION})
    op.create_index('ix_order_items_sent_at', 'order_items', ['sent_at'],
                    sqlite_where=sa.text(SENT), postgresql_where=sa.text(SENT))


def downgrade() -> None:
    op.drop_index('ix_order_items_sent_at', table_name='order_items')
    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM role_permissions WHERE permission = :name"), {"name": PERMISSION})
    bind.execute(sa.text("DELETE FROM user_permission_overrides WHERE permission = :name"), {"name": PERMISSION})
    bind.execute(sa.text("DELETE FROM permissions WHERE name = :name"), {"name": PERMISSION})
