"""Group commit: filing requests that arrive together share one store transaction.

A commit costs the same whether it carries one report or hundreds (an fsync on
SQLite, a table lock and round trips on PostgreSQL), so one writer thread
commits everything that queued up while the previous commit was in flight, and
answers each request only after that transaction is durable. The first request
to find the writer idle is committed at once: grouping adds no waiting.

Requests stay independent: each one's outcome is its own (see
`TimelineApplication.file_requests`), so one bad request never fails another.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from domain.application import Filing, FilingRequest

Commit = Callable[[Sequence[FilingRequest]], list[list[Filing] | Exception]]


@dataclass
class CommitStats:
    commits: int = 0
    requests: int = 0
    largest_group: int = 0


class GroupCommitter:
    def __init__(self, commit: Commit, max_reports: int = 10_000) -> None:
        self.commit = commit
        self.max_reports = max_reports  # per transaction; one request is never split
        self.stats = CommitStats()
        self._queue: deque[tuple[FilingRequest, asyncio.Future[list[Filing] | Exception]]] = deque()
        self._closing = False
        self._wake = asyncio.Event()
        # One thread: the store has one writer anyway, and the request thread
        # pool stays free for reads.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="group-commit")
        self._task: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="group-commit")

    async def close(self) -> None:
        """Commit what is queued, then stop the writer."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    async def file(self, request: FilingRequest) -> list[Filing]:
        """The request's filings once committed; raises its own error if it failed."""
        if self._closing:
            raise RuntimeError("the service is shutting down")
        future: asyncio.Future[list[Filing] | Exception] = (
            asyncio.get_running_loop().create_future()
        )
        self._queue.append((request, future))
        self._wake.set()
        # A client that goes away does not take its report out of the group.
        outcome = await asyncio.shield(future)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _take_group(self) -> list[tuple[FilingRequest, asyncio.Future[list[Filing] | Exception]]]:
        group, reports = [], 0
        while self._queue:
            size = len(self._queue[0][0].items)
            if group and reports + size > self.max_reports:
                break
            group.append(self._queue.popleft())
            reports += size
        return group

    async def _run(self) -> None:
        group: list[tuple[FilingRequest, asyncio.Future[list[Filing] | Exception]]] = []
        try:
            await self._write(group)
        finally:
            # Whatever stops the writer (a bug, a cancellation), nobody waits
            # forever: whoever is still waiting hears that it was not filed.
            stopped = RuntimeError("the writer stopped; the request may be retried")
            for _, future in [*group, *self._queue]:
                if not future.done():
                    future.set_result(stopped)
            self._queue.clear()

    async def _write(
        self, group: list[tuple[FilingRequest, asyncio.Future[list[Filing] | Exception]]]
    ) -> None:
        """Commit groups until closed; `group` holds the one in flight."""
        loop = asyncio.get_running_loop()
        while not (self._closing and not self._queue):
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                group[:] = self._take_group()
                requests = [request for request, _ in group]
                try:
                    outcomes = await loop.run_in_executor(self._executor, self.commit, requests)
                except Exception as error:
                    # The store failed (nobody in the group was filed): whoever
                    # is queued behind would only wait for the same failure, so
                    # they hear of it now and may retry (their keys make it safe).
                    group.extend(self._queue)
                    self._queue.clear()
                    outcomes = [error] * len(group)
                self.stats.commits += 1
                self.stats.requests += len(group)
                self.stats.largest_group = max(self.stats.largest_group, len(group))
                for (_, future), outcome in zip(group, outcomes, strict=True):
                    if not future.done():
                        future.set_result(outcome)
                group.clear()
