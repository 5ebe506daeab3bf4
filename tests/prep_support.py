"""A small café for the preparation-queue tests, built through the API (no tests here).

Coffee goes to the bar (its category's station), food to the kitchen, pastries nowhere; bottled
water sits in the coffee category but is handed over as it is (the item's own station "none").
"""

from __future__ import annotations

from typing import Any

from tests.support import Client

PREP_MENU: dict[str, dict[str, Any]] = {
    "latte": {"name": "Latte", "price": "4.50", "category": "Coffee", "size": "Large",
              "modifierGroups": [{"name": "Milk", "minSelect": 0, "maxSelect": 2, "modifiers": [
                  {"name": "Oat milk", "priceDelta": "0.50"}, {"name": "Extra shot", "priceDelta": "0.80"}]}]},
    "espresso": {"name": "Espresso", "price": "2.40", "category": "Coffee"},
    "toastie": {"name": "Toastie", "price": "6.90", "category": "Food"},
    "croissant": {"name": "Croissant", "price": "3.20", "category": "Pastries"},
    "water": {"name": "Still water", "price": "2.00", "category": "Coffee", "station": "none"},
}
CATEGORY_STATIONS = {"Coffee": "bar", "Food": "kitchen"}


async def build_prep_menu(admin: Client) -> dict[str, Any]:
    """key -> menu item resource (and "mods": modifier name -> id)."""
    out: dict[str, Any] = {}
    for key, body in PREP_MENU.items():
        r = await admin.post("/menu_items", body)
        assert r.status == 201, r.body
        out[key] = r.data["menuItem"]
    for category, station in CATEGORY_STATIONS.items():
        r = await admin.put(f"/menu_items/categories/{category}", {"station": station})
        assert r.status == 200, r.body
    out["mods"] = {m["name"]: m["id"] for g in out["latte"]["modifierGroups"] for m in g["modifiers"]}
    return out


async def sell(c: Client, *lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    r = await c.post("/orders", {"items": list(lines), "payments": [{"method": "card"}], **extra})
    assert r.status == 201, r.body
    return r.data["order"]


def line(item: dict[str, Any], quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"menuItemId": item["id"], "quantity": quantity, **extra}
