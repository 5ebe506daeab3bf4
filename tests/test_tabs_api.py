"""Tabs over HTTP: open, add (priced now), send (stock once), remove, list, pay (all, items, split n ways),
void (restock), the interim bill, idempotent pay, concurrent pay, and that reports only count payments."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from orm.controllers.inventory import alerts as inventory_alerts
from orm.domain import jsonenc
from orm.models.model_inventory import StockAlert, StockMovement
from tests.conftest import run_unit
from tests.orders_support import CARD, line, pastries_left, row_counts, stock_levels

D = Decimal
TAB_KEYS = {"id", "orderNumber", "receiptNumber", "tabId", "name", "status", "items", "subtotal", "taxAmount",
            "total", "paidAmount", "remaining", "split", "payments", "createdAt", "closedAt", "ageMinutes",
            "customerName", "orderType", "taxBreakdown"}


async def open_tab(c, name: str = "Table 4", **extra: Any) -> dict[str, Any]:
    r = await c.post("/tabs", {"name": name, **extra})
    assert r.status == 201, r.body
    assert r.headers["Location"] == f"/tabs/{r.data['tab']['id']}"
    return r.data["tab"]


async def add(c, tab_id: str, *items: dict[str, Any], send: bool = True) -> dict[str, Any]:
    r = await c.post(f"/tabs/{tab_id}/items", {"items": list(items), "send": send})
    assert r.status == 200, r.body
    return r.data["tab"]


async def pay(c, tab_id: str, body: dict[str, Any], **kw: Any) -> Any:
    return await c.post(f"/tabs/{tab_id}/pay", {**CARD, **body}, **kw)


def movements(settings) -> int:
    return run_unit(settings, lambda s: s.scalar(select(func.count()).select_from(StockMovement)))


async def test_open_add_send_list_and_shape(as_role, cafe, settings) -> None:
    c = as_role("cashier")
    tab = await open_tab(c, "Table 4", customerName="Anna")
    assert TAB_KEYS <= set(tab)
    assert (tab["status"], tab["receiptNumber"], tab["name"], tab["total"]) == ("open", None, "Table 4", D("0.00"))
    assert tab["orderNumber"].startswith("T-")
    second = await open_tab(c, "Bar stool")
    assert second["orderNumber"] != tab["orderNumber"]
    before = stock_levels(settings)
    tab = await add(c, tab["id"], line(cafe.items["latte"], 2, modifierIds=[cafe.mods["Oat milk"]], notes="hot"),
                    line(cafe.items["juice"]), send=False)
    assert [it["unitPrice"] for it in tab["items"]] == [D("5.00"), D("3.90")]
    assert [it["sent"] for it in tab["items"]] == [False, False]
    assert tab["items"][0]["modifiers"][0]["name"] == "Oat milk"
    assert stock_levels(settings) == before  # nothing taken before sending
    # 10.00 at 8 % + 3.90 at 8.1 %: 0.80 + 0.32 tax
    assert (tab["subtotal"], tab["taxAmount"], tab["total"], tab["remaining"]) == (
        D("13.90"), D("1.12"), D("15.02"), D("15.02"))
    sent = await c.post(f"/tabs/{tab['id']}/send")
    assert sent.status == 200, sent.body
    assert all(it["sent"] for it in sent.data["tab"]["items"])
    after = stock_levels(settings)
    assert after["Milk"] == before["Milk"] - D("0.4")
    assert after["Oat milk"] == before["Oat milk"] - D("0.4")
    assert after["Beans"] == before["Beans"] - D("0.036")
    again = await c.post(f"/tabs/{tab['id']}/send")
    assert again.status == 200 and stock_levels(settings) == after  # exactly once
    listed = await c.get("/tabs")
    assert listed.status == 200
    assert [t["name"] for t in listed.data["tabs"]] == ["Table 4", "Bar stool"]
    assert listed.data["tabs"][0]["total"] == D("15.02")
    assert {"total", "page", "perPage", "pages"} <= set(listed.data)
    one = await c.get(f"/tabs/{tab['id']}")
    assert one.status == 200 and one.data["tab"]["id"] == tab["id"]
    # A tab is not a sale: not in the order history.
    history = await as_role("manager").get("/orders")
    assert all(o["id"] != tab["id"] for o in history.data["orders"])


async def test_bad_inputs_write_nothing(as_role, cafe, settings) -> None:
    c = as_role("cashier")
    tab = await open_tab(c)
    before = row_counts(settings)
    for body in ({}, {"name": ""}, {"name": "x" * 121}, {"name": "A", "orderType": "drive_in"}):
        r = await c.post("/tabs", body)
        assert r.status == 400, (body, r.body)
    for body in ({"items": []}, {"items": [line("nope")]}, {"items": [line(cafe.items["old"])]},
                 {"items": [line(cafe.items["latte"], 0)]}):
        r = await c.post(f"/tabs/{tab['id']}/items", body)
        assert r.status == 400, (body, r.body)
    r = await c.post(f"/tabs/{tab['id']}/items", {"items": [line(cafe.items["latte"], priceOverride="1.00")]})
    assert r.status == 403
    assert (await c.post("/tabs/nope/items", {"items": [line(cafe.items["latte"])]})).status == 404
    assert (await pay(c, tab["id"], {})).status == 409  # nothing to pay
    assert (await pay(c, tab["id"], {"split": {"ways": 1}})).status == 400
    assert (await pay(c, tab["id"], {"split": {"ways": 21}})).status == 400
    r = await pay(c, tab["id"], {"split": {"ways": 2}, "items": [{"orderItemId": "x", "quantity": 1}]})
    assert r.status == 400
    assert (await c.get("/tabs?status=nope")).status == 400
    await add(c, tab["id"], line(cafe.items["latte"]), send=False)
    before = row_counts(settings)
    trainee = as_role("trainee")
    r = await pay(trainee, tab["id"], {"discount": {"type": "percent", "value": 10, "reason": "friend"}})
    assert r.status == 403  # discounts need sales.apply_discount, as for orders
    r = await pay(c, tab["id"], {"split": {"ways": 2}, "discount": {"type": "percent", "value": 10}})
    assert r.status == 400  # no discount on a share
    r = await pay(c, tab["id"], {"items": [{"orderItemId": "nope", "quantity": 1}]})
    assert r.status == 400
    r = await pay(c, tab["id"], {"payments": [{"method": "cash", "tendered": "1.00"}]})
    assert r.status == 400  # underpaid
    assert (await c.get(f"/tabs/{tab['id']}/bill?format=pdf")).status == 400
    assert row_counts(settings) == before


async def test_remove_lines_and_void_restock(as_role, cafe, settings) -> None:
    c, m = as_role("cashier"), as_role("manager")
    start = stock_levels(settings)
    pastries = pastries_left(settings, cafe.items["croissant"])
    tab = await open_tab(c)
    tab = await add(c, tab["id"], line(cafe.items["latte"]), line(cafe.items["croissant"], 2))
    tab = await add(c, tab["id"], line(cafe.items["espresso"]), send=False)
    assert pastries_left(settings, cafe.items["croissant"]) == pastries - 2
    latte, croissant, espresso = (it["id"] for it in tab["items"])
    r = await c.delete(f"/tabs/{tab['id']}/items/{espresso}")  # unsent: goes
    assert r.status == 200 and [it["id"] for it in r.data["tab"]["items"]] == [latte, croissant]
    r = await c.delete(f"/tabs/{tab['id']}/items/{latte}")  # sent: needs sales.void
    assert r.status == 403
    r = await m.delete(f"/tabs/{tab['id']}/items/{latte}")
    assert r.status == 200 and [it["id"] for it in r.data["tab"]["items"]] == [croissant]
    changes = await as_role("admin").get("/audit/changes")
    assert any(ch.get("entity") == "tab" for ch in changes.data.get("changes", []))
    assert stock_levels(settings)["Milk"] == start["Milk"]
    assert (await c.post(f"/tabs/{tab['id']}/void", {"reason": "left"})).status == 403
    r = await m.post(f"/tabs/{tab['id']}/void", {"reason": "walked out"})
    assert r.status == 200 and r.data["tab"]["status"] == "voided"
    assert stock_levels(settings) == start
    assert pastries_left(settings, cafe.items["croissant"]) == pastries
    assert (await m.post(f"/tabs/{tab['id']}/void", {"reason": "again"})).status == 409
    assert (await c.post(f"/tabs/{tab['id']}/items", {"items": [line(cafe.items["latte"])]})).status == 409
    voided = await c.get("/tabs?status=voided")
    assert [t["id"] for t in voided.data["tabs"]] == [tab["id"]]


async def test_pay_by_items_then_the_rest_closes_the_tab(as_role, cafe, settings) -> None:
    c = as_role("cashier")
    tab = await open_tab(c)
    tab = await add(c, tab["id"], line(cafe.items["latte"], 3), line(cafe.items["juice"], 2), send=False)
    before = stock_levels(settings)
    latte = tab["items"][0]["id"]
    r = await pay(c, tab["id"], {"items": [{"orderItemId": latte, "quantity": 2}]})
    assert r.status == 201, r.body
    order, tab = r.data["order"], r.data["tab"]
    assert (order["status"], order["tabId"], order["total"]) == ("completed", tab["id"], D("9.72"))
    assert isinstance(order["receiptNumber"], int)
    assert [it["quantity"] for it in tab["items"]] == [3, 2] and tab["items"][0]["paidQuantity"] == 2
    assert tab["status"] == "open" and tab["paidAmount"] == D("9.72")
    # Paying unsent lines sends them: their stock is taken now, once, for the whole line.
    assert stock_levels(settings)["Beans"] == before["Beans"] - D("0.054")
    assert (await pay(c, tab["id"], {"items": [{"orderItemId": latte, "quantity": 2}]})).status == 409
    r = await pay(c, tab["id"], {"payments": [{"method": "cash", "tendered": "20.00"}]})
    assert r.status == 201, r.body
    rest = r.data["order"]
    assert [(it["productName"], it["quantity"]) for it in rest["items"]] == [("Latte", 1), ("Orange juice", 2)]
    assert r.data["tab"]["status"] == "closed" and r.data["tab"]["remaining"] == D("0.00")
    assert r.data["tab"]["closedAt"] is not None
    assert stock_levels(settings)["Beans"] == before["Beans"] - D("0.054")
    assert len(r.data["tab"]["payments"]) == 2
    assert (await pay(c, tab["id"], {})).status == 409
    verify = await as_role("admin").get("/journal/verify")
    assert verify.data["valid"] is True, verify.body


async def test_pay_idempotent(as_role, cafe) -> None:
    c = as_role("cashier")
    tab = await open_tab(c)
    tab = await add(c, tab["id"], line(cafe.items["latte"], 2))
    key = {"Idempotency-Key": "tab-pay-1"}
    first = await pay(c, tab["id"], {}, headers=key)
    again = await pay(c, tab["id"], {}, headers=key)
    assert (first.status, again.status) == (201, 201)
    assert first.data["order"]["id"] == again.data["order"]["id"]
    other = await pay(c, tab["id"], {"tipAmount": "1.00"}, headers=key)
    assert other.status == 409


async def test_split_three_ways_adds_up_and_reports_count_only_payments(as_role, cafe) -> None:
    c, m = as_role("cashier"), as_role("manager")
    daily0 = (await m.get("/reports/daily-sales")).data["totals"]
    tab = await open_tab(c)
    tab = await add(c, tab["id"], line(cafe.items["latte"], 1), line(cafe.items["juice"], 1),
                    line(cafe.items["chai"], 1, modifierIds=[cafe.mods["Sweet"]]))
    assert (await m.get("/reports/daily-sales")).data["totals"] == daily0  # an open tab changes nothing
    total = tab["total"]
    paid = []
    for k in range(3):
        r = await pay(c, tab["id"], {"split": {"ways": 3}})
        assert r.status == 201, r.body
        paid.append(r.data["order"]["total"])
        assert r.data["tab"]["split"]["paid"] == k + 1 if k < 2 else True
        if k == 0:
            assert (await pay(c, tab["id"], {"split": {"ways": 4}})).status == 409
            assert (await pay(c, tab["id"], {})).status == 409
            assert (await c.post(f"/tabs/{tab['id']}/items", {"items": [line(cafe.items["latte"])]})).status == 409
    assert sum(paid) == total
    assert paid[0] == paid[1] and paid[2] >= paid[0]
    assert r.data["tab"]["status"] == "closed"
    daily = (await m.get("/reports/daily-sales")).data
    assert daily["totals"]["revenue"] - daily0["revenue"] == total
    assert daily["totals"]["transactions"] - daily0["transactions"] == 3
    assert sum(p["revenue"] for p in daily["products"]) == daily["totals"]["revenue"]
    assert sum(t["tax"] for t in daily["taxBreakdown"]) == daily["totals"]["tax"]
    assert {p["name"]: p["quantitySold"] for p in daily["products"]}["Latte"] == 1
    assert (await as_role("admin").get("/journal/verify")).data["valid"] is True


async def test_split_awkward_totals_every_n(as_role, cafe) -> None:
    """n = 2..20 over awkward totals: the shares add up to the tab exactly."""
    c = as_role("manager")
    for n, (item, qty) in zip(range(2, 21), [("espresso", 3), ("juice", 1), ("latte", 7)] * 7, strict=False):
        tab = await open_tab(c, f"Split {n}")
        tab = await add(c, tab["id"], line(cafe.items[item], qty))
        shares = []
        for _ in range(n):
            r = await pay(c, tab["id"], {"split": {"ways": n}})
            assert r.status == 201, (n, r.body)
            shares.append(r.data["order"]["total"])
        assert sum(shares) == tab["total"], (n, shares)
        assert len(set(shares[:-1])) <= 1
        assert r.data["tab"]["status"] == "closed"
    assert (await as_role("admin").get("/journal/verify")).data["valid"] is True


async def test_one_cent_over_twenty(as_role, cafe) -> None:
    c = as_role("manager")
    tab = await open_tab(c, "Penny")
    tab = await add(c, tab["id"], line(cafe.items["latte"], priceOverride="0.01"), send=False)
    # 0.01 at 8 % exclusive: tax rounds to 0.00, the tab is 0.01
    assert tab["total"] == D("0.01")
    shares = []
    for _ in range(20):
        r = await pay(c, tab["id"], {"split": {"ways": 20}})
        assert r.status == 201, r.body
        shares.append(r.data["order"]["total"])
    assert shares == [D("0.00")] * 19 + [D("0.01")]


async def test_concurrent_pay_one_wins(as_role, cafe) -> None:
    c1, c2 = as_role("cashier"), as_role("manager")
    tab = await open_tab(c1)
    tab = await add(c1, tab["id"], line(cafe.items["latte"], 2))
    latte = tab["items"][0]["id"]
    body = {"items": [{"orderItemId": latte, "quantity": 2}]}
    results = await asyncio.gather(pay(c1, tab["id"], body), pay(c2, tab["id"], body))
    assert sorted(r.status for r in results) == [201, 409]
    results = await asyncio.gather(*(pay(c, tab["id"], {}) for c in (c1, c2)))
    assert all(r.status == 409 for r in results)


async def test_interim_bill(as_role, cafe) -> None:
    c = as_role("trainee")
    tab = await open_tab(c, "Window")
    tab = await add(c, tab["id"], line(cafe.items["latte"], 2))
    text = await c.get(f"/tabs/{tab['id']}/bill")
    assert text.status == 200 and text.headers["Content-Type"].startswith("text/plain")
    body = text.body.decode()
    assert "NOT A RECEIPT / INTERIM BILL" in body and "Latte" in body and "Remaining: 9.72" in body
    esc = await c.get(f"/tabs/{tab['id']}/bill?format=escpos")
    assert esc.status == 200 and esc.body.startswith(b"\x1b@") and b"INTERIM BILL" in esc.body
    js = await c.get(f"/tabs/{tab['id']}/bill?format=json")
    assert js.status == 200 and js.data["receipt"]["totals"]["total"] == D("9.72")
    html = await c.get(f"/tabs/{tab['id']}/bill?format=html")
    assert html.status == 200 and "INTERIM BILL" in html.body.decode()


async def relogin(c, role: str) -> None:
    r = await c.post("/auth/login", {"username": role, "password": "password123"}, auth=False)
    assert r.status == 200, r.body
    c.token = r.data["token"]


def tab_alerts(settings) -> list[tuple[str, str]]:
    return run_unit(settings, lambda s: [(a.title, a.status) for a in s.scalars(
        select(StockAlert).where(StockAlert.alert_type == "system").order_by(StockAlert.created_at))])


async def test_old_open_tab_raises_one_alert_resolved_when_paid(staff, cafe, settings, clock) -> None:
    c = staff["cashier"]
    tab = await open_tab(c, "Regular Ben")
    await add(c, tab["id"], line(cafe.items["latte"]))
    other = await open_tab(c, "Young tab")
    assert run_unit(settings, inventory_alerts.sweep, settings, clock())["raised"] == []
    clock.advance(hours=15)
    await relogin(c, "cashier")  # 15 h idle ends a session
    await open_tab(c, "Later")  # fresh
    assert tab_alerts(settings) == []
    clock.advance(hours=1, minutes=1)  # 16 h 1 min (tabMaxHours 16)
    raised = run_unit(settings, inventory_alerts.sweep, settings, clock())["raised"]
    assert [a["title"] for a in raised] == ["Tab Regular Ben (T-1) open over 16 h",
                                            "Tab Young tab (T-2) open over 16 h"]
    clock.advance(hours=2)
    assert run_unit(settings, inventory_alerts.sweep, settings, clock())["raised"] == []  # once
    await relogin(c, "cashier")
    assert (await pay(c, tab["id"], {})).status == 201
    await relogin(staff["manager"], "manager")
    assert (await staff["manager"].post(f"/tabs/{other['id']}/void", {"reason": "test"})).status == 200
    assert [status for _, status in tab_alerts(settings)] == ["resolved", "resolved"]
    assert run_unit(settings, inventory_alerts.sweep, settings, clock())["raised"] == []


async def test_open_tab_changes_no_report_and_shift_figure(staff, cafe) -> None:
    c, m = staff["cashier"], staff["manager"]
    shift = await c.post("/shifts/open", {"openingCash": "50.00"})
    assert shift.status in (200, 201), shift.body
    shift_id = shift.data["shift"]["id"]
    sold = await c.post("/orders", {"items": [line(cafe.items["espresso"])], **CARD})
    assert sold.status == 201

    async def figures() -> list[Any]:
        dash = (await m.get("/sales/dashboard")).data
        daily = (await m.get("/reports/daily-sales")).data
        report = (await c.get(f"/shifts/{shift_id}/report")).data
        csv = (await m.get("/reports/sales.csv")).body
        history = (await m.get("/orders")).data["total"]
        return [dash["metrics"], dash["categoryBreakdown"], dash["topProducts"], daily, report, csv, history]

    before = await figures()
    tab = await open_tab(c, "Table 9", customerName="Zoe")
    tab = await add(c, tab["id"], line(cafe.items["latte"], 2), line(cafe.items["juice"]))
    assert await figures() == before
    for _ in range(3):
        r = await pay(c, tab["id"], {"split": {"ways": 3}})
        assert r.status == 201, r.body
    dash = (await m.get("/sales/dashboard")).data
    assert dash["metrics"]["totalRevenue"] - before[0]["totalRevenue"] == tab["total"]
    assert dash["metrics"]["totalTransactions"] - before[0]["totalTransactions"] == 3
    assert sum(cat["revenue"] for cat in dash["categoryBreakdown"]) == dash["metrics"]["totalRevenue"]
    report = (await c.get(f"/shifts/{shift_id}/report")).data
    assert report["shift"]["totals"]["sales"] - before[4]["shift"]["totals"]["sales"] == tab["total"]
    assert report["shift"]["totals"]["orders"] == 4


async def test_send_then_pay_takes_stock_once_and_shares_race_cleanly(as_role, cafe, settings) -> None:
    c1, c2, c3 = as_role("cashier"), as_role("manager"), as_role("admin")
    start = stock_levels(settings)
    tab = await open_tab(c1)
    tab = await add(c1, tab["id"], line(cafe.items["latte"], 2), line(cafe.items["espresso"]))
    taken = stock_levels(settings)
    moved = movements(settings)
    assert taken["Beans"] == start["Beans"] - D("0.045")
    # Three terminals pay the three shares at once: all succeed, in turn, and add up.
    results = await asyncio.gather(*(pay(c, tab["id"], {"split": {"ways": 3}}) for c in (c1, c2, c3)))
    assert [r.status for r in results] == [201, 201, 201], [r.body for r in results]
    assert sum(r.data["order"]["total"] for r in results) == tab["total"]
    final = await c1.get(f"/tabs/{tab['id']}")
    assert final.data["tab"]["status"] == "closed" and final.data["tab"]["split"]["paid"] == 3
    assert stock_levels(settings) == taken and movements(settings) == moved  # payment took nothing more
    assert (await c1.post("/tabs/nope/pay", CARD)).status == 404
    assert (await c1.delete(f"/tabs/{tab['id']}/items/nope")).status == 409  # closed
    assert (await c3.get("/journal/verify")).data["valid"] is True


async def test_a_tab_has_no_receipt_only_a_bill(as_role, cafe) -> None:
    c = as_role("manager")
    tab = await open_tab(c)
    await add(c, tab["id"], line(cafe.items["latte"]))
    assert (await c.get(f"/orders/{tab['id']}/receipt")).status == 409
    assert (await c.post(f"/orders/{tab['id']}/reprint-receipt")).status == 409
    assert (await c.post(f"/orders/{tab['id']}/refund", {"reason": "x"})).status == 409
    assert (await c.post(f"/orders/{tab['id']}/void", {"reason": "x"})).status == 409
    assert (await c.get(f"/tabs/{tab['id']}/bill")).status == 200


async def test_tabs_opened_at_once_get_distinct_numbers(as_role) -> None:
    clients = [as_role(role) for role in ("admin", "manager", "cashier", "trainee")] * 2
    results = await asyncio.gather(*(c.post("/tabs", {"name": f"Table {i}"}) for i, c in enumerate(clients)))
    assert all(r.status == 201 for r in results), [r.body for r in results]
    numbers = sorted(r.data["tab"]["orderNumber"] for r in results)
    assert numbers == sorted(f"T-{n}" for n in range(1, 9))


async def test_list_items_are_the_single_tab_answers_byte_for_byte(staff, cafe, clock) -> None:
    """GET /tabs reads many tabs at once; each of its items is exactly what GET /tabs/{id} writes for
    that tab (same fields, order, values and money formatting), whatever the tab holds."""
    c, m = staff["cashier"], staff["manager"]
    latte, juice, chai, croissant = (cafe.items[k] for k in ("latte", "juice", "chai", "croissant"))
    oat, shot, sweet = cafe.mods["Oat milk"], cafe.mods["Extra shot"], cafe.mods["Sweet"]

    # A: sent and unsent lines, two modifiers on one line, a note, a station-less line.
    a = await open_tab(c, "Table 1", customerName="Anna")
    await add(c, a["id"], line(latte, 2, modifierIds=[oat, shot], notes="extra hot"), line(juice))
    await add(c, a["id"], line(croissant), line(chai, modifierIds=[sweet]), send=False)
    clock.advance(minutes=7)
    # B: partly paid by items (one of two lattes).
    b = await open_tab(c, "Table 2")
    b = await add(c, b["id"], line(latte, 2, modifierIds=[oat]), line(juice))
    r = await pay(c, b["id"], {"items": [{"orderItemId": b["items"][0]["id"], "quantity": 1}]})
    assert r.status == 201, r.body
    clock.advance(minutes=3)
    # C: split 3 ways, one share paid.
    t = await open_tab(c, "Table 3", orderType="take_away")
    t = await add(c, t["id"], line(latte, modifierIds=[oat]), line(juice), line(chai, modifierIds=[sweet]))
    r = await pay(c, t["id"], {"split": {"ways": 3}})
    assert r.status == 201, r.body
    # D: nothing on it yet.  E: a sent line removed (cancelled: not listed), one left.
    clock.advance(minutes=1)
    d = await open_tab(c, "Bar stool")
    clock.advance(minutes=1)
    e = await open_tab(c, "Table 5")
    e = await add(c, e["id"], line(juice), line(latte))
    assert (await m.delete(f"/tabs/{e['id']}/items/{e['items'][0]['id']}")).status == 200
    # F: paid off, so closed (listed under status=closed only).
    f = await open_tab(c, "Table 6")
    await add(c, f["id"], line(juice))
    assert (await pay(c, f["id"], {})).status == 201
    clock.advance(minutes=30)

    async def single(tab_id: str) -> str:
        r = await c.get(f"/tabs/{tab_id}")
        assert r.status == 200, r.body
        return jsonenc.dumps(r.data["tab"])

    listed = await c.get("/tabs?status=open&perPage=10")
    assert listed.status == 200, listed.body
    order = [a["id"], b["id"], t["id"], d["id"], e["id"]]
    assert [tab["id"] for tab in listed.data["tabs"]] == order
    expected = [await single(tab_id) for tab_id in order]
    # The list's bytes hold the single answers' bytes, one after the other (a parsed and re-encoded
    # answer is its own bytes again: Decimals keep their places, keys their order).
    assert ('"tabs":[' + ",".join(expected) + "]").encode() in listed.body
    assert [jsonenc.dumps(tab) for tab in listed.data["tabs"]] == expected
    assert (listed.data["total"], listed.data["page"], listed.data["perPage"], listed.data["pages"]) == (5, 1, 10, 1)

    by_id = {tab["id"]: tab for tab in listed.data["tabs"]}
    # Worked by hand (exclusive tax; latte 4.50 + oat 0.50 + shot 0.80 at 8 %, juice 3.90 at 8.1 %,
    # croissant 3.20 at 2.6 %, chai 3.33 at 8 %):
    one = by_id[a["id"]]
    assert [it["productName"] for it in one["items"]] == ["Latte", "Orange juice", "Croissant", "Chai"]
    assert [it["sent"] for it in one["items"]] == [True, True, False, False]
    assert [mod["name"] for mod in one["items"][0]["modifiers"]] == ["Oat milk", "Extra shot"]
    # 11.60 + 3.33 at 8 % -> 1.19; 3.90 at 8.1 % -> 0.32; 3.20 at 2.6 % -> 0.08
    assert (one["subtotal"], one["taxAmount"], one["total"], one["ageMinutes"]) == (
        D("22.03"), D("1.59"), D("23.62"), 42)
    two = by_id[b["id"]]  # one latte paid: 5.00 + 0.40 tax
    assert [it["paidQuantity"] for it in two["items"]] == [1, 0]
    assert (two["total"], two["paidAmount"], two["remaining"], two["split"]) == (D("9.62"), D("5.40"),
                                                                                  D("9.62"), None)
    assert [p["total"] for p in two["payments"]] == [D("5.40")]
    # Take-away: latte and chai at 2.6 % (8.33 -> 0.22), juice 3.90 at 8.1 % (0.32): 12.77 in three
    # shares of 4.25, 4.25, 4.27.
    three = by_id[t["id"]]
    assert (three["total"], three["paidAmount"], three["remaining"]) == (D("12.77"), D("4.25"), D("8.52"))
    assert three["split"] == {"ways": 3, "paid": 1, "nextShare": D("4.25")}
    assert (by_id[d["id"]]["items"], by_id[d["id"]]["total"]) == ([], D("0.00"))
    assert [it["productName"] for it in by_id[e["id"]]["items"]] == ["Latte"]

    # Paging: the second page of two is tabs 3 and 4, the same bytes again.
    paged = await c.get("/tabs?status=open&page=2&perPage=2")
    assert [jsonenc.dumps(tab) for tab in paged.data["tabs"]] == expected[2:4]
    assert (paged.data["total"], paged.data["page"], paged.data["perPage"], paged.data["pages"]) == (5, 2, 2, 3)
    assert (await c.get("/tabs?status=open&page=9")).data["tabs"] == []
    closed = await c.get("/tabs?status=closed")
    assert [jsonenc.dumps(tab) for tab in closed.data["tabs"]] == [await single(f["id"])]
