"""Following the event log: every event after a position, then live ones as they commit.

A follower first reads what it missed straight from the store, a page at a
time. Then it joins the feed: one reader per process which, whenever the
process hears of a commit, reads the new events from the store after the
last one it read and hands each, encoded once, to every follower's bounded
queue. The process hears of commits the way live view updates do: its own
writes call the application's listeners, and the views' clock follows other
processes' commits (NOTIFY on PostgreSQL, polling on SQLite); a heartbeat
also looks, in case neither spoke.

Every read starts after a position already delivered, so no event can be
skipped; after joining, a follower reads the store once more (what committed
while it joined) and drops queued events it has already sent, so none is sent
twice. A follower whose queue fills is sent `overflow` with the position to
resume after, and dropped: it never slows writers or other followers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Notification
from sse_starlette.sse import ServerSentEvent
from starlette.concurrency import run_in_threadpool

from service.eventlog import log_record
from service.log_query import PAGE, LogQuery
from service.responses import dumps

log = logging.getLogger("timeline.follow")

HEARTBEAT, OVERFLOW, END = "heartbeat", "overflow", "end"
BATCH = 64  # lines handed to a stream at once, when that many are waiting
_DETAIL = {
    OVERFLOW: "this follower fell behind; reconnect with after={after}",
    END: "server shutting down; reconnect with after={after}",
}


class LogLine:
    """One event of the log, encoded at most once per wire format."""

    __slots__ = ("_ndjson", "_sse", "_transcoder", "notification")

    def __init__(self, notification: Notification, transcoder: Any) -> None:
        self.notification = notification
        self._transcoder = transcoder
        self._ndjson: bytes | None = None
        self._sse: bytes | None = None

    @property
    def position(self) -> int:
        return self.notification.id

    @property
    def ndjson(self) -> bytes:
        if self._ndjson is None:
            self._ndjson = dumps(log_record(self.notification, self._transcoder)) + b"\n"
        return self._ndjson

    @property
    def sse(self) -> bytes:
        if self._sse is None:
            data = self.ndjson[:-1].decode()
            self._sse = ServerSentEvent(data=data, event="event", id=str(self.position)).encode()
        return self._sse


@dataclass(frozen=True)
class Control:
    """A line that is not an event: `heartbeat`, `overflow` or `end`, and where to resume."""

    kind: str
    after: int

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.kind, "after": self.after}
        if self.kind in _DETAIL:
            body["detail"] = _DETAIL[self.kind].format(after=self.after)
        return body

    @property
    def ndjson(self) -> bytes:
        return dumps(self.body) + b"\n"

    @property
    def sse(self) -> bytes:
        return ServerSentEvent(data=dumps(self.body).decode(), event=self.kind).encode()


class Follower:
    def __init__(self, query: LogQuery, buffer: int, floor: int) -> None:
        self.query = query
        self.queue: asyncio.Queue[LogLine | str] = asyncio.Queue(maxsize=buffer)
        self.floor = floor  # sent already, from the store: not queued again
        self.seen = floor  # the feed has offered every event up to here
        self.closed = False

    def offer(self, line: LogLine) -> None:
        if self.closed or line.position <= self.floor or not self.query.keeps(line.notification):
            return
        try:
            self.queue.put_nowait(line)
        except asyncio.QueueFull:
            self.finish(OVERFLOW)

    def finish(self, reason: str) -> None:
        """End with OVERFLOW or END, even if the queue is full."""
        if self.closed:
            return
        self.closed = True
        while not self.queue.empty():  # make room for the one message that matters
            self.queue.get_nowait()
        self.queue.put_nowait(reason)


def uvicorn_stopping() -> bool:
    """Whether uvicorn has begun to shut down. It waits for open responses before
    the app's lifespan hears of it, so a stream that never ends must look itself:
    uvicorn's SIGTERM handler is a method of its Server, which has `should_exit`."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return bool(getattr(server, "should_exit", False))


