"""Crash safety: an order load against a real server process (python main.py) on PostgreSQL,
interrupted by kill -9 and by SIGTERM, then checked from the database after a restart.

    .venv/bin/python scripts/crash_test.py                     # PostgreSQL on 127.0.0.1:5432 (user postgres)
    .venv/bin/python scripts/crash_test.py --admin-url postgresql://postgres@127.0.0.1:5432/postgres \
        --workers 16 --acks-before-signal 200

A new database is created for the run (and dropped afterwards unless --keep).  Each phase:
  1. start the server; tills (threads) sell orders with an Idempotency-Key each;
  2. after N acknowledged orders, kill -9 (phase "kill") or SIGTERM (phase "term") the server;
  3. restart it and check:
     - every order acknowledged with 201 exists and is complete (lines, payments covering the total,
       its journal entry, and stock movements for every line with a recipe);
     - no partial order exists at all (an order without lines, payments or journal entry);
     - GET /journal/verify is valid; every stock level equals the sum of its movements; counted
       goods (stockCount) went down by exactly what the orders sold;
     - requests that got no answer ("unknown outcome") are resolved by sending them again with the
       same Idempotency-Key: a committed one answers with its original order, never a second one;
     - SIGTERM only: every request the server accepted was answered (no committed order whose till
       saw an error), no 5xx, and the process exited 0.  New connections being refused is fine.
Prints operations tried, acknowledged vs found, unknown outcomes and how they resolved; exits 1 on
any violation.  Traffic goes to 127.0.0.1 only; the load is bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orm.db import make_engine  # noqa: E402
from orm.models.model_orders import OrderItem  # noqa: E402
from scripts.crash_db import check_database, committed_keys, create_database, drop_database, prepare  # noqa: E402

PASSWORD = "password123"
MAX_LOAD_SECONDS = 120  # a phase's load stops by itself even if the signal never comes


# ---- server ---------------------------------------------------------------------------

class Server:
    def __init__(self, url: str, workdir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": url, "PORT": str(self.port), "ADDRESS": "127.0.0.1",
                    "UPLOADS_DIR": str(workdir / "uploads"), "BCRYPT_ROUNDS": "4", "SMTP_SERVER": "",
                    "JWT_SECRET": "crash-test-secret-0123456789abcdefghij", "PIN_PEPPER": "crash-pepper",
                    "LOGIN_RATE_LIMIT_PER_MINUTE": "100000", "LOG_LEVEL": "WARNING", "SEED_DEMO_DATA": "false",
                    "SHUTDOWN_GRACE_SECONDS": "15", "WORKERS": "1"}
        self.log = workdir / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "a") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode}; see {self.log}")
            try:
                if requests.get(self.base + "/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise SystemExit("server did not become healthy")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 60) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# ---- the load ----------------------------------------------------------------------------------------

@dataclass
class Attempt:
    key: str
    body: dict[str, Any]
    status: int | None = None  # None: no answer
    order_id: str | None = None
    error: str | None = None  # refused | reset | timeout
    sent_before_signal: bool = True


@dataclass
class Load:
    base: str
    token: str
    catalogue: list[dict[str, Any]]
    phase: str
    attempts: list[Attempt] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    signalled: threading.Event = field(default_factory=threading.Event)
    in_flight: int = 0
    in_flight_at_signal: int = 0
    after_signal: float = 0.5

    @property
    def acked(self) -> list[Attempt]:
        return [a for a in self.attempts if a.status == 201]

    def body(self, rng: random.Random) -> dict[str, Any]:
        lines = [{"menuItemId": rng.choice(self.catalogue)["id"], "quantity": rng.randint(1, 2)}
                 for _ in range(rng.randint(1, 3))]
        return {"items": lines, "payments": [{"method": "card"}], "orderNotes": f"crash test {self.phase}"}

    def till(self, n: int) -> None:
        rng = random.Random(n)
        session = requests.Session()
        headers = {"Authorization": f"Bearer {self.token}"}
        started = time.monotonic()
        i = 0
        while not self.stop.is_set() and time.monotonic() - started < MAX_LOAD_SECONDS:
            i += 1
            attempt = Attempt(key=f"{self.phase}-{n}-{i}-{uuid.uuid4().hex[:6]}", body=self.body(rng))
            attempt.sent_before_signal = not self.signalled.is_set()
            with self.lock:
                self.attempts.append(attempt)
                self.in_flight += 1
            try:
                resp = session.post(self.base + "/orders", json=attempt.body, timeout=60,
                                    headers={**headers, "Idempotency-Key": attempt.key})
                attempt.status = resp.status_code
                if resp.status_code == 201:
                    attempt.order_id = resp.json()["data"]["order"]["id"]
            except requests.ConnectionError as exc:
                attempt.error = "refused" if "refused" in str(exc).lower() else "reset"
            except requests.Timeout:
                attempt.error = "timeout"
            finally:
                with self.lock:
                    self.in_flight -= 1
            if attempt.error:
                break  # the server is gone; this till stops
        session.close()

    def run_until(self, acks: int, then: Any, workers: int) -> None:
        threads = [threading.Thread(target=self.till, args=(n,), daemon=True) for n in range(workers)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + MAX_LOAD_SECONDS
        while len(self.acked) < acks and time.monotonic() < deadline and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        with self.lock:
            self.in_flight_at_signal = self.in_flight
            self.signalled.set()
        then()
        time.sleep(self.after_signal)  # keep selling after the signal: those are new requests
        self.stop.set()
        for t in threads:
            t.join(90)


def login(base: str) -> str:
    resp = requests.post(base + "/auth/login", json={"username": "cashier", "password": PASSWORD}, timeout=30)
    resp.raise_for_status()
    return resp.json()["data"]["token"]


def sellable(base: str, token: str) -> list[dict[str, Any]]:
    """Active items that need no modifier choice (so every generated basket is valid)."""
    items = requests.get(base + "/menu_items", headers={"Authorization": f"Bearer {token}"},
                         timeout=30).json()["data"]["menu_items"]
    return [i for i in items if i["isActive"] and all(g["minSelect"] == 0 for g in i["modifierGroups"])]


def run_phase(name: str, sig: int, url: str, workdir: Path, workers: int, acks: int,
              after_signal: float, grace: float) -> tuple[list[str], str]:
    server = Server(url, workdir)
    server.env["SHUTDOWN_GRACE_SECONDS"] = str(grace)
    server.start()
    try:
        token = login(server.base)
        catalogue = sellable(server.base, token)
        counted_before = {i["id"]: i["stockCount"] for i in requests.get(
            server.base + "/menu_items", headers={"Authorization": f"Bearer {token}"}, timeout=30,
        ).json()["data"]["menu_items"] if i["stockCount"] is not None}
        engine = make_engine(url, pooled=False)
        with engine.connect() as conn:
            sold_before = dict(conn.execute(select(OrderItem.menu_item_id, func.sum(OrderItem.quantity))
                                            .group_by(OrderItem.menu_item_id)).all())
        engine.dispose()
        # check_database compares with everything ever sold, so fold earlier phases into the baseline
        counted_before = {k: v + int(sold_before.get(k) or 0) for k, v in counted_before.items()}
        load = Load(server.base, token, catalogue, name, after_signal=after_signal)
        load.run_until(acks, lambda: server.signal(sig), workers)
        exit_code = server.wait(60)
    finally:
        server.stop()
    problems: list[str] = []
    if sig == signal.SIGTERM and exit_code != 0:
        problems.append(f"server exited with {exit_code} after SIGTERM")
    unknown = [a for a in load.attempts if a.status is None]
    committed = committed_keys(url, [a.key for a in unknown])
    server = Server(url, workdir)  # restart on the same database
    server.start()
    try:
        acked_ids = [a.order_id for a in load.acked if a.order_id]
        problems += check_database(url, acked_ids, counted_before)
        token = login(server.base)
        verify = requests.get(server.base + "/journal/verify", timeout=60,
                              headers={"Authorization": f"Bearer {login_admin(server.base)}"}).json()["data"]
        if not verify["valid"]:
            problems.append(f"journal chain broken: {verify}")
        # Retry every unknown outcome with its key: committed ones must come back as the same order.
        replays, new, bad_retry = 0, 0, 0
        for a in unknown:
            resp = requests.post(server.base + "/orders", json=a.body, timeout=60,
                                 headers={"Authorization": f"Bearer {token}", "Idempotency-Key": a.key})
            if resp.status_code != 201:
                if not (resp.status_code == 409 and a.key not in committed):  # sold out meanwhile is fine
                    bad_retry += 1
                continue
            if a.key in committed:
                replays += resp.json()["data"]["order"]["id"] == committed[a.key]
                bad_retry += resp.json()["data"]["order"]["id"] != committed[a.key]
            else:
                new += 1
        if bad_retry:
            problems.append(f"{bad_retry} retries of unknown outcomes did not return their original order")
        statuses = Counter(a.status for a in load.attempts if a.status is not None)
        errors = Counter(a.error for a in load.attempts if a.error)
        # While shutting down, new requests are answered 503 (try again) and never processed.
        refused_503 = [a for a in load.attempts if a.status == 503]
        server_errors = sum(n for s, n in statuses.items() if s >= 500 and s != 503)
        if server_errors or (refused_503 and sig != signal.SIGTERM):
            problems.append(f"{server_errors + len(refused_503)} answers were 5xx")
        done_anyway = committed_keys(url, [a.key for a in refused_503])
        if done_anyway:
            problems.append(f"{len(done_anyway)} requests answered 503 were processed all the same")
        if sig == signal.SIGTERM:
            lost = [a for a in unknown if a.key in committed]
            if lost:
                problems.append(f"{len(lost)} orders committed after SIGTERM but their tills got no answer")
        found = len(committed_keys(url, [a.key for a in load.acked]))
        problems += check_database(url, acked_ids, counted_before)  # again, after the retries
    finally:
        server.stop()
    summary = (f"[{name}] operations tried {len(load.attempts)}, acknowledged {len(load.acked)}, "
               f"found {found}, statuses {dict(statuses)}, no answer {dict(errors)} "
               f"(in flight at the signal: {load.in_flight_at_signal}); unknown outcomes {len(unknown)}: "
               f"{len(committed)} had committed (retry returned the same order: {replays}), "
               f"{len(unknown) - len(committed)} had not (retry created {new}); server exit code {exit_code}")
    return problems, summary


def login_admin(base: str) -> str:
    resp = requests.post(base + "/auth/login", json={"username": "admin", "password": PASSWORD}, timeout=30)
    resp.raise_for_status()
    return resp.json()["data"]["token"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_admin = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    ap.add_argument("--admin-url", default=default_admin, help="a PostgreSQL URL allowed to CREATE DATABASE")
    ap.add_argument("--workers", type=int, default=12, help="tills selling at once")
    ap.add_argument("--acks-before-signal", type=int, default=150)
    ap.add_argument("--phases", default="kill,term", help="kill, term or both (comma-separated)")
    ap.add_argument("--after-signal", type=float, default=3.0,
                    help="seconds the tills keep selling after the signal (longer than --grace tests a busy shutdown)")
    ap.add_argument("--grace", type=float, default=2.0, help="SHUTDOWN_GRACE_SECONDS of the server")
    ap.add_argument("--keep", action="store_true", help="keep the database for inspection")
    args = ap.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="cafepos-crash-"))
    url = create_database(args.admin_url)
    print(f"database {urlsplit(url).path.lstrip('/')}, server log {workdir / 'server.log'}")
    all_problems: list[str] = []
    try:
        prepare(url, workdir)
        for phase in args.phases.split(","):
            sig = {"kill": signal.SIGKILL, "term": signal.SIGTERM}[phase.strip()]
            problems, summary = run_phase(phase.strip(), sig, url, workdir, args.workers, args.acks_before_signal,
                                          args.after_signal, args.grace)
            print(summary)
            for p in problems:
                print(f"  VIOLATION: {p}")
            all_problems += problems
    finally:
        if not args.keep:
            drop_database(args.admin_url, url)
    print("crash test: " + ("PASSED" if not all_problems else f"FAILED ({len(all_problems)} violations)"))
    return 0 if not all_problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
