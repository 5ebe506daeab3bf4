"""identity

Revision ID: 0002_identity
Revises: 0001_foundation
Create Date: 2026-11-23 12:51:15.331977
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision = '0002_identity'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None

# Frozen copy of the catalogue at this revision (later changes get their own migration).
PERMISSIONS = {
    'menu.view': 'See the menu',
    'menu.create': 'Add menu items',
    'menu.edit': 'Edit menu items, images and categories',
    'menu.delete': 'Delete menu items',
    'menu.import': 'Bulk-import the menu from CSV',
    'inventory.view': 'See stock levels and alerts',
    'inventory.edit': 'Edit inventory items and alerts',
    'inventory.adjust_stock': 'Adjust stock levels',
    'inventory.export': 'Export inventory as CSV',
    'inventory.view_costs': 'See cost prices',
    'sales.process': 'Ring up orders',
    'sales.apply_discount': 'Apply discounts',
    'sales.view_history': 'See past orders',
    'sales.refund': 'Refund orders',
    'sales.override_price': 'Override prices',
    'sales.void': 'Void orders',
    'roles.manage': 'Create, edit and delete roles',
    'receipts.print': 'Print receipts',
    'receipts.reprint': 'Reprint receipts',
    'receipts.email': 'E-mail receipts',
    'reports.view': 'See dashboards and reports',
    'reports.export': 'Export reports',
    'reports.financial': 'See financial reports',
    'reports.send_email': 'Send report e-mails',
    'shifts.open_close': 'Open and close cash-drawer shifts',
    'users.view': 'See users and roles',
    'users.edit': 'Edit users',
    'users.create': 'Create users',
    'users.delete': 'Deactivate users',
    'users.reset_password': "Reset other users' passwords",
    'system.settings': 'Change store settings',
    'system.logs': 'Read audit logs and metrics',
    'system.backup': 'Run backups',
    'system.maintenance': 'Run maintenance tasks',
}

BUILTIN_ROLES = {
    'admin': ('00000000-0000-0000-0000-00000000a001', 'Full access', ['inventory.adjust_stock', 'inventory.edit', 'inventory.export', 'inventory.view', 'inventory.view_costs', 'menu.create', 'menu.delete', 'menu.edit', 'menu.import', 'menu.view', 'receipts.email', 'receipts.print', 'receipts.reprint', 'reports.export', 'reports.financial', 'reports.send_email', 'reports.view', 'roles.manage', 'sales.apply_discount', 'sales.override_price', 'sales.process', 'sales.refund', 'sales.view_history', 'sales.void', 'shifts.open_close', 'system.backup', 'system.logs', 'system.maintenance', 'system.settings', 'users.create', 'users.delete', 'users.edit', 'users.reset_password', 'users.view']),
    'manager': ('00000000-0000-0000-0000-00000000a002', 'Runs the café: menu, stock, refunds, reports, staff', ['inventory.adjust_stock', 'inventory.edit', 'inventory.export', 'inventory.view', 'inventory.view_costs', 'menu.create', 'menu.delete', 'menu.edit', 'menu.import', 'menu.view', 'receipts.email', 'receipts.print', 'receipts.reprint', 'reports.export', 'reports.financial', 'reports.send_email', 'reports.view', 'sales.apply_discount', 'sales.override_price', 'sales.process', 'sales.refund', 'sales.view_history', 'sales.void', 'shifts.open_close', 'system.settings', 'users.edit', 'users.view']),
    'cashier': ('00000000-0000-0000-0000-00000000a003', 'Takes orders and payments', ['inventory.view', 'menu.view', 'receipts.print', 'receipts.reprint', 'reports.view', 'sales.apply_discount', 'sales.process', 'sales.view_history', 'shifts.open_close']),
    'trainee': ('00000000-0000-0000-0000-00000000a004', 'Takes orders under supervision', ['inventory.view', 'menu.view', 'receipts.print', 'sales.process']),
}


def upgrade() -> None:
    op.create_table('audit_changes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('actor_id', sa.String(length=36), nullable=True),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('old_values', sa.JSON(), nullable=True),
    sa.Column('new_values', sa.JSON(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_changes'))
    )
    with op.batch_alter_table('audit_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_changes_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_changes_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_changes_entity', ['entity', 'entity_id'], unique=False)

    op.create_table('login_attempts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_address_at', ['address', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempts_at'), ['at'], unique=False)
        batch_op.create_index('ix_login_attempts_username_at', ['username', 'at'], unique=False)

    op.create_table('server_secrets',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_server_secrets'))
    )
    op.create_table('permissions',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_permissions'))
    )
    op.create_table('rate_limit_hits',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('window_start', sa.Integer(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_limit_hits'))
    )
    op.create_table('roles',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('is_builtin', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roles')),
    sa.UniqueConstraint('name', name=op.f('uq_roles_name'))
    )
    op.create_table('role_permissions',
    sa.Column('role_id', sa.String(length=36), nullable=False),
    sa.Column('permission', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['permission'], ['permissions.name'], name=op.f('fk_role_permissions_permission_permissions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_role_permissions_role_id_roles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('role_id', 'permission', name=op.f('pk_role_permissions'))
    )
    op.create_table('users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=100), nullable=False),
    sa.Column('pin_hash', sa.String(length=100), nullable=True),
    sa.Column('pin_lookup', sa.String(length=64), nullable=True),
    sa.Column('role_id', sa.String(length=36), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('last_login', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_users_role_id_roles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_role_id'), ['role_id'], unique=False)
        batch_op.create_index('uq_users_pin_lookup_active', ['pin_lookup'], unique=True, sqlite_where=sa.text('is_active = 1 AND pin_lookup IS NOT NULL'), postgresql_where=sa.text('is_active AND pin_lookup IS NOT NULL'))

    op.create_table('auth_sessions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('remember_me', sa.Boolean(), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auth_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_sessions'))
    )
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('password_reset_tokens',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_password_reset_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_reset_tokens_token_hash'))
    )
    with op.batch_alter_table('password_reset_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('user_permission_overrides',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('permission', sa.String(length=64), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['permission'], ['permissions.name'], name=op.f('fk_user_permission_overrides_permission_permissions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_permission_overrides_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'permission', name=op.f('pk_user_permission_overrides'))
    )
    op.create_table('refresh_tokens',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['auth_sessions.id'], name=op.f('fk_refresh_tokens_session_id_auth_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_refresh_tokens_token_hash'))
    )
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refresh_tokens_session_id'), ['session_id'], unique=False)

    permissions = sa.table("permissions", sa.column("name", sa.String), sa.column("description", sa.String))
    op.bulk_insert(permissions, [{"name": k, "description": v} for k, v in PERMISSIONS.items()])
    roles = sa.table("roles", sa.column("id", sa.String), sa.column("name", sa.String),
                     sa.column("description", sa.String), sa.column("is_builtin", sa.Boolean),
                     sa.column("created_at", sa.DateTime(timezone=True)),
                     sa.column("updated_at", sa.DateTime(timezone=True)))
    now = datetime.now(timezone.utc)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    op.bulk_insert(roles, [{"id": rid, "name": name, "description": desc, "is_builtin": True,
                            "created_at": now, "updated_at": now}
                           for name, (rid, desc, _p) in BUILTIN_ROLES.items()])
    role_permissions = sa.table("role_permissions", sa.column("role_id", sa.String),
                                sa.column("permission", sa.String))
    op.bulk_insert(role_permissions, [{"role_id": rid, "permission": p}
                                      for _n, (rid, _d, perms) in BUILTIN_ROLES.items() for p in perms])

def downgrade() -> None:
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_session_id'))

    op.drop_table('refresh_tokens')
    op.drop_table('user_permission_overrides')
    with op.batch_alter_table('password_reset_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_tokens_user_id'))

    op.drop_table('password_reset_tokens')
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_sessions_user_id'))

    op.drop_table('auth_sessions')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('uq_users_pin_lookup_active', sqlite_where=sa.text('is_active = 1 AND pin_lookup IS NOT NULL'), postgresql_where=sa.text('is_active AND pin_lookup IS NOT NULL'))
        batch_op.drop_index(batch_op.f('ix_users_role_id'))
        batch_op.drop_index(batch_op.f('ix_users_email'))

    op.drop_table('users')
    op.drop_table('role_permissions')
    op.drop_table('roles')
    op.drop_table('rate_limit_hits')
    op.drop_table('permissions')
    op.drop_table('server_secrets')
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_username_at')
        batch_op.drop_index(batch_op.f('ix_login_attempts_at'))
        batch_op.drop_index('ix_login_attempts_address_at')

    op.drop_table('login_attempts')
    with op.batch_alter_table('audit_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_changes_entity')
        batch_op.drop_index(batch_op.f('ix_audit_changes_at'))
        batch_op.drop_index(batch_op.f('ix_audit_changes_actor_id'))

    op.drop_table('audit_changes')
