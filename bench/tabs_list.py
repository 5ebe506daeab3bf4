"""GET /tabs?status=open with 50 open tabs of 5 lines: how long a manager's tab screen waits.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cafepos_bench_tabs python bench/tabs_list.py
    python bench/tabs_list.py --database-url postgresql://... --tabs 50 --requests 50

It (re)creates the database named in the URL, migrates and seeds the staff, and starts the real
server in a process of its own (`python main.py`, WORKERS=1, as `make bench` does).  Through one
keep-alive connection (http.client, this process) it builds a small menu (POST /menu_items) and opens
`--tabs` tabs through the API, each with 5 lines (POST /tabs/{id}/items: three sent, two not yet;
modifiers on some lines; bar, kitchen and station-less items at two tax rates).  One tab is partly
paid by items, one is split 3 ways with one share paid (POST /tabs/{id}/pay).  Then it times
`--requests` GETs of /tabs?status=open&perPage=<tabs> (after 5 warm-up requests): from sending the
request to the last byte of the body read, nothing decoded inside the timing.  It prints
p50/p90/min/max in ms and the CPU the requests cost, read from /proc/<pid>/stat: the server
process's and the PostgreSQL backends' of the database, per request - the steadier figure on a busy
machine.

BENCH_PROFILE=1 then runs the listing's unit of work (orm/controllers/orders/tabs.list_tabs) and the
JSON encoding of its answer `--requests` times in this process, under cProfile, and prints the top
of the profile.  The database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.prep_tickets import Client, common_arguments, on_fresh_database, serving, time_gets  # noqa: E402
from orm.domain import jsonenc  # noqa: E402

WARM_UP = 5
LINES_PER_TAB = 5
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cafepos_bench_tabs"
CARD = {"payments": [{"method": "card"}]}


def list_path(tabs: int) -> str:
    return f"/tabs?status=open&perPage={max(tabs, 1)}"


def seed_menu(client: Client) -> dict[str, Any]:
    client.token = client.call("POST", "/auth/login", {"username": "admin", "password": "password123"})["token"]
    latte = client.call("POST", "/menu_items", {
        "name": "Latte", "price": "4.20", "category": "Coffee", "station": "bar", "taxRate": "0.081",
        "modifierGroups": [{"name": "Milk", "minSelect": 0, "maxSelect": 2, "modifiers": [
            {"name": "Oat milk", "priceDelta": "0.50"}, {"name": "Extra shot", "priceDelta": "0.80"}]}]})["menuItem"]
    espresso = client.call("POST", "/menu_items", {"name": "Espresso", "price": "2.40", "category": "Coffee",
                                                  "station": "bar", "taxRate": "0.081"})["menuItem"]
    toast = client.call("POST", "/menu_items", {"name": "Cheese toast", "price": "7.90", "category": "Food",
                                               "station": "kitchen", "taxRate": "0.081"})["menuItem"]
    water = client.call("POST", "/menu_items", {"name": "Sparkling water", "price": "3.30",
                                               "category": "Bottles", "taxRate": "0.026"})["menuItem"]
    mods = [m["id"] for g in latte["modifierGroups"] for m in g["modifiers"]]
    return {"latte": latte["id"], "espresso": espresso["id"], "toast": toast["id"], "water": water["id"],
            "mods": mods}


def seed_tabs(client: Client, tabs: int) -> None:
    menu = seed_menu(client)
    for n in range(tabs):
        tab = client.call("POST", "/tabs", {"name": f"Table {n + 1}",
                                            "customerName": f"Guest {n}" if n % 3 else None})["tab"]
        sent = [
            {"menuItemId": menu["latte"], "quantity": 1 + n % 3, "modifierIds": menu["mods"][: 1 + n % 2],
             "notes": "extra hot" if n % 4 == 0 else None},
            {"menuItemId": menu["espresso"], "quantity": 2},
            {"menuItemId": menu["toast"], "quantity": 1},
        ]
        unsent = [
            {"menuItemId": menu["water"], "quantity": 1 + n % 2},
            {"menuItemId": menu["latte"], "quantity": 1, "modifierIds": menu["mods"][:1] if n % 2 else []},
        ]
        client.call("POST", f"/tabs/{tab['id']}/items", {"items": sent, "send": True})
        got = client.call("POST", f"/tabs/{tab['id']}/items", {"items": unsent, "send": False})["tab"]
        assert len(got["items"]) == LINES_PER_TAB, got
        if n == 0:  # partly paid by items: one espresso and the water
            client.call("POST", f"/tabs/{tab['id']}/pay", {**CARD, "items": [
                {"orderItemId": got["items"][1]["id"], "quantity": 1},
                {"orderItemId": got["items"][3]["id"], "quantity": 1}]})
        elif n == 1:  # split 3 ways, one share paid
            client.call("POST", f"/tabs/{tab['id']}/pay", {**CARD, "split": {"ways": 3}})


def time_http(client: Client, url: str, server_pid: int, tabs: int, requests: int) -> dict[str, float]:
    path = list_path(tabs)
    for _ in range(WARM_UP):
        got = client.call("GET", path)
    assert len(got["tabs"]) == tabs and got["total"] == tabs, (len(got["tabs"]), got["total"])
    return time_gets(client, url, server_pid, path, requests)


def profile_parts(url: str, tabs: int, requests: int) -> None:
    """The listing's unit of work and its encoding, run in this thread (so cProfile sees them all)."""
    import cProfile
    import pstats
    from datetime import UTC, datetime

    from orm.controllers.orders import tabs as tabs_controller
    from orm.controllers.paging import Page
    from orm.db import make_engine, make_session_factory, read_unit_of_work
    from orm.domain.stores import DEFAULT_STORE_ID

    engine = make_engine(url, pooled=True)
    factory = make_session_factory(engine)
    page = Page(page=1, per_page=max(tabs, 1))
    try:
        def once() -> None:
            now = datetime.now(UTC)
            data = read_unit_of_work(factory, tabs_controller.list_tabs, page, store_id=DEFAULT_STORE_ID,
                                     status="open", now=now)
            jsonenc.dumps({"success": True, "data": data, "errors": [], "timestamp": jsonenc.iso_utc(now)}).encode()

        for _ in range(WARM_UP):
            once()
        cpu0 = time.process_time()
        for _ in range(requests):
            once()
        cpu = (time.process_time() - cpu0) * 1000 / requests
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            once()
        profiler.disable()
        print(f"in-process: {cpu:.1f} ms CPU of this process per listing + encoding (without the profiler)")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
    finally:
        engine.dispose()


def run(url: str, tabs: int, requests: int, logdir: Path) -> dict[str, float]:
    with serving(url, logdir / "tabs-list-server.log") as (server, client):
        seed_tabs(client, tabs)
        result = time_http(client, url, server.pid, tabs, requests)
    if os.environ.get("BENCH_PROFILE"):
        profile_parts(url, tabs, requests)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common_arguments(parser, DEFAULT_URL)
    parser.add_argument("--tabs", type=int, default=50)
    args = parser.parse_args()
    result = on_fresh_database(args, lambda: run(args.database_url, args.tabs, args.requests, args.logdir))
    load = os.getloadavg()
    print(f"GET {list_path(args.tabs)}, {args.tabs} open tabs x {LINES_PER_TAB} lines, {args.requests} requests "
          f"over one keep-alive connection to `python main.py`: p50 {result['p50']:.1f} ms, p90 "
          f"{result['p90']:.1f} ms, min {result['min']:.1f} ms, max {result['max']:.1f} ms; CPU per request: "
          f"server {result['app_cpu']:.1f} ms, PostgreSQL {result['db_cpu']:.1f} ms "
          f"({result['backends']:.0f} backends)")
    print(f"  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
