"""Users belong to a store: storeId on /users, the login's store, and each store's own sales, menu and stock."""

from __future__ import annotations

from decimal import Decimal as D

from sqlalchemy import func, select

from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_identity import AuditChange, User
from tests.conftest import DEMO_PASSWORD, run_unit

CARD = {"payments": [{"method": "card"}]}


def new_user(username: str, role: str, **extra) -> dict:
    return {"username": username, "password": DEMO_PASSWORD, "firstName": username.title(), "lastName": "Staff",
            "email": f"{username}@cafe.example", "role": role, **extra}


def user_counts(settings) -> tuple[int, int]:
    def read(session):
        return (session.scalar(select(func.count()).select_from(User)),
                session.scalar(select(func.count()).select_from(AuditChange).where(AuditChange.entity == "user")))
    return run_unit(settings, read)


async def signed_in(app_server, username: str):
    c = app_server.client()
    r = await c.post("/auth/login", {"username": username, "password": DEMO_PASSWORD})
    assert r.status == 200, r.body
    c.token = r.data["token"]
    return c, r.data["user"]


async def make_store(admin, name: str, **extra) -> str:
    r = await admin.post("/stores", {"name": name, **extra})
    assert r.status == 201, r.body
    return r.data["store"]["id"]


async def test_a_stores_staff_sell_its_own_menu_with_its_own_receipts_and_stock(app_server, staff, settings):
    admin = staff["admin"]
    latte = await admin.post("/menu_items", {"name": "Latte", "price": "4.50", "category": "Coffee"})
    assert latte.status == 201, latte.body
    mitte = await make_store(admin, "Mitte")
    for username, role in (("manager2", "manager"), ("cashier2", "cashier")):
        r = await admin.post("/users", new_user(username, role, storeId=mitte))
        assert r.status == 201, r.body
        assert r.data["user"]["storeId"] == mitte
    listed = (await admin.get(f"/users?storeId={mitte}")).data["users"]
    assert sorted(u["username"] for u in listed) == ["cashier2", "manager2"]
    assert "cashier2" not in [u["username"] for u in (await admin.get(f"/users?storeId={DEFAULT_STORE_ID}"))
                              .data["users"]]
    assert all(u["storeId"] == DEFAULT_STORE_ID for u in (await admin.get("/users?role=admin")).data["users"])

    manager, login_user = await signed_in(app_server, "manager2")
    assert login_user["storeId"] == mitte
    assert (await manager.get("/auth/me")).data["user"]["storeId"] == mitte
    # A new store's menu is empty until its manager creates items; its stock is its own.
    assert (await manager.get("/menu_items")).data["menu_items"] == []
    beans = await manager.post("/inventory", {"name": "Beans", "unit": "kg", "currentStock": "10"})
    assert beans.status == 201, beans.body
    espresso = await manager.post("/menu_items", {
        "name": "Espresso", "price": "2.40", "category": "Coffee",
        "recipe": [{"inventoryItemId": beans.data["item"]["id"], "quantity": "0.018"}]})
    assert espresso.status == 201, espresso.body
    assert [m["name"] for m in (await manager.get("/menu_items")).data["menu_items"]] == ["Espresso"]
    assert [m["name"] for m in (await admin.get("/menu_items")).data["menu_items"]] == ["Latte"]
    assert "Beans" not in [i["name"] for i in (await admin.get("/inventory")).data["inventory"]]

    cashier, _ = await signed_in(app_server, "cashier2")
    sale = {"items": [{"menuItemId": espresso.data["menuItem"]["id"], "quantity": 1}], **CARD}
    receipts, totals = [], []
    for _ in range(2):
        r = await cashier.post("/orders", sale)
        assert r.status == 201, r.body
        assert r.data["order"]["storeId"] == mitte
        receipts.append(r.data["order"]["receiptNumber"])
        totals.append(r.data["order"]["total"])
    assert receipts == [1, 2]  # the store's own gapless series
    # Another store's menu item is not on sale here.
    foreign = await cashier.post("/orders", {"items": [{"menuItemId": latte.data["menuItem"]["id"],
                                                        "quantity": 1}], **CARD})
    assert foreign.status in (400, 404, 409), foreign.body
    stock = (await manager.get("/inventory")).data["inventory"]
    assert [(i["name"], i["currentStock"]) for i in stock] == [("Beans", D("9.964"))]

    # The default store's series and figures are its own.
    r = await staff["cashier"].post("/orders", {"items": [{"menuItemId": latte.data["menuItem"]["id"],
                                                           "quantity": 1}], **CARD})
    assert r.status == 201, r.body
    assert r.data["order"]["storeId"] == DEFAULT_STORE_ID and r.data["order"]["receiptNumber"] == 1
    default = (await admin.get(f"/reports/dashboard?storeId={DEFAULT_STORE_ID}")).data["metrics"]
    theirs = (await admin.get(f"/reports/dashboard?storeId={mitte}")).data["metrics"]
    assert default["totalTransactions"] == 1 and default["totalRevenue"] == r.data["order"]["total"]
    assert theirs["totalTransactions"] == 2 and theirs["totalRevenue"] == sum(totals)
    mine = (await cashier.get("/orders")).data["orders"]
    assert len(mine) == 2 and {o["storeId"] for o in mine} == {mitte}


