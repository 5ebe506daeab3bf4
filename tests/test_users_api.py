"""Users: shapes, listing filters, create/edit rules, PINs, soft delete, last admin, overrides, audit."""

from __future__ import annotations

from sqlalchemy import select

from orm.models.model_identity import AuditChange, AuthSession, User, UserPermissionOverride
from tests.conftest import run_unit
from tests.identity_support import count, counts, live_sessions, make_role, make_user, user_id, user_row

USER_KEYS = {"id", "username", "firstName", "lastName", "email", "role", "roleId", "permissions", "isActive",
             "createdAt", "lastLogin", "hasPin", "storeId"}
NEW_USER = {"username": "barista.jo", "password": "s3cret-enough", "firstName": "Jo", "lastName": "Bean",
            "email": "jo@cafe.example", "role": "cashier"}


def changes(settings, **where) -> list[dict]:
    def read(session):
        q = select(AuditChange).order_by(AuditChange.at)
        for k, v in where.items():
            q = q.where(getattr(AuditChange, k) == v)
        return [{"action": a.action, "actor": a.actor_name, "old": a.old_values, "new": a.new_values}
                for a in session.scalars(q)]
    return run_unit(settings, read)


async def test_list_users_shape_filters_and_paging(admin, settings):
    make_user(settings, username="zed", role="cashier", active=False)
    resp = await admin.get("/users")
    assert resp.status == 200
    data = resp.data
    assert set(data) == {"users", "total", "page", "perPage", "pages"}
    assert data["total"] == 5 and data["perPage"] == 50
    assert [u["username"] for u in data["users"]] == ["admin", "cashier", "manager", "trainee", "zed"]
    assert all(set(u) == USER_KEYS for u in data["users"])
    assert "passwordHash" not in resp.body.decode() and "pin_lookup" not in resp.body.decode()

    by_role = (await admin.get("/users?role=cashier")).data
    assert [u["username"] for u in by_role["users"]] == ["cashier", "zed"]
    inactive = (await admin.get("/users?active=false")).data
    assert [u["username"] for u in inactive["users"]] == ["zed"]
    assert (await admin.get("/users?search=MAN")).data["total"] == 1
    assert (await admin.get("/users?search=%25")).data["total"] == 0  # LIKE wildcards are literal
    paged = (await admin.get("/users?page=2&perPage=2")).data
    assert [u["username"] for u in paged["users"]] == ["manager", "trainee"] and paged["pages"] == 3
    assert (await admin.get("/users?active=maybe")).status == 400
    assert (await admin.get("/users?perPage=500")).status == 400


async def test_create_user(admin, settings):
    resp = await admin.post("/users", {**NEW_USER, "pin": "9876"})
    assert resp.status == 201, resp.body
    user = resp.data["user"]
    assert set(user) == USER_KEYS and resp.headers["Location"] == f"/users/{user['id']}"
    assert user["role"] == "cashier" and user["hasPin"] is True and user["isActive"] is True
    assert "sales.process" in user["permissions"] and user["lastLogin"] is None
    row = user_row(settings, user["id"])
    assert row["passwordHash"].startswith("$2") and "s3cret" not in row["passwordHash"]
    assert row["pinHash"].startswith("$2") and row["pinLookup"] and "9876" not in row["pinLookup"]
    login = await admin.post("/auth/login", {"pinCode": "9876"}, auth=False)
    assert login.status == 200 and login.data["user"]["username"] == "barista.jo"
    assert changes(settings, entity="user", entity_id=user["id"])[0]["action"] == "create"
    # by roleId, without a PIN
    resp = await admin.post("/users", {**NEW_USER, "username": "kim", "role": None,
                                       "roleId": "00000000-0000-0000-0000-00000000a004"})
    assert resp.status == 201 and resp.data["user"]["role"] == "trainee" and resp.data["user"]["hasPin"] is False


