"""Run wrk and turn its output into one checked figure.

Every run loads bench/lua/stats.lua (optionally after a scenario prelude that
defines `bench_init`/`bench_request`), whose done() prints the status counts,
error counts and latency percentiles as one JSON line.  wrk's own text
("Requests/sec", "Non-2xx or 3xx responses", "Socket errors") is parsed as a
cross-check.
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
INSTALL_HINT = "sudo apt-get install -y wrk"


class WrkMissing(RuntimeError):
    pass


def wrk_path() -> str:
    path = shutil.which("wrk")
    if not path:
        raise WrkMissing(f"wrk is not installed: {INSTALL_HINT}")
    return path


@dataclass
class Figure:
    """One measured load: throughput, latency and whether every answer was right."""

    name: str
    url: str
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    non_2xx: int
    ok: bool
    problems: list[str] = field(default_factory=list)
    connections: int = 0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def script_for(prelude: str | None, workdir: Path, name: str) -> Path:
    """stats.lua, preceded by a scenario's prelude when it has one."""
    stats = (LUA_DIR / "stats.lua").read_text()
    if not prelude:
        return LUA_DIR / "stats.lua"
    path = workdir / f"{name}.lua"
    path.write_text(prelude.rstrip() + "\n\n" + stats)
    return path


@dataclass
class WrkRun:
    """One wrk invocation; several can run at once (run_wrk_group)."""

    name: str
    url: str
    duration: float
    connections: int
    threads: int
    workdir: Path
    headers: dict[str, str] | None = None
    prelude: str | None = None
    timeout_s: int = 10
    expect: tuple[int, ...] | None = None  # statuses that count as right (default: any 2xx)

    def command(self) -> list[str]:
        script = script_for(self.prelude, self.workdir, self.name)
        threads = max(1, min(self.threads, self.connections))  # wrk wants at least one connection per thread
        cmd = [wrk_path(), f"-t{threads}", f"-c{self.connections}", f"-d{max(1, round(self.duration))}s",
               f"--timeout={self.timeout_s}s", "--latency", "-s", str(script)]
        for key, value in (self.headers or {}).items():
            cmd += ["-H", f"{key}: {value}"]
        cmd.append(self.url)
        return cmd


def run_wrk_group(runs: list[WrkRun]) -> list[Figure]:
    """Start every run at once and wait for all of them (e.g. the cashiers of four stores)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    procs = [subprocess.Popen(run.command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for run in runs]
    outputs = [proc.communicate(timeout=run.duration + 120) for proc, run in zip(procs, runs, strict=True)]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2)
    figures = []
    for run, proc, (out, err) in zip(runs, procs, outputs, strict=True):
        if proc.returncode != 0:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {err.strip() or out.strip()}")
        fig = parse_output(run.name, run.url, out, run.expect)
        fig.connections = run.connections
        fig.extra["wrk_threads"] = max(1, min(run.threads, run.connections))
        fig.extra["wrk_cpu_s"] = round(cpu / len(runs), 2)  # shared out: wrk's children are counted together
        figures.append(fig)
    return figures


def run_wrk(name: str, url: str, *, duration: float, connections: int, threads: int, workdir: Path,
            headers: dict[str, str] | None = None, prelude: str | None = None, timeout_s: int = 10,
            expect: tuple[int, ...] | None = None) -> Figure:
    """One wrk run; `expect` lists the statuses that count as right (default: any 2xx)."""
    return run_wrk_group([WrkRun(name, url, duration, connections, threads, workdir, headers, prelude, timeout_s,
                                 expect)])[0]


def _right(status: int, expect: tuple[int, ...] | None) -> bool:
    return status in expect if expect else 200 <= status <= 299


def parse_output(name: str, url: str, text: str, expect: tuple[int, ...] | None = None) -> Figure:
    match = re.search(r"^BENCH_JSON (\{.*\})\s*$", text, re.MULTILINE)
    if not match:
        raise RuntimeError(f"wrk printed no BENCH_JSON line (is bench/lua/stats.lua loaded?):\n{text}")
    data = json.loads(match.group(1))
    pct = data["latency_us"]["percentiles"]
    statuses = {str(k): int(v) for k, v in sorted(data["statuses"].items())}
    errors = {k: int(v) for k, v in data["errors"].items() if k != "status"}
    duration_s = data["duration_us"] / 1e6
    fig = Figure(
        name=name, url=url, requests=data["requests"], duration_s=round(duration_s, 2),
        rps=round(data["requests"] / duration_s, 1) if duration_s else 0.0,
        p50_ms=pct["50"] / 1000, p75_ms=pct["75"] / 1000, p90_ms=pct["90"] / 1000, p99_ms=pct["99"] / 1000,
        max_ms=data["latency_us"]["max"] / 1000, statuses=statuses, socket_errors=errors,
        non_2xx=sum(n for s, n in statuses.items() if not _right(int(s), expect)), ok=True,
    )
    fig.problems = check(fig, data, text)
    fig.ok = not fig.problems
    return fig


def check(fig: Figure, data: dict, text: str) -> list[str]:
    """Everything that makes a figure worthless: errors, non-2xx answers, disagreeing counts."""
    problems: list[str] = []
    if fig.requests == 0:
        problems.append("no request completed")
    if fig.non_2xx:
        sample = data.get("first_failure", "")
        problems.append(f"{fig.non_2xx} unexpected responses (first: {sample[:200]!r})")
    bad_sockets = {k: v for k, v in fig.socket_errors.items() if v}
    if bad_sockets:
        problems.append(f"socket errors {bad_sockets}")
    # wrk's text counts 4xx/5xx in "Non-2xx or 3xx"; 3xx slip through it, our status counts catch them.
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    text_non2xx = int(m.group(1)) if m else 0
    if text_non2xx != data["errors"]["status"]:
        problems.append(f"wrk text says {text_non2xx} non-2xx/3xx, its summary {data['errors']['status']}")
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m and sum(int(x) for x in m.groups()) != sum(fig.socket_errors.values()):
        problems.append(f"wrk text socket errors {m.groups()} disagree with {fig.socket_errors}")
    counted = sum(fig.statuses.values())
    if counted != fig.requests:
        problems.append(f"{counted} responses counted by status, wrk completed {fig.requests}")
    return problems
