"""The benchmark harness runs end to end (bench/run.py --quick): a smoke test, never a timing test.

Needs wrk and PostgreSQL (TEST_DATABASE_URL); the harness creates and drops a
database of its own next to the test database.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="the benchmark needs PostgreSQL (TEST_DATABASE_URL)"),
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed"),
]

SCENARIOS = {"menu_items", "orders", "dashboard_30d", "dashboard_365d", "daily_sales"}


def _bench_url() -> str:
    parts = urlsplit(PG_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/cafepos_bench_smoke_{os.getpid()}", parts.query, ""))


@pytest.mark.timeout(600)
def test_quick_run_writes_checked_figures(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--database-url", _bench_url(),
         "--output", str(out), "--orders-history", "100,300", "--duration", "1", "--warmup", "0",
         "--report-connections", "1", "--workers", "1,2"],
        cwd=ROOT, capture_output=True, text=True, timeout=580,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(out.read_text())

    assert {"meta", "options", "startup", "bare", "figures", "history", "rss_mb", "workers_check",
            "profiles", "skipped", "targets"} <= results.keys()
    assert results["skipped"] == []
    assert results["meta"]["cpus"] >= 1 and results["meta"]["postgres"]

    figures = results["figures"]
    assert {f["scenario"] for f in figures} == SCENARIOS
    assert {(f["scenario"], f["workers"]) for f in figures} >= {(s, w) for s in SCENARIOS for w in (1, 2)}
    for fig in figures + results["bare"]:
        assert fig["ok"], (fig["scenario"], fig["problems"])
        assert fig["requests"] > 0 and fig["non_2xx"] == 0
        assert {"rps", "p50_ms", "p99_ms", "statuses", "socket_errors", "connections"} <= fig.keys()
    for fig in figures:
        assert fig["ratio_to"] in ("bare_small", "bare_menu") and fig["ratio"] > 0

    for fig in (f for f in figures if f["scenario"] == "orders"):
        in_db = fig["extra"]["orders_in_db"]
        assert set(fig["statuses"]) == {"201"}
        assert in_db["responses_201"] == fig["requests"]
        assert in_db["responses_201"] <= in_db["delta"] <= in_db["responses_201"] + fig["connections"]

    assert [h["history_orders"] for h in results["history"]] == [100, 300]
    assert results["history"][-1]["rows"]["order_items"] >= 3 * 300

    # Both workers of WORKERS=2 served, and none outlived SIGTERM to its parent.
    check = results["workers_check"]
    assert check["workers"] == 2 and len(check["processes"]) == 3
    cpu = {key: check["cpu_s_by_process_during_runs"][key] + check["cpu_s_by_process_answering_100_health_checks"][key]
           for key in check["processes"]}
    served = [key for key, used in cpu.items() if key.startswith("worker") and used > 0]
    assert len(served) == 2, check
    assert "orphans_after_sigterm" not in check

    assert {s["workers"] for s in results["startup"]} == {1, 2}
    assert set(results["rss_mb"]) == {"workers=1", "workers=2"}
    assert {"main", "worker0", "worker1"} <= set(results["rss_mb"]["workers=2"])

    targets = {t["target"]: t for t in results["targets"]}
    assert len(targets) == 11
    for t in targets.values():
        assert {"value", "limit", "unit", "pass", "note"} <= t.keys()
        assert t["value"] is not None, t["target"]  # every target was measured