async def test_create_user_bad_inputs_write_nothing(admin, settings):
    before = counts(settings)
    bad = [
        ({**NEW_USER, "password": "short"}, "password"),
        ({**NEW_USER, "username": "x"}, "username"),
        ({**NEW_USER, "username": "bad name"}, "username"),
        ({**NEW_USER, "email": "jo-at-cafe"}, "email"),
        ({**NEW_USER, "pin": "12"}, "pin"),
        ({**NEW_USER, "pin": "12345678"}, "pin"),
        ({**NEW_USER, "firstName": ""}, "firstName"),
        ({**NEW_USER, "role": "baker"}, "role"),
        ({**NEW_USER, "isAdmin": True}, "isAdmin"),
        ({k: v for k, v in NEW_USER.items() if k != "email"}, "email"),
        ({k: v for k, v in NEW_USER.items() if k != "role"}, "body"),
    ]
    for body, field in bad:
        resp = await admin.post("/users", body)
        assert resp.status == 400 and resp.json["errorCode"] == "VALIDATION_ERROR", (field, resp.body)
        assert field in resp.json["fieldErrors"], (field, resp.json)
    assert (await admin.post("/users", body=b"{not json", headers={"Content-Type": "application/json"})).status \
        == 400
    assert counts(settings) == before


async def test_duplicates_are_409(admin, settings):
    before = counts(settings)
    resp = await admin.post("/users", {**NEW_USER, "username": "cashier"})
    assert resp.status == 409 and resp.json["errorCode"] == "CONFLICT"
    resp = await admin.post("/users", {**NEW_USER, "pin": "3456"})  # the cashier's PIN
    assert resp.status == 409 and resp.json["fieldErrors"] == {"pin": "is already in use"}
    assert counts(settings) == before
    # A deactivated user's PIN is free again.
    gone = make_user(settings, active=False, pin="5555")
    assert (await admin.post("/users", {**NEW_USER, "pin": "5555"})).status == 201
    # ...and reactivating the old holder would clash.
    resp = await admin.patch(f"/users/{gone['id']}/activate")
    assert resp.status == 409 and user_row(settings, gone["id"])["isActive"] is False


async def test_get_user_self_or_users_view(as_role, settings):
    cashier, manager = as_role("cashier"), as_role("manager")
    me = user_id(settings, "cashier")
    resp = await cashier.get(f"/users/{me}")
    assert resp.status == 200 and set(resp.data["user"]) == USER_KEYS
    assert (await cashier.get(f"/users/{user_id(settings, 'trainee')}")).status == 403
    assert (await cashier.get("/users/no-such-id")).status == 403  # no probing without users.view
    assert (await manager.get(f"/users/{me}")).status == 200
    assert (await manager.get("/users/no-such-id")).status == 404


async def test_self_edit_name_email_pin_password(as_role, settings, server):
    cashier = as_role("cashier")
    me = user_id(settings, "cashier")
    resp = await cashier.put(f"/users/{me}", {"firstName": "Carla", "email": "carla@cafe.example", "pin": "777777"})
    assert resp.status == 200, resp.body
    assert resp.data["user"]["firstName"] == "Carla" and resp.data["user"]["email"] == "carla@cafe.example"
    assert (await cashier.post("/auth/login", {"pinCode": "777777"}, auth=False)).status == 200
    assert (await cashier.post("/auth/login", {"pinCode": "3456"}, auth=False)).status == 401
    # Staff fields are not for self-service.
    for body in ({"role": "manager"}, {"username": "boss"}, {"isActive": False}):
        assert (await cashier.put(f"/users/{me}", body)).status == 403, body
    # Password: currentPassword required and checked.
    resp = await cashier.put(f"/users/{me}", {"password": "brand-new-pw"})
    assert resp.status == 400 and "currentPassword" in resp.json["fieldErrors"]
    resp = await cashier.put(f"/users/{me}", {"password": "brand-new-pw", "currentPassword": "wrong-one"})
    assert resp.status == 400 and resp.json["fieldErrors"] == {"currentPassword": "is incorrect"}
    other = (await cashier.post("/auth/login", {"username": "cashier", "password": "password123"}, auth=False)).data
    resp = await cashier.put(f"/users/{me}", {"password": "brand-new-pw", "currentPassword": "password123"})
    assert resp.status == 200
    # The session that changed it lives on, the other login ends.
    assert (await cashier.get("/auth/me")).status == 200
    assert (await cashier.get("/auth/me", token=other["token"])).status == 401
    assert (await cashier.post("/auth/login", {"username": "cashier", "password": "brand-new-pw"},
                               auth=False)).status == 200
    actions = [c["new"] for c in changes(settings, entity_id=me, action="update")]
    assert actions[-1] == {"passwordChanged": True}
    assert "777777" not in str(changes(settings)) and "brand-new-pw" not in str(changes(settings))


