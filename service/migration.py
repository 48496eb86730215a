"""Export the whole log as NDJSON and import it into an empty store.

Each line keeps the stored event exactly: position, originator id and version,
topic and the stored state (already JSON, embedded as is). Importing replays
the lines in order through eventsourcing's recorder, so a SQLite store can move
to PostgreSQL (or back) with nothing lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent

from service.settings import Settings
from service.storage import open_application

PAGE = 5_000


class ImportRefusedError(Exception):
    pass


def export_events(settings: Settings, stream: BinaryIO) -> int:
    timeline = open_application(settings)
    count, start = 0, 1
    try:
        while True:
            page = timeline.recorder.select_notifications(start, PAGE)
            for n in page:
                stream.write(
                    orjson.dumps(
                        {
                            "position": n.id,
                            "originator_id": str(n.originator_id),
                            "originator_version": n.originator_version,
                            "topic": n.topic,
                            "state": orjson.Fragment(n.state),
                        }
                    )
                    + b"\n"
                )
            count += len(page)
            if len(page) < PAGE:
                return count
            start = page[-1].id + 1
    finally:
        timeline.close()


def _stored_events(lines: Iterable[bytes]) -> Iterable[tuple[int, StoredEvent]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
            yield number, StoredEvent(
                originator_id=UUID(record["originator_id"]),
                originator_version=int(record["originator_version"]),
                topic=str(record["topic"]),
                state=orjson.dumps(record["state"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise ImportRefusedError(f"line {number}: not an exported event ({error})") from None


def import_events(settings: Settings, stream: BinaryIO) -> int:
    timeline = open_application(settings)
    try:
        if timeline.max_position():
            raise ImportRefusedError(
                "the target store already holds events; import only into an empty store"
            )
        batch: list[StoredEvent] = []
        count = 0
        for _, stored in _stored_events(stream):
            batch.append(stored)
            if len(batch) == PAGE:
                timeline.recorder.insert_events(batch)
                count += len(batch)
                batch = []
        if batch:
            timeline.recorder.insert_events(batch)
            count += len(batch)
        return count
    finally:
        timeline.close()
