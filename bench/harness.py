"""The benchmark: every scenario on every store, one table at the end.

Per store, in this order (each step bounded in time, all traffic on 127.0.0.1):

1. post    single-report POST /reports from wrk (32 connections, Lua script giving
           every request a fresh idempotency key), then the same against the bare
           ceiling app; both warmed first with one pass over the body pool.
2. ingest  NDJSON batches of 1,000 reports from the asyncio client, after a few
           warm-up batches; ceiling: executemany of the same stored events.
   memory  the service's resident set when the Nth report is acknowledged
           (same ingest run, continued to the largest mark).
3. rebuild a synthetic log of N events is filed through TimelineApplication,
           then every view is rebuilt (as `timeline replay` does);
           ceiling: reading the same events and parsing each with orjson.
4. queries the service over that log: wrk per URL, with and without as_of.
5. live    100 SSE subscribers on /subscribe/timeline; reports POSTed on an
           open-loop schedule, first 25/s as single JSON POSTs (a rate the service
           takes), then 500/s as NDJSON batches of 20; latency from each report's
           acknowledgement to each subscriber's receipt of its log position. Each
           run first files one report per distinct date it will send, and waits
           for the views, so that the server is as warm as a long-running one.

Where a store's log cannot be as large as the issue asks within the time budget,
the figure's name says the size that was used; nothing is extrapolated.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import ceilings, synth
from bench.profile import sampling, summarize
from bench.servers import (
    POSTGRES_URL,
    ROOT,
    Server,
    api_key,
    ceiling_server,
    fresh_store,
    postgres_error,
    timeline_server,
)
from bench.stats import Figure, latency_cell, number

SCENARIOS = ("post", "ingest", "memory", "rebuild", "queries", "live")
SEARCH = "/search?q=Erbil%20strike"
SEARCH_P99_MS = 30  # issue 15: a two-word query, p99 at 1M events
STORES = ("sqlite", "postgres")


@dataclass
class Config:
    stores: list[str] = field(default_factory=lambda: list(STORES))
    scenarios: list[str] = field(default_factory=lambda: list(SCENARIOS))
    events: dict[str, int] = field(default_factory=lambda: {"sqlite": 8_000, "postgres": 3_000})
    post_seconds: float = 6.0
    post_connections: int = 32
    post_threads: int = 2
    post_bodies: int = 200
    ingest_batches: int = 15
    ingest_warmup: int = 3
    ingest_size: int = 1_000
    ingest_concurrency: int = 2
    memory_marks: tuple[int, int] = (3_000, 30_000)
    query_seconds: float = 4.0
    query_warmup: float = 1.0
    query_connections: int = 4
    live_subscribers: int = 100
    live_rate: float = 500.0
    live_seconds: float = 8.0
    live_warmup: float = 2.0
    live_batch: int = 20
    live_low_rate: float = 25.0  # a second run, single POSTs, below the target rate
    live_drain: float = 8.0
    profile: bool = False
    workdir: Path | None = None


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def _wrk(args: list[str]) -> dict[str, Any]:
    done = subprocess.run(["wrk", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    for line in done.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            found = orjson.loads(line[len("WRK_JSON ") :])
            found["rate"] = found["requests"] / (found["duration_us"] / 1e6)
            found["errors"] = sum(
                found[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors")
            )
            return found
    raise RuntimeError(f"wrk gave no summary: {done.stdout}\n{done.stderr}")


def _load_client(args: list[str], timeout: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.loadclient", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    for line in done.stdout.splitlines():
        if line.startswith("LOAD_JSON "):
            return orjson.loads(line[len("LOAD_JSON ") :])
    raise RuntimeError(f"load client failed ({done.returncode}):\n{done.stderr[-3000:]}")


def _seconds(value: float) -> str:
    """wrk's -d takes whole seconds."""
    return f"-d{max(1, round(value))}s"