async def test_pin_uniqueness_on_self_edit_and_clearing(as_role, settings):
    cashier = as_role("cashier")
    me = user_id(settings, "cashier")
    resp = await cashier.put(f"/users/{me}", {"pin": "4567"})  # the trainee's
    assert resp.status == 409
    resp = await cashier.put(f"/users/{me}", {"pin": None})
    assert resp.status == 200 and resp.data["user"]["hasPin"] is False
    assert user_row(settings, me)["pinLookup"] is None
    for body in ({"pin": "12"}, {"pin": 1234}, {"email": None}, {"firstName": ""}, {"nickname": "x"}):
        assert (await cashier.put(f"/users/{me}", body)).status == 400, body


async def test_manager_edits_staff_but_never_an_admin(as_role, settings):
    manager = as_role("manager")
    trainee, admin_id = user_id(settings, "trainee"), user_id(settings, "admin")
    resp = await manager.put(f"/users/{trainee}", {"lastName": "Tea", "pin": "8888"})
    assert resp.status == 200 and resp.data["user"]["lastName"] == "Tea"
    before = user_row(settings, admin_id)
    for call in (manager.put(f"/users/{admin_id}", {"firstName": "Hacked"}),
                 manager.patch(f"/users/{admin_id}/deactivate"),
                 manager.put(f"/users/{admin_id}/role", {"role": "cashier"}),
                 manager.put(f"/users/{admin_id}/permissions", {"revokes": ["system.logs"]})):
        resp = await call
        assert resp.status == 403 and resp.json["errorCode"] == "FORBIDDEN"
    assert user_row(settings, admin_id) == before
    # Managers cannot set other people's passwords (users.reset_password) nor promote to admin.
    assert (await manager.put(f"/users/{trainee}", {"password": "new-password"})).status == 403
    assert (await manager.put(f"/users/{trainee}/role", {"role": "admin"})).status == 403
    assert user_row(settings, trainee)["role"] == "trainee"


async def test_admin_sets_another_users_password_and_their_sessions_end(admin, server, settings):
    c = server.client()
    try:
        session = (await c.post("/auth/login", {"username": "trainee", "password": "password123"})).data
        trainee = session["user"]["id"]
        assert (await admin.put(f"/users/{trainee}", {"password": "set-by-admin"})).status == 200
        assert (await c.get("/auth/me", token=session["token"])).status == 401
        assert (await c.post("/auth/login", {"username": "trainee", "password": "set-by-admin"})).status == 200
    finally:
        c.close()


async def test_soft_delete_and_deactivate_revoke_sessions(admin, server, settings):
    target = make_user(settings, role="cashier")
    c = server.client()
    try:
        t = (await c.post("/auth/login", {"username": target["username"], "password": "password123"})).data
        resp = await admin.delete(f"/users/{target['id']}")
        assert resp.status == 200 and resp.data["user"]["isActive"] is False
        assert (await c.get("/auth/me", token=t["token"])).status == 401
        assert live_sessions(settings, target["id"]) == 0
        assert count(settings, User, User.id == target["id"]) == 1  # soft: the row stays
        assert changes(settings, entity_id=target["id"])[-1]["action"] == "delete"
        resp = await admin.patch(f"/users/{target['id']}/activate")
        assert resp.status == 200 and resp.data["user"]["isActive"] is True
        assert (await c.post("/auth/login", {"username": target["username"], "password": "password123"})).status \
            == 200
    finally:
        c.close()
    assert (await admin.delete("/users/no-such-user")).status == 404


async def test_last_active_admin_is_protected(admin, settings):
    me = user_id(settings, "admin")
    second = make_user(settings, role="admin")
    # With a second admin, the second can be removed...
    assert (await admin.patch(f"/users/{second['id']}/deactivate")).status == 200
    # ...but now the last one cannot be deleted, deactivated, demoted or stripped.
    before = user_row(settings, me)
    for call in (admin.delete(f"/users/{me}"), admin.patch(f"/users/{me}/deactivate"),
                 admin.put(f"/users/{me}/role", {"role": "manager"}), admin.put(f"/users/{me}", {"role": "cashier"}),
                 admin.put(f"/users/{me}/permissions", {"revokes": ["roles.manage"]})):
        resp = await call
        assert resp.status == 409 and resp.json["errorCode"] == "CONFLICT", resp.body
    assert user_row(settings, me) == before
    assert count(settings, UserPermissionOverride) == 0


