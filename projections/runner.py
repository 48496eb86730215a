"""Keeping the views up to date: the two drivers of the fold, and one runner.

- Incremental (`apply_batch`): each batch of new events is folded into the
  serving generation and its tracked position moves forward in the same
  transaction, so a crash at any point resumes exactly where the last commit
  left off: no event is applied twice, none is skipped.
- Bulk (`build`, `rebuild`): the whole log is folded in memory into a fresh
  generation, written in large batches, indexed at the end, caught up by the
  incremental driver and switched to atomically.

eventsourcing 9.5's own ProjectionRunner commits once per event and cannot
follow a SQLite log, so the loop here reads the application recorder's
notification log itself, with its own batching and wake-ups: at once on a
write in this process, by polling for writes from other processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from domain.application import TimelineApplication
from projections import log_reader
from projections.actor_history_view import ActorHistoryView
from projections.database import Cursor, PostgresViews, ViewDatabase
from projections.generation import NAME, SHAPE, Generation
from projections.projector import MemoryRows, Projector, SqlRows
from projections.tally_view import TallyView
from projections.timeline_view import TimelineView
from projections.wake import WakeChannel

log = logging.getLogger("timeline.projections")

# The views clients read and subscribe to; all are answered from one generation.
VIEWS: dict[str, Any] = {
    "timeline": TimelineView,
    "tally": TallyView,
    "actor_history": ActorHistoryView,
}
# Tables of the views before they shared one generation (shape 2 and older).
LEGACY_TABLES = (
    "reports",
    "actors",
    "names",
    "mentions",
    "times",
    "incidents",
    "tags",
    "attacks",
    "tallies",
    "appearances",
)

BATCH = 500
# A runner commits (and subscribers hear of it) at least this often while it
# catches up: big batches are cheaper per event, but nobody sees them until
# they commit.
BATCH_BUDGET = 0.05
# Events a rebuild reads, folds and writes at a time.
BULK_PAGE = 10_000


def create_meta(db: ViewDatabase) -> None:
    with db.transaction(write=True) as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {db.table('tl_generations')} "
            "(view TEXT PRIMARY KEY, generation INTEGER NOT NULL)"
        )
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {db.table('tl_tracking')} "
            "(view TEXT NOT NULL, generation INTEGER NOT NULL, position BIGINT NOT NULL, "
            "PRIMARY KEY (view, generation))"
        )
        # The shape of the tables, as this code writes them: a store whose serving
        # tables have another shape (an upgrade) gets fresh, empty ones, which the
        # runner fills from the start of the log.
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {db.table('tl_shapes')} "
            "(view TEXT PRIMARY KEY, shape INTEGER NOT NULL)"
        )
        _drop_legacy(db, cursor)
        cursor.execute(
            f"SELECT generation FROM {db.table('tl_generations')} WHERE view = %s", (NAME,)
        )
        created = cursor.fetchone() is None
        if created:
            _start_generation(db, cursor, 1)
            cursor.execute(
                f"INSERT INTO {db.table('tl_generations')} (view, generation) VALUES (%s, %s)",
                (NAME, 1),
            )
        db.lock_row(cursor, NAME)
        cursor.execute(f"SELECT shape FROM {db.table('tl_shapes')} WHERE view = %s", (NAME,))
        row = cursor.fetchone()
        if row is not None and row["shape"] == SHAPE:
            return
        if not created:  # tables of an older shape, or of a store from before shapes
            fresh = _next_generation(db, cursor)
            _start_generation(db, cursor, fresh)
            cursor.execute(
                f"UPDATE {db.table('tl_generations')} SET generation = %s WHERE view = %s",
                (fresh, NAME),
            )
            log.warning("views: tables of an older shape; rebuilding from the log")
        cursor.execute(f"DELETE FROM {db.table('tl_shapes')} WHERE view = %s", (NAME,))
        cursor.execute(
            f"INSERT INTO {db.table('tl_shapes')} (view, shape) VALUES (%s, %s)", (NAME, SHAPE)
        )


def _drop_legacy(db: ViewDatabase, cursor: Cursor) -> None:
    """Drop the per-view tables of versions before one shared generation."""
    legacy = tuple(VIEWS)
    marks = ", ".join(["%s"] * len(legacy))
    cursor.execute(
        f"SELECT view, generation FROM {db.table('tl_tracking')} WHERE view IN ({marks})", legacy
    )
    for row in cursor.fetchall():
        for suffix in LEGACY_TABLES:
            name = f"tl_{row['view']}_g{row['generation']}_{suffix}"
            cursor.execute(f"DROP TABLE IF EXISTS {db.table(name)}")
    for table in ("tl_tracking", "tl_generations", "tl_shapes"):
        cursor.execute(f"DELETE FROM {db.table(table)} WHERE view IN ({marks})", legacy)


def _next_generation(db: ViewDatabase, cursor: Cursor) -> int:
    """A generation number never used yet (the caller holds the generation row lock)."""
    cursor.execute(
        f"SELECT MAX(generation) AS top FROM {db.table('tl_tracking')} WHERE view = %s", (NAME,)
    )
    return int(cursor.fetchone()["top"] or 0) + 1


def _start_generation(
    db: ViewDatabase, cursor: Cursor, number: int, read_indexes: bool = True
) -> Generation:
    gen = Generation(db, number)
    gen.drop(cursor)
    gen.create(cursor, read_indexes)
    cursor.execute(
        f"DELETE FROM {db.table('tl_tracking')} WHERE view = %s AND generation = %s", (NAME, number)
    )
    cursor.execute(
        f"INSERT INTO {db.table('tl_tracking')} (view, generation, position) VALUES (%s, %s, 0)",
        (NAME, number),
    )
    return gen


def current_generation(db: ViewDatabase, cursor: Cursor) -> int:
    cursor.execute(f"SELECT generation FROM {db.table('tl_generations')} WHERE view = %s", (NAME,))
    return int(cursor.fetchone()["generation"])


def apply_batch(
    app: TimelineApplication,
    db: ViewDatabase,
    generation: int | None = None,
    batch: int = BATCH,
    stop: int | None = None,
    switch: bool = False,
    budget: float | None = None,
) -> tuple[int, int]:
    """The incremental driver: fold the next batch of events into a generation's
    tables, in one transaction that also moves its tracked position.

    `generation` None means the serving generation. Returns (events applied,
    tracked position). With `switch`, the generation becomes the serving one
    in the same transaction. With `budget` (seconds), the batch ends early once
    that time is spent, so that what was applied is committed and announced
    without waiting for the rest.
    """
    with db.transaction(write=True) as cursor:
        db.lock_row(cursor, NAME)
        serving = current_generation(db, cursor)
        gen = Generation(db, generation or serving)
        tracked = gen.tracked(cursor)
        # Positions can have gaps (PostgreSQL sequences skip on rollback), so
        # `stop` bounds positions, not a count of events.
        found = (
            log_reader.read(app, tracked + 1, batch, stop) if stop is None or tracked < stop else []
        )
        rows = SqlRows(gen, cursor)
        projector = Projector(gen, rows)
        deadline = None if budget is None else time.monotonic() + budget
        for done, event in enumerate(found, start=1):
            projector.apply(event)
            if deadline is not None and time.monotonic() > deadline:
                found = found[:done]
                break
        rows.flush()
        if found:
            tracked = found[-1].position
            gen.track(cursor, tracked)
            if generation is None or switch:
                db.announce(cursor, NAME, tracked)  # delivered on commit, to every process
        if switch and gen.number != serving:
            cursor.execute(
                f"UPDATE {db.table('tl_generations')} SET generation = %s WHERE view = %s",
                (gen.number, NAME),
            )
        return len(found), tracked


def build(
    app: TimelineApplication, db: ViewDatabase, stop: int | None = None, page: int = BULK_PAGE
) -> int:
    """The bulk driver: fold the log (up to `stop`) into a new generation; not served yet.

    Current rows stay in memory, so the fold never reads the database; each page
    of events is written with one `executemany` per table, and the indexes only
    queries use are built once at the end.
    """
    create_meta(db)
    with db.transaction(write=True) as cursor:
        db.lock_row(cursor, NAME)
        gen = _start_generation(db, cursor, _next_generation(db, cursor), read_indexes=False)
    rows = MemoryRows(gen)
    projector = Projector(gen, rows)
    start = 1
    while True:
        events = log_reader.read(app, start, page, stop)
        for event in events:
            projector.apply(event)
        if events:
            with db.bulk_transaction() as cursor:
                rows.flush(cursor)
                gen.track(cursor, events[-1].position)
            start = events[-1].position + 1
        if len(events) < page:
            break
    with db.bulk_transaction() as cursor:
        rows.write_mentions(cursor)
        gen.create_read_indexes(cursor)
        gen.analyze(cursor)  # fresh tables: give the planner their statistics
    return gen.number


def rebuild(
    app: TimelineApplication, db: ViewDatabase, stop: int | None = None, page: int = BULK_PAGE
) -> int:
    """Rebuild the views from the whole log into fresh tables, then switch to them.

    The serving generation keeps answering (and its runner keeps applying new
    events) until the last batch, which catches up and switches atomically.
    The generations before the serving one are dropped; the old serving one is
    kept until the next rebuild, for queries still reading it.
    """
    fresh = build(app, db, stop, page)
    with db.transaction(write=True) as cursor:
        db.lock_row(cursor, NAME)
        serving = current_generation(db, cursor)
    while True:  # catch up with what was written meanwhile, then switch
        applied, _ = apply_batch(app, db, fresh, 2_000, stop)
        if applied < 2_000:
            break
    # The switch applies whatever is left, however much, so that the new
    # generation is never behind the one it replaces.
    apply_batch(app, db, fresh, batch=1_000_000, stop=stop, switch=True)
    with db.transaction(write=True) as cursor:
        cursor.execute(
            f"SELECT generation FROM {db.table('tl_tracking')} WHERE view = %s AND generation < %s",
            (NAME, serving),
        )
        for row in cursor.fetchall():
            Generation(db, row["generation"]).drop(cursor)
        cursor.execute(
            f"DELETE FROM {db.table('tl_tracking')} WHERE view = %s AND generation < %s",
            (NAME, serving),
        )
    return fresh


class RunnerLock:
    """At most one runner per view: a PostgreSQL advisory lock or a lock file."""

    def __init__(self, db: ViewDatabase, name: str) -> None:
        self.db, self.name = db, name
        self._held: Any = None

    def acquire(self) -> bool:
        if isinstance(self.db, PostgresViews):
            conn = self.db.pool.getconn()
            key = zlib.crc32(f"timeline:{self.db.schema}:{self.name}".encode())
            conn.autocommit = True
            row = conn.execute("SELECT pg_try_advisory_lock(%s::bigint) AS ok", (key,)).fetchone()
            if row["ok"]:
                self._held = conn
                return True
            self.db.pool.putconn(conn)
            return False
        path = Path(f"{getattr(self.db, 'path', 'views')}.{self.name}.lock")
        handle = path.open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._held = handle
        return True

    def release(self) -> None:
        if self._held is None:
            return
        if isinstance(self.db, PostgresViews):
            with contextlib.suppress(Exception):
                self._held.execute("SELECT pg_advisory_unlock_all()")
            self.db.pool.putconn(self._held)
        else:
            self._held.close()
        self._held = None


class ViewClock:
    """The latest position the views are known to have applied, in this process.

    Every view is answered from one generation, so they share one position.
    Advanced by this process's runner after each commit and, on PostgreSQL, by
    NOTIFY messages from a runner in another process; waited on for
    read-your-writes, and listened to by the subscription broker (once per
    view name).
    """

    def __init__(self) -> None:
        self._position = 0
        self._changed = threading.Condition()
        self.listeners: list[Callable[[str, int], None]] = []

    def position(self, name: str | None = None) -> int:
        return self._position

    def advance(self, position: int) -> None:
        with self._changed:
            if position <= self._position:
                return
            self._position = position
            self._changed.notify_all()
        for listener in list(self.listeners):
            for name in VIEWS:
                listener(name, position)

    def wait_for(self, position: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True


class ViewRunner:
    """Supervised background thread keeping the views in step with the log."""

    def __init__(
        self,
        app: TimelineApplication,
        db: ViewDatabase,
        clock: ViewClock,
        poll_interval: float = 0.5,
    ) -> None:
        self.app, self.db, self.clock = app, db, clock
        self.poll_interval = poll_interval
        self.wake = threading.Event()
        self.errors = 0
        self.last_error: str | None = None
        self.is_leader = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="views-runner", daemon=True)
        self._lock = RunnerLock(db, NAME)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.wake.set()
        self._thread.join(timeout=10)
        self._lock.release()

    def _run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            if not self.is_leader:
                self.is_leader = self._lock.acquire()
                if not self.is_leader:  # another process runs the views: stand by
                    self._stopping.wait(1.0)
                    continue
                log.info("views: this process now runs them")
            try:
                self.wake.clear()
                applied, tracked = apply_batch(self.app, self.db, budget=BATCH_BUDGET)
                backoff = 0.1
            except Exception as error:  # a runner must outlive any one failure
                self.errors += 1
                self.last_error = f"{type(error).__name__}: {error}"
                log.exception("views failed; retrying in %.1fs", backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self.clock.advance(tracked)
            if applied == 0:
                self.wake.wait(self.poll_interval)


def tracked_position(db: ViewDatabase) -> int:
    """The position the serving generation has applied."""
    with db.transaction() as cursor:
        return Generation(db, current_generation(db, cursor)).tracked(cursor)


class Projections:
    """The views of one process: a runner (unless `run` is off), a clock, consistent reads.

    Without a runner here, writes in this process wake the runner's process
    (`WakeChannel`), and the clock follows its commits: by NOTIFY on
    PostgreSQL, by reading its tracked position every `POLL_TRACKING` seconds
    on SQLite.
    """

    POLL_TRACKING = 0.01

    def __init__(self, app: TimelineApplication, db: ViewDatabase, run: bool = True) -> None:
        self.app, self.db = app, db
        self.wake = WakeChannel(db.identity)
        self.clock = ViewClock()
        self.runner = ViewRunner(app, db, self.clock)
        self._run = run
        self._stopping = threading.Event()
        self._listener: threading.Thread | None = None

    def start(self) -> None:
        self.clock.advance(tracked_position(self.db))
        if isinstance(self.db, PostgresViews):
            # The runner may live in another process: hear of its commits.
            self._listener = threading.Thread(target=self._listen, name="views-listen", daemon=True)
            self._listener.start()
        elif not self._run:
            self._listener = threading.Thread(target=self._poll, name="views-poll", daemon=True)
            self._listener.start()
        if self._run:
            self.runner.start()
            self.wake.listen(self._stopping, lambda: self.notify(0))

    def stop(self) -> None:
        self._stopping.set()
        if self._run:
            self.runner.stop()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self.wake.close()

    def notify(self, position: int) -> None:
        """A write: wake the runner now, here or in its own process."""
        if not self._run:
            self.wake.send()
        self.runner.wake.set()

    def wait_for(self, name: str, position: int, timeout: float) -> bool:
        self.runner.wake.set()
        return self.clock.wait_for(position, timeout)

    def _listen(self) -> None:
        assert isinstance(self.db, PostgresViews)
        while not self._stopping.is_set():
            try:
                for _, position in self.db.listen(self._stopping, self._refresh):
                    self.clock.advance(position)
            except Exception:  # reconnect; _refresh covers what was missed meanwhile
                log.exception("view notifications lost; reconnecting")
                self._stopping.wait(1.0)

    def _poll(self) -> None:
        while not self._stopping.wait(self.POLL_TRACKING):
            try:
                self._refresh()
            except Exception:  # the store may be away for a while: keep polling
                log.exception("reading the views' position failed")
                self._stopping.wait(1.0)

    def _refresh(self) -> None:
        self.clock.advance(tracked_position(self.db))

    @contextmanager
    def read(self, name: str) -> Iterator[tuple[Any, Cursor, int]]:
        """A consistent snapshot of the serving generation, as view `name`, and its position."""
        with self.db.transaction() as cursor:
            gen = Generation(self.db, current_generation(self.db, cursor))
            yield VIEWS[name](gen), cursor, gen.tracked(cursor)
