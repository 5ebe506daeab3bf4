"""prep roles: the prep.view, prep.update and prep.board permissions and the barista and display roles

Existing databases get the three permissions, the two new built-in roles, and the new permissions on
the built-in roles that have them by default (admin and manager all three, cashier prep.view and
prep.update). A role an admin has edited keeps its other permissions as they are.

Revision ID: 0017_prep_roles
Revises: 0016_board
"""
from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0017_prep_roles'
down_revision = '0016_board'
branch_labels = None
depends_on = None

# Frozen copy of what this revision adds (later changes get their own migration).
PERMISSIONS = {
    'prep.view': 'See the bar and kitchen tickets',
    'prep.update': 'Move tickets (start, ready, recall, collected)',
    'prep.board': 'Show the customer-facing pickup board',
}
NEW_ROLES = {
    'barista': ('00000000-0000-0000-0000-00000000a005', 'Makes the drinks and food: the bar and kitchen tickets',
                ['inventory.view', 'menu.view', 'prep.update', 'prep.view']),
    'display': ('00000000-0000-0000-0000-00000000a006', 'A customer-facing pickup screen', ['prep.board']),
}
GRANTS = {
    '00000000-0000-0000-0000-00000000a001': ['prep.board', 'prep.update', 'prep.view'],  # admin
    '00000000-0000-0000-0000-00000000a002': ['prep.board', 'prep.update', 'prep.view'],  # manager
    '00000000-0000-0000-0000-00000000a003': ['prep.update', 'prep.view'],  # cashier
}


def upgrade() -> None:
    bind = op.get_bind()
    permissions = sa.table("permissions", sa.column("name", sa.String), sa.column("description", sa.String))
    roles = sa.table("roles", sa.column("id", sa.String), sa.column("name", sa.String),
                     sa.column("description", sa.String), sa.column("is_builtin", sa.Boolean),
                     sa.column("created_at", sa.DateTime(timezone=True)),
                     sa.column("updated_at", sa.DateTime(timezone=True)))
    role_permissions = sa.table("role_permissions", sa.column("role_id", sa.String),
                                sa.column("permission", sa.String))
    have = set(bind.execute(sa.select(permissions.c.name)).scalars())
    op.bulk_insert(permissions, [{"name": k, "description": v} for k, v in PERMISSIONS.items() if k not in have])
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    taken = set(bind.execute(sa.select(roles.c.name)).scalars())
    new = {name: spec for name, spec in NEW_ROLES.items() if name not in taken}
    op.bulk_insert(roles, [{"id": rid, "name": name, "description": desc, "is_builtin": True,
                            "created_at": now, "updated_at": now} for name, (rid, desc, _p) in new.items()])
    grants = {rid: perms for _n, (rid, _d, perms) in new.items()}
    existing = set(bind.execute(sa.select(roles.c.id)).scalars())
    grants.update({rid: perms for rid, perms in GRANTS.items() if rid in existing})
    held = set(bind.execute(sa.select(role_permissions.c.role_id, role_permissions.c.permission)).tuples())
    op.bulk_insert(role_permissions, [{"role_id": rid, "permission": p} for rid, perms in grants.items()
                                      for p in perms if (rid, p) not in held])


def downgrade() -> None:
    names = list(PERMISSIONS)
    op.execute(sa.text("DELETE FROM role_permissions WHERE permission IN ('prep.view', 'prep.update', 'prep.board')"))
    ids = [rid for rid, _d, _p in NEW_ROLES.values()]
    bind = op.get_bind()
    users = bind.execute(sa.text("SELECT COUNT(*) FROM users WHERE role_id IN (:a, :b)"),
                         {"a": ids[0], "b": ids[1]}).scalar()
    if users:
        raise RuntimeError("users still have the barista or display role: give them another role first")
    bind.execute(sa.text("DELETE FROM roles WHERE id IN (:a, :b)"), {"a": ids[0], "b": ids[1]})
    bind.execute(sa.text("DELETE FROM permissions WHERE name IN (:a, :b, :c)"),
                 dict(zip("abc", names, strict=True)))
