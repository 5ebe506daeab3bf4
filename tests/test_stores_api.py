"""GET/POST /stores, GET/PUT /stores/{id}: shapes, uniqueness, time zones, settings rows, audit."""

from __future__ import annotations

from sqlalchemy import func, select

from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_identity import AuditChange
from orm.models.model_settings import StoreSettings
from orm.models.model_store import Store
from tests.conftest import run_unit


def counts(settings) -> tuple[int, int, int]:
    def fetch(session):
        return (session.scalar(select(func.count()).select_from(Store)),
                session.scalar(select(func.count()).select_from(StoreSettings)),
                session.scalar(select(func.count()).select_from(AuditChange).where(AuditChange.entity == "store")))
    return run_unit(settings, fetch)


async def test_list_has_the_default_store_in_the_envelope(server, as_role):
    resp = await as_role("manager").get("/stores")
    assert resp.status == 200, resp.body
    data = resp.data
    assert set(data) == {"stores", "total", "page", "perPage", "pages"}
    assert data["total"] == 1 and data["page"] == 1 and data["perPage"] == 50 and data["pages"] == 1
    store = data["stores"][0]
    assert set(store) == {"id", "name", "address", "timezone", "isActive"}
    assert store["id"] == DEFAULT_STORE_ID and store["isActive"] is True


async def test_create_store_with_settings_and_audit(server, as_role, settings):
    admin = as_role("admin")
    await admin.put("/settings", {"defaultTaxRate": "0.19", "taxMode": "inclusive"})
    resp = await admin.post("/stores", {"name": "Mitte", "address": "Torstr. 5", "timezone": "Europe/Berlin"})
    assert resp.status == 201, resp.body
    store = resp.data["store"]
    assert resp.headers["Location"] == f"/stores/{store['id']}"
    assert store["name"] == "Mitte" and store["address"] == "Torstr. 5" and store["isActive"] is True
    got = await admin.get(f"/stores/{store['id']}")
    assert got.status == 200 and got.data["store"] == store
    st = (await admin.get(f"/settings?storeId={store['id']}")).data["settings"]
    assert st["storeName"] == "Mitte" and st["taxMode"] == "inclusive" and st["version"] == 1
    # Without a time zone the new store takes the default store's.
    resp = await admin.post("/stores", {"name": "Pankow"})
    assert resp.status == 201 and resp.data["store"]["timezone"] == settings.store_timezone
    listing = (await admin.get("/stores?perPage=2")).data
    assert listing["total"] == 3 and listing["pages"] == 2 and len(listing["stores"]) == 2
    assert listing["stores"][0]["id"] == DEFAULT_STORE_ID
    assert [s["name"] for s in (await admin.get("/stores?search=pank")).data["stores"]] == ["Pankow"]
    assert counts(settings) == (3, 3, 2)


async def test_invalid_or_duplicate_store_writes_nothing(server, as_role, settings):
    manager = as_role("manager")
    assert (await manager.post("/stores", {"name": "Mitte"})).status == 201
    before = counts(settings)
    for body, field in [({"name": "Wedding", "timezone": "Mars/Olympus"}, "timezone"),
                        ({"name": ""}, "name"), ({}, "name"), ({"name": "X", "colour": "red"}, "colour"),
                        ({"name": "Y", "isActive": "yes"}, "isActive")]:
        resp = await manager.post("/stores", body)
        assert resp.status == 400 and field in resp.json["fieldErrors"], (body, resp.body)
    resp = await manager.post("/stores", {"name": "mitte"})
    assert resp.status == 409 and resp.json["errorCode"] == "CONFLICT"
    assert counts(settings) == before


async def test_update_store_renames_moves_and_keeps_settings_in_step(server, as_role, settings):
    admin = as_role("admin")
    a = (await admin.post("/stores", {"name": "Mitte"})).data["store"]
    await admin.post("/stores", {"name": "Pankow"})
    resp = await admin.put(f"/stores/{a['id']}", {"name": "Mitte Nord", "timezone": "Europe/London",
                                                  "address": "1 High St"})
    assert resp.status == 200, resp.body
    assert resp.data["store"] == dict(a, name="Mitte Nord", timezone="Europe/London", address="1 High St")
    st = (await admin.get(f"/settings?storeId={a['id']}")).data["settings"]
    assert st["storeTimezone"] == "Europe/London" and st["storeAddress"] == "1 High St" and st["version"] == 2
    assert (await admin.put(f"/stores/{a['id']}", {"name": "Pankow"})).status == 409
    assert (await admin.put(f"/stores/{a['id']}", {"timezone": "Europe"})).status == 400
    assert (await admin.put("/stores/no-such-store", {"name": "Z"})).status == 404
    assert (await admin.get("/stores/no-such-store")).status == 404
    resp = await admin.put(f"/stores/{a['id']}", {"isActive": False})
    assert resp.status == 200 and resp.data["store"]["isActive"] is False
    assert [s["name"] for s in (await admin.get("/stores?active=false")).data["stores"]] == ["Mitte Nord"]
    resp = await admin.put(f"/stores/{DEFAULT_STORE_ID}", {"isActive": False})
    assert resp.status == 409
    audits = run_unit(settings, lambda s: [(r.action, r.old_values, r.new_values) for r in s.scalars(
        select(AuditChange).where(AuditChange.entity == "store", AuditChange.entity_id == a["id"])
        .order_by(AuditChange.at))])
    assert [a[0] for a in audits] == ["create", "update", "update"]
    assert audits[1][1] == {"name": "Mitte", "address": "", "timezone": settings.store_timezone}
    assert audits[2][2] == {"isActive": False}


async def test_store_permissions(server, as_role, client):
    for role in ("cashier", "trainee"):
        c = as_role(role)
        assert (await c.get("/stores")).status == 403
        assert (await c.post("/stores", {"name": "Nope"})).status == 403
        assert (await c.put(f"/stores/{DEFAULT_STORE_ID}", {"name": "Nope"})).status == 403
    assert (await client.get("/stores")).status == 401
    assert (await client.post("/stores", {"name": "Nope"})).status == 401
    names = [s["name"] for s in (await as_role("admin").get("/stores")).data["stores"]]
    assert "Nope" not in names
