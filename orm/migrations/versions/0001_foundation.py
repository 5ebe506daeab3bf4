"""foundation: stores and the default store

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-23
"""
from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

DEFAULT_STORE_ID = "00000000-0000-0000-0000-000000000001"


def upgrade() -> None:
    stores = op.create_table(
        "stores",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("address", sa.String(500), nullable=False, server_default=""),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp()),
        sa.PrimaryKeyConstraint("id", name="pk_stores"),
        sa.UniqueConstraint("name", name="uq_stores_name"),
    )
    # The first store's zone follows STORE_TIMEZONE at install time; /stores edits it later.
    op.bulk_insert(stores, [{
        "id": DEFAULT_STORE_ID,
        "name": os.environ.get("STORE_NAME", "Main store"),
        "address": "",
        "timezone": os.environ.get("STORE_TIMEZONE", "Europe/Berlin"),
        "is_active": True,
    }])


def downgrade() -> None:
    op.drop_table("stores")
