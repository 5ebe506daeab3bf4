"""The fast paths of a sale and of the menu listing answer exactly what the plain paths would.

* The process's catalogue cache gives the same entries as a fresh read, and follows every menu
  change and every counted-stock change at once.
* A counted sale (pastry) does not bump the menu revision, yet GET /menu_items shows the new
  level and a new ETag straight away.
* A sale runs the same statements whatever the number of lines and ingredients (PostgreSQL,
  where the ingredients are changed in one statement).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event

from orm.controllers.menu import counted_stock, menu_items
from orm.controllers.menu import revision as menu_revision
from orm.controllers.menu.catalogue import CatalogueCache
from orm.domain.schemas.menu import MenuItemUpdate
from orm.domain.stores import DEFAULT_STORE_ID
from tests.conftest import run_unit
from tests.orders_support import CARD, line, stock_levels
from tests.support import PG_URL

D = Decimal


def catalogue(settings, ids, cache=None):
    return run_unit(settings, menu_items.catalogue_for_order, settings, ids, DEFAULT_STORE_ID, cache)


def test_cached_catalogue_equals_a_fresh_read_and_follows_changes(settings, cafe) -> None:
    cache = CatalogueCache()
    ids = sorted(cafe.items.values()) + ["no-such-item"]
    assert catalogue(settings, ids, cache) == catalogue(settings, ids)
    assert catalogue(settings, ids, cache) == catalogue(settings, ids)  # served from the cache this time

    latte = cafe.items["latte"]

    run_unit(settings, lambda s: menu_items.update_item(s, settings, latte, MenuItemUpdate(price="4.90"), actor=None))
    assert catalogue(settings, [latte], cache)[latte]["price"] == D("4.90")

    croissant = cafe.items["croissant"]
    run_unit(settings, counted_stock.take_counted_stock, croissant, 2)
    fresh = catalogue(settings, ids)
    assert fresh[croissant]["stockCount"] == 3
    assert catalogue(settings, ids, cache) == fresh


async def test_counted_sale_shows_in_the_menu_without_a_revision_bump(as_role, settings, cafe) -> None:
    c = as_role("cashier")
    croissant = cafe.items["croissant"]
    first = await c.get("/menu_items")
    etag = first.headers["ETag"]
    before = run_unit(settings, menu_revision.current, DEFAULT_STORE_ID)
    assert (await c.post("/orders", {"items": [line(croissant, 2)], **CARD})).status == 201
    assert run_unit(settings, menu_revision.current, DEFAULT_STORE_ID) == before
    again = await c.get("/menu_items", headers={"If-None-Match": etag})
    assert again.status == 200 and again.headers["ETag"] != etag
    levels = {i["id"]: i["stockCount"] for i in again.data["menu_items"]}
    assert levels[croissant] == 3 and levels[cafe.items["latte"]] is None
    assert (await c.get("/menu_items", headers={"If-None-Match": again.headers["ETag"]})).status == 304
    # A refund that restocks puts the level back, and the menu shows it.
    order = (await c.post("/orders", {"items": [line(croissant)], **CARD})).data["order"]
    manager = as_role("manager")
    refund = await manager.post(f"/orders/{order['id']}/refund", {"reason": "dropped", "restock": True})
    assert refund.status == 200, refund.body
    levels = {i["id"]: i["stockCount"] for i in (await c.get("/menu_items")).data["menu_items"]}
    assert levels[croissant] == 3


@pytest.mark.skipif(not PG_URL, reason="the one-statement stock change is PostgreSQL's")
async def test_a_sale_runs_the_same_statements_whatever_its_size(server, as_role, cafe) -> None:
    c = as_role("cashier")
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        # Other units of work (settings cache, live-event notifications) run on their own schedule.
        if "store_settings" not in statement and "pg_notify" not in statement:
            statements.append(statement)

    async def sale(body) -> int:
        statements.clear()
        event.listen(server.ctx.engine, "before_cursor_execute", count)
        try:
            assert (await c.post("/orders", body)).status == 201
        finally:
            event.remove(server.ctx.engine, "before_cursor_execute", count)
        return len(statements)

    await sale({"items": [line(cafe.items["espresso"])], **CARD})  # warm the catalogue cache
    small = await sale({"items": [line(cafe.items["espresso"])], **CARD})
    big = await sale({"items": [line(cafe.items["latte"], 2, modifierIds=[cafe.mods["Oat milk"],
                                                                         cafe.mods["Vanilla"]]),
                                line(cafe.items["juice"]), line(cafe.items["espresso"], 3)],
                      "payments": [{"method": "card", "amount": "5"}, {"method": "cash", "amount": "50"}]})
    assert small == big, statements
    # ...and every ingredient was taken: 5 espressos and 2 lattes of beans, 2 x (0.2 oat milk, 0.02 vanilla).
    assert stock_levels(server.ctx.settings) == {
        "Beans": D("10") - 5 * D("0.009") - 2 * D("0.018"), "Milk": D("19.600"),
        "Oat milk": D("4.600"), "Cups": D("98.000"), "Vanilla syrup": D("1.960")}
