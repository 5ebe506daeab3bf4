"""GET/PUT /settings: shape, validation with nothing written, permissions, audit, stores, other processes."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import select

from main import make_app
from orm.domain.errors import NotFound
from orm.domain.stores import DEFAULT_STORE_ID
from orm.models.model_identity import AuditChange
from tests.conftest import ROLES, run_unit
from tests.support import RunningServer, suite_now

SETTINGS_KEYS = {
    "storeName", "storeAddress", "vatNumber", "currency", "storeTimezone", "taxMode", "defaultTaxRate",
    "receiptHeader", "receiptFooter", "cashRounding", "dailyEmailTime", "dailyEmailRecipients",
    "lowStockDefaultMin", "alertSweepMinutes", "expiryWarningDays", "lockoutAttempts", "lockoutMinutes",
    "requireOpenShift", "allowNegativeStock", "receiptWidth", "stations", "tabMaxHours", "version", "updatedAt",
    "updatedBy",
}


def setting_audits(settings) -> list[dict]:
    def fetch(session):
        rows = session.scalars(select(AuditChange).where(AuditChange.entity == "setting")
                               .order_by(AuditChange.at)).all()
        return [{"actor": r.actor_name, "entityId": r.entity_id, "action": r.action,
                 "old": r.old_values, "new": r.new_values} for r in rows]
    return run_unit(settings, fetch)


async def test_every_role_reads_settings_with_environment_defaults(server, as_role, client, settings):
    for role in ROLES:
        resp = await as_role(role).get("/settings")
        assert resp.status == 200, (role, resp.body)
        data = resp.data["settings"]
        assert set(data) == SETTINGS_KEYS
        assert data["defaultTaxRate"] == Decimal("0.08") and isinstance(data["defaultTaxRate"], Decimal)
        assert data["taxMode"] == "exclusive" and data["cashRounding"] == "none"
        assert data["storeTimezone"] == settings.store_timezone and data["currency"] == settings.currency
        assert data["version"] == 1 and data["dailyEmailRecipients"] == []
        assert data["receiptWidth"] == 42
    resp = await client.get("/settings")
    assert resp.status == 401 and resp.json["errorCode"] == "UNAUTHORIZED"


async def test_put_round_trip_bumps_version_and_records_who(server, as_role, settings):
    manager = as_role("manager")
    me = (await manager.get("/auth/me")).data["user"]
    body = {"taxMode": "inclusive", "defaultTaxRate": "0.07", "cashRounding": 0.05, "dailyEmailTime": "20:30",
            "dailyEmailRecipients": ["owner@cafe.example.org", " books@cafe.example.org "],
            "requireOpenShift": True, "storeTimezone": "Europe/Vienna", "lowStockDefaultMin": "2.5",
            "receiptFooter": "Danke!", "alertSweepMinutes": 5, "currency": "chf"}
    resp = await manager.put("/settings", body)
    assert resp.status == 200, resp.body
    data = resp.data["settings"]
    assert data["taxMode"] == "inclusive" and data["defaultTaxRate"] == Decimal("0.07")
    assert data["cashRounding"] == "0.05" and data["dailyEmailTime"] == "20:30"
    assert data["dailyEmailRecipients"] == ["owner@cafe.example.org", "books@cafe.example.org"]
    assert data["requireOpenShift"] is True and data["storeTimezone"] == "Europe/Vienna"
    assert data["lowStockDefaultMin"] == Decimal("2.5") and data["currency"] == "CHF"
    assert data["version"] == 2 and data["updatedBy"] == me["id"] and data["updatedAt"].endswith("Z")
    again = (await as_role("trainee").get("/settings")).data["settings"]
    assert again == data
    # A JSON number works as well as a string, and the store itself follows the time zone.
    resp = await manager.put("/settings", {"defaultTaxRate": Decimal("0.19")})
    assert resp.status == 200 and resp.data["settings"]["defaultTaxRate"] == Decimal("0.19")
    assert resp.data["settings"]["version"] == 3
    store = (await manager.get(f"/stores/{DEFAULT_STORE_ID}")).data["store"]
    assert store["timezone"] == "Europe/Vienna"


async def test_put_permissions(server, as_role, client, settings):
    for role in ("cashier", "trainee"):
        resp = await as_role(role).put("/settings", {"taxMode": "inclusive"})
        assert resp.status == 403 and resp.json["errorCode"] == "FORBIDDEN", role
    resp = await client.put("/settings", {"taxMode": "inclusive"})
    assert resp.status == 401
    assert (await as_role("admin").get("/settings")).data["settings"]["version"] == 1
    assert setting_audits(settings) == []
    resp = await as_role("admin").put("/settings", {"taxMode": "inclusive"})
    assert resp.status == 200 and resp.data["settings"]["version"] == 2


BAD_BODIES = [
    ({"storeTimezone": "Mars/Olympus"}, "storeTimezone"),
    ({"storeTimezone": "Europe"}, "storeTimezone"),
    ({"storeTimezone": ""}, "storeTimezone"),
    ({"taxMode": "both"}, "taxMode"),
    ({"defaultTaxRate": "-0.01"}, "defaultTaxRate"),
    ({"defaultTaxRate": Decimal("1.5")}, "defaultTaxRate"),
    ({"defaultTaxRate": "abc"}, "defaultTaxRate"),
    ({"defaultTaxRate": "0.0812345"}, "defaultTaxRate"),
    ({"defaultTaxRate": True}, "defaultTaxRate"),
    ({"cashRounding": "0.10"}, "cashRounding"),
    ({"cashRounding": Decimal("0.1")}, "cashRounding"),
    ({"cashRounding": None}, "cashRounding"),
    ({"dailyEmailTime": "25:00"}, "dailyEmailTime"),
    ({"dailyEmailTime": "9:00"}, "dailyEmailTime"),
    ({"dailyEmailTime": "21:60"}, "dailyEmailTime"),
    ({"dailyEmailRecipients": ["not-an-email"]}, "dailyEmailRecipients"),
    ({"dailyEmailRecipients": ["ok@cafe.example.org", "anna@"]}, "dailyEmailRecipients"),
    ({"dailyEmailRecipients": ["two words@cafe.example.org"]}, "dailyEmailRecipients"),
    ({"dailyEmailRecipients": "owner@cafe.example.org"}, "dailyEmailRecipients"),
    ({"alertSweepMinutes": 0}, "alertSweepMinutes"),
    ({"alertSweepMinutes": -5}, "alertSweepMinutes"),
    ({"alertSweepMinutes": True}, "alertSweepMinutes"),
    ({"alertSweepMinutes": Decimal("1.5")}, "alertSweepMinutes"),
    ({"lockoutAttempts": 0}, "lockoutAttempts"),
    ({"lockoutMinutes": 0}, "lockoutMinutes"),
    ({"expiryWarningDays": -1}, "expiryWarningDays"),
    ({"lowStockDefaultMin": "-1"}, "lowStockDefaultMin"),
    ({"lowStockDefaultMin": "0.0001"}, "lowStockDefaultMin"),
    ({"storeName": "   "}, "storeName"),
    ({"storeName": None}, "storeName"),
    ({"currency": "EURO"}, "currency"),
    ({"requireOpenShift": "yes"}, "requireOpenShift"),
    ({"receiptWidth": 40}, "receiptWidth"),
    ({"receiptWidth": 0}, "receiptWidth"),
    ({"receiptWidth": "wide"}, "receiptWidth"),
    ({"receiptWidth": True}, "receiptWidth"),
    ({"receiptWidth": Decimal("42.5")}, "receiptWidth"),
    ({"receiptWidth": None}, "receiptWidth"),
    ({"stations": []}, "stations"),
    ({"stations": ["bar", "bar"]}, "stations"),
    ({"stations": ["Bar"]}, "stations"),
    ({"stations": ["cold bar"]}, "stations"),
    ({"stations": ["x" * 33]}, "stations"),
    ({"stations": [f"s{i}" for i in range(21)]}, "stations"),
    ({"stations": "bar"}, "stations"),
    ({"stations": None}, "stations"),
    ({"tabMaxHours": 0}, "tabMaxHours"),
    ({"tabMaxHours": 169}, "tabMaxHours"),
    ({"tabMaxHours": True}, "tabMaxHours"),
    ({"favouriteColour": "green"}, "favouriteColour"),
    # A valid change beside an invalid one is not applied either.
    ({"taxMode": "inclusive", "storeTimezone": "Nowhere/City"}, "storeTimezone"),
]


async def test_receipt_width_takes_the_paper_sizes(server, as_role):
    manager = as_role("manager")
    for width in (32, 48, 42):
        resp = await manager.put("/settings", {"receiptWidth": width})
        assert resp.status == 200, resp.body
        assert resp.data["settings"]["receiptWidth"] == width
        assert (await manager.get("/settings")).data["settings"]["receiptWidth"] == width


async def test_invalid_values_are_refused_and_nothing_is_written(server, as_role, settings):
    manager = as_role("manager")
    before = (await manager.get("/settings")).data["settings"]
    for body, field in BAD_BODIES:
        resp = await manager.put("/settings", body)
        assert resp.status == 400, (body, resp.body)
        assert resp.json["errorCode"] == "VALIDATION_ERROR", body
        assert field in resp.json["fieldErrors"], (body, resp.json)
    resp = await manager.put("/settings", body=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400 and resp.json["errorCode"] == "INVALID_JSON"
    resp = await manager.put("/settings", body=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert (await manager.get("/settings")).data["settings"] == before
    assert setting_audits(settings) == []


async def test_one_audit_row_per_change_with_changed_keys_only(server, as_role, settings):
    manager = as_role("manager")
    await manager.put("/settings", {"taxMode": "inclusive", "defaultTaxRate": "0.07", "storeName": "CafePOS"})
    await manager.put("/settings", {"requireOpenShift": True})
    # Values equal to the current ones (0.070 == 0.07) change nothing: no version, no audit row.
    resp = await manager.put("/settings", {"defaultTaxRate": "0.070", "taxMode": "inclusive"})
    assert resp.status == 200 and resp.data["settings"]["version"] == 3
    resp = await manager.put("/settings", {})
    assert resp.status == 200 and resp.data["settings"]["version"] == 3
    audits = setting_audits(settings)
    assert len(audits) == 2
    first, second = audits
    assert first["actor"] == "manager" and first["entityId"] == DEFAULT_STORE_ID and first["action"] == "update"
    # storeName was sent unchanged, so it is not part of the change.
    assert first["old"] == {"taxMode": "exclusive", "defaultTaxRate": "0.08"}
    assert first["new"] == {"taxMode": "inclusive", "defaultTaxRate": "0.07"}
    assert second["old"] == {"requireOpenShift": False} and second["new"] == {"requireOpenShift": True}


async def test_stale_version_is_a_conflict(server, as_role, settings):
    manager = as_role("manager")
    current = (await manager.get("/settings")).data["settings"]
    assert (await manager.put("/settings", {"receiptHeader": "Hello"})).status == 200
    # The client sends back what it read earlier: version 1 is no longer current.
    stale = dict(current, receiptHeader="Overwritten")
    resp = await manager.put("/settings", stale)
    assert resp.status == 409 and resp.json["errorCode"] == "CONFLICT"
    now = (await manager.get("/settings")).data["settings"]
    assert now["receiptHeader"] == "Hello" and now["version"] == 2
    fresh = dict(now, receiptHeader="Welcome")
    resp = await manager.put("/settings", fresh)
    assert resp.status == 200 and resp.data["settings"]["receiptHeader"] == "Welcome"


async def test_store_id_selects_a_store(server, as_role, settings):
    admin = as_role("admin")
    await admin.put("/settings", {"defaultTaxRate": "0.19", "receiptFooter": "Bis bald"})
    store = (await admin.post("/stores", {"name": "Kreuzberg", "address": "Oranienstr. 1",
                                          "timezone": "Europe/Berlin"})).data["store"]
    resp = await as_role("cashier").get(f"/settings?storeId={store['id']}")
    assert resp.status == 200
    theirs = resp.data["settings"]
    # Copied from the default store, with the new store's own name and address.
    assert theirs["storeName"] == "Kreuzberg" and theirs["storeAddress"] == "Oranienstr. 1"
    assert theirs["defaultTaxRate"] == Decimal("0.19") and theirs["receiptFooter"] == "Bis bald"
    assert theirs["version"] == 1
    resp = await admin.put(f"/settings?storeId={store['id']}", {"cashRounding": "0.05"})
    assert resp.status == 200 and resp.data["settings"]["cashRounding"] == "0.05"
    default = (await admin.get("/settings")).data["settings"]
    assert default["cashRounding"] == "none"
    for method in ("get", "put"):
        call = getattr(admin, method)
        resp = await (call("/settings?storeId=no-such-store") if method == "get"
                      else call("/settings?storeId=no-such-store", {"taxMode": "inclusive"}))
        assert resp.status == 404 and resp.json["errorCode"] == "NOT_FOUND", method


async def test_a_second_process_sees_a_change_within_a_second(server, as_role, tokens, settings):
    """Two applications on one database, as with WORKERS=2 or two hosts behind a load balancer."""
    other = RunningServer(make_app(settings, clock=suite_now))
    try:
        on_other = other.client()
        on_other.token = tokens["cashier"]
        first = await on_other.get("/settings")
        assert first.status == 200 and first.data["settings"]["taxMode"] == "exclusive"
        resp = await as_role("manager").put("/settings", {"taxMode": "inclusive", "cashRounding": "0.05"})
        assert resp.status == 200
        seen = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.0
        while loop.time() < deadline:
            seen = (await on_other.get("/settings")).data["settings"]
            if seen["version"] == 2:
                break
            await asyncio.sleep(0.05)
        assert seen is not None and seen["version"] == 2
        assert seen["taxMode"] == "inclusive" and seen["cashRounding"] == "0.05"
        # The cached accessor other code uses says the same.
        cached = await other.ctx.store_settings.get()
        assert cached["version"] == 2
        on_other.close()
    finally:
        await other.stop()


async def test_cache_refuses_unknown_store(server):
    with pytest.raises(NotFound):
        await server.ctx.store_settings.get("no-such-store")


async def test_concurrent_changes_both_count(server, as_role, settings):
    """Two managers saving at once: both changes land, each one version and one audit row."""
    a, b = as_role("manager"), as_role("admin")
    first, second = await asyncio.gather(a.put("/settings", {"receiptHeader": "From A"}),
                                         b.put("/settings", {"vatNumber": "DE123456789"}))
    assert first.status == 200 and second.status == 200
    assert {first.data["settings"]["version"], second.data["settings"]["version"]} == {2, 3}
    final = (await a.get("/settings")).data["settings"]
    assert final["receiptHeader"] == "From A" and final["vatNumber"] == "DE123456789" and final["version"] == 3
    assert len(setting_audits(settings)) == 2
