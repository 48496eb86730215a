"""Keeping views up to date: tracked batches, one runner per view, rebuilds.

Each batch of events is applied to a view and its tracked position is moved
forward in the same transaction, so a crash at any point resumes exactly where
the last commit left off: no event is applied twice, none is skipped.

eventsourcing 9.5's own ProjectionRunner commits once per event and cannot
follow a SQLite log, so the loop here uses the library's pieces (the
application recorder's notification log, its mapper, `Tracking`) with its own
batching and wake-ups: at once on a write in this process, by polling for
writes from other processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from domain.application import TimelineApplication
from projections.actor_history_view import ActorHistoryView
from projections.database import Cursor, PostgresViews, ViewDatabase
from projections.facts import View
from projections.tally_view import TallyView
from projections.timeline_view import TimelineView
from projections.wake import WakeChannel

log = logging.getLogger("timeline.projections")

VIEWS: dict[str, type[View]] = {
    "timeline": TimelineView,
    "tally": TallyView,
    "actor_history": ActorHistoryView,
}

BATCH = 500
# A runner commits (and subscribers hear of it) at least this often while it
# catches up: big batches are cheaper per event, but nobody sees them until
# they commit.
BATCH_BUDGET = 0.05


class DecodedLog:
    """The log's events, decoded once per process for every view that reads them.

    Each view reads the same positions (three runners, or one rebuild of all
    views), and decoding is most of what reading costs. Stored events never
    change, so a decoded event can be shared; the cache keeps the newest
    `keep` of them.
    """

    def __init__(self, app: TimelineApplication, keep: int = 2 * BATCH) -> None:
        self.app, self.keep = app, keep
        self._events: OrderedDict[int, Any] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, start: int, limit: int, stop: int | None = None) -> list[tuple[int, Any]]:
        """(position, event) from `start` on, at most `limit`, positions up to `stop`."""
        notifications = self.app.recorder.select_notifications(start, limit, stop=stop)
        found = []
        for notification in notifications:
            with self._lock:
                event = self._events.get(notification.id)
            if event is None:
                event = self.app.mapper.to_domain_event(notification)
                with self._lock:
                    self._events[notification.id] = event
                    while len(self._events) > self.keep:
                        self._events.popitem(last=False)
            found.append((notification.id, event))
        return found


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
        # The shape of each view's tables, as this code writes them: a store whose
        # serving tables have another shape (an upgrade) gets fresh, empty ones,
        # which the runners fill from the start of the log.
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {db.table('tl_shapes')} "
            "(view TEXT PRIMARY KEY, shape INTEGER NOT NULL)"
        )
        for name, view in VIEWS.items():
            cursor.execute(
                f"SELECT generation FROM {db.table('tl_generations')} WHERE view = ?", (name,)
            )
            created = cursor.fetchone() is None
            if created:
                _start_generation(db, cursor, name, 1)
                cursor.execute(
                    f"INSERT INTO {db.table('tl_generations')} (view, generation) VALUES (?, ?)",
                    (name, 1),
                )
            db.lock_row(cursor, name)
            cursor.execute(f"SELECT shape FROM {db.table('tl_shapes')} WHERE view = ?", (name,))
            row = cursor.fetchone()
            if row is not None and row["shape"] == view.shape:
                continue
            if not created:  # tables of an older shape, or of a store from before shapes
                fresh = _next_generation(db, cursor, name)
                _start_generation(db, cursor, name, fresh)
                cursor.execute(
                    f"UPDATE {db.table('tl_generations')} SET generation = ? WHERE view = ?",
                    (fresh, name),
                )
                log.warning("view %s: tables of an older shape; rebuilding from the log", name)
            cursor.execute(f"DELETE FROM {db.table('tl_shapes')} WHERE view = ?", (name,))
            cursor.execute(
                f"INSERT INTO {db.table('tl_shapes')} (view, shape) VALUES (?, ?)",
                (name, view.shape),
            )


def _next_generation(db: ViewDatabase, cursor: Cursor, name: str) -> int:
    """A generation number this view has never used (the caller holds its row lock)."""
    cursor.execute(
        f"SELECT MAX(generation) AS top FROM {db.table('tl_tracking')} WHERE view = ?", (name,)
    )
    return int(cursor.fetchone()["top"]) + 1


def _start_generation(
    db: ViewDatabase, cursor: Cursor, name: str, generation: int, read_indexes: bool = True
) -> View:
    view = VIEWS[name](db, generation)
    view.drop_tables(cursor)
    view.create_tables(cursor, read_indexes)
    cursor.execute(
        f"DELETE FROM {db.table('tl_tracking')} WHERE view = ? AND generation = ?",
        (name, generation),
    )
    cursor.execute(
        f"INSERT INTO {db.table('tl_tracking')} (view, generation, position) VALUES (?, ?, 0)",
        (name, generation),
    )
    return view


def current_generation(db: ViewDatabase, cursor: Cursor, name: str) -> int:
    cursor.execute(f"SELECT generation FROM {db.table('tl_generations')} WHERE view = ?", (name,))
    row = cursor.fetchone()
    return int(row["generation"])


def apply_batch(
    app: TimelineApplication,
    db: ViewDatabase,
    name: str,
    generation: int | None = None,
    batch: int = BATCH,
    stop: int | None = None,
    switch: bool = False,
    events: DecodedLog | None = None,
    budget: float | None = None,
) -> tuple[int, int]:
    """Apply the next batch of events to a view in one transaction.

    `generation` None means the serving generation. Returns (events applied,
    tracked position). With `switch`, the generation becomes the serving one
    in the same transaction. With `budget` (seconds), the batch ends early once
    that time is spent, so that what was applied is committed and announced
    without waiting for the rest.
    """
    with db.transaction(write=True) as cursor:
        db.lock_row(cursor, name)
        serving = current_generation(db, cursor, name)
        view = VIEWS[name](db, generation or serving)
        tracked = view.tracked(cursor)
        # Positions can have gaps (PostgreSQL sequences skip on rollback), so
        # `stop` bounds positions, not a count of events.
        source = events or DecodedLog(app, keep=0)
        found = source.read(tracked + 1, batch, stop) if stop is None or tracked < stop else []
        deadline = None if budget is None else time.monotonic() + budget
        for done, (position, event) in enumerate(found, start=1):
            view.apply(cursor, event, position)
            if deadline is not None and time.monotonic() > deadline:
                found = found[:done]
                break
        view.flush(cursor)
        if found:
            tracked = found[-1][0]
            view.track(cursor, tracked)
            if generation is None or switch:
                db.announce(cursor, name, tracked)  # delivered on commit, to every process
        if switch and view.generation != serving:
            cursor.execute(
                f"UPDATE {db.table('tl_generations')} SET generation = ? WHERE view = ?",
                (view.generation, name),
            )
        return len(found), tracked


def build(
    app: TimelineApplication,
    db: ViewDatabase,
    name: str,
    stop: int | None = None,
    batch: int = 2_000,
) -> int:
    """Project the log (up to `stop`) into a new generation of tables; not served yet."""
    return build_views(app, db, [name], stop, batch)[name]


def build_views(
    app: TimelineApplication,
    db: ViewDatabase,
    names: list[str],
    stop: int | None = None,
    batch: int = 2_000,
) -> dict[str, int]:
    """`build` for several views in one pass over the log: each batch is read and
    decoded once, then applied to each view in that view's own transaction."""
    create_meta(db)
    fresh = {}
    for name in names:
        with db.transaction(write=True) as cursor:
            db.lock_row(cursor, name)
            fresh[name] = _next_generation(db, cursor, name)
            # Indexes only queries and the feed use are built once at the end.
            _start_generation(db, cursor, name, fresh[name], read_indexes=False)
    events = DecodedLog(app, keep=batch)
    todo = list(names)
    while todo:
        for name in list(todo):
            applied, tracked = apply_batch(app, db, name, fresh[name], batch, stop, events=events)
            if applied < batch or (stop is not None and tracked >= stop):
                todo.remove(name)
    for name in names:
        with db.transaction(write=True) as cursor:
            view = VIEWS[name](db, fresh[name])
            view.create_read_indexes(cursor)
            view.analyze(cursor)  # fresh tables: give the planner their statistics
    return fresh


