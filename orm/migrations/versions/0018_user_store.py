"""users belong to a store: users.store_id

- `users.store_id` (nullable; NULL = the default store): the store a user sells, counts stock and
  reads settings in (the login's Principal carries it).  No foreign key: SQLite cannot add one in
  place and batch mode would copy the users table (and every table pointing at it); the users
  controller accepts only an existing, active store.
- index ix_users_store_id for `GET /users?storeId=`.

Revision ID: 0018_user_store
Revises: 0017_prep_roles
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018_user_store'
down_revision = '0017_prep_roles'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('store_id', sa.String(length=36), nullable=True))
    op.create_index('ix_users_store_id', 'users', ['store_id'])


def downgrade() -> None:
    op.drop_index('ix_users_store_id', table_name='users')
    # In place (SQLite >= 3.35 drops a plain column): batch mode would copy users, which other tables
    # reference, and SQLite refuses to drop the old table with foreign keys on.
    op.drop_column('users', 'store_id')
