"""Asyncio load clients, run as their own process on loopback (where wrk cannot do it).

    python -m bench.loadclient ingest --url URL --batches N ...   # NDJSON batch ingest
    python -m bench.loadclient live --url URL --subscribers 100 ...  # ack -> SSE receipt

Each prints one line `LOAD_JSON {...}` with what it measured. HTTP/1.1 is
spoken directly over asyncio streams (keep-alive, Content-Length or chunked),
so that the client spends as little of the shared CPU as it can; the event loop
is uvloop's when it is installed (uvicorn's standard extras bring it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson

from bench.stats import percentiles

_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:\s*chunked", re.IGNORECASE)
_SSE_ID = re.compile(rb"(?m)^id: ?(\d+)\r?$")
# A change message covers the positions (after, id]: changes are coalesced.
_SSE_AFTER = re.compile(rb'^data: \{"view":"[a-z_]+","position":\d+,"after":(\d+)', re.M)
_SSE_EVENT = re.compile(rb"(?m)^event: ?(overflow|end)\r?$")


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, limit=1 << 24
        )
        return self

    def send(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> None:
        assert self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    async def head(self) -> tuple[int, bytes]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        return int(head[9:12]), head

    async def response(self) -> tuple[int, bytes]:
        assert self.reader is not None
        status, head = await self.head()
        found = _LENGTH.search(head)
        if found:
            return status, await self.reader.readexactly(int(found.group(1)))
        if _CHUNKED.search(head):
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    return status, b"".join(parts)
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
        return status, b""

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        self.send(method, path, headers, body)
        return await self.response()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _auth(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def rss_mb(pid: int) -> float | None:
    """VmRSS of `pid` plus its child processes (`timeline serve` runs its view
    runners in one), in MB."""
    try:
        total = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += int((rss_mb(int(child)) or 0) * 1024)
    except OSError:
        return None
    return total / 1024


# NDJSON batch ingest ---------------------------------------------------------------------


async def ingest(args: argparse.Namespace) -> dict[str, Any]:
    from bench.synth import SyntheticLog

    url = urlparse(args.url)
    log = SyntheticLog(seed=args.seed, key_prefix=args.prefix)
    total = args.warmup + args.batches
    stream = log.reports()
    bodies = [
        b"\n".join(orjson.dumps(next(stream)) for _ in range(args.size)) for _ in range(total)
    ]
    marks = sorted(int(m) for m in args.rss_at.split(",") if m) if args.rss_at else []
    rss: dict[str, float | None] = {}
    headers = {"Content-Type": "application/x-ndjson", **_auth(args.key)}
    filed = 0
    errors: list[str] = []

    def acknowledged(count: int) -> None:
        nonlocal filed
        filed += count
        while marks and filed >= marks[0]:
            rss[str(marks.pop(0))] = rss_mb(args.rss_pid) if args.rss_pid else None

    conn = await Connection(url.hostname or "127.0.0.1", url.port or 80).open()
    for body in bodies[: args.warmup]:  # the server's caches warm up; not timed
        status, answer = await conn.request("POST", "/reports", headers, body)
        if status != 201:
            errors.append(f"{status}: {answer[:300]!r}")
        acknowledged(args.size)
    conn.close()

    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies[args.warmup :]:
        queue.put_nowait(body)
    latencies: list[float] = []
    created = 0

    async def worker() -> None:
        nonlocal created
        conn = await Connection(url.hostname or "127.0.0.1", url.port or 80).open()
        try:
            while not queue.empty():
                body = queue.get_nowait()
                sent = time.perf_counter()
                status, answer = await conn.request("POST", "/reports", headers, body)
                latencies.append(time.perf_counter() - sent)
                if status != 201:
                    errors.append(f"{status}: {answer[:300]!r}")
                    continue
                created += orjson.loads(answer)["created"]
                acknowledged(args.size)
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "batches": args.batches,
        "size": args.size,
        "created": created,
        "seconds": elapsed,
        "reports_per_s": created / elapsed if elapsed else 0.0,
        "batch_latency_ms": percentiles([x * 1000 for x in latencies]),
        "rss_mb": rss,
        "rss_final_mb": rss_mb(args.rss_pid) if args.rss_pid else None,
        "filed_total": filed,
        "errors": errors[:5],
        "error_count": len(errors),
    }


# Live updates: acknowledgement to SSE receipt ---------------------------------------------


async def _prime(host: str, port: int, key: str | None, reports: list[dict[str, Any]]) -> int:
    """Warm the server as a long-running one would be: file one report per distinct
    date expression the run will send (EDTF parsing is cached per process, ~20 ms a
    miss, on the event loop), then wait until the timeline view has applied them."""
    distinct: dict[bytes, dict[str, Any]] = {}
    for report in reports:
        distinct.setdefault(orjson.dumps(report["when"]), report)
    primers = [{**r, "key": f"{r['key']}-prime"} for r in distinct.values()]
    conn = await Connection(host, port).open()
    try:
        headers = {"Content-Type": "application/x-ndjson", **_auth(key)}
        last = 0
        for i in range(0, len(primers), 500):
            body = b"\n".join(orjson.dumps(r) for r in primers[i : i + 500])
            status, answer = await conn.request("POST", "/reports", headers, body)
            if status not in (200, 201):
                raise RuntimeError(f"priming: HTTP {status} {answer[:300]!r}")
            last = max(last, *(item["position"] or 0 for item in orjson.loads(answer)["reports"]))
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            status, answer = await conn.request("GET", "/timeline?limit=1", {})
            if status == 200 and orjson.loads(answer)["position"] >= last:
                break
            await asyncio.sleep(0.2)
    finally:
        conn.close()
    return len(primers)


async def live(args: argparse.Namespace) -> dict[str, Any]:
    from bench.synth import SyntheticLog

    url = urlparse(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    log = SyntheticLog(seed=args.seed, key_prefix=args.prefix)
    per_second = args.rate / args.batch
    requests = int(per_second * (args.warmup + args.duration))
    stream = log.reports()
    reports = [next(stream) for _ in range(requests * args.batch)]
    bodies = [
        b"\n".join(orjson.dumps(r) for r in reports[i : i + args.batch])
        for i in range(0, len(reports), args.batch)
    ]
    primed = await _prime(host, port, args.key, reports) if args.prime else 0

    # Subscribers: raw SSE streams; only the `id:` lines and each message's
    # `after` are looked at.
    received: list[dict[int, float]] = [{} for _ in range(args.subscribers)]
    ended: list[str | None] = [None] * args.subscribers
    connected = asyncio.Event()
    ready = 0
    stop = asyncio.Event()

    def arrived() -> None:
        nonlocal ready
        ready += 1
        if ready == args.subscribers:
            connected.set()

    async def subscriber(index: int) -> None:
        conn = await Connection(host, port).open()
        conn.send("GET", f"/{args.path.lstrip('/')}", {"Accept": "text/event-stream"})
        status, _ = await conn.head()
        arrived()
        if status != 200:
            ended[index] = f"HTTP {status}"
            return
        assert conn.reader is not None
        seen = received[index]
        carry = b""
        try:
            while not stop.is_set():
                chunk = await conn.reader.read(1 << 16)
                now = time.perf_counter()
                if not chunk:
                    ended[index] = ended[index] or "closed"
                    return
                data = carry + chunk
                cut = data.rfind(b"\n") + 1
                complete, carry = data[:cut], data[cut:]
                for block in complete.split(b"\n\n"):
                    found, after = _SSE_ID.search(block), _SSE_AFTER.search(block)
                    if found is None:
                        continue
                    upto = int(found.group(1))
                    start = int(after.group(1)) + 1 if after else upto
                    for position in range(start, upto + 1):
                        seen.setdefault(position, now)
                event = _SSE_EVENT.search(complete)
                if event:
                    ended[index] = event.group(1).decode()
        finally:
            conn.close()

    tasks = [asyncio.ensure_future(subscriber(i)) for i in range(args.subscribers)]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(connected.wait(), 30)
    await asyncio.sleep(0.5)  # let every stream reach its live phase

    # Writer: POSTs on an open-loop schedule (`rate` reports a second in requests
    # of `batch` reports: JSON for 1, NDJSON above), for warmup + duration seconds
    # of wall time at most: what the server cannot take in that time is not sent.
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(args.connections):
        pool.put_nowait(await Connection(host, port).open())
    content_type = "application/json" if args.batch == 1 else "application/x-ndjson"
    headers = {"Content-Type": content_type, **_auth(args.key)}
    acks: dict[int, tuple[float, bool]] = {}  # position -> (ack time, measured)
    acked_at: list[float] = []  # one per acknowledged request
    post_latency: list[float] = []
    errors: list[str] = []
    late = 0
    inflight: set[asyncio.Task[None]] = set()

    async def post(body: bytes, measured: bool) -> None:
        conn = await pool.get()
        try:
            sent = time.perf_counter()
            status, answer = await conn.request("POST", "/reports", headers, body)
            now = time.perf_counter()
            if status not in (200, 201):
                errors.append(f"{status}: {answer[:200]!r}")
                return
            found = orjson.loads(answer)
            items = found.get("reports", [found])
            for item in items:
                acks[item["position"]] = (now, measured)
            acked_at.append(now)
            if measured:
                post_latency.append(now - sent)
        finally:
            pool.put_nowait(conn)

    warm = int(per_second * args.warmup)
    started = time.perf_counter()
    end = started + args.warmup + args.duration
    sent_requests = 0
    for i, body in enumerate(bodies):
        due = started + i / per_second
        if due >= end:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.05:
            late += 1
        while pool.empty() and time.perf_counter() < end:
            await asyncio.sleep(0.001)  # every connection busy: the schedule slips
        if time.perf_counter() >= end:
            break
        task = asyncio.ensure_future(post(body, i >= warm))
        inflight.add(task)
        task.add_done_callback(inflight.discard)
        sent_requests += 1
    if inflight:
        await asyncio.wait(inflight, timeout=args.drain)
    posting = time.perf_counter() - started

    # Drain: until every live subscriber has the last position, or time runs out.
    deadline = time.perf_counter() + args.drain
    last = max(acks) if acks else 0
    while time.perf_counter() < deadline:
        if all(ended[i] or last in received[i] for i in range(args.subscribers)):
            break
        await asyncio.sleep(0.05)
    stop.set()
    measured_positions = sorted(p for p, (_, m) in acks.items() if m)
    view_position = None
    with contextlib.suppress(Exception):
        probe = await Connection(host, port).open()
        status, answer = await probe.request("GET", "/timeline?limit=1", {})
        probe.close()
        if status == 200:
            view_position = orjson.loads(answer)["position"]
    for task in [*tasks, *inflight]:
        task.cancel()
    await asyncio.gather(*tasks, *inflight, return_exceptions=True)
    while not pool.empty():
        pool.get_nowait().close()

    latencies, missing = [], 0
    for seen in received:
        for position in measured_positions:
            at = seen.get(position)
            if at is None:
                missing += 1
            else:
                latencies.append((at - acks[position][0]) * 1000)
    expected = len(measured_positions) * args.subscribers
    return {
        "subscribers": args.subscribers,
        "primed": primed,
        "subscribers_connected": sum(1 for e in ended if not (e or "").startswith("HTTP")),
        "offered_per_s": args.rate,
        "batch": args.batch,
        # Between the first and the last acknowledgement: the offered rate when the
        # server keeps up, less when acknowledgements spread out behind the schedule.
        "achieved_per_s": (len(acks) - args.batch) / (max(acked_at) - min(acked_at))
        if len(acked_at) > 1
        else 0.0,
        "posting_seconds": posting,
        "requests_sent": sent_requests,
        "requests_scheduled": requests,
        "acknowledged": len(acks),
        "measured_reports": len(measured_positions),
        "late_sends": late,
        "post_errors": len(errors),
        "errors": errors[:5],
        "receipts_expected": expected,
        "receipts_missing": missing,
        "stream_ends": {e: ended.count(e) for e in set(ended) if e},
        "last_acknowledged": last,
        "first_measured": measured_positions[0] if measured_positions else None,
        "timeline_view_position_after_drain": view_position,
        "max_received": max((max(seen) for seen in received if seen), default=None),
        "messages_received_median": sorted(len(seen) for seen in received)[len(received) // 2]
        if received
        else 0,
        "latency_ms": percentiles(latencies),
        "post_latency_ms": percentiles([x * 1000 for x in post_latency]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadclient")
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("ingest", help="NDJSON batches, as fast as the server takes them")
    one.add_argument("--url", required=True)
    one.add_argument("--key")
    one.add_argument("--seed", type=int, default=7)
    one.add_argument("--prefix", default="ingest")
    one.add_argument("--batches", type=int, default=20)
    one.add_argument("--warmup", type=int, default=3)
    one.add_argument("--size", type=int, default=1_000)
    one.add_argument("--concurrency", type=int, default=2)
    one.add_argument("--rss-pid", type=int)
    one.add_argument("--rss-at", default="")
    two = sub.add_parser("live", help="ack-to-SSE-receipt latency")
    two.add_argument("--url", required=True)
    two.add_argument("--key")
    two.add_argument("--seed", type=int, default=11)
    two.add_argument("--prefix", default="live")
    two.add_argument("--path", default="/subscribe/timeline")
    two.add_argument("--subscribers", type=int, default=100)
    two.add_argument("--rate", type=float, default=500)
    two.add_argument("--duration", type=float, default=10)
    two.add_argument("--warmup", type=float, default=2)
    two.add_argument("--connections", type=int, default=32)
    two.add_argument("--batch", type=int, default=20, help="reports per request (1: JSON)")
    two.add_argument("--drain", type=float, default=10)
    two.add_argument(
        "--prime", action=argparse.BooleanOptionalAction, default=True, help="warm up first"
    )
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    result = asyncio.run(ingest(args) if args.command == "ingest" else live(args))
    sys.stdout.write("LOAD_JSON " + orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
