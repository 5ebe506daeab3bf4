"""Lone requests timed one after another on one kept-alive connection (the time one manager waits)."""

from __future__ import annotations

import http.client
import statistics
import time
from urllib.parse import urlsplit


def time_requests(base_url: str, path: str, token: str | None, n: int, *, warmup: int = 1, at_least: int = 5,
                  budget_s: float = 30.0, timeout: float = 300.0) -> dict:
    """`warmup` unmeasured requests, then `n` measured ones (only `at_least` once `budget_s` is spent, so a
    slow server cannot stretch the run); every answer must be 200."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    times: list[float] = []
    problems: list[str] = []
    sizes: set[int] = set()
    began = time.perf_counter()
    try:
        for i in range(warmup + n):
            if len(times) >= at_least and time.perf_counter() - began > budget_s:
                break
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            elapsed = time.perf_counter() - started
            if resp.status != 200:
                problems.append(f"GET {path} -> {resp.status}: {body[:200]!r}")
                break
            if i >= warmup:
                times.append(elapsed * 1000)
                sizes.add(len(body))
    finally:
        conn.close()
    return {"path": path, "requests": len(times), "p50_ms": round(statistics.median(times), 2) if times else None,
            "min_ms": round(min(times), 2) if times else None, "max_ms": round(max(times), 2) if times else None,
            "all_ms": [round(t, 2) for t in times], "bytes": sorted(sizes),
            "ok": not problems and len(times) >= min(n, at_least), "problems": problems}
