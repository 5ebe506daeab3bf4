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
from datetime import date
from decimal import Decimal
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

SCENARIOS = {"orders", "orders_c1", "stores", "menu_items", "menu_304", "health", "peer_orders", "bare_menu",
             "bare_health", "orders_w2"}
REPORTS = {"dashboard_30d", "dashboard_365d", "daily_sales"}


def _bench_url() -> str:
    parts = urlsplit(PG_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/cafepos_bench_smoke_{os.getpid()}", parts.query, ""))


@pytest.mark.timeout(600)
def test_quick_run_writes_checked_figures(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--database-url", _bench_url(),
         "--output", str(out), "--orders-history", "100,300"],
        cwd=ROOT, capture_output=True, text=True, timeout=580,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert len(list(tmp_path.glob("bench-*.json"))) == 1  # the timestamped copy CI keeps

    assert {"meta", "options", "table", "rounds", "figures", "reports", "history", "startup", "rss_mb",
            "workers_check", "profiles", "skipped", "sellers"} <= results.keys()
    assert results["skipped"] == []
    assert results["meta"]["cpus"] >= 1 and results["meta"]["postgres"] and results["meta"]["completed"]
    assert 0 < results["meta"]["total_seconds"] < 600

    figures = results["figures"]
    assert {f["scenario"] for f in figures} == SCENARIOS
    for fig in figures:
        assert fig["ok"], (fig["scenario"], fig["problems"])
        assert fig["requests"] > 0 and fig["non_2xx"] == 0
        assert {"rps", "p50_ms", "p99_ms", "statuses", "socket_errors", "connections", "round"} <= fig.keys()
    for fig in (f for f in figures if f["scenario"] in ("orders", "orders_c1", "stores", "orders_w2", "peer_orders")):
        in_db = fig["extra"]["orders_in_db"]
        assert set(fig["statuses"]) == {"201"}
        assert in_db["responses_201"] == fig["requests"]
        assert in_db["responses_201"] <= in_db["delta"] <= in_db["responses_201"] + fig["connections"]
    assert {s for f in figures if f["scenario"] == "menu_304" for s in f["statuses"]} == {"304"}
    stores = next(f for f in figures if f["scenario"] == "stores")
    assert len(stores["extra"]["parts"]) == 4 and results["sellers"]["stores"] == 4

    # Ratios are taken within the round.
    assert set(results["rounds"][0]["ratios"]) >= {"orders_vs_peer", "stores_vs_one", "w2_vs_w1", "menu_vs_bare",
                                                   "health_vs_bare", "menu304_vs_bare_health"}

    reports = results["reports"]
    assert {(r["scenario"], r["history"]) for r in reports} == {(s, h) for s in REPORTS for h in (100, 300)}
    for r in reports:
        assert r["ok"] and r["requests"] >= 5 and r["p50_ms"] > 0, r
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
    assert {"main", "worker0", "worker1"} <= set(results["rss_mb"]["workers=2"])

    table = results["table"]
    assert len(table) == 17
    for row in table:
        assert {"figure", "value", "unit", "target", "limit", "ratio", "pass", "note"} <= row.keys()
        assert row["value"] is not None, row["figure"]  # every figure was measured
    assert "figure" in proc.stdout and "ratio" in proc.stdout


def test_history_bulk_load_keeps_every_index(tmp_path: Path) -> None:
    """The bulk load drops secondary indexes and unique constraints and must put back exactly the same."""
    from sqlalchemy import create_engine, text

    from bench import dataset
    from bench.history import HISTORY_TABLES, HistoryLoader, MenuRow
    from orm.db import normalise_url

    url = _bench_url() + "_idx"
    dataset.recreate_database(url)
    engine = create_engine(normalise_url(url))
    try:
        dataset.seed_staff(url)
        with engine.begin() as conn:
            item = conn.execute(text("SELECT id FROM menu_items LIMIT 1")).scalar()
        if item is None:  # no demo menu in the bench seed: one item by SQL is enough here
            from orm.column_types import new_id
            from orm.models import Base

            item = new_id()
            with engine.begin() as conn:
                conn.execute(Base.metadata.tables["menu_items"].insert(),
                             [{"id": item, "name": "Bench", "size": "", "price": Decimal("2.50")}])
        query = text("SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
                     "WHERE indrelid::regclass::text = ANY(:t) ORDER BY 1")
        with engine.connect() as conn:
            before = conn.execute(query, {"t": list(HISTORY_TABLES)}).all()
        loader = HistoryLoader(url, [MenuRow(item, "Bench", "", "", Decimal("2.50"), Decimal("0.08"))], per_day=50,
                               yesterday=date(2026, 12, 1), tz="UTC", log=lambda _: None)
        info = loader.grow_to(60_000)
        loader.close()
        with engine.connect() as conn:
            after = conn.execute(query, {"t": list(HISTORY_TABLES)}).all()
            assert conn.scalar(text("SELECT count(*) FROM orders")) == 60_000
        assert info["bulk"] and info["indexes_rebuilt"] > 0
        assert after == before
    finally:
        engine.dispose()
        dataset.drop_database(url)
