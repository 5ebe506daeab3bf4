"""menu: categories, items, modifier groups, recipes, menu revision counter

Revision ID: 0005_menu
Revises: 0003_settings_inventory
Create Date: 2026-11-23 13:00:51.607843
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005_menu'
down_revision = '0003_settings_inventory'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('menu_categories',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('tax_rate', sa.BigInteger(), nullable=True),
    sa.Column('take_away_tax_rate', sa.BigInteger(), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_menu_categories_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_menu_categories')),
    sa.UniqueConstraint('store_id', 'name', name='uq_menu_categories_store_name')
    )
    with op.batch_alter_table('menu_categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_menu_categories_store_id'), ['store_id'], unique=False)

    op.create_table('menu_revisions',
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('revision', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_menu_revisions_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('store_id', name=op.f('pk_menu_revisions'))
    )
    op.create_table('modifier_groups',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('min_select', sa.Integer(), nullable=False),
    sa.Column('max_select', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_modifier_groups_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_modifier_groups')),
    sa.UniqueConstraint('store_id', 'name', name='uq_modifier_groups_store_name')
    )
    with op.batch_alter_table('modifier_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_modifier_groups_store_id'), ['store_id'], unique=False)

    op.create_table('menu_items',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('category_id', sa.String(length=36), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('size', sa.String(length=32), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('tax_rate', sa.BigInteger(), nullable=True),
    sa.Column('take_away_tax_rate', sa.BigInteger(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=True),
    sa.Column('barcode', sa.String(length=64), nullable=True),
    sa.Column('stock_count', sa.Integer(), nullable=True),
    sa.Column('image_url', sa.String(length=255), nullable=True),
    sa.Column('thumbnail_url', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['menu_categories.id'], name=op.f('fk_menu_items_category_id_menu_categories')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_menu_items_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_menu_items')),
    sa.UniqueConstraint('store_id', 'name', 'size', name='uq_menu_items_store_name_size'),
    sa.UniqueConstraint('store_id', 'sku', name='uq_menu_items_store_sku')
    )
    with op.batch_alter_table('menu_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_menu_items_barcode'), ['barcode'], unique=False)
        batch_op.create_index(batch_op.f('ix_menu_items_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_menu_items_store_id'), ['store_id'], unique=False)

    op.create_table('modifiers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('price_delta', sa.BigInteger(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['modifier_groups.id'], name=op.f('fk_modifiers_group_id_modifier_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_modifiers')),
    sa.UniqueConstraint('group_id', 'name', name='uq_modifiers_group_name')
    )
    with op.batch_alter_table('modifiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_modifiers_group_id'), ['group_id'], unique=False)

    op.create_table('menu_item_modifier_groups',
    sa.Column('menu_item_id', sa.String(length=36), nullable=False),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['modifier_groups.id'], name=op.f('fk_menu_item_modifier_groups_group_id_modifier_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['menu_item_id'], ['menu_items.id'], name=op.f('fk_menu_item_modifier_groups_menu_item_id_menu_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('menu_item_id', 'group_id', name=op.f('pk_menu_item_modifier_groups'))
    )
    with op.batch_alter_table('menu_item_modifier_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_menu_item_modifier_groups_group_id'), ['group_id'], unique=False)

    op.create_table('menu_item_recipe_lines',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('menu_item_id', sa.String(length=36), nullable=False),
    sa.Column('inventory_item_id', sa.String(length=36), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['inventory_item_id'], ['inventory_items.id'], name=op.f('fk_menu_item_recipe_lines_inventory_item_id_inventory_items'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['menu_item_id'], ['menu_items.id'], name=op.f('fk_menu_item_recipe_lines_menu_item_id_menu_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_menu_item_recipe_lines')),
    sa.UniqueConstraint('menu_item_id', 'inventory_item_id', name='uq_menu_item_recipe_lines_item')
    )
    with op.batch_alter_table('menu_item_recipe_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_menu_item_recipe_lines_inventory_item_id'), ['inventory_item_id'], unique=False)

    op.create_table('modifier_recipe_lines',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('modifier_id', sa.String(length=36), nullable=False),
    sa.Column('inventory_item_id', sa.String(length=36), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['inventory_item_id'], ['inventory_items.id'], name=op.f('fk_modifier_recipe_lines_inventory_item_id_inventory_items'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['modifier_id'], ['modifiers.id'], name=op.f('fk_modifier_recipe_lines_modifier_id_modifiers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_modifier_recipe_lines')),
    sa.UniqueConstraint('modifier_id', 'inventory_item_id', name='uq_modifier_recipe_lines_item')
    )
    with op.batch_alter_table('modifier_recipe_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_modifier_recipe_lines_inventory_item_id'), ['inventory_item_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('modifier_recipe_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_modifier_recipe_lines_inventory_item_id'))

    op.drop_table('modifier_recipe_lines')
    with op.batch_alter_table('menu_item_recipe_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_menu_item_recipe_lines_inventory_item_id'))

    op.drop_table('menu_item_recipe_lines')
    with op.batch_alter_table('menu_item_modifier_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_menu_item_modifier_groups_group_id'))

    op.drop_table('menu_item_modifier_groups')
    with op.batch_alter_table('modifiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_modifiers_group_id'))

    op.drop_table('modifiers')
    with op.batch_alter_table('menu_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_menu_items_store_id'))
        batch_op.drop_index(batch_op.f('ix_menu_items_category_id'))
        batch_op.drop_index(batch_op.f('ix_menu_items_barcode'))

    op.drop_table('menu_items')
    with op.batch_alter_table('modifier_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_modifier_groups_store_id'))

    op.drop_table('modifier_groups')
    op.drop_table('menu_revisions')
    with op.batch_alter_table('menu_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_menu_categories_store_id'))

    op.drop_table('menu_categories')
