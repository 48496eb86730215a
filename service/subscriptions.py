"""Live view updates for many clients from one feed per process.

When a view advances (a local runner committed, or PostgreSQL NOTIFY said a
runner elsewhere did), the broker reads the changes once and fans them out to
each subscriber's bounded queue. Subscribers with the same filter share one
`Update` per message, so each message is filtered and encoded once per filter,
not once per subscriber. A subscriber that falls behind is told so and
dropped; it never slows ingest, the runners or other subscribers, and resumes
from its last position.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

from projections.feed import changes, filtered
from projections.members import members
from projections.runner import VIEWS, Projections
from service.updates import Update

OVERFLOW = "overflow"
SHUTDOWN = "shutdown"
BACKLOG_WINDOW = 1_000  # log positions read per backlog query
BATCH = 64  # updates handed to a stream at once, when that many are waiting


def actors_of(view: Any, cursor: Any, filters: dict[str, Any]) -> set[str] | None:
    """The actors an `actor` filter means as the views now stand: the actor, and
    with `rollup` every actor within it, memberships added since subscribing too."""
    actor = filters.get("actor")
    if actor is None:
        return None
    if not filters.get("rollup"):
        return {actor}
    return members(cursor, view.actors, None, actor)


def with_actors(filters: dict[str, Any], actors: set[str] | None) -> dict[str, Any]:
    return filters if actors is None else {**filters, "actors": actors}


def filter_key(filters: dict[str, Any]) -> tuple[Any, ...]:
    """A hashable form of a filter: subscribers with equal keys get the same messages."""
    return tuple(
        sorted(
            (name, frozenset(value) if isinstance(value, set) else value)
            for name, value in filters.items()
        )
    )


@dataclass(eq=False)
class Subscriber:
    view: str
    filters: dict[str, Any]
    queue: asyncio.Queue[Any]
    closed: bool = False
    key: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        self.key = filter_key(self.filters)

    def offer(self, item: Any) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.finish(OVERFLOW)

    def finish(self, sentinel: str) -> None:
        """End this subscription with OVERFLOW or SHUTDOWN, even if its queue is full."""
        if self.closed and sentinel == SHUTDOWN:
            return
        self.closed = True
        while not self.queue.empty():  # make room for the one message that matters
            self.queue.get_nowait()
        self.queue.put_nowait(sentinel)


@dataclass
class Broker:
    projections: Projections
    buffer: int = 1_000
    max_subscribers: int = 1_000
    subscribers: dict[str, set[Subscriber]] = field(
        default_factory=lambda: {v: set() for v in VIEWS}
    )
    _sent: dict[str, int] = field(default_factory=dict)
    _pumping: dict[str, bool] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for name in VIEWS:
            self._sent[name] = self.projections.clock.position(name)
            self._pumping[name] = False
        self.projections.clock.listeners.append(self._advanced)

    def close(self) -> None:
        if self._advanced in self.projections.clock.listeners:
            self.projections.clock.listeners.remove(self._advanced)
        for group in self.subscribers.values():
            for subscriber in group:
                subscriber.finish(SHUTDOWN)

    def count(self) -> int:
        return sum(len(group) for group in self.subscribers.values())

    def _advanced(self, name: str, position: int) -> None:
        # Called from runner or listener threads.
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._kick, name)

    def _kick(self, name: str) -> None:
        if not self._pumping[name]:
            self._pumping[name] = True
            task = asyncio.ensure_future(self._pump(name))
            self._tasks.add(task)  # keep a reference until done
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, name: str) -> None:
        try:
            while self._sent[name] < self.projections.clock.position(name):
                upto = self.projections.clock.position(name)
                if not self.subscribers[name]:
                    self._sent[name] = upto
                    continue
                messages, reached, members = await run_in_threadpool(
                    self._read, name, self._sent[name], upto
                )
                for message in messages:
                    self._fan_out(name, message, members)
                    await asyncio.sleep(0)  # let readers drain between messages of a burst
                self._sent[name] = max(self._sent[name], reached)
        finally:
            self._pumping[name] = False

    def _fan_out(
        self, name: str, message: dict[str, Any], members: dict[tuple[Any, ...], set[str]]
    ) -> None:
        """Filter and wrap the message once per distinct filter; every subscriber of
        that filter queues the same `Update` (and so shares its encoded bytes)."""
        audiences: dict[tuple[Any, ...], list[Subscriber]] = {}
        for subscriber in self.subscribers[name]:
            audiences.setdefault(subscriber.key, []).append(subscriber)
        for key, audience in audiences.items():
            filters = with_actors(audience[0].filters, members.get(key))
            kept = filtered(message, filters)
            if kept is None:
                continue
            update = Update.change(kept)
            for subscriber in audience:
                subscriber.offer(update)

    def _read(
        self, name: str, after: int, upto: int
    ) -> tuple[list[dict[str, Any]], int, dict[tuple[Any, ...], set[str]]]:
        """The changes in (after, upto], and each actor filter's actors as of then."""
        with self.projections.read(name) as (view, cursor, tracked):
            reached = min(upto, tracked)
            found = changes(view, cursor, after, reached)
            members = {}
            if found:
                for subscriber in list(self.subscribers[name]):
                    if subscriber.key not in members and "actor" in subscriber.filters:
                        members[subscriber.key] = actors_of(view, cursor, subscriber.filters)
            return found, reached, members

    def subscribe(self, name: str, filters: dict[str, Any]) -> Subscriber:
        subscriber = Subscriber(name, filters, asyncio.Queue(maxsize=self.buffer))
        self.subscribers[name].add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers[subscriber.view].discard(subscriber)

    async def batches(self, subscriber: Subscriber, after: int) -> AsyncIterator[list[Update]]:
        """Missed changes after `after`, then live ones; each position once, in order;
        lastly `overflow` or `end` if the subscription is cut. Updates come in lists
        (up to BATCH, as many as are waiting) so a stream can send a burst at once.

        The subscriber is registered before the backlog is read, so whatever the
        backlog does not cover is already waiting in its queue.
        """
        last = after
        try:
            while True:  # backlog, a window of positions at a time
                found, reached, tracked = await run_in_threadpool(self._backlog, subscriber, last)
                for start in range(0, len(found), BATCH):
                    yield [Update.change(message) for message in found[start : start + BATCH]]
                last = max(last, reached)
                if reached >= tracked:
                    break
            while True:
                batch: list[Update] = []
                items = [await subscriber.queue.get()]
                while len(items) < BATCH and not subscriber.queue.empty():
                    items.append(subscriber.queue.get_nowait())
                for item in items:
                    if isinstance(item, str):  # OVERFLOW or SHUTDOWN: the last word
                        closing = Update.overflow(last) if item == OVERFLOW else Update.end(last)
                        yield [*batch, closing]
                        return
                    if item.position <= last:
                        continue  # already sent from the backlog
                    last = item.position
                    batch.append(item)
                if batch:
                    yield batch
        finally:
            self.unsubscribe(subscriber)

    def _backlog(self, subscriber: Subscriber, after: int) -> tuple[list[dict[str, Any]], int, int]:
        with self.projections.read(subscriber.view) as (view, cursor, tracked):
            upto = min(tracked, after + BACKLOG_WINDOW)
            found = changes(view, cursor, after, upto) if upto > after else []
            members = actors_of(view, cursor, subscriber.filters)
        filters = with_actors(subscriber.filters, members)
        kept = [m for m in (filtered(m, filters) for m in found) if m is not None]
        return kept, upto, tracked