async def test_bad_or_inactive_store_is_400_and_writes_nothing(staff, settings):
    admin = staff["admin"]
    closed = await make_store(admin, "Closed", isActive=False)
    before = user_counts(settings)
    for store_id, message in (("no-such-store", "no such store"), (closed, "is not active"),
                              ("x" * 37, None)):
        r = await admin.post("/users", new_user("nobody", "cashier", storeId=store_id))
        assert r.status == 400, r.body
        assert "storeId" in r.json["fieldErrors"]
        if message:
            assert r.json["fieldErrors"]["storeId"] == message
    cashier_id = (await admin.get("/users?role=cashier")).data["users"][0]["id"]
    for store_id in ("no-such-store", closed):
        r = await admin.put(f"/users/{cashier_id}", {"storeId": store_id})
        assert r.status == 400 and "storeId" in r.json["fieldErrors"], r.body
    assert user_counts(settings) == before


async def test_a_manager_places_users_only_in_their_own_store(app_server, staff, settings):
    admin, manager = staff["admin"], staff["manager"]
    mitte = await make_store(admin, "Mitte")
    cashier_id = (await admin.get("/users?role=cashier")).data["users"][0]["id"]
    before = user_counts(settings)
    r = await manager.put(f"/users/{cashier_id}", {"storeId": mitte})
    assert r.status == 403, r.body
    assert user_counts(settings) == before
    # Their own store is fine (a no-op here), and so is anything for an admin.
    r = await manager.put(f"/users/{cashier_id}", {"storeId": DEFAULT_STORE_ID})
    assert r.status == 200 and r.data["user"]["storeId"] == DEFAULT_STORE_ID
    # A cashier cannot move themselves.
    assert (await staff["cashier"].put(f"/users/{cashier_id}", {"storeId": mitte})).status == 403
    # Moved by the admin, the manager of Mitte may bring staff into Mitte, not back out.
    manager_id = (await admin.get("/users?role=manager")).data["users"][0]["id"]
    assert (await admin.put(f"/users/{manager_id}", {"storeId": mitte})).status == 200
    mitte_manager, _ = await signed_in(app_server, "manager")
    r = await mitte_manager.put(f"/users/{cashier_id}", {"storeId": mitte})
    assert r.status == 200 and r.data["user"]["storeId"] == mitte
    assert (await mitte_manager.put(f"/users/{cashier_id}", {"storeId": DEFAULT_STORE_ID})).status == 403
    audit = (await admin.get("/users?storeId=" + mitte)).data["users"]
    assert sorted(u["username"] for u in audit) == ["cashier", "manager"]


async def test_changing_a_users_store_takes_effect_on_their_next_request(app_server, staff):
    admin = staff["admin"]
    mitte = await make_store(admin, "Mitte")
    cashier = staff["cashier"]
    assert (await cashier.get("/auth/me")).data["user"]["storeId"] == DEFAULT_STORE_ID
    # Warm the login cache with the default store (settings follow the principal's store).
    for _ in range(2):
        assert (await cashier.get("/settings")).data["settings"]["storeName"] != "Mitte"
    cashier_id = (await admin.get("/users?role=cashier")).data["users"][0]["id"]
    r = await admin.put(f"/users/{cashier_id}", {"storeId": mitte})
    assert r.status == 200 and r.data["user"]["storeId"] == mitte
    # The same token, no new login: the next request is already in Mitte.
    assert (await cashier.get("/settings")).data["settings"]["storeName"] == "Mitte"
    assert (await cashier.get("/auth/me")).data["user"]["storeId"] == mitte
    r = await admin.put(f"/users/{cashier_id}", {"storeId": None})  # null: back to the default store
    assert r.status == 200 and r.data["user"]["storeId"] == DEFAULT_STORE_ID
    assert (await cashier.get("/settings")).data["settings"]["storeName"] != "Mitte"