async def test_role_change(as_role, settings):
    manager = as_role("manager")
    trainee = user_id(settings, "trainee")
    resp = await manager.put(f"/users/{trainee}/role", {"role": "cashier"})
    assert resp.status == 200 and resp.data["user"]["role"] == "cashier"
    assert "sales.view_history" in resp.data["user"]["permissions"]
    assert changes(settings, action="set_role")[0]["new"] == {"role": "cashier"}
    for body in ({}, {"role": "cashier", "roleId": "x"}, {"role": "nope"}, {"roleId": "nope"}):
        assert (await manager.put(f"/users/{trainee}/role", body)).status == 400, body
    assert (await manager.put("/users/missing/role", {"role": "cashier"})).status == 404


async def test_permission_overrides(as_role, settings):
    manager, admin = as_role("manager"), as_role("admin")
    trainee = user_id(settings, "trainee")
    resp = await manager.get(f"/users/{trainee}/permissions")
    assert resp.status == 200
    assert set(resp.data) == {"userId", "role", "roleId", "rolePermissions", "grants", "revokes", "permissions"}
    assert resp.data["grants"] == [] and resp.data["permissions"] == resp.data["rolePermissions"]

    resp = await manager.put(f"/users/{trainee}/permissions", {"grants": ["menu.edit"], "revokes": ["menu.view"]})
    assert resp.status == 200, resp.body
    assert resp.data["grants"] == ["menu.edit"] and resp.data["revokes"] == ["menu.view"]
    assert "menu.edit" in resp.data["permissions"] and "menu.view" not in resp.data["permissions"]
    # Effective at once on the user's next request.
    trainee_login = await admin.post("/auth/login", {"username": "trainee", "password": "password123"}, auth=False)
    assert "menu.edit" in trainee_login.data["user"]["permissions"]
    # A list sent replaces; a list not sent stays.
    resp = await manager.put(f"/users/{trainee}/permissions", {"grants": []})
    assert resp.data["grants"] == [] and resp.data["revokes"] == ["menu.view"]
    # Never grant what you do not hold.
    before = count(settings, UserPermissionOverride)
    resp = await manager.put(f"/users/{trainee}/permissions", {"grants": ["system.logs"]})
    assert resp.status == 403 and count(settings, UserPermissionOverride) == before
    for body in ({}, {"grants": ["no.such"]}, {"grants": ["menu.edit"], "revokes": ["menu.edit"]},
                 {"grants": "menu.edit"}):
        assert (await manager.put(f"/users/{trainee}/permissions", body)).status == 400, body
    assert count(settings, UserPermissionOverride) == before
    assert [c["action"] for c in changes(settings, entity_id=trainee)] == ["set_permissions"] * 2


async def test_custom_role_holder_cannot_escalate(server, settings):
    """A users.edit holder without users.create or roles.manage cannot hand those out."""
    role = make_role(settings, ["users.view", "users.edit", "users.create", "menu.view"])

    def give_role(session):
        session.get(User, staff["id"]).role_id = role["id"]

    staff = make_user(settings)
    run_unit(settings, give_role)
    c = server.client()
    try:
        c.token = (await c.post("/auth/login", {"username": staff["username"], "password": "password123"})).data[
            "token"]
        resp = await c.post("/users", {**NEW_USER, "role": "manager"})
        assert resp.status == 403
        resp = await c.post("/users", {**NEW_USER, "role": "trainee"})
        assert resp.status == 403  # trainee's role holds sales.process etc., which this user lacks
        resp = await c.post("/users", {**NEW_USER, "role": role["name"]})
        assert resp.status == 201
    finally:
        c.close()


async def test_users_roles_lists_every_role(as_role):
    resp = await as_role("manager").get("/users/roles")
    assert resp.status == 200
    assert [r["name"] for r in resp.data["roles"]] == ["admin", "barista", "cashier", "display", "manager", "trainee"]


async def test_sessions_table_untouched_by_refused_changes(as_role, settings):
    before = count(settings, AuthSession, AuthSession.revoked_at.is_not(None))
    cashier = as_role("cashier")
    assert (await cashier.delete(f"/users/{user_id(settings, 'trainee')}")).status == 403
    assert (await cashier.patch(f"/users/{user_id(settings, 'trainee')}/deactivate")).status == 403
    assert count(settings, AuthSession, AuthSession.revoked_at.is_not(None)) == before
