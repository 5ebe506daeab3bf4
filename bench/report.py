"""Targets (issue 9) and the printed tables."""

from __future__ import annotations

from typing import Any

MB_LIMIT = 150
STARTUP_LIMIT_S = 2.0


def find(results: dict, scenario: str, *, workers: int = 1, history: int | None = None,
         connections: int | None = None) -> dict | None:
    for fig in results["figures"] + results["bare"]:
        if fig["scenario"] != scenario or fig["workers"] != workers:
            continue
        if history is not None and fig.get("history") != history:
            continue
        if connections is not None and fig["connections"] != connections:
            continue
        return fig
    return None


def _target(name: str, value: float | None, limit: float, unit: str, higher_is_better: bool,
            note: str = "") -> dict[str, Any]:
    if value is None:
        return {"target": name, "value": None, "limit": limit, "unit": unit, "pass": None,
                "note": note or "not measured"}
    ok = value >= limit if higher_is_better else value <= limit
    return {"target": name, "value": round(value, 3), "limit": limit, "unit": unit, "pass": ok, "note": note}


def _ratio(a: dict | None, b: dict | None, key: str = "rps") -> float | None:
    if not a or not b or not b[key]:
        return None
    return a[key] / b[key]


def evaluate(results: dict, histories: list[int], report_conns: int) -> list[dict[str, Any]]:
    t: list[dict[str, Any]] = []
    menu = find(results, "menu_items")
    t.append(_target("GET /menu_items req/s >= 0.6 x bare same-bytes", _ratio(menu, find(results, "bare_menu")),
                     0.6, "x", True))
    orders = find(results, "orders")
    t.append(_target("POST /orders req/s >= 0.2 x bare small JSON", _ratio(orders, find(results, "bare_small")),
                     0.2, "x", True))
    t.append(_target("POST /orders p99 <= 50 ms", orders["p99_ms"] if orders else None, 50, "ms", False,
                     f"at {orders['connections']} connections" if orders else ""))
    order_figs = [f for f in results["figures"] if f["scenario"] == "orders"]
    bad = sum(f["non_2xx"] + sum(f["socket_errors"].values()) for f in order_figs)
    missing = [f for f in order_figs if not f["ok"]]
    t.append(_target("POST /orders 0 errors, every 201 in the database", float(bad) if order_figs else None, 0,
                     "errors", False, "; ".join(p for f in missing for p in f["problems"])[:300]))
    if missing and bad == 0:
        t[-1]["pass"] = False
    big, small = (max(histories), min(histories)) if histories else (None, None)
    d30 = find(results, "dashboard_30d", history=big, connections=report_conns)
    d365 = find(results, "dashboard_365d", history=big, connections=report_conns)
    daily = find(results, "daily_sales", history=big, connections=report_conns)
    at = f"{big:,} orders, {report_conns} connection(s)" if big else ""
    t.append(_target("dashboard 30-day p50 <= 100 ms", d30["p50_ms"] if d30 else None, 100, "ms", False, at))
    t.append(_target("dashboard 365-day p50 <= 300 ms", d365["p50_ms"] if d365 else None, 300, "ms", False, at))
    t.append(_target("daily report p50 <= 50 ms", daily["p50_ms"] if daily else None, 50, "ms", False, at))
    d30_small = find(results, "dashboard_30d", history=small, connections=report_conns)
    slowdown = _ratio(d30, d30_small, "p50_ms") if big != small else None
    t.append(_target(f"dashboard 30-day p50 {small or 0:,} -> {big or 0:,} orders <= 1.5x slower", slowdown,
                     1.5, "x", False))
    t.append(_target("WORKERS=2 >= 1.3 x one process on POST /orders",
                     _ratio(find(results, "orders", workers=2), orders), 1.3, "x", True))
    rss = [mb for per_mode in results["rss_mb"].values() for mb in per_mode.values()]
    t.append(_target(f"RSS <= {MB_LIMIT} MB per server process", max(rss) if rss else None, MB_LIMIT, "MB", False,
                     "max over every process and run"))
    starts = [s["seconds"] for s in results["startup"]]
    t.append(_target(f"start-up to a healthy /health <= {STARTUP_LIMIT_S:g} s", max(starts) if starts else None,
                     STARTUP_LIMIT_S, "s", False, f"max of {len(starts)} starts"))
    return t


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def figures_table(results: dict) -> str:
    head = ("scenario", "W", "history", "conn", "req/s", "p50 ms", "p99 ms", "vs bare", "checks")
    rows = [head]
    for fig in results["bare"] + results["figures"]:
        ratio = fig.get("ratio")
        rows.append((fig["scenario"], str(fig["workers"]), _fmt(fig.get("history")), str(fig["connections"]),
                     _fmt(fig["rps"]), _fmt(fig["p50_ms"], 2), _fmt(fig["p99_ms"], 2),
                     f"{ratio:.2f}x {fig.get('ratio_to', '')}" if ratio is not None else "",
                     ("ok" if fig["ok"] else "FAIL: " + "; ".join(fig["problems"])[:120])
                     + (f" (noisy: {fig['noise']})" if fig.get("noise") else "")))
    return _table(rows)


def targets_table(targets: list[dict[str, Any]]) -> str:
    rows = [("target", "measured", "result", "note")]
    for t in targets:
        verdict = "n/a" if t["pass"] is None else ("PASS" if t["pass"] else "FAIL")
        rows.append((t["target"], f"{_fmt(t['value'], 2)} {t['unit']}" if t["value"] is not None else "-",
                     verdict, t["note"][:80]))
    return _table(rows)


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
