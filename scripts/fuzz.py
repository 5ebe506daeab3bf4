"""Property-based fuzzing of the whole HTTP API from its own OpenAPI document (schemathesis).

    .venv/bin/python scripts/fuzz.py                       # starts a server (SQLite, demo data), fuzzes it
    .venv/bin/python scripts/fuzz.py --examples 50 --seed 7
    .venv/bin/python scripts/fuzz.py --database-url postgresql://postgres@127.0.0.1:5432/cafepos_fuzz
    .venv/bin/python scripts/fuzz.py --base-url http://127.0.0.1:8880 --username admin --password password123

Every operation of GET /openapi.json is called with generated requests: valid ones and invalid ones
(as admin) and a few without a token.  Each answer must not be a 5xx, must use a status code and
content type the document declares for that operation, and must match the documented body schema.
Boundary values (scripts/fuzz_strategies.py) are swapped into every query parameter and top-level JSON
field whose name says it is a date, a number or free text (`boundary_hooks`), so out-of-calendar dates,
2**63 and "²" are tried everywhere, not only what the JSON Schema alone would suggest.
Prints the operations tried, the requests sent, the 5xx found and the contract violations; exits 1 when
any was found.  `run_fuzz()` is also what tests/test_fuzz_schemathesis.py runs (a CI-sized budget).
Only ever talks to the server it is given (loopback by default).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup

if __package__ in (None, ""):  # run as a script: make `scripts.` importable like under pytest
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts import fuzz_strategies as boundaries

ROOT = Path(__file__).resolve().parents[1]
# Lenient by design, so not checked: empty query values mean "not given" (negative_data_rejection), and
# cross-field rules such as "username and password, or pinCode" are not in the JSON Schema
# (positive_data_acceptance).  5xx are judged below instead of by not_a_server_error: a 503 in the
# envelope (database not reachable yet, no SMTP server) is a declared answer, every other 5xx is a bug.
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
DECLARED_5XX = {503}
# An error answer must not show internals (API.md: no SQL, no traceback).
LEAKS = re.compile(r"Traceback \(most recent|File \"/|sqlalchemy\.|psycopg|sqlite3\.|\[SQL: |INSERT INTO |"
                   r"\bSELECT\b[^\"]{1,200}\bFROM\b")
# Revokes the fuzzing token: run last so it cannot blind the operations after it.
LAST = {"POST /auth/logout"}
ParamsFor = Callable[[Any], dict[str, str] | None]


@dataclass
class Finding:
    operation: str
    mode: str
    status: int
    problems: list[str]
    request: str
    response: str

    def __str__(self) -> str:
        return (f"{self.operation} [{self.mode}] -> {self.status}: {'; '.join(self.problems)}\n"
                f"    request:  {self.request}\n    response: {self.response}")


@dataclass
class FuzzReport:
    operations: list[str] = field(default_factory=list)
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[Finding] = field(default_factory=list)
    violations: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.server_errors and not self.violations

    def summary(self) -> str:
        lines = [f"operations tried: {len(self.operations)}", f"requests sent: {self.requests}",
                 f"statuses: {dict(sorted(self.statuses.items()))}",
                 f"5xx found: {len(self.server_errors)}", f"contract violations: {len(self.violations)}",
                 f"time: {self.seconds:.1f}s"]
        for title, found in (("5xx", self.server_errors), ("contract violations", self.violations)):
            if found:
                lines.append(f"--- {title} ---")
                lines += [str(f) for f in found]
        return "\n".join(lines)


def _describe(case: Any, response: requests.Response | None) -> tuple[str, str]:
    req = response.request if response is not None else None
    body = getattr(req, "body", None) or b""
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    request = f"{case.method.upper()} {req.url if req else case.formatted_path} body={body[:300]!r}"
    answer = response.content[:300].decode("utf-8", "replace") if response is not None else "(no response)"
    return request, answer


def _problems(exc: BaseException) -> list[str]:
    failures = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
    out = []
    for f in failures:
        if isinstance(f, Failure):
            detail = f.message.strip().splitlines()[0] if f.message.strip() else ""
            out.append(f"{f.code} {f.title}" + (f" ({detail})" if detail else ""))
        else:
            out.append(f"{type(f).__name__}: {f}")
    return out


def _fuzz_operation(op: Any, *, base_url: str, headers: dict[str, str], mode: GenerationMode, label: str,
                    max_examples: int, seed_value: int, path_parameters: dict[str, str] | None,
                    report: FuzzReport, seen: set[tuple[str, str, int, str]]) -> None:
    name = f"{op.method.upper()} {op.path}"
    strategy = op.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @seed(seed_value)
    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=strategy)
    def one(case: Any) -> None:
        try:
            response = case.call(base_url=base_url, headers=headers, timeout=30, allow_redirects=False)
        except requests.RequestException as exc:  # the server dropped us: as bad as a 500
            request, _ = _describe(case, None)
            report.server_errors.append(Finding(name, label, 0, [f"no answer: {type(exc).__name__}"], request, ""))
            return
        report.requests += 1
        report.statuses[response.status_code] += 1
        problems: list[str] = []
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (FailureGroup, Failure) as exc:
            problems = _problems(exc)
        if response.status_code >= 400 and LEAKS.search(response.text):
            problems.append("error answer shows internals (SQL or a traceback)")
        server_error = response.status_code >= 500 and response.status_code not in DECLARED_5XX
        if server_error:
            problems.insert(0, f"server error {response.status_code}")
        if not problems:
            return
        key = (name, label, response.status_code, problems[0])
        if key in seen:  # one report per kind of problem and operation
            return
        seen.add(key)
        request, answer = _describe(case, response)
        finding = Finding(name, label, response.status_code, problems, request, answer)
        (report.server_errors if server_error else report.violations).append(finding)

    one()


def boundary_hooks(schema: Any) -> None:
    """Swap boundary values into the query parameters and top-level JSON fields of known kinds."""
    from hypothesis import strategies as st

    @schema.hook
    def flatmap_query(context: Any, query: dict[str, Any] | None) -> Any:
        declared = [p.name for p in context.operation.query] if context.operation is not None else []
        return boundaries.with_boundaries(dict(query or {}), boundaries.for_query, declared=declared)

    @schema.hook
    def flatmap_body(context: Any, body: Any) -> Any:
        if not isinstance(body, dict):
            return st.just(body)
        return boundaries.with_boundaries(body, boundaries.for_json)


def run_fuzz(base_url: str, *, token: str | None, max_examples: int = 5, anonymous_examples: int = 2,
             seed_value: int = 20261123, params_for: ParamsFor | None = None, skip: Iterable[str] = (),
             time_budget: float | None = None, log: Callable[[str], None] | None = None) -> FuzzReport:
    """Fuzz every operation: valid and invalid requests with `token`, then a few without one.

    `params_for(operation)` may give real path parameters (ids that exist) for an operation; it is then
    fuzzed once with them and once with generated ones.  Blocking (requests): run it in a thread when
    the server shares this thread's event loop.
    """
    started = time.monotonic()
    doc = requests.get(base_url.rstrip("/") + "/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(doc)
    boundary_hooks(schema)
    operations = [r.ok() for r in schema.get_all_operations()]
    skipped = set(skip)
    operations = [op for op in operations if f"{op.method.upper()} {op.path}" not in skipped]
    operations.sort(key=lambda op: f"{op.method.upper()} {op.path}" in LAST)
    report = FuzzReport()
    seen: set[tuple[str, str, int, str]] = set()
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    for index, op in enumerate(operations):
        if time_budget is not None and time.monotonic() - started > time_budget:
            if log:
                log(f"time budget spent after {index} operations")
            break
        name = f"{op.method.upper()} {op.path}"
        report.operations.append(name)
        known = params_for(op) if params_for else None
        runs: list[tuple[str, dict[str, str], GenerationMode, dict[str, str] | None, int]] = []
        if token:
            runs.append(("valid", auth, GenerationMode.POSITIVE, None, max_examples))
            if known:
                runs.append(("valid, real ids", auth, GenerationMode.POSITIVE, known, max_examples))
            runs.append(("invalid", auth, GenerationMode.NEGATIVE, known, max_examples))
        if anonymous_examples:
            runs.append(("no token", {}, GenerationMode.POSITIVE, None, anonymous_examples))
        for label, headers, mode, path_parameters, examples in runs:
            try:
                _fuzz_operation(op, base_url=base_url, headers=headers, mode=mode, label=label,
                                max_examples=examples, seed_value=seed_value + index, path_parameters=path_parameters,
                                report=report, seen=seen)
            except Exception as exc:  # schemathesis could not build a request (e.g. unsatisfiable negative)
                if log:
                    log(f"{name} [{label}]: not generated ({type(exc).__name__}: {str(exc)[:120]})")
        if log:
            log(f"{name}: {report.requests} requests so far")
    report.seconds = time.monotonic() - started
    return report


# ---- the standalone long run -----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(base_url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if requests.get(base_url + "/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become healthy in time")


def login(base_url: str, username: str, password: str) -> str:
    resp = requests.post(base_url + "/auth/login", json={"username": username, "password": password}, timeout=30)
    resp.raise_for_status()
    return resp.json()["data"]["token"]


def real_ids(base_url: str, token: str) -> ParamsFor:
    """Path parameters that exist on the server, so fuzzing reaches past the 404s."""
    h = {"Authorization": f"Bearer {token}"}

    def first(path: str, key: str, pick: Callable[[dict], bool] = lambda _r: True) -> str | None:
        try:
            rows = requests.get(base_url + path, headers=h, timeout=30).json()["data"][key]
        except (requests.RequestException, KeyError, ValueError, TypeError):
            return None
        return next((str(r["id"]) for r in rows if pick(r)), None)

    ids = {
        "/menu_items/": first("/menu_items", "menu_items"),
        "/inventory/": first("/inventory", "inventory"),
        "/images/": first("/menu_items", "menu_items"),
        "order_id": first("/orders?perPage=5", "orders"),
        # never the admin the fuzzer signs in as: deactivating it would end the run
        "user_id": first("/users", "users", lambda r: r.get("role") == "trainee"),
        "role_id": first("/roles", "roles", lambda r: not r.get("isBuiltIn", r.get("builtIn", False))),
        "shift_id": first("/shifts", "shifts"),
        "store_id": first("/stores", "stores"),
        "alert_id": first("/alerts", "alerts"),
    }
    fixed = {"role": "cashier", "action": "acknowledge", "name": "Coffee"}

    def params_for(op: Any) -> dict[str, str] | None:
        names = [p.name for p in op.path_parameters]
        if not names:
            return None
        out: dict[str, str] = {}
        for n in names:
            value = ids.get(n) or fixed.get(n)
            if n == "item_id":
                value = next((v for prefix, v in ids.items() if op.path.startswith(prefix) and v), None)
            if value is None:
                return None
            out[n] = value
        return out

    return params_for


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", help="fuzz this running server instead of starting one")
    ap.add_argument("--database-url", help="database for the started server (default: a new SQLite file)")
    ap.add_argument("--username", default="admin")
    ap.add_argument("--password", default="password123")
    ap.add_argument("--examples", type=int, default=30, help="generated requests per operation and mode")
    ap.add_argument("--anonymous-examples", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--time-budget", type=float, default=None, help="stop starting new operations after N s")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    proc = None
    workdir = tempfile.mkdtemp(prefix="cafepos-fuzz-")
    base_url = args.base_url
    try:
        if base_url is None:
            port = _free_port()
            base_url = f"http://127.0.0.1:{port}"
            env = {**os.environ, "PORT": str(port), "ADDRESS": "127.0.0.1", "SEED_DEMO_DATA": "true",
                   "DATABASE_URL": args.database_url or f"sqlite:///{workdir}/fuzz.db",
                   "UPLOADS_DIR": f"{workdir}/uploads", "BCRYPT_ROUNDS": "4", "SMTP_SERVER": "",
                   "LOGIN_RATE_LIMIT_PER_MINUTE": "100000", "LOG_LEVEL": "WARNING"}
            with open(Path(workdir) / "server.log", "w") as log_file:  # the child keeps its own descriptor
                proc = subprocess.Popen([sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=env,
                                        stdout=log_file, stderr=subprocess.STDOUT)
            print(f"server: {base_url} (log {workdir}/server.log); seeding demo data can take a minute")
            _wait_healthy(base_url, proc)
        token = login(base_url, args.username, args.password)
        report = run_fuzz(base_url, token=token, max_examples=args.examples,
                          anonymous_examples=args.anonymous_examples, seed_value=args.seed,
                          params_for=real_ids(base_url, token), time_budget=args.time_budget,
                          log=None if args.quiet else print)
        print(report.summary())
        return 0 if report.ok else 1
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
