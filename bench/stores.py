"""The cashiers who sell during the run: one per store, the extra stores created through the API.

`POST /stores` creates each extra store.  Its manager and cashier are created with `POST /users`,
naming the store (`storeId`) when the server takes it; a server that does know which store a user works
in (`GET /auth/me` answers the store) gets the store's own stock (SQL, like the first store's) and its
own menu (`POST /menu_items` as that store's manager), and the cashier sells that menu.  A server that
binds no user to a store (the API of 2026-12-07 has no such field) still gets four cashiers selling at
once, but all in the default store; the run says so (`Sellers.bound` and the table's note).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import dataset
from bench.client import Api, ApiError


@dataclass
class Seller:
    store_id: str | None  # None: the default store
    username: str
    token: str
    body: dict[str, Any]  # the POST /orders body this cashier sends (its store's menu)


@dataclass
class Sellers:
    cashiers: list[Seller] = field(default_factory=list)
    bound: bool = True  # every cashier sells in a store of their own
    note: str = ""


def _store_of(api: Api) -> str | None:
    user = api.call("GET", "/auth/me")["user"]
    return user.get("storeId") or (user.get("storeIds") or [None])[0]


def _create_store(admin: Api, name: str) -> str:
    try:
        return admin.call("POST", "/stores", {"name": name, "address": "1 Bench Street"})["store"]["id"]
    except ApiError as exc:
        if exc.status != 409:
            raise
    stores = admin.call("GET", "/stores?search=" + name.replace(" ", "%20"))["stores"]
    return next(s["id"] for s in stores if s["name"] == name)


def _create_user(admin: Api, username: str, role: str, store_id: str) -> bool:
    """True when the server took the store; False when it refused the field and the user was made without."""
    user = {"username": username, "password": dataset.DEMO_PASSWORD, "firstName": username.title(),
            "lastName": "Bench", "email": f"{username}@bench.example", "role": role}
    try:
        admin.call("POST", "/users", {**user, "storeId": store_id})
        return True
    except ApiError as exc:
        if exc.status == 409:  # a --keep-db run made it already
            return True
        if exc.status != 400:
            raise
    admin.call("POST", "/users", user)
    return False


def setup_sellers(base_url: str, admin: Api, first: Seller, count: int, *, seed_stock: Callable[[str], dict],
                  first_sale: Callable[[Api, dict[str, Any]], None], log: Callable[[str], None]) -> Sellers:
    """`first` is the default store's cashier; `count - 1` more stores and cashiers are made here."""
    sellers = Sellers(cashiers=[first])
    for k in range(2, count + 1):
        store_id = _create_store(admin, f"Bench store {k}")
        _create_user(admin, f"manager{k}", "manager", store_id)
        _create_user(admin, f"cashier{k}", "cashier", store_id)
        cashier = Api(base_url)
        cashier.login(f"cashier{k}", dataset.DEMO_PASSWORD)
        if _store_of(cashier) != store_id:
            sellers.bound = False
            sellers.cashiers.append(Seller(None, f"cashier{k}", cashier.token or "", first.body))
            continue
        manager = Api(base_url)
        manager.login(f"manager{k}", dataset.DEMO_PASSWORD)
        dataset.seed_menu(manager, seed_stock(store_id))
        body = dict(dataset.load_catalogue(cashier).order_body, terminalId=f"BENCH-{k}")
        sellers.cashiers.append(Seller(store_id, f"cashier{k}", cashier.token or "", body))
    for seller in sellers.cashiers[1:]:
        first_sale(Api(base_url, seller.token), seller.body)
    if not sellers.bound:
        sellers.note = (f"{count} cashiers selling at once, all in the default store: "
                        "this server binds no user to a store")
    log(f"sellers: {len(sellers.cashiers)} cashiers" + (f" ({sellers.note})" if sellers.note else
                                                        f" in {count} stores"))
    return sellers
