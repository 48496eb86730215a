"""Where the service's resident set grows: tracemalloc snapshots at two ingest marks.

    python -m bench.memtrace --store sqlite --marks 3000,30000 [--no-trace] [--env K=V ...]

Starts `timeline serve` (the same uvicorn settings) with tracemalloc on, files
synthetic NDJSON batches of 1,000 reports through the HTTP API (as the ingest
scenario does), and at each mark asks the server (SIGUSR1) to write a snapshot
with its VmRSS, the bytes tracemalloc sees and its thread count. Prints the
allocation sites that grew most between the first and the last mark. What RSS
grows by beyond what tracemalloc sees is native memory: SQLite page caches,
libpq, the allocator's fragmentation, thread stacks.

A diagnostic, not a figure of the benchmark: tracemalloc slows the server down.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import httpx
import orjson

from bench.servers import ROOT, Server, api_key, fresh_store, rss_mb

BATCH = 1_000


def serve() -> None:
    """The server side: uvicorn as `timeline serve` runs it, answering SIGUSR1 with a snapshot."""
    import uvicorn

    out = Path(os.environ["MEMTRACE_DIR"])
    trace = os.environ.get("MEMTRACE_TRACE", "1") == "1"
    if trace:
        tracemalloc.start(int(os.environ.get("MEMTRACE_FRAMES", "8")))
    taken = 0

    def snapshot(*_: object) -> None:
        nonlocal taken
        taken += 1
        facts = {
            "rss_mb": rss_mb(os.getpid()),
            "threads": threading.active_count(),
            "traced_mb": tracemalloc.get_traced_memory()[0] / 1e6 if trace else None,
        }
        if trace:
            tracemalloc.take_snapshot().dump(str(out / f"{taken}.snap"))
        # After measuring: how much of the heap was cyclic garbage awaiting collection.
        facts["garbage_objects"] = gc.collect()
        facts["rss_after_gc_mb"] = rss_mb(os.getpid())
        (out / f"{taken}.json").write_text(json.dumps(facts))

    signal.signal(signal.SIGUSR1, snapshot)
    port = int(sys.argv[sys.argv.index("--port") + 1])
    uvicorn.run(
        "service.main:app",
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
    )


def _mark(server: Server, out: Path, index: int) -> dict[str, float]:
    os.kill(server.pid, signal.SIGUSR1)
    facts = out / f"{index}.json"
    while not facts.exists():
        time.sleep(0.1)
    time.sleep(0.2)  # the file is written in one call; give the dump a moment to close
    return json.loads(facts.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="sqlite", choices=("sqlite", "postgres"))
    parser.add_argument("--marks", default="3000,30000")
    parser.add_argument("--no-trace", action="store_true", help="RSS and threads only")
    parser.add_argument("--env", action="append", default=[], help="extra TIMELINE_* K=V")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    from bench.synth import SyntheticLog

    marks = sorted(int(m) for m in args.marks.split(","))
    extra = dict(item.split("=", 1) for item in args.env)
    workdir = Path(tempfile.mkdtemp(prefix="memtrace-"))
    out = workdir / "snapshots"
    out.mkdir()
    with fresh_store(args.store, workdir, "memtrace") as store:
        key = api_key(store)
        env = {
            **store.env,
            **extra,
            "MEMTRACE_DIR": str(out),
            "MEMTRACE_TRACE": "0" if args.no_trace else "1",
        }
        server = Server([sys.executable, "-m", "bench.memtrace", "serve"], env, workdir / "log")
        server.start()
        try:
            reports = SyntheticLog(seed=7, key_prefix="memtrace").reports()
            headers = {"Content-Type": "application/x-ndjson"}
            if key:
                headers["Authorization"] = f"Bearer {key}"
            filed, found = 0, []
            with httpx.Client(base_url=server.url, timeout=300) as client:
                for mark in marks:
                    while filed < mark:
                        body = b"\n".join(orjson.dumps(next(reports)) for _ in range(BATCH))
                        answer = client.post("/reports", content=body, headers=headers)
                        answer.raise_for_status()
                        filed += BATCH
                    found.append(_mark(server, out, len(found) + 1))
                    print(f"after {filed:,} reports: {found[-1]}", flush=True)
        finally:
            server.stop()
        first, last = found[0], found[-1]
        print(
            f"RSS {first['rss_mb']:.1f} -> {last['rss_mb']:.1f} MB "
            f"(+{100 * (last['rss_mb'] / first['rss_mb'] - 1):.1f} %); "
            f"threads {first['threads']} -> {last['threads']}"
        )
        if args.no_trace:
            return
        print(
            f"traced {first['traced_mb']:.1f} -> {last['traced_mb']:.1f} MB; "
            f"native (RSS - traced) {first['rss_mb'] - first['traced_mb']:.1f} -> "
            f"{last['rss_mb'] - last['traced_mb']:.1f} MB"
        )
        before = tracemalloc.Snapshot.load(str(out / "1.snap"))
        after = tracemalloc.Snapshot.load(str(out / f"{len(found)}.snap"))
        for group in ("filename", "traceback"):
            print(f"\ngrowth by {group}:")
            for stat in after.compare_to(before, group)[: args.top]:
                print(f"  {stat.size_diff / 1e6:+8.2f} MB {stat.count_diff:+8d} blocks", end="")
                if group == "filename":
                    print(f"  {stat.traceback[0].filename.replace(str(ROOT) + '/', '')}")
                else:
                    print()
                    for frame in stat.traceback.format()[-8:]:
                        print("     ", frame.replace(str(ROOT) + "/", ""))


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve()
    else:
        main()
