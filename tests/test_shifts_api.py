"""Cash-drawer shifts: open, paid in/out, X report, close with variance, who may act."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orm.seed.identity import ensure_user
from tests.conftest import run_unit
from tests.orders_support import CARD, cash, line, row_counts

D = Decimal
SHIFT_KEYS = {"id", "userId", "status", "openedAt", "closedAt", "openingCash", "expectedCash", "countedCash",
              "variance", "totals"}
TOTAL_KEYS = {"sales", "refunds", "cash", "card", "tips", "orders"}


async def sell(client, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/orders", body)
    assert r.status == 201, r.body
    return r.data["order"]


async def test_a_day_at_the_till(as_role, cafe, demo_users) -> None:
    c, m = as_role("cashier"), as_role("manager")
    assert (await c.get("/shifts/current")).data == {"shift": None}
    opened = await c.post("/shifts/open", {"openingCash": "100.00"})
    assert opened.status == 201, opened.body
    shift = opened.data["shift"]
    assert SHIFT_KEYS <= set(shift) and TOTAL_KEYS == set(shift["totals"])
    assert opened.headers["Location"] == f"/shifts/{shift['id']}"
    assert (shift["status"], shift["openingCash"], shift["countedCash"], shift["variance"]) == \
        ("open", D("100.00"), None, None)
    assert (await c.post("/shifts/open", {"openingCash": "50"})).status == 409
    assert (await c.get("/shifts/current")).data["shift"]["id"] == shift["id"]

    a = await sell(c, {"items": [line(cafe.items["espresso"], 2)], **cash("10")})  # 6.05 cash
    b = await sell(c, {"items": [line(cafe.items["latte"])], "tipAmount": "1.00", **CARD})  # 5.86 card
    split = await sell(c, {"items": [line(cafe.items["juice"])],  # 4.22: 2.00 card + 2.22 cash
                           "payments": [{"method": "card", "amount": "2.00"}, {"method": "cash", "tendered": "5"}]})
    voided = await sell(c, {"items": [line(cafe.items["espresso"])], **cash("5")})
    assert {o["shiftId"] for o in (a, b, split, voided)} == {shift["id"]}
    assert (a["total"], b["total"], split["total"]) == (D("6.05"), D("5.86"), D("4.22"))
    assert (await m.post(f"/orders/{voided['id']}/void", {"reason": "test"})).status == 200
    # The manager refunds at the cashier's till: the cash leaves this drawer.
    refund = await m.post(f"/orders/{a['id']}/refund", {"amount": "1.00", "method": "cash", "reason": "cold"})
    assert refund.data["refund"]["shiftId"] == shift["id"]

    paid_in = await c.post(f"/shifts/{shift['id']}/cash", {"type": "paid_in", "amount": "20", "reason": "change"})
    assert paid_in.status == 200 and paid_in.data["movement"]["amount"] == D("20.00")
    assert (await c.post(f"/shifts/{shift['id']}/cash", {"type": "paid_out", "amount": "5.50",
                                                         "reason": "milk from the shop"})).status == 200

    x = await c.get(f"/shifts/{shift['id']}/report")
    assert x.status == 200
    report = x.data["shift"]
    expected_totals = {"sales": D("15.13"), "refunds": D("1.00"), "cash": D("8.27"), "card": D("7.86"),
                       "tips": D("1.00"), "orders": 3}
    assert report["totals"] == expected_totals
    assert report["expectedCash"] == D("121.77")  # 100 + 8.27 + 20 - 5.50 - 1.00
    assert [mv["type"] for mv in report["cashMovements"]] == ["paid_in", "paid_out"]
    assert report["status"] == "open"

    closed = await c.post(f"/shifts/{shift['id']}/close", {"countedCash": "120.00", "notes": "short"})
    assert closed.status == 200, closed.body
    z = closed.data["shift"]
    assert (z["status"], z["expectedCash"], z["countedCash"], z["variance"]) == \
        ("closed", D("121.77"), D("120.00"), D("-1.77"))
    assert z["totals"] == expected_totals and z["closedAt"] is not None
    assert (await c.post(f"/shifts/{shift['id']}/close", {"countedCash": "1"})).status == 409
    assert (await c.post(f"/shifts/{shift['id']}/cash", {"type": "paid_in", "amount": "1",
                                                         "reason": "late"})).status == 409
    assert (await c.get("/shifts/current")).data == {"shift": None}
    after = await sell(c, {"items": [line(cafe.items["espresso"])], **CARD})
    assert after["shiftId"] is None

    listed = await c.get("/shifts")
    assert listed.status == 200
    assert [s["id"] for s in listed.data["shifts"]] == [shift["id"]]
    assert listed.data["total"] == 1 and listed.data["shifts"][0]["variance"] == D("-1.77")
    assert (await c.get("/shifts?status=open")).data["shifts"] == []


async def test_only_the_owner_or_a_manager_acts_on_a_shift(server, as_role, cafe, settings) -> None:
    run_unit(settings, lambda s: ensure_user(s, settings, "cashier2", "Cleo", "Second", "cashier", None,
                                             "password123"))
    other = server.client()
    login = await other.post("/auth/login", {"username": "cashier2", "password": "password123"})
    other.token = login.data["token"]
    try:
        shift = (await as_role("cashier").post("/shifts/open", {"openingCash": "50"})).data["shift"]
        for method, path, body in (("GET", "report", None), ("POST", "cash", {"type": "paid_in", "amount": "1",
                                                                              "reason": "x"}),
                                   ("POST", "close", {"countedCash": "50"})):
            r = await other.request(method, f"/shifts/{shift['id']}/{path}", json=body)
            assert r.status == 403, (path, r.body)
        assert (await as_role("manager").get(f"/shifts/{shift['id']}/report")).status == 200
        closed = await as_role("manager").post(f"/shifts/{shift['id']}/close", {"countedCash": "50"})
        assert closed.status == 200 and closed.data["shift"]["variance"] == D("0.00")
        # Each user has their own drawer.
        assert (await other.post("/shifts/open", {"openingCash": "10"})).status == 201
    finally:
        other.close()


async def test_bad_shift_input_and_permissions(as_role, client, cafe, settings) -> None:
    c = as_role("cashier")
    before = row_counts(settings)
    for body in ({}, {"openingCash": "-1"}, {"openingCash": "abc"}, {"openingCash": "1.234"}, {"openingCash": True}):
        assert (await c.post("/shifts/open", body)).status == 400, body
    assert row_counts(settings) == before
    shift = (await c.post("/shifts/open", {"openingCash": "10"})).data["shift"]
    before = row_counts(settings)
    for body in ({"type": "loan", "amount": "1", "reason": "x"}, {"type": "paid_in", "amount": "0", "reason": "x"},
                 {"type": "paid_in", "amount": "1"}, {"type": "paid_out", "amount": "x", "reason": "x"}):
        assert (await c.post(f"/shifts/{shift['id']}/cash", body)).status == 400, body
    assert (await c.post(f"/shifts/{shift['id']}/close", {})).status == 400
    assert (await c.post("/shifts/nope/close", {"countedCash": "1"})).status == 404
    assert row_counts(settings) == before
    trainee = as_role("trainee")
    assert (await trainee.post("/shifts/open", {"openingCash": "10"})).status == 403
    assert (await trainee.get("/shifts")).status == 403
    assert (await trainee.get("/shifts/current")).status == 403
    assert (await client.get("/shifts/current")).status == 401
    assert (await c.get("/shifts?status=lost")).status == 400
