"""What the figures were measured on, and where the machine's CPU went during a run."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.procs import cpu_seconds

REPO = Path(__file__).resolve().parent.parent


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else ""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def describe(postgres_version: str) -> dict[str, object]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gb": memory_gb(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgres": postgres_version,
        "wrk": _first_line(["wrk", "--version"]),
        "git_commit": _first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
        "git_dirty": bool(_first_line(["git", "-C", str(REPO), "status", "--porcelain"])),
    }


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def postgres_cpu_by_pid(database: str) -> dict[int, float]:
    """CPU time so far of the PostgreSQL processes working for us: the backends of `database`
    and the shared ones (WAL writer, checkpointer...); other databases' backends are not ours."""
    used: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if Path(f"/proc/{entry}/comm").read_text().strip() != "postgres":
                continue
            title = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        backend = "(" in title  # "postgres: 15/main: user db 127.0.0.1(port) state"
        if not backend or f" {database} " in title:
            used[int(entry)] = cpu_seconds(int(entry)) or 0.0
    return used


class CpuWindow:
    """CPU seconds used by the machine and by our PostgreSQL processes between start() and stop()."""

    def __init__(self, database: str) -> None:
        self.database = database

    def start(self) -> None:
        self.busy0, self.total0 = machine_busy_seconds()
        self.pg0 = postgres_cpu_by_pid(self.database)

    def stop(self) -> dict[str, float]:
        busy, total = machine_busy_seconds()
        cores = os.cpu_count() or 1
        wall = (total - self.total0) / cores
        # Per process, so a backend that ends meanwhile cannot make the sum go backwards.
        pg = sum(max(0.0, used - self.pg0.get(pid, 0.0)) for pid, used in postgres_cpu_by_pid(self.database).items())
        return {"wall_s": round(wall, 2), "machine_busy_cpu_s": round(busy - self.busy0, 2),
                "postgres_cpu_s": round(pg, 2), "cores": cores}


def wait_until_quiet(max_wait: float, *, threshold: float = 0.15, window: float = 2.0) -> float:
    """Wait at most max_wait s for a `window` in which the machine is < threshold busy; returns the wait.

    Called between runs, when nothing of ours is working, so the load is someone else's.
    """
    started = time.monotonic()
    while True:
        busy0, total0 = machine_busy_seconds()
        time.sleep(window)
        busy1, total1 = machine_busy_seconds()
        share = (busy1 - busy0) / max(total1 - total0, 1e-9)
        waited = time.monotonic() - started
        if share < threshold or waited >= max_wait:
            return round(max(0.0, waited - window), 1)
