"""The broker's fan-out in one process: a real SQLite store, real view runners.

Many subscribers of one view each get every update exactly once and in order,
sharing one encoded message per filter; a subscriber that stops reading is cut
off with `overflow` while the others carry on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from starlette.concurrency import run_in_threadpool

from projections.runner import Projections
from service import updates
from service.schemas import ReportIn
from service.settings import Settings
from service.storage import open_application, open_views
from service.subscriptions import Broker, Subscriber
from service.updates import Update
from tests.servers import report

pytestmark = pytest.mark.timeout(120)


class CountingEvent(updates.ServerSentEvent):
    """sse-starlette's own event, counting how often a message is framed."""

    encoded = 0

    def encode(self) -> bytes:
        CountingEvent.encoded += 1
        return super().encode()


def live_service(tmp_path, buffer: int, body: Callable[..., Awaitable[None]]) -> None:
    """Run `body(broker, file)` against a real store and its runners, on an event loop."""
    settings = Settings(database_url=f"sqlite:///{tmp_path}/timeline.sqlite3")
    app = open_application(settings)
    views = open_views(settings)
    projections = Projections(app, views)
    app.listeners.append(projections.notify)
    projections.start()

    async def file(reports: list[dict[str, Any]]) -> list[int]:
        items = [(ReportIn.model_validate(r).content(), None) for r in reports]
        filings = await run_in_threadpool(app.file_reports, items)
        positions = [f.position for f in filings]
        assert await run_in_threadpool(projections.wait_for, "timeline", max(positions), 30)
        return positions

    async def main() -> None:
        broker = Broker(projections, buffer=buffer)
        broker.start()
        try:
            await body(broker, file)
        finally:
            broker.close()

    try:
        asyncio.run(main())
    finally:
        projections.stop()
        views.close()
        app.close()


async def read_into(broker: Broker, subscriber: Subscriber, received: list[Update]) -> None:
    """Keep every update a subscriber is handed, from the start of the log, until it ends."""
    async for batch in broker.batches(subscriber, 0):
        received += batch


async def until_all(received: list[list[Update]], position: int) -> None:
    """Wait until every reader has position `position` or was cut off (no time limit here:
    the test's timeout is the only one)."""

    def done(one: list[Update]) -> bool:
        return bool(one) and (one[-1].final or (one[-1].position or 0) >= position)

    while not all(done(one) for one in received):
        await asyncio.sleep(0.01)


def test_many_subscribers_get_every_update_once_in_order_sharing_one_encoding(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(updates, "ServerSentEvent", CountingEvent)

    async def body(broker: Broker, file) -> None:
        everyone = [broker.subscribe("timeline", {}) for _ in range(30)]
        jordan = [broker.subscribe("timeline", {"country": "JO"}) for _ in range(5)]
        received: list[list[Update]] = [[] for _ in everyone + jordan]
        readers = [
            asyncio.ensure_future(read_into(broker, s, r))
            for s, r in zip(everyone + jordan, received, strict=True)
        ]
        # A first report every reader sees ends their (empty) backlogs: what follows is live.
        warm_up = await file([report(0, "JO")])
        await until_all(received, warm_up[0])
        CountingEvent.encoded = 0
        positions: list[int] = []
        for batch in range(4):
            countries = ["IQ", "JO", "SY"] * 3
            positions += await file(
                [report(batch * 9 + n, country) for n, country in enumerate(countries)]
            )
        in_jordan = positions[1::3]
        await until_all(received[: len(everyone)], positions[-1])
        await until_all(received[len(everyone) :], in_jordan[-1])
        got = [one[1:] for one in received]
        for updates_of_one in got[: len(everyone)]:
            # Coalesced: the messages cover every position once, in order.
            covered = [
                p for u in updates_of_one for p in range(u.payload["after"] + 1, u.position + 1)
            ]
            assert covered == list(range(warm_up[0] + 1, positions[-1] + 1))
            assert sum(len(u.payload["changes"]) for u in updates_of_one) == len(positions)
        for updates_of_one in got[len(everyone) :]:
            changes = [change for u in updates_of_one for change in u.payload["changes"]]
            assert len(changes) == len(in_jordan)
            assert all(change["doc"]["countries"] == ["JO"] for change in changes)
        # One Update object per message and filter, shared by its subscribers ...
        for group in (got[: len(everyone)], got[len(everyone) :]):
            assert len({len(updates_of_one) for updates_of_one in group}) == 1
            for index in range(len(group[0])):
                assert len({id(updates_of_one[index]) for updates_of_one in group}) == 1
        # ... so framing every subscriber's stream encodes each message once.
        streams = [b"".join(u.sse for u in updates_of_one) for updates_of_one in got]
        assert CountingEvent.encoded == len(got[0]) + len(got[-1])
        assert streams[0].count(b"event: change") == len(got[0])
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        assert broker.count() == 0  # each stream unsubscribed when its reader stopped

    live_service(tmp_path, 1_000, body)


def test_a_subscriber_that_stops_reading_overflows_without_affecting_others(tmp_path):
    async def body(broker: Broker, file) -> None:
        stuck = broker.subscribe("timeline", {})
        others = [broker.subscribe("timeline", {}) for _ in range(3)]
        received: list[list[Update]] = [[] for _ in others]
        readers = [
            asyncio.ensure_future(read_into(broker, s, r))
            for s, r in zip(others, received, strict=True)
        ]
        stuck_stream = broker.batches(stuck, 0)
        first = asyncio.ensure_future(stuck_stream.__anext__())  # one burst, then no more
        positions = await file([report(0)])
        await until_all(received, positions[-1])
        sent = [u.position for u in await first]
        assert sent == positions
        # Each filing waits for the views, so each makes a message of its own:
        # more than the stuck one's queue (8) holds.
        for batch in range(12):
            positions += await file([report(batch * 2 + n) for n in range(1, 3)])
        await until_all(received, positions[-1])
        for one in received:  # all of them, once, in order
            covered = [p for u in one for p in range(u.payload["after"] + 1, u.position + 1)]
            assert covered == list(range(1, positions[-1] + 1))
        # The stuck one's queue (8) overflowed: it is told, after what it was sent.
        assert stuck.closed
        rest = [u async for batch in stuck_stream for u in batch]
        assert [u.event for u in rest] == ["overflow"]
        assert rest[0].payload["after"] == sent[-1]
        broker.close()  # shutdown: the others end with `end`, after their last position
        await asyncio.gather(*readers)
        for one in received:
            assert one[-1].event == "end" and one[-1].payload["after"] == positions[-1]
        assert broker.count() == 0

    live_service(tmp_path, 8, body)
