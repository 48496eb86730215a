"""Sampling a server with py-spy while a scenario runs, and summarising the samples.

    python -m bench ... --profile          # every scenario's server is sampled
    python -m bench.profile FILE.raw       # summarise collapsed stacks from py-spy

py-spy samples every thread (request handlers in the thread pool, the view
runners, the event loop), which an in-process profiler started on the main
thread would not see. The summary gives, for the sampled process, the share of
samples spent in (inclusive) and directly at (self) each function, idle time
excluded.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]*)(?::\d+)?\)$")
PROJECT = ("domain/", "projections/", "service/", "bench/")


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def sampling(pid: int, out: Path, enabled: bool = True, rate: int = 100) -> Iterator[Path | None]:
    """py-spy record on `pid` for the duration of the block (collapsed stacks in `out`)."""
    tool = py_spy()
    if not enabled or tool is None:
        yield None
        return
    spy = subprocess.Popen(
        [
            *(tool, "record", "--pid", str(pid), "--format", "raw", "-o", str(out)),
            *("--rate", str(rate), "--nonblocking", "--threads", "--subprocesses"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield out
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait(10)


def _frame(text: str) -> tuple[str, str]:
    found = _FRAME.match(text.strip())
    if not found:
        return text.strip(), ""
    return found["func"], found["file"]


def summarize(raw: Path, top: int = 25) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        frames = [(func, file) for func, file in frames if not func.startswith("thread ")]
        if not frames:
            continue
        total += count
        seen = set()
        for func, file in frames:
            name = f"{func} ({file})"
            if name not in seen:
                seen.add(name)
                inclusive[name] += count
        func, file = frames[-1]
        own[f"{func} ({file})"] += count
    if not total:
        return f"{raw}: no samples"
    lines = [f"{raw.name}: {total} samples (busy threads only)", "", "inclusive, project code:"]
    shown = 0
    for name, count in inclusive.most_common():
        if any(part in name for part in PROJECT):
            lines.append(f"  {100 * count / total:5.1f}%  {name}")
            shown += 1
            if shown >= top:
                break
    lines += ["", "self (where the time is actually spent):"]
    for name, count in own.most_common(top):
        lines.append(f"  {100 * count / total:5.1f}%  {name}")
    return "\n".join(lines)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(summarize(Path(path)))
        print()
