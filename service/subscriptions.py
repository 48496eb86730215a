"""Live view updates for many clients from one feed per process.

When a view advances (a local runner committed, or PostgreSQL NOTIFY said a
runner elsewhere did), the broker reads the changes once and fans them out to
each subscriber's bounded queue. A subscriber that falls behind is told so and
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
from projections.runner import VIEWS, Projections

OVERFLOW = "overflow"
SHUTDOWN = "shutdown"
BACKLOG_WINDOW = 1_000  # log positions read per backlog query


@dataclass(eq=False)
class Subscriber:
    view: str
    filters: dict[str, Any]
    queue: asyncio.Queue[Any]
    closed: bool = False

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
                messages, reached = await run_in_threadpool(
                    self._read, name, self._sent[name], upto
                )
                for message in messages:
                    for subscriber in list(self.subscribers[name]):
                        kept = filtered(message, subscriber.filters)
                        if kept is not None:
                            subscriber.offer(kept)
                    await asyncio.sleep(0)  # let readers drain between messages of a burst
                self._sent[name] = max(self._sent[name], reached)
        finally:
            self._pumping[name] = False

    def _read(self, name: str, after: int, upto: int) -> tuple[list[dict[str, Any]], int]:
        with self.projections.read(name) as (view, cursor, tracked):
            reached = min(upto, tracked)
            return changes(view, cursor, after, reached), reached

    def subscribe(self, name: str, filters: dict[str, Any]) -> Subscriber:
        subscriber = Subscriber(name, filters, asyncio.Queue(maxsize=self.buffer))
        self.subscribers[name].add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers[subscriber.view].discard(subscriber)

    async def stream(self, subscriber: Subscriber, after: int) -> AsyncIterator[Any]:
        """Missed changes after `after`, then live ones; each position once, in order.

        The subscriber is registered before the backlog is read, so whatever the
        backlog does not cover is already waiting in its queue.
        """
        last = after
        while True:  # backlog, a window of positions at a time
            messages, reached, tracked = await run_in_threadpool(self._backlog, subscriber, last)
            for message in messages:
                yield message
            last = max(last, reached)
            if reached >= tracked:
                break
        while True:
            item = await subscriber.queue.get()
            if item in (OVERFLOW, SHUTDOWN):
                yield item
                return
            if item["position"] <= last:
                continue  # already sent from the backlog
            last = item["position"]
            yield item

    def _backlog(self, subscriber: Subscriber, after: int) -> tuple[list[dict[str, Any]], int, int]:
        with self.projections.read(subscriber.view) as (view, cursor, tracked):
            upto = min(tracked, after + BACKLOG_WINDOW)
            found = changes(view, cursor, after, upto) if upto > after else []
        kept = [m for m in (filtered(m, subscriber.filters) for m in found) if m is not None]
        return kept, upto, tracked