class LogFeed:
    """The live tail of the log, read once per process for every follower."""

    def __init__(
        self,
        timeline: Any,
        index: Any,
        buffer: int = 1_000,
        max_followers: int = 1_000,
        stopping: Callable[[], bool] = uvicorn_stopping,
    ) -> None:
        self.timeline, self.index = timeline, index
        self.buffer, self.max_followers = buffer, max_followers
        self.transcoder = timeline.mapper.transcoder
        self.followers: set[Follower] = set()
        self.streams = 0  # follows under way, catching up or live
        self.closed = False
        self._stopping = stopping
        self._cursor = 0  # every event up to here has been offered to the followers
        self._dirty = self._pumping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sources: list[list[Callable[..., None]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, *sources: list[Callable[..., None]]) -> None:
        """Start after the log's last event; `sources` are listener lists told of commits."""
        self._loop = asyncio.get_running_loop()
        self._cursor = await run_in_threadpool(self.timeline.max_position)
        for listeners in sources:
            listeners.append(self.wake)
            self._sources.append(listeners)
        self._spawn(self._watch_shutdown())

    def close(self) -> None:
        self.closed = True
        for listeners in self._sources:
            with contextlib.suppress(ValueError):
                listeners.remove(self.wake)
        for follower in list(self.followers):
            follower.finish(END)
        for task in self._tasks:
            task.cancel()

    def wake(self, *_: Any) -> None:
        """Something may have committed (called from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is closing
                self._loop.call_soon_threadsafe(self._kick)

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # keep a reference until done
        task.add_done_callback(self._tasks.discard)

    def _kick(self) -> None:
        self._dirty = True
        if not self._pumping and not self.closed:
            self._pumping = True
            self._spawn(self._pump())

    async def _pump(self) -> None:
        try:
            while self._dirty and not self.closed:
                self._dirty = False
                if not self.followers:  # nobody to read for: just move to the end
                    top = await run_in_threadpool(self.timeline.max_position)
                    if self.followers:
                        self._dirty = True  # someone joined meanwhile: read for them
                    else:
                        self._cursor = max(self._cursor, top)
                    continue
                try:
                    found = await run_in_threadpool(self.timeline.read_log, self._cursor, PAGE)
                except Exception:  # the store is away: followers wait, then it reads again
                    log.exception("reading the log for its followers failed; retrying")
                    self._dirty = True
                    await asyncio.sleep(1.0)
                    continue
                for notification in found:
                    line = LogLine(notification, self.transcoder)
                    for follower in list(self.followers):
                        follower.offer(line)
                if found:
                    self._cursor = found[-1].id
                for follower in self.followers:
                    follower.seen = self._cursor
                if len(found) == PAGE:
                    self._dirty = True
        finally:
            self._pumping = False

    async def _watch_shutdown(self) -> None:
        while not self._stopping():
            await asyncio.sleep(0.5)
        self.close()

    async def _backlog(
        self, query: LogQuery, after: int
    ) -> AsyncIterator[tuple[list[LogLine], int]]:
        """Kept events after `after` from the store, a page at a time, to its end."""
        while not self.closed:
            kept, after, at_end = await run_in_threadpool(
                query.page, self.timeline, self.index, after
            )
            yield [LogLine(n, self.transcoder) for n in kept], after
            if at_end:
                return

    async def follow(
        self, query: LogQuery, after: int, heartbeat: float | None = None
    ) -> AsyncIterator[list[LogLine | Control]]:
        """Every kept event after `after`, then live ones, each once and in order;
        a `heartbeat` line after `heartbeat` idle seconds (None: none); lastly
        `overflow` or `end` if the stream is cut. Lines come in lists (up to
        BATCH, as many as are waiting) so that a stream can send a burst at once.
        """
        self.streams += 1
        follower: Follower | None = None
        try:
            covered = after  # every kept event up to here has been yielded
            # What was missed is read before joining, so that however long it is,
            # the queue does not fill meanwhile.
            async for lines, read_to in self._backlog(query, covered):
                covered = read_to
                if lines:
                    yield [*lines]
            follower = Follower(query, self.buffer, covered)
            follower.seen = self._cursor
            self.followers.add(follower)
            if self.closed:
                follower.finish(END)
            # What committed while joining: the feed offers only what follows its cursor.
            async for lines, read_to in self._backlog(query, covered):
                covered = read_to
                if lines:
                    yield [*lines]
            while True:
                try:
                    first = await asyncio.wait_for(follower.queue.get(), heartbeat)
                except TimeoutError:  # nothing queued, so everything seen was sent
                    covered = max(covered, follower.seen)
                    yield [Control(HEARTBEAT, covered)]
                    self._kick()  # and look, in case a commit went unheard
                    continue
                items = [first]
                while len(items) < BATCH and not follower.queue.empty():
                    items.append(follower.queue.get_nowait())
                batch: list[LogLine | Control] = []
                for item in items:
                    if isinstance(item, str):  # OVERFLOW or END: the last word
                        yield [*batch, Control(item, covered)]
                        return
                    if item.position > covered:  # else already sent from the store
                        covered = item.position
                        batch.append(item)
                if batch:
                    yield batch
        finally:
            self.streams -= 1
            if follower is not None:
                self.followers.discard(follower)
