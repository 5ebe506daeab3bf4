"""Roles and the permission catalogue: shapes, built-in protection, in-use roles, escalation, audit."""

from __future__ import annotations

from sqlalchemy import select

from orm.domain.permissions import BUILTIN_ROLES, PERMISSIONS, ROLE_IDS
from orm.models.model_identity import AuditChange, Role, RolePermission, User
from tests.conftest import run_unit
from tests.identity_support import count, counts, make_role, make_user

ROLE_KEYS = {"id", "name", "description", "permissions", "isBuiltin", "userCount", "createdAt", "updatedAt"}


def audit_actions(settings, entity_id: str) -> list[str]:
    return run_unit(settings, lambda s: list(s.scalars(
        select(AuditChange.action).where(AuditChange.entity == "role", AuditChange.entity_id == entity_id)
        .order_by(AuditChange.at))))


async def test_list_and_get_roles(as_role, settings):
    make_user(settings, role="cashier", active=False)
    manager = as_role("manager")
    resp = await manager.get("/roles")
    assert resp.status == 200
    data = resp.data
    assert set(data) == {"roles", "total", "page", "perPage", "pages"} and data["total"] == 6
    by_name = {r["name"]: r for r in data["roles"]}
    assert all(set(r) == ROLE_KEYS for r in data["roles"])
    assert by_name["cashier"]["userCount"] == 2 and by_name["admin"]["isBuiltin"] is True
    for name, (_desc, perms) in BUILTIN_ROLES.items():
        assert by_name[name]["permissions"] == sorted(perms)
    resp = await manager.get(f"/roles/{ROLE_IDS['trainee']}")
    assert resp.status == 200 and resp.data["role"]["name"] == "trainee"
    assert (await manager.get("/roles/unknown")).status == 404


async def test_create_update_delete_custom_role(admin, settings):
    resp = await admin.post("/roles", {"name": "Shift lead", "description": "Cashier who may refund",
                                       "permissions": ["sales.process", "sales.refund", "sales.process"]})
    assert resp.status == 201, resp.body
    role = resp.data["role"]
    assert set(role) == ROLE_KEYS and resp.headers["Location"] == f"/roles/{role['id']}"
    assert role["permissions"] == ["sales.process", "sales.refund"] and role["isBuiltin"] is False
    assert role["userCount"] == 0

    resp = await admin.put(f"/roles/{role['id']}", {"permissions": ["sales.process", "sales.void"]})
    assert resp.status == 200 and resp.data["role"]["permissions"] == ["sales.process", "sales.void"]
    assert resp.data["role"]["description"] == "Cashier who may refund"  # partial update
    resp = await admin.put(f"/roles/{role['id']}", {"name": "Lead", "description": "renamed"})
    assert resp.data["role"]["name"] == "Lead"

    # A user holding it keeps the role from being deleted.
    user = make_user(settings)
    run_unit(settings, lambda s: setattr(s.get(User, user["id"]), "role_id", role["id"]))
    resp = await admin.delete(f"/roles/{role['id']}")
    assert resp.status == 409
    run_unit(settings, lambda s: setattr(s.get(User, user["id"]), "role_id", ROLE_IDS["trainee"]))
    resp = await admin.delete(f"/roles/{role['id']}")
    assert resp.status == 200 and resp.data["role"]["name"] == "Lead"
    assert count(settings, Role, Role.id == role["id"]) == 0
    assert count(settings, RolePermission, RolePermission.role_id == role["id"]) == 0
    assert audit_actions(settings, role["id"]) == ["create", "update", "update", "delete"]
    assert (await admin.delete(f"/roles/{role['id']}")).status == 404


async def test_builtin_roles_editable_not_deletable(admin, settings):
    resp = await admin.put(f"/roles/{ROLE_IDS['trainee']}", {"permissions": ["menu.view", "sales.process"]})
    assert resp.status == 200 and resp.data["role"]["permissions"] == ["menu.view", "sales.process"]
    trainee = await admin.post("/auth/login", {"username": "trainee", "password": "password123"}, auth=False)
    assert trainee.data["user"]["permissions"] == ["menu.view", "sales.process"]
    before = counts(settings)
    assert (await admin.delete(f"/roles/{ROLE_IDS['cashier']}")).status == 409
    assert (await admin.put(f"/roles/{ROLE_IDS['cashier']}", {"name": "till"})).status == 409
    resp = await admin.put(f"/roles/{ROLE_IDS['admin']}", {"permissions": ["menu.view"]})
    assert resp.status == 409  # the admin role keeps roles.manage
    assert counts(settings) == before


async def test_role_validation_and_conflicts_write_nothing(admin, settings):
    make_role(settings, ["menu.view"], name="Barista")
    before = counts(settings)
    for body in ({}, {"name": ""}, {"name": " lead"}, {"name": "x" * 65}, {"name": "ok", "permissions": ["nope"]},
                 {"name": "ok", "permissions": "menu.view"}, {"name": "ok", "color": "red"},
                 {"name": "ok", "description": "d" * 201}):
        resp = await admin.post("/roles", body)
        assert resp.status == 400 and resp.json["errorCode"] == "VALIDATION_ERROR", body
    resp = await admin.post("/roles", {"name": "barista"})
    assert resp.status == 409 and resp.json["fieldErrors"] == {"name": "is already taken"}
    resp = await admin.put(f"/roles/{ROLE_IDS['cashier']}", {"permissions": None})
    assert resp.status == 400
    assert (await admin.put("/roles/missing", {"description": "x"})).status == 404
    assert counts(settings) == before


async def test_cannot_put_unheld_permissions_into_a_role(server, settings):
    # A role manager without system.logs (revoked) cannot hand it out.
    from orm.models.model_identity import UserPermissionOverride

    boss = make_user(settings, role="admin")
    run_unit(settings, lambda s: s.add(UserPermissionOverride(user_id=boss["id"], permission="system.logs",
                                                              granted=False)))
    c = server.client()
    try:
        c.token = (await c.post("/auth/login", {"username": boss["username"], "password": "password123"})).data[
            "token"]
        before = counts(settings)
        assert (await c.post("/roles", {"name": "Auditor", "permissions": ["system.logs"]})).status == 403
        resp = await c.put(f"/roles/{ROLE_IDS['cashier']}", {"permissions": ["menu.view", "system.logs"]})
        assert resp.status == 403
        assert counts(settings) == before
    finally:
        c.close()


async def test_permission_catalogue_and_role_permissions(as_role):
    manager = as_role("manager")
    resp = await manager.get("/permissions")
    assert resp.status == 200
    assert [p["name"] for p in resp.data["permissions"]] == sorted(PERMISSIONS)
    assert resp.data["permissions"][0].keys() == {"name", "description", "category"}
    resp = await manager.get("/permissions/role/cashier")
    assert resp.status == 200
    assert resp.data == {"role": "cashier", "roleId": ROLE_IDS["cashier"],
                         "permissions": sorted(BUILTIN_ROLES["cashier"][1])}
    by_id = await manager.get(f"/permissions/role/{ROLE_IDS['cashier']}")
    assert by_id.data == resp.data
    assert (await manager.get("/permissions/role/baker")).status == 404
