"""The preparation queue: stations on the menu, tickets from counter sales, the moves, refunds and
voids cancelling lines, and the printed ticket (API.md "Tabs and the preparation queue")."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import select

from orm.domain import jsonenc
from orm.models.model_orders import OrderItem
from tests.conftest import run_unit
from tests.prep_support import build_prep_menu, line, sell

TICKET_KEYS = {"orderId", "orderNumber", "orderType", "customerName", "tabName", "station", "createdAt",
               "waitingSeconds", "items"}
ITEM_KEYS = {"id", "productName", "size", "quantity", "modifiers", "notes", "prepStatus"}


def line_rows(settings, order_id: str) -> dict[str, dict]:
    def fetch(s):
        return {r.product_name: {"station": r.station, "prepStatus": r.prep_status, "sentAt": r.sent_at,
                                 "startedAt": r.started_at, "readyAt": r.ready_at, "collectedAt": r.collected_at,
                                 "cancelledAt": r.cancelled_at}
                for r in s.scalars(select(OrderItem).where(OrderItem.order_id == order_id))}
    return run_unit(settings, fetch)


async def test_a_counter_sale_queues_its_stationed_lines_only(staff, clock, settings):
    admin, cashier = staff["admin"], staff["cashier"]
    menu = await build_prep_menu(admin)
    assert (menu["latte"]["station"], menu["water"]["station"]) == (None, None)  # before the category got one
    items = (await admin.get("/menu_items")).data["menu_items"]
    stations = {i["name"]: i["station"] for i in items}
    assert stations == {"Latte": "bar", "Espresso": "bar", "Toastie": "kitchen", "Croissant": None,
                        "Still water": None}
    order = await sell(cashier, line(menu["latte"], 2, modifierIds=list(menu["mods"].values()), notes="extra hot"),
                       line(menu["toastie"]), line(menu["croissant"]), line(menu["water"]), customerName="Anna")
    assert {i["productName"]: (i["station"], i["prepStatus"]) for i in order["items"]} == {
        "Latte": ("bar", "queued"), "Toastie": ("kitchen", "queued"), "Croissant": (None, None),
        "Still water": (None, None)}
    assert order["tabId"] is None
    clock.advance(seconds=90)
    r = await cashier.get("/prep/tickets")
    assert r.status == 200, r.body
    tickets = r.data["tickets"]
    assert [(t["station"], len(t["items"])) for t in tickets] == [("bar", 1), ("kitchen", 1)]
    bar = tickets[0]
    assert set(bar) == TICKET_KEYS and set(bar["items"][0]) == ITEM_KEYS
    assert (bar["orderId"], bar["orderNumber"], bar["orderType"], bar["customerName"], bar["tabName"]) == (
        order["id"], order["orderNumber"], "eat_in", "Anna", None)
    assert bar["waitingSeconds"] == 90 and bar["createdAt"] == order["createdAt"]
    assert bar["items"][0] == {"id": order["items"][0]["id"], "productName": "Latte", "size": "Large", "quantity": 2,
                               "modifiers": [{"name": "Extra shot"}, {"name": "Oat milk"}], "notes": "extra hot",
                               "prepStatus": "queued"}
    only_kitchen = (await cashier.get("/prep/tickets?station=kitchen")).data["tickets"]
    assert [t["items"][0]["productName"] for t in only_kitchen] == ["Toastie"]


async def test_the_listing_is_the_text_the_general_encoder_writes(staff, clock):
    # GET /prep/tickets is written by jsonenc.dumps_plain: the same bytes jsonenc.dumps writes for
    # the same value, awkward strings included, createdAt as every other time of the API.
    admin, cashier = staff["admin"], staff["cashier"]
    menu = await build_prep_menu(admin)
    orders = [await sell(cashier, line(menu["latte"], modifierIds=list(menu["mods"].values()),
                                       notes='très chaud, "no foam" \\ 😀\tplease'),
                         line(menu["espresso"]), customerName="Zoë O'Brien </script>"),
              await sell(cashier, line(menu["espresso"], 3))]
    clock.advance(seconds=5)
    r = await cashier.get("/prep/tickets?station=bar")
    assert r.status == 200, r.body
    assert r.body.decode() == jsonenc.dumps(jsonenc.loads(r.body))
    tickets = r.data["tickets"]
    assert [t["orderId"] for t in tickets] == [o["id"] for o in orders]
    assert [t["createdAt"] for t in tickets] == [o["createdAt"] for o in orders]
    assert tickets[0]["customerName"] == "Zoë O'Brien </script>"
    assert tickets[0]["items"][0]["notes"] == 'très chaud, "no foam" \\ 😀\tplease'


async def test_tickets_are_oldest_first_and_filtered_by_status(staff, clock):
    admin, cashier = staff["admin"], staff["cashier"]
    menu = await build_prep_menu(admin)
    orders = []
    for _ in range(3):
        orders.append(await sell(cashier, line(menu["espresso"])))
        clock.advance(seconds=10)
    bar = (await cashier.get("/prep/tickets?station=bar")).data["tickets"]
    assert [t["orderId"] for t in bar] == [o["id"] for o in orders]
    assert [t["waitingSeconds"] for t in bar] == [30, 20, 10]
    assert (await cashier.post(f"/prep/tickets/{orders[1]['id']}/bar/ready")).status == 200
    ready = (await cashier.get("/prep/tickets?station=bar&status=ready")).data["tickets"]
    assert [t["orderId"] for t in ready] == [orders[1]["id"]]
    queued = (await cashier.get("/prep/tickets?status=queued")).data["tickets"]
    assert [t["orderId"] for t in queued] == [orders[0]["id"], orders[2]["id"]]


async def test_bad_queries_are_400(staff):
    cashier = staff["cashier"]
    for query in ("station=terrace", "status=done", "status=queued,eaten", "station=BAR"):
        r = await cashier.get(f"/prep/tickets?{query}")
        assert r.status == 400 and r.json["errorCode"] == "VALIDATION_ERROR", (query, r.body)


async def test_moves_follow_the_state_rules(staff, clock, settings):
    admin, barista = staff["admin"], staff["cashier"]
    menu = await build_prep_menu(admin)
    order = await sell(barista, line(menu["latte"]), line(menu["espresso"]), line(menu["toastie"]))
    oid = order["id"]
    clock.advance(seconds=20)
    r = await barista.post(f"/prep/tickets/{oid}/bar/start")
    assert r.status == 200, r.body
    assert [i["prepStatus"] for i in r.data["ticket"]["items"]] == ["in_progress", "in_progress"]
    r = await barista.post(f"/prep/tickets/{oid}/bar/start")
    assert r.status == 409 and r.json["errorCode"] == "CONFLICT"
    assert (await barista.post(f"/prep/tickets/{oid}/bar/recall")).status == 409  # nothing is ready
    clock.advance(seconds=40)
    latte_id = order["items"][0]["id"]
    r = await barista.post(f"/prep/items/{latte_id}/ready")
    assert r.status == 200 and [i["prepStatus"] for i in r.data["ticket"]["items"]] == ["ready", "in_progress"]
    assert (await barista.post(f"/prep/items/{latte_id}/start")).status == 409  # ready -> start: no
    assert (await barista.post(f"/prep/tickets/{oid}/bar/ready")).status == 200
    r = await barista.post(f"/prep/tickets/{oid}/bar/recall")
    assert r.status == 200 and {i["prepStatus"] for i in r.data["ticket"]["items"]} == {"in_progress"}
    assert (await barista.post(f"/prep/tickets/{oid}/bar/ready")).status == 200
    clock.advance(seconds=30)
    r = await barista.post(f"/orders/{oid}/collected")
    assert r.status == 200, r.body
    assert [(t["station"], {i["prepStatus"] for i in t["items"]}) for t in r.data["tickets"]] == [
        ("bar", {"collected"}), ("kitchen", {"collected"})]
    for path in (f"/prep/tickets/{oid}/bar/start", f"/prep/tickets/{oid}/bar/ready",
                 f"/prep/tickets/{oid}/bar/recall", f"/prep/items/{latte_id}/start", f"/prep/items/{latte_id}/ready",
                 f"/orders/{oid}/collected"):
        r = await barista.post(path)
        assert r.status == 409 and r.json["errorCode"] == "CONFLICT", (path, r.body)
    rows = line_rows(settings, oid)
    t0 = datetime.fromisoformat(order["createdAt"].replace("Z", "+00:00")) if isinstance(order["createdAt"], str) \
        else order["createdAt"]
    assert rows["Latte"]["sentAt"] == t0
    assert (rows["Latte"]["startedAt"] - t0).total_seconds() == 20
    assert (rows["Latte"]["readyAt"] - t0).total_seconds() == 60  # the last ready, after the recall
    assert (rows["Latte"]["collectedAt"] - t0).total_seconds() == 90
    assert rows["Toastie"]["startedAt"] is None and rows["Toastie"]["collectedAt"] is not None
    assert (await barista.get("/prep/tickets")).data["tickets"] == []
    done = (await barista.get("/prep/tickets?status=collected")).data["tickets"]
    assert {t["station"] for t in done} == {"bar", "kitchen"}


async def test_unknown_tickets_and_lines_are_404(staff):
    admin, cashier = staff["admin"], staff["cashier"]
    menu = await build_prep_menu(admin)
    order = await sell(cashier, line(menu["latte"]), line(menu["croissant"]))
    missing = "00000000-0000-0000-0000-000000000000"
    for path in (f"/prep/tickets/{missing}/bar/start", f"/prep/tickets/{order['id']}/kitchen/ready",
                 f"/prep/tickets/{order['id']}/nowhere/recall", f"/prep/items/{missing}/ready",
                 f"/orders/{missing}/collected", f"/prep/tickets/{missing}/bar/print"):
        r = await cashier.request("GET" if path.endswith("print") else "POST", path)
        assert r.status == 404 and r.json["errorCode"] == "NOT_FOUND", (path, r.body)
    croissant = order["items"][1]["id"]
    assert (await cashier.post(f"/prep/items/{croissant}/start")).status == 409  # not sent to any station


async def test_two_baristas_pressing_ready_at_once_leave_one_state(staff, settings):
    admin, cashier, manager = staff["admin"], staff["cashier"], staff["manager"]
    menu = await build_prep_menu(admin)
    for _ in range(5):
        order = await sell(cashier, line(menu["latte"]), line(menu["espresso"]))
        path = f"/prep/tickets/{order['id']}/bar/ready"
        a, b = await asyncio.gather(cashier.post(path), manager.post(path))
        assert sorted([a.status, b.status]) == [200, 409], (a.body, b.body)
        assert {r["prepStatus"] for r in line_rows(settings, order["id"]).values()} == {"ready"}


async def test_refunds_and_voids_cancel_their_ticket_lines(staff, settings):
    admin, cashier, manager = staff["admin"], staff["cashier"], staff["manager"]
    menu = await build_prep_menu(admin)
    order = await sell(cashier, line(menu["latte"], 2), line(menu["espresso"]), line(menu["toastie"]))
    latte, espresso, toastie = (i["id"] for i in order["items"])
    r = await manager.post(f"/orders/{order['id']}/refund", {"items": [{"orderItemId": latte, "quantity": 1},
                                                                         {"orderItemId": espresso, "quantity": 1}],
                                                               "reason": "changed mind"})
    assert r.status == 200, r.body
    # The whole espresso went back: cancelled; one of two lattes: the line is still made (one cup).
    assert {i["productName"]: i["prepStatus"] for i in r.data["order"]["items"]} == {
        "Latte": "queued", "Espresso": "cancelled", "Toastie": "queued"}
    bar = (await cashier.get("/prep/tickets?station=bar")).data["tickets"]
    assert [i["productName"] for i in bar[0]["items"]] == ["Latte"]
    assert (await cashier.post(f"/prep/items/{espresso}/ready")).status == 409
    assert (await cashier.post(f"/prep/items/{toastie}/ready")).status == 200
    second = await sell(cashier, line(menu["latte"]), line(menu["toastie"]))
    assert (await cashier.post(f"/prep/tickets/{second['id']}/kitchen/ready")).status == 200
    assert (await cashier.post(f"/orders/{second['id']}/collected")).status == 200
    third = await sell(cashier, line(menu["latte"]), line(menu["toastie"]))
    r = await manager.post(f"/orders/{third['id']}/void", {"reason": "rang up twice"})
    assert r.status == 200, r.body
    assert {i["prepStatus"] for i in r.data["order"]["items"]} == {"cancelled"}
    rows = line_rows(settings, third["id"])
    assert all(row["cancelledAt"] is not None for row in rows.values())
    remaining = (await cashier.get("/prep/tickets")).data["tickets"]
    assert third["id"] not in {t["orderId"] for t in remaining}
    cancelled = (await cashier.get("/prep/tickets?status=cancelled")).data["tickets"]
    assert {(t["orderId"], t["station"]) for t in cancelled} == {
        (order["id"], "bar"), (third["id"], "bar"), (third["id"], "kitchen")}


async def test_printed_ticket_has_no_prices(staff):
    admin, cashier = staff["admin"], staff["cashier"]
    menu = await build_prep_menu(admin)
    order = await sell(cashier, line(menu["latte"], 2, modifierIds=[menu["mods"]["Oat milk"]], notes="extra hot"),
                       customerName="Anna", orderType="take_away")
    r = await cashier.get(f"/prep/tickets/{order['id']}/bar/print")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    text = r.body.decode()
    lines = text.splitlines()
    assert max(len(ln) for ln in lines) <= 42
    assert lines[0].strip() == "BAR" and lines[1].strip() == order["orderNumber"]
    for expected in ("TAKE AWAY", "For: Anna", "2 x Latte (Large)", "+ Oat milk", "! extra hot"):
        assert expected in text, expected
    assert "4.50" not in text and "5.00" not in text and "10.00" not in text
    r = await cashier.get(f"/prep/tickets/{order['id']}/bar/print?format=escpos")
    assert r.status == 200 and r.headers["Content-Type"] == "application/octet-stream"
    assert r.body.startswith(b"\x1b@") and r.body.endswith(b"\x1dV\x00")  # init ... full cut
    big = r.body.index(b"\x1b!0")  # double width and height, then the order number
    assert r.body.index(order["orderNumber"].encode()) > big
    assert b"\x1bp" not in r.body  # never a drawer kick
    assert (await admin.put("/settings", {"receiptWidth": 32})).status == 200
    narrow = (await cashier.get(f"/prep/tickets/{order['id']}/bar/print?format=text")).body.decode()
    assert max(len(ln) for ln in narrow.splitlines()) <= 32
    assert (await cashier.get(f"/prep/tickets/{order['id']}/bar/print?format=pdf")).status == 400
    assert (await cashier.get(f"/prep/tickets/{order['id']}/kitchen/print")).status == 404
