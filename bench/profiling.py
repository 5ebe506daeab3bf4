"""Optional sampling profiles of the server under load (py-spy, --profile).

py-spy is a development tool, not a dependency: `.venv/bin/pip install py-spy`.
It samples every thread of the server (the IOLoop and the DB executor) from
outside the process, so the figures it runs beside are hardly disturbed.
Two views are recorded side by side: "gil" samples only the thread holding
the GIL (where the Python CPU goes: the ceiling of one process), "all"
samples every thread that is not idle (adds the time spent waiting in
database calls).  Collapsed stacks are kept for flame graphs; the summary
lists the functions with most samples on the stack (inclusive) and on top of
it (self).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


class Profiler:
    def __init__(self, pid: int, duration: float, out: Path, rate: int = 200, gil_only: bool = False) -> None:
        self.out = out
        exe = py_spy()
        if exe is None:
            raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
        self.proc = subprocess.Popen(
            [exe, "record", "--pid", str(pid), "--duration", str(max(1, round(duration))), "--rate", str(rate),
             "--format", "raw", "--output", str(out), "--nonblocking", *(["--gil"] if gil_only else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def finish(self) -> dict:
        _, err = self.proc.communicate(timeout=120)
        if self.proc.returncode != 0 or not self.out.exists():
            return {"error": (err or "").strip()[-500:]}
        return summarise(self.out.read_text())


def _frame_name(frame: str) -> str:
    # "func (path/to/file.py:123)" -> "func (relative/file.py)"
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0].rstrip(")")
    if "site-packages/" in path:
        path = "lib/" + path.split("site-packages/")[-1]
    else:
        try:
            path = str(Path(path).resolve().relative_to(REPO))
        except (ValueError, OSError):
            pass
    return f"{name} ({path})"


def _is_ours(frame: str) -> bool:
    path = frame.rpartition(" (")[2]
    return not path.startswith(("/", "lib/", "<"))


def summarise(collapsed: str, top: int = 25) -> dict:
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        self_time[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n

    def pct(counter: Counter[str], only_ours: bool = False) -> list[list]:
        rows = [(name, n) for name, n in counter.most_common() if not only_ours or _is_ours(name)]
        return [[name, round(100 * n / total, 1)] for name, n in rows[:top]] if total else []

    return {"samples": total, "top_self_pct": pct(self_time), "top_inclusive_pct": pct(inclusive),
            "top_inclusive_ours_pct": pct(inclusive, only_ours=True)}
