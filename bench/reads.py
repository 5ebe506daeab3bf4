"""Cached reads against their bare yardsticks (issue 17): GET /menu_items and GET /health.

    .venv/bin/python bench/reads.py                     # PostgreSQL, 1 process, wrk -c32 -d10s, 3 rounds
    .venv/bin/python bench/reads.py --rounds 1 --duration 5 --database-url postgresql://...

Creates (and drops) its database, seeds staff, stock and the 50-item menu like bench/run.py,
starts the real server (python main.py, WORKERS=1) and bench/bare_server.py with the very bytes
the server answered (GET /menu_items as the cashier, GET /health), then measures them
interleaved - bare, CafePOS, bare, CafePOS - so both see the same machine.  Prints each figure
and the ratio CafePOS / bare of the medians; writes bench/results/reads.json.

`measure_reads(url, ...)` is the function bench/run.py may call to put the rows in its table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import dataset  # noqa: E402
from bench.client import Api  # noqa: E402
from bench.procs import Server, free_port  # noqa: E402
from bench.wrkrun import run_wrk  # noqa: E402

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/cafepos_bench_reads"
RESULTS = REPO / "bench" / "results"


def cafepos_server(url: str, workdir: Path) -> Server:
    port = free_port()
    env = dict(os.environ)
    env.update(DATABASE_URL=url, PORT=str(port), ADDRESS="127.0.0.1", WORKERS="1", AUTO_MIGRATE="true",
               SEED_DEMO_DATA="false", PYTHONUNBUFFERED="1")
    return Server("cafepos W=1", [sys.executable, str(REPO / "main.py")], env, port,
                  workdir / "logs" / "reads-server.log", cwd=REPO)


def bare_server(menu_file: Path, health_file: Path, workdir: Path) -> Server:
    port = free_port()
    argv = [sys.executable, str(REPO / "bench" / "bare_server.py"), "--port", str(port),
            "--menu-file", str(menu_file), "--health-file", str(health_file)]
    return Server("bare W=1", argv, dict(os.environ), port, workdir / "logs" / "reads-bare.log", cwd=REPO)


def measure_reads(url: str, *, workdir: Path, duration: float = 10.0, connections: int = 32, threads: int = 2,
                  rounds: int = 3, log=print) -> dict:
    """The figures and ratios; the database at `url` is recreated and seeded."""
    dataset.recreate_database(url)
    dataset.seed_staff(url)
    stock = dataset.seed_stock(url)
    lua = workdir / "lua"
    lua.mkdir(parents=True, exist_ok=True)
    app = cafepos_server(url, workdir)
    app.start()
    bare: Server | None = None
    try:
        admin = Api(app.base_url)
        admin.login("admin", dataset.DEMO_PASSWORD)
        dataset.seed_menu(admin, stock)
        cashier = Api(app.base_url)
        cashier.login("cashier", dataset.DEMO_PASSWORD)
        _, headers, menu = cashier.raw("GET", "/menu_items")
        etag = next((v for k, v in headers.items() if k.lower() == "etag"), None)
        _, _, health = Api(app.base_url).raw("GET", "/health")
        (workdir / "reads-menu.json").write_bytes(menu)
        (workdir / "reads-health.json").write_bytes(health)
        log(f"menu {len(menu):,} bytes ({len(dataset.load_catalogue(cashier).menu)} items), "
            f"health {len(health)} bytes, ETag {etag}")
        bare = bare_server(workdir / "reads-menu.json", workdir / "reads-health.json", workdir)
        bare.start()
        auth = {"Authorization": f"Bearer {cashier.token}"}
        pairs = {
            "menu_items": ((bare.base_url + "/menu", {}), (app.base_url + "/menu_items", auth)),
            "menu_items_304": ((bare.base_url + "/menu", {}),
                               (app.base_url + "/menu_items", {**auth, "If-None-Match": etag or ""})),
            "health": ((bare.base_url + "/health_bytes", {}), (app.base_url + "/health", {})),
        }
        runs: dict[str, dict[str, list[float]]] = {k: {"bare": [], "cafepos": []} for k in pairs}
        # Server CPU per answer (process CPU time / requests): steadier than req/s when other
        # work shares the machine; its inverse ratio is what req/s would be on an idle one.
        cpu_us: dict[str, dict[str, list[float]]] = {k: {"bare": [], "cafepos": []} for k in pairs}
        for name, ((bare_url, bare_h), (app_url, app_h)) in pairs.items():  # warm both
            run_wrk(f"{name}-warm", app_url, duration=2, connections=connections, threads=threads,
                    workdir=lua, headers=app_h)
            run_wrk(f"{name}-warm-bare", bare_url, duration=2, connections=connections, threads=threads,
                    workdir=lua, headers=bare_h)
        for r in range(rounds):
            for name, ((bare_url, bare_h), (app_url, app_h)) in pairs.items():
                for side, u, h in (("bare", bare_url, bare_h), ("cafepos", app_url, app_h)):
                    server = bare if side == "bare" else app
                    server.begin_window()
                    fig = run_wrk(f"{name}-{side}", u, duration=duration, connections=connections,
                                  threads=threads, workdir=lua, headers=h)
                    used = sum(server.end_window().values())
                    expected = "304" if name.endswith("304") and side == "cafepos" else "200"
                    wrong = {s: n for s, n in fig.statuses.items() if s != expected}
                    if wrong or any(fig.socket_errors.values()):
                        raise RuntimeError(f"{name} {side}: statuses {fig.statuses} errors {fig.socket_errors}")
                    runs[name][side].append(fig.rps)
                    cpu_us[name][side].append(round(used / max(1, fig.requests) * 1e6, 1))
                    log(f"  round {r + 1} {name:<15} {side:<8} {fig.rps:>9,.1f} req/s  p50 {fig.p50_ms:.2f} ms  "
                        f"server CPU {cpu_us[name][side][-1]:.0f} us/req")
    finally:
        if bare is not None:
            bare.stop()
        app.stop()
    out = {"connections": connections, "duration_s": duration, "rounds": rounds, "workers": 1,
           "menu_bytes": len(menu), "health_bytes": len(health), "figures": {}}
    for name, sides in runs.items():
        b, c = statistics.median(sides["bare"]), statistics.median(sides["cafepos"])
        bc, cc = statistics.median(cpu_us[name]["bare"]), statistics.median(cpu_us[name]["cafepos"])
        out["figures"][name] = {"bare_rps": b, "cafepos_rps": c, "ratio": round(c / b, 3) if b else None,
                                "bare_cpu_us": bc, "cafepos_cpu_us": cc,
                                "cpu_ratio": round(bc / cc, 3) if cc else None, "runs": sides, "cpu_us": cpu_us[name]}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("BENCH_READS_DATABASE_URL", DEFAULT_DB))
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--output", type=Path, default=RESULTS / "reads.json")
    p.add_argument("--keep-db", action="store_true")
    a = p.parse_args(argv)
    a.output.parent.mkdir(parents=True, exist_ok=True)
    try:
        out = measure_reads(a.database_url, workdir=a.output.parent, duration=a.duration,
                            connections=a.connections, threads=a.threads, rounds=a.rounds)
    finally:
        if not a.keep_db:
            dataset.drop_database(a.database_url)
    a.output.write_text(json.dumps(out, indent=2))
    print(f"\n{'scenario':<16}{'bare req/s':>12}{'CafePOS req/s':>15}{'ratio':>8}"
          f"{'bare us/req':>13}{'CafePOS us/req':>16}{'CPU ratio':>11}")
    for name, f in out["figures"].items():
        print(f"{name:<16}{f['bare_rps']:>12,.1f}{f['cafepos_rps']:>15,.1f}{f['ratio']:>8.3f}"
              f"{f['bare_cpu_us']:>13,.0f}{f['cafepos_cpu_us']:>16,.0f}{f['cpu_ratio']:>11.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