def _ms(found: dict[str, Any]) -> dict[str, float]:
    return {k: found[f"{k}_us"] / 1000 for k in ("p50", "p95", "p99")}


class Bench:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.figures: list[Figure] = []
        self.details: dict[str, Any] = {}
        self.profiles: dict[str, str] = {}
        self.workdir = Path(config.workdir or tempfile.mkdtemp(prefix="timeline-bench-"))
        self.workdir.mkdir(parents=True, exist_ok=True)

    # Plumbing ------------------------------------------------------------------------

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        log(f"{figure.store}: {figure.name} = {figure.cell_value()}")

    def wanted(self, *names: str) -> bool:
        return any(name in self.config.scenarios for name in names)

    @contextlib.contextmanager
    def server(self, server: Server) -> Iterator[Server]:
        server.start()
        try:
            yield server
        finally:
            server.stop()

    @contextlib.contextmanager
    def profiled(self, name: str, pid: int) -> Iterator[None]:
        raw = self.workdir / f"profile-{name}.raw"
        with sampling(pid, raw, self.config.profile) as out:
            yield
        if out is not None and out.exists():
            self.profiles[name] = summarize(out)

    @contextlib.contextmanager
    def in_process(self, name: str) -> Iterator[None]:
        """pyinstrument around work done in this process (the rebuild), with --profile."""
        if not self.config.profile:
            yield
            return
        try:
            from pyinstrument import Profiler
        except ImportError:
            log("pyinstrument is not installed: no profile of the rebuild")
            yield
            return
        profiler = Profiler(interval=0.005)
        profiler.start()
        try:
            yield
        finally:
            profiler.stop()
            self.profiles[name] = _trim_tree(profiler.output_text(unicode=False, color=False))

    def step(self, title: str, action: Callable[[], None], store: str) -> None:
        started = time.perf_counter()
        log(f"{store}: {title} ...")
        try:
            action()
        except Exception as error:  # one failed scenario must not hide the others
            log(f"{store}: {title} FAILED: {type(error).__name__}: {error}")
            self.figures.append(
                Figure(store, f"{title}: FAILED", None, "", shown=f"{type(error).__name__}")
            )
            self.details.setdefault("failures", []).append(f"{store} {title}: {error}")
        log(f"{store}: {title} took {time.perf_counter() - started:.1f}s")

    # The run ---------------------------------------------------------------------------

    def run(self) -> list[Figure]:
        started = time.perf_counter()
        for store in self.config.stores:
            if store == "postgres" and (error := postgres_error()) is not None:
                log(f"postgres: unreachable at {POSTGRES_URL}: {error}")
                self.figures.append(
                    Figure(store, "every scenario", None, "", shown="skipped: unreachable")
                )
                continue
            if self.wanted("post"):
                self.step("single POST", lambda s=store: self.single_post(s), store)
            if self.wanted("ingest", "memory"):
                self.step("NDJSON ingest", lambda s=store: self.ingest(s), store)
            if self.wanted("rebuild", "queries", "live"):
                self.step("log, rebuild, queries, live", lambda s=store: self.on_log(s), store)
        self.details["seconds"] = time.perf_counter() - started
        return self.figures

    # 1. Single-report POST ---------------------------------------------------------------

    def _post_bodies(self) -> Path:
        path = self.workdir / "post-bodies.ndjson"
        if not path.exists():
            log_ = synth.SyntheticLog(seed=3, key_prefix="post")
            with path.open("wb") as out:
                for body in log_.batch(self.config.post_bodies):
                    body.pop("key")
                    out.write(orjson.dumps(body) + b"\n")
        return path

    def _warm_posts(self, url: str, key: str | None, bodies: Path) -> None:
        """One pass over the body pool: fills the server's EDTF parse cache, as a
        long-running server's would be; not timed."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
            for n, line in enumerate(bodies.read_bytes().splitlines()):
                body = orjson.loads(line)
                body["key"] = f"warm-{time.time_ns()}-{n}"
                client.post("/reports", json=body).raise_for_status()

    def _post_wrk(self, url: str, key: str | None, bodies: Path) -> dict[str, Any]:
        c = self.config
        return _wrk(
            [
                f"-t{c.post_threads}",
                f"-c{c.post_connections}",
                _seconds(c.post_seconds),
                "--timeout",
                "10s",
                "-s",
                "bench/post_report.lua",
                f"{url}/reports",
                "--",
                str(bodies),
                f"wrk-{time.time_ns()}",
                key or "",
            ]
        )

    def single_post(self, store: str) -> None:
        c = self.config
        bodies = self._post_bodies()
        with self.server(ceiling_server(self.workdir, f"ceiling-{store}")) as ceiling:
            self._warm_posts(ceiling.url, None, bodies)
            bare = self._post_wrk(ceiling.url, None, bodies)
        with fresh_store(store, self.workdir, "post") as fresh:
            key = api_key(fresh)
            with self.server(timeline_server(fresh, self.workdir, f"post-{store}")) as server:
                self._warm_posts(server.url, key, bodies)
                with self.profiled(f"{store}-post", server.pid):
                    real = self._post_wrk(server.url, key, bodies)
        self.details[f"{store}.post"] = {"service": real, "ceiling": bare}
        share = 0.7 if store == "sqlite" else 0.5
        name = f"POST /reports single, {c.post_connections} connections"
        errors = f"; {real['errors']} errors" if real["errors"] else ""
        self.add(
            Figure(
                store,
                f"{name}: requests/s",
                real["rate"],
                "req/s",
                ceiling=bare["rate"],
                target=f">= {share} x ceiling",
                met=bare["rate"] > 0 and real["rate"] / bare["rate"] >= share and not errors,
                note=f"ceiling p99 {bare['p99_us'] / 1000:.1f} ms{errors}",
            )
        )
        latency = _ms(real)
        self.add(
            Figure(
                store,
                f"{name}: latency",
                latency["p99"],
                "ms",
                shown=latency_cell(latency),
                target="p99 <= 25 ms",
                met=latency["p99"] <= 25,
            )
        )

    # 2. NDJSON ingest and memory ---------------------------------------------------------

    def ingest(self, store: str) -> None:
        c = self.config
        size = c.ingest_size
        measured = c.ingest_batches
        marks: list[int] = []
        if self.wanted("memory"):
            marks = list(c.memory_marks)
            needed = math.ceil(max(marks) / size) - c.ingest_warmup
            measured = max(measured, needed)
        with fresh_store(store, self.workdir, "ingest") as fresh:
            key = api_key(fresh)
            with self.server(timeline_server(fresh, self.workdir, f"ingest-{store}")) as server:
                rss_start = server.rss_mb()
                with self.profiled(f"{store}-ingest", server.pid):
                    found = _load_client(
                        [
                            "ingest",
                            "--url",
                            server.url,
                            "--key",
                            key or "",
                            "--seed",
                            "7",
                            "--prefix",
                            f"ingest-{store}",
                            "--batches",
                            str(measured),
                            "--warmup",
                            str(c.ingest_warmup),
                            "--size",
                            str(size),
                            "--concurrency",
                            str(c.ingest_concurrency),
                            "--rss-pid",
                            str(server.pid),
                            "--rss-at",
                            ",".join(str(m) for m in marks),
                        ],
                        timeout=1_800,
                    )
            if self.wanted("ingest"):
                # The ceiling: the same stored events as the measured batches.
                batches = ceilings.serialized_batches(
                    7, f"ingest-{store}", c.ingest_warmup, min(measured, 10), size, self.workdir
                )
                if store == "sqlite":
                    path = self.workdir / "ceiling-ingest.sqlite3"
                    path.unlink(missing_ok=True)
                    ceiling = ceilings.sqlite_executemany(batches, path)
                    path.unlink(missing_ok=True)
                else:
                    ceiling = ceilings.postgres_executemany(
                        batches, POSTGRES_URL, fresh.env["TIMELINE_POSTGRES_SCHEMA"]
                    )
        found["rss_start_mb"] = rss_start
        self.details[f"{store}.ingest"] = found
        if found["error_count"]:
            raise RuntimeError(f"ingest errors: {found['errors']}")
        if self.wanted("ingest"):
            floor = 50_000 if store == "sqlite" else 25_000
            name = f"NDJSON ingest, {size:,} reports/request"
            self.add(
                Figure(
                    store,
                    f"{name}: reports/s",
                    found["reports_per_s"],
                    "reports/s",
                    ceiling=ceiling,
                    target=f">= {floor:,} reports/s",
                    met=found["reports_per_s"] >= floor,
                    note=f"{found['created']:,} reports measured after "
                    f"{c.ingest_warmup * size:,} warm-up",
                )
            )
            self.add(
                Figure(
                    store,
                    f"{name}: request latency",
                    found["batch_latency_ms"]["p99"],
                    "ms",
                    shown=latency_cell(found["batch_latency_ms"]),
                )
            )
        if marks:
            low, high = (found["rss_mb"].get(str(m)) for m in marks)
            for mark, rss in ((marks[0], low), (marks[1], high)):
                self.add(
                    Figure(
                        store,
                        f"service RSS after {mark:,} reports",
                        rss,
                        "MB",
                        target="<= 300 MB",
                        met=rss is not None and rss <= 300,
                    )
                )
            growth = None if not (low and high) else 100 * (high - low) / low
            self.add(
                Figure(
                    store,
                    f"RSS growth {marks[0]:,} -> {marks[1]:,} reports",
                    growth,
                    "%",
                    target="<= 20%",
                    met=growth is not None and growth <= 20,
                )
            )

    # 3-5. On a synthetic log: rebuild, queries, live ------------------------------------------

    def on_log(self, store: str) -> None:
        from projections.runner import rebuild
        from service.storage import open_application, open_views

        events = self.config.events[store]
        with fresh_store(store, self.workdir, "log") as fresh:
            settings = fresh.settings()
            app = open_application(settings)
            try:
                started = time.perf_counter()
                written = synth.load(app, synth.SyntheticLog(), events)
                log(
                    f"{store}: filed a {written['events']:,}-event log in "
                    f"{time.perf_counter() - started:.1f}s: {written}"
                )
                self.details[f"{store}.log"] = written
                views = open_views(settings)
                try:
                    # Warm the decoder once (its EDTF cache is per process), then time
                    # the ceiling and the rebuild on equal terms.
                    ceilings.read_and_decode(app)
                    count, decode_seconds = ceilings.read_and_decode(app)
                    # What `timeline replay` does: every view in one pass over the log.
                    with self.in_process(f"{store}-rebuild"):
                        begun = time.perf_counter()
                        rebuild(app, views)
                        total = time.perf_counter() - begun
                    self.details[f"{store}.rebuild"] = {
                        "events": count,
                        "decode_seconds": decode_seconds,
                        "seconds": total,
                    }
                    if self.wanted("rebuild"):
                        rate, ceiling = count / total, count / decode_seconds
                        self.add(
                            Figure(
                                store,
                                f"rebuild all views, {count:,}-event log: events/s",
                                rate,
                                "events/s",
                                ceiling=ceiling,
                                target=">= 50,000/s and >= 0.2 x ceiling",
                                met=rate >= 50_000 and rate / ceiling >= 0.2,
                                note=f"{total:.1f}s for every view, in one pass",
                            )
                        )
                    actor, appearances = _tenth_actor(views)
                finally:
                    views.close()
            finally:
                app.close()
            if not self.wanted("queries", "live"):
                return
            key = api_key(fresh)
            with self.server(timeline_server(fresh, self.workdir, f"log-{store}")) as server:
                if self.wanted("queries"):
                    # as_of: halfway through the reports (the log starts with the actors).
                    as_of = (written["actor_events"] + count) // 2
                    self.queries(store, server, count, as_of, actor, appearances)
                if self.wanted("live"):
                    self.live(store, server, key)

    def queries(
        self,
        store: str,
        server: Server,
        events: int,
        as_of: int,
        actor: str | None,
        appearances: int,
    ) -> None:
        c = self.config
        # The timeline's entries come without their sources (`source_count`), the
        # tally without its lists, the history a page of 100 at a time: their defaults.
        urls = [
            ("GET /timeline (first page of 100)", "/timeline"),
            ("GET /tally?group_by=week", "/tally?group_by=week"),
            # Two words, each in many synthetic reports (a place and a kind).
            ("GET /search?q=Erbil strike (first page of 20)", SEARCH),
        ]
        if actor:
            urls.append(
                (
                    f"GET /actors/{{id}}/history (10th most-cited actor, {appearances:,} rows, "
                    "first page of 100)",
                    f"/actors/{actor}/history",
                )
            )
        for label, path in urls:
            for with_as_of in (False, True):
                target = path + (
                    ("&" if "?" in path else "?") + f"as_of={as_of}" if with_as_of else ""
                )
                check = httpx.get(server.url + target, timeout=60)
                if check.status_code != 200:
                    raise RuntimeError(f"{target}: HTTP {check.status_code} {check.text[:300]}")
                common = [
                    "-t1" if c.query_connections < 2 else "-t2",
                    f"-c{c.query_connections}",
                    "--timeout",
                    "10s",
                    "-s",
                    "bench/get_report.lua",
                    server.url + target,
                ]
                if c.query_warmup > 0:
                    _wrk([_seconds(c.query_warmup), *common])
                name = f"{store}-query-" + re.sub(r"[^a-z0-9]+", "-", target.lower()).strip("-")
                with self.profiled(name, server.pid):
                    found = _wrk([_seconds(c.query_seconds), *common])
                self.details[f"{store}.query {target}"] = found
                latency = _ms(found)
                limit = SEARCH_P99_MS if path == SEARCH else 50 if with_as_of else 20
                suffix = f" as_of={as_of:,}" if with_as_of else ""
                self.add(
                    Figure(
                        store,
                        f"{label}{suffix}, {events:,}-event log",
                        latency["p99"],
                        "ms",
                        shown=latency_cell(latency),
                        target=f"p99 <= {limit} ms",
                        met=latency["p99"] <= limit and not found["errors"],
                        note=f"{found['rate']:.0f} req/s, {len(check.content):,} bytes",
                    )
                )

    def live(self, store: str, server: Server, key: str | None) -> None:
        c = self.config
        runs = []
        if c.live_low_rate:  # first, while the runners are idle: a rate the service takes
            runs.append(("low", c.live_low_rate, 1))
        runs.append(("target", c.live_rate, c.live_batch))
        for run, rate, batch in runs:
            with self.profiled(f"{store}-live-{run}", server.pid):
                found = _load_client(
                    [
                        "live",
                        "--url",
                        server.url,
                        "--key",
                        key or "",
                        "--prefix",
                        f"live-{run}",
                        "--subscribers",
                        str(c.live_subscribers),
                        "--rate",
                        str(rate),
                        "--duration",
                        str(c.live_seconds),
                        "--warmup",
                        str(c.live_warmup),
                        "--batch",
                        str(batch),
                        "--drain",
                        str(c.live_drain),
                    ],
                    timeout=120 + c.live_seconds + 2 * c.live_drain,
                )
            self.details[f"{store}.live.{run}"] = found
            self._live_figures(store, found, rate, batch)

    def _live_figures(self, store: str, found: dict[str, Any], rate: float, batch: int) -> None:
        c = self.config
        missing = found["receipts_missing"]
        expected = found["receipts_expected"] or 1
        latency = found["latency_ms"]  # NaN (null in JSON) when nothing was received
        p99 = latency.get("p99")
        if latency.get("n"):
            shown = latency_cell(latency)
            if missing:
                shown += f" ({100 * missing / expected:.1f}% never received)"
        else:
            shown = (
                f"none of {found['measured_reports']:,} received within {number(c.live_drain)} s"
            )
        how = "single POSTs" if batch == 1 else f"NDJSON batches of {batch}"
        self.add(
            Figure(
                store,
                f"live: ack -> SSE receipt, {c.live_subscribers} subscribers, "
                f"{number(rate)} reports/s offered ({how})",
                p99,
                "ms",
                shown=shown,
                target="p99 <= 50 ms" + ("" if rate == c.live_rate else " (below target rate)"),
                met=(
                    p99 is not None
                    and p99 <= 50
                    and missing / expected <= 0.01
                    and found["subscribers_connected"] == c.live_subscribers
                    and found["achieved_per_s"] >= 0.95 * rate
                ),
                note=f"primed with {found['primed']} reports (one per distinct date) first; "
                f"{found['achieved_per_s']:.0f} reports/s achieved; POST latency "
                f"{latency_cell(found['post_latency_ms'])}; "
                f"{found['requests_sent']} of {found['requests_scheduled']} requests sent; "
                f"measured positions {found['first_measured']}..{found['last_acknowledged']}, "
                f"timeline view at {found['timeline_view_position_after_drain']} after the drain, "
                f"highest received {found['max_received']}; "
                f"{found['subscribers_connected']} subscribers connected, "
                f"stream ends: {found['stream_ends'] or 'none'}",
            )
        )
        self.add(
            Figure(
                store,
                f"live: reports/s achieved ({how}, {number(rate)}/s offered)",
                found["achieved_per_s"],
                "reports/s",
                target=f">= 95% of {number(rate)}/s",
                met=found["achieved_per_s"] >= 0.95 * rate and not found["post_errors"],
            )
        )


def _trim_tree(text: str, share: float = 0.02) -> str:
    """A pyinstrument tree without the frames under `share` of the total time."""
    lines, total = [], None
    for line in text.splitlines():
        found = re.match(r"^[\s|`-]*(\d+\.\d+) ", line)
        if found is None:
            if total is None:
                lines.append(line)
            continue
        seconds = float(found.group(1))
        total = total or seconds
        if seconds >= share * total:
            lines.append(line)
    return "\n".join(lines)


def _tenth_actor(views: Any) -> tuple[str | None, int]:
    """The registered actor with the 10th most appearances (fewer actors: the last)."""
    from projections.actor_history_view import ActorHistoryView
    from projections.generation import Generation
    from projections.runner import current_generation

    with views.transaction() as cursor:
        view = ActorHistoryView(Generation(views, current_generation(views, cursor)))
        cursor.execute(
            f"SELECT actor, COUNT(*) AS n FROM {view.appearances.sql} "
            "WHERE valid_to IS NULL AND substr(actor, 1, 5) <> 'name:' "
            "GROUP BY actor ORDER BY n DESC, actor"
        )
        ranked = [(row["actor"], int(row["n"])) for row in cursor.fetchall()]
    if not ranked:
        return None, 0
    return ranked[min(9, len(ranked) - 1)]


def machine_facts() -> dict[str, str]:
    def run(*command: str) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            return ""

    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": run("nproc").strip(),
        "cpu": cpu,
        "free -h": run("free", "-h").rstrip(),
        "loadavg": Path("/proc/loadavg").read_text().strip()
        if Path("/proc/loadavg").exists()
        else "",
        "python": platform.python_version(),
        "postgres": run("psql", "-V").strip() or "?",
        "sqlite": __import__("sqlite3").sqlite_version,
        "wrk": (run("wrk", "-v") or "").splitlines()[0] if run("wrk", "-v") else "?",
        "pid": str(os.getpid()),
    }