def rebuild(
    app: TimelineApplication,
    db: ViewDatabase,
    name: str,
    stop: int | None = None,
    batch: int = 2_000,
) -> int:
    """Rebuild a view from the whole log into fresh tables, then switch to them."""
    return rebuild_views(app, db, [name], stop, batch)[name]


def rebuild_views(
    app: TimelineApplication,
    db: ViewDatabase,
    names: list[str],
    stop: int | None = None,
    batch: int = 2_000,
) -> dict[str, int]:
    """Rebuild views from the whole log into fresh tables, then switch to them.

    The serving generation keeps answering (and its runner keeps applying new
    events) until the last batch, which catches up and switches atomically.
    The generation before the serving one is dropped; the old serving one is
    kept until the next rebuild, for queries still reading it.
    """
    fresh = build_views(app, db, names, stop, batch)
    for name in names:
        with db.transaction(write=True) as cursor:
            db.lock_row(cursor, name)
            serving = current_generation(db, cursor, name)
        while True:  # catch up with what was written meanwhile, then switch
            applied, _ = apply_batch(app, db, name, fresh[name], batch, stop)
            if applied < batch:
                break
        # The switch applies whatever is left, however much, so that the new
        # generation is never behind the one it replaces.
        apply_batch(app, db, name, fresh[name], batch=1_000_000, stop=stop, switch=True)
        with db.transaction(write=True) as cursor:
            for old in range(1, serving):
                VIEWS[name](db, old).drop_tables(cursor)
                cursor.execute(
                    f"DELETE FROM {db.table('tl_tracking')} WHERE view = ? AND generation = ?",
                    (name, old),
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
            row = conn.execute(
                "SELECT pg_try_advisory_lock(?::bigint) AS ok".replace("?", "%s"), (key,)
            ).fetchone()
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
    """The latest position each view is known to have applied, in this process.

    Advanced by this process's runners after each commit and, on PostgreSQL, by
    NOTIFY messages from runners in other processes; waited on for
    read-your-writes, and listened to by the subscription broker.
    """

    def __init__(self) -> None:
        self._positions: dict[str, int] = dict.fromkeys(VIEWS, 0)
        self._changed = threading.Condition()
        self.listeners: list[Callable[[str, int], None]] = []

    def position(self, name: str) -> int:
        return self._positions[name]

    def advance(self, name: str, position: int) -> None:
        with self._changed:
            if position <= self._positions[name]:
                return
            self._positions[name] = position
            self._changed.notify_all()
        for listener in list(self.listeners):
            listener(name, position)

    def wait_for(self, name: str, position: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._positions[name] < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True


class ViewRunner:
    """Supervised background thread keeping one view in step with the log."""

    def __init__(
        self,
        app: TimelineApplication,
        db: ViewDatabase,
        name: str,
        clock: ViewClock,
        poll_interval: float = 0.5,
        events: DecodedLog | None = None,
    ) -> None:
        self.app, self.db, self.name, self.clock = app, db, name, clock
        self.events = events or DecodedLog(app)
        self.poll_interval = poll_interval
        self.wake = threading.Event()
        self.errors = 0
        self.last_error: str | None = None
        self.is_leader = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"view-{name}", daemon=True)
        self._lock = RunnerLock(db, name)

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
                if not self.is_leader:  # another process runs this view: stand by
                    self._stopping.wait(1.0)
                    continue
                log.info("view %s: this process now runs it", self.name)
            try:
                self.wake.clear()
                applied, tracked = apply_batch(
                    self.app, self.db, self.name, events=self.events, budget=BATCH_BUDGET
                )
                backoff = 0.1
            except Exception as error:  # a runner must outlive any one failure
                self.errors += 1
                self.last_error = f"{type(error).__name__}: {error}"
                log.exception("view %s failed; retrying in %.1fs", self.name, backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self.clock.advance(self.name, tracked)
            if applied == 0:
                self.wake.wait(self.poll_interval)


def tracked_positions(db: ViewDatabase) -> dict[str, int]:
    """Each view's applied position, from its serving generation."""
    with db.transaction() as cursor:
        return {
            name: cls(db, current_generation(db, cursor, name)).tracked(cursor)
            for name, cls in VIEWS.items()
        }


class Projections:
    """The views of one process: runners (unless `run` is off), a clock, consistent reads.

    Without runners here, writes in this process wake the runners' process
    (`WakeChannel`), and the clock follows their commits: by NOTIFY on
    PostgreSQL, by reading their tracked positions every `POLL_TRACKING`
    seconds on SQLite.
    """

    POLL_TRACKING = 0.01

    def __init__(self, app: TimelineApplication, db: ViewDatabase, run: bool = True) -> None:
        self.app, self.db = app, db
        self.wake = WakeChannel(db.identity)
        self.clock = ViewClock()
        events = DecodedLog(app)  # the runners read the same events: decode them once
        self.runners = {
            name: ViewRunner(app, db, name, self.clock, events=events) for name in VIEWS
        }
        self._run = run
        self._stopping = threading.Event()
        self._listener: threading.Thread | None = None

    def start(self) -> None:
        for name, position in tracked_positions(self.db).items():
            self.clock.advance(name, position)
        if isinstance(self.db, PostgresViews):
            # Runners may live in other processes: hear of their commits.
            self._listener = threading.Thread(target=self._listen, name="views-listen", daemon=True)
            self._listener.start()
        elif not self._run:
            self._listener = threading.Thread(target=self._poll, name="views-poll", daemon=True)
            self._listener.start()
        if self._run:
            for runner in self.runners.values():
                runner.start()
            self.wake.listen(self._stopping, lambda: self.notify(0))

    def stop(self) -> None:
        self._stopping.set()
        if self._run:
            for runner in self.runners.values():
                runner.stop()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self.wake.close()

    def notify(self, position: int) -> None:
        """A write: wake the runners now, here or in their own process."""
        if not self._run:
            self.wake.send()
        for runner in self.runners.values():
            runner.wake.set()

    def wait_for(self, name: str, position: int, timeout: float) -> bool:
        self.runners[name].wake.set()
        return self.clock.wait_for(name, position, timeout)

    def _listen(self) -> None:
        assert isinstance(self.db, PostgresViews)
        while not self._stopping.is_set():
            try:
                for name, position in self.db.listen(self._stopping, self._refresh):
                    self.clock.advance(name, position)
            except Exception:  # reconnect; _refresh covers what was missed meanwhile
                log.exception("view notifications lost; reconnecting")
                self._stopping.wait(1.0)

    def _poll(self) -> None:
        while not self._stopping.wait(self.POLL_TRACKING):
            try:
                self._refresh()
            except Exception:  # the store may be away for a while: keep polling
                log.exception("reading the views' positions failed")
                self._stopping.wait(1.0)

    def _refresh(self) -> None:
        for name, position in tracked_positions(self.db).items():
            self.clock.advance(name, position)

    @contextmanager
    def read(self, name: str) -> Iterator[tuple[Any, Cursor, int]]:
        """A consistent snapshot of the serving generation and its position."""
        with self.db.transaction() as cursor:
            view = VIEWS[name](self.db, current_generation(self.db, cursor, name))
            yield view, cursor, view.tracked(cursor)
