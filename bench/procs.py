"""Server processes under test: start, wait for health, sample memory and CPU, stop.

Memory and CPU come from /proc (Linux), so the harness needs no extra package.
Every server runs in a session of its own, so stopping it reaches the forked
workers too, and only them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    """Resident set size of one process in MiB (VmRSS), None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    """Direct children of a process (the forked workers of a WORKERS>1 server)."""
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry))
    return sorted(found)


def http_json(url: str, timeout: float = 2.0) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}


@dataclass
class ProcessStats:
    role: str
    max_rss_mb: float = 0.0
    cpu_start: float | None = None
    cpu_end: float | None = None

    @property
    def cpu_used(self) -> float:
        if self.cpu_start is None or self.cpu_end is None:
            return 0.0
        return round(self.cpu_end - self.cpu_start, 2)


@dataclass
class Server:
    """One server under test (CafePOS main.py or bench/bare_server.py)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    health_path: str = "/health"
    cwd: Path | None = None
    proc: subprocess.Popen | None = None
    startup_seconds: float | None = None
    stats: dict[int, ProcessStats] = field(default_factory=dict)
    # Workers still alive after SIGTERM to the parent had been answered (should stay empty).
    orphans_after_stop: list[int] = field(default_factory=list)
    _log: object = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait until the health URL answers 200; returns seconds to healthy."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # closed in stop()
        started = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} during start-up; "
                                   f"see {self.log_path}")
            try:
                status, _ = http_json(self.base_url + self.health_path, timeout=1.0)
            except OSError:
                status = 0
            if status == 200:
                self.startup_seconds = time.perf_counter() - started
                return self.startup_seconds
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.name} not healthy after {timeout:.0f}s; see {self.log_path}")

    def pids(self) -> dict[int, str]:
        """pid -> role: the process we started and, with WORKERS>1, its workers."""
        if self.proc is None or self.proc.poll() is not None:
            return {}
        found = {self.proc.pid: "main"}
        for n, child in enumerate(children(self.proc.pid)):
            found[child] = f"worker{n}"
        return found

    def begin_window(self) -> None:
        """Start of a measured run: remember each process's CPU time so far."""
        for pid, role in self.pids().items():
            st = self.stats.setdefault(pid, ProcessStats(role))
            st.cpu_start, st.cpu_end = cpu_seconds(pid), None

    def end_window(self) -> dict[str, float]:
        """CPU seconds each process used since begin_window (proves which ones served)."""
        used: dict[str, float] = {}
        for pid, role in self.pids().items():
            st = self.stats.setdefault(pid, ProcessStats(role))
            st.cpu_end = cpu_seconds(pid)
            used[f"{role}:{pid}"] = st.cpu_used
        return used

    def sample(self) -> None:
        for pid, role in self.pids().items():
            rss = rss_mb(pid)
            st = self.stats.setdefault(pid, ProcessStats(role))
            if rss is not None and rss > st.max_rss_mb:
                st.max_rss_mb = rss

    def max_rss(self) -> dict[str, float]:
        return {f"{st.role}:{pid}": round(st.max_rss_mb, 1) for pid, st in self.stats.items()}

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM to the parent (what a supervisor does); the whole session after a grace period."""
        if self.proc is None:
            return None
        workers = children(self.proc.pid) if self.proc.poll() is None else []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the session we created (workers that outlived their parent).
        leftovers = [pid for pid in workers if rss_mb(pid) is not None]
        self.orphans_after_stop = leftovers
        if leftovers or self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            _wait_gone([self.proc.pid, *leftovers], timeout)
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.wait(5)
        if self._log:
            self._log.close()
            self._log = None
        return self.proc.returncode


def _wait_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(rss_mb(p) is not None for p in pids):
        time.sleep(0.05)


class Sampler:
    """Samples RSS of the servers' processes in the background while a load runs."""

    def __init__(self, servers: list[Server], interval: float = 0.2) -> None:
        self.servers = servers
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for server in self.servers:
                server.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for server in self.servers:
            server.sample()
