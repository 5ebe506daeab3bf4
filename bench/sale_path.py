"""POST /orders only, A/B: the sale path's figures for one checkout (or another, via --repo).

Builds the bench database once (staff, stock, the bench menu: the order is 3 lines with
modifiers whose recipes touch 7 ingredients, cash, a fresh Idempotency-Key per request), then
for each round starts `main.py` of --repo with the given extra environment and measures wrk -c32
and -c1 against it. Rounds alternate between the variants, so load from other processes on the
machine falls on all of them alike.

    .venv/bin/python bench/sale_path.py --variant new= --variant old=@/path/to/other/checkout \\
        --variant pool2=DB_POOL_SIZE=2 --rounds 2 --duration 10
A variant is NAME=[@REPO][,KEY=VALUE...].
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import dataset  # noqa: E402
from bench.client import Api  # noqa: E402
from bench.procs import Server, cpu_seconds, free_port  # noqa: E402
from bench.scenarios import orders_prelude  # noqa: E402
from bench.wrkrun import run_wrk  # noqa: E402


def server(repo: Path, url: str, env_extra: dict[str, str], log: Path) -> Server:
    env = dict(os.environ)
    port = free_port()
    env.update(DATABASE_URL=url, PORT=str(port), ADDRESS="127.0.0.1", WORKERS="1", AUTO_MIGRATE="true",
               SEED_DEMO_DATA="false", PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING", **env_extra)
    return Server(f"cafepos {log.stem}", [sys.executable, str(repo / "main.py")], env, port, log, cwd=repo)


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL server processes serving the bench database now (the app's pooled connections)."""
    from sqlalchemy import create_engine, text

    from orm.db import normalise_url

    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return [int(pid) for pid in conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'cafepos' AND pid <> pg_backend_pid()")).scalars()]
    finally:
        engine.dispose()


def cpu_of(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) or 0.0 for pid in pids)


def parse_variant(text: str) -> tuple[str, Path, dict[str, str]]:
    name, _, rest = text.partition("=")
    repo, env = REPO, {}
    for part in filter(None, rest.split(",")):
        if part.startswith("@"):
            repo = Path(part[1:])
        else:
            key, _, value = part.partition("=")
            env[key] = value
    return name, repo, env


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/cafepos_bench_sale")
    p.add_argument("--variant", action="append", required=True)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--connections", default="32,1")
    args = p.parse_args()
    url = args.database_url
    work = Path(tempfile.mkdtemp(prefix="sale-path-"))
    dataset.recreate_database(url)
    dataset.seed_staff(url)
    stock = dataset.seed_stock(url)
    variants = [parse_variant(v) for v in args.variant]
    setup = server(variants[0][1], url, variants[0][2], work / "setup.log")
    setup.start()
    try:
        admin = Api(setup.base_url)
        admin.login("admin", dataset.DEMO_PASSWORD)
        dataset.seed_menu(admin, stock)
        cashier = Api(setup.base_url)
        token = cashier.login("cashier", dataset.DEMO_PASSWORD)
        body = dataset.load_catalogue(cashier).order_body
        cashier.call("POST", "/orders", body, {"Idempotency-Key": "sale-path-sanity"})
    finally:
        setup.stop()
    results: dict[str, dict[int, list[dict]]] = {name: {} for name, _, _ in variants}
    for rnd in range(args.rounds):
        for name, repo, env in variants:
            srv = server(repo, url, env, work / f"{name}-{rnd}.log")
            srv.start()
            try:
                api = Api(srv.base_url)
                token = api.login("cashier", dataset.DEMO_PASSWORD)
                for conns in (int(c) for c in args.connections.split(",")):
                    run_wrk("warmup", srv.base_url + "/orders", duration=2, connections=conns, threads=2,
                            workdir=work, headers={"Authorization": f"Bearer {token}"},
                            prelude=orders_prelude(body))
                    # CPU per sale (app process, PostgreSQL backends): steadier than rates on a busy machine.
                    app = [p for p in srv.pids()]
                    pg = backend_pids(url)
                    app_cpu, pg_cpu = cpu_of(app), cpu_of(pg)
                    fig = run_wrk(f"{name}-c{conns}", srv.base_url + "/orders", duration=args.duration,
                                  connections=conns, threads=2, workdir=work,
                                  headers={"Authorization": f"Bearer {token}"}, prelude=orders_prelude(body))
                    app_ms = 1000 * (cpu_of(app) - app_cpu) / max(1, fig.requests)
                    pg_ms = 1000 * (cpu_of(pg) - pg_cpu) / max(1, fig.requests)
                    row = {"rps": fig.rps, "p50": fig.p50_ms, "p99": fig.p99_ms, "errors": fig.problems,
                           "app_cpu_ms": app_ms, "pg_cpu_ms": pg_ms}
                    results[name].setdefault(conns, []).append(row)
                    print(f"round {rnd} {name:<10} c{conns:<3} {fig.rps:8.1f}/s p50 {fig.p50_ms:6.1f} ms "
                          f"p99 {fig.p99_ms:7.1f} ms  cpu/sale app {app_ms:5.2f} ms pg {pg_ms:5.2f} ms "
                          f"{'OK' if fig.ok else fig.problems}", flush=True)
            finally:
                srv.stop()
            time.sleep(1)
    print("median over rounds:")
    for name, by_conns in results.items():
        for conns, rows in by_conns.items():
            print(f"  {name:<10} c{conns:<3} {statistics.median(r['rps'] for r in rows):8.1f}/s "
                  f"p50 {statistics.median(r['p50'] for r in rows):6.1f} ms "
                  f"p99 {statistics.median(r['p99'] for r in rows):7.1f} ms  cpu/sale app "
                  f"{statistics.median(r['app_cpu_ms'] for r in rows):5.2f} ms pg "
                  f"{statistics.median(r['pg_cpu_ms'] for r in rows):5.2f} ms")
    (work / "results.json").write_text(json.dumps(results, indent=1))
    print(f"raw: {work / 'results.json'}")


if __name__ == "__main__":
    main()
