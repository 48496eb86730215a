"""Export the whole log as NDJSON and import it into an empty store.

Each line keeps the stored event exactly: position, originator id and version,
topic and the stored state (already JSON, embedded as is). Importing replays
the lines in order through eventsourcing's recorder, so a SQLite store can move
to PostgreSQL (or back) with nothing lost. The target assigns positions: they
equal the export's when the source has no gaps (SQLite never has; PostgreSQL
can, as its sequence skips values on rollback), otherwise order is kept and
positions are renumbered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO
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
            yield (
                number,
                StoredEvent(
                    originator_id=UUID(record["originator_id"]),
                    originator_version=int(record["originator_version"]),
                    topic=str(record["topic"]),
                    state=orjson.dumps(record["state"]),
                ),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise ImportRefusedError(f"line {number}: not an exported event ({error})") from None


def non_empty_refusal(held: int, merge: bool) -> str | None:
    """Why an import into a store already holding `held` events is refused, if it is.

    Without `merge` only an empty store takes an import: appending to a live
    store by accident would be hard to undo, since nothing in the log is deleted.
    """
    if held == 0 or merge:
        return None
    return (
        f"the target store is not empty (it holds events up to position {held}); "
        "import into an empty store, or pass --merge to append the rest of this export "
        "to a store that holds its start (an interrupted import)"
    )


def import_events(settings: Settings, stream: BinaryIO, merge: bool = False) -> int:
    """Append an export to an empty store or, with `merge`, to one holding a prefix of it.

    Every line is checked before anything is written, so a bad file writes
    nothing. Events go in pages of PAGE, each one transaction; if an import is
    interrupted, running it again with `merge` resumes after the events already
    imported (the store must hold exactly a prefix of the export, else it is
    refused). Returns the number of events written.
    """
    if stream.seekable():
        start = stream.tell()
        for _ in _stored_events(stream):
            pass
        stream.seek(start)
        lines: Iterable[bytes] = stream
    else:
        lines = stream.read().splitlines()
        for _ in _stored_events(lines):
            pass
    timeline = open_application(settings)
    try:
        refusal = non_empty_refusal(timeline.recorder.max_notification_id() or 0, merge)
        if refusal is not None:
            raise ImportRefusedError(refusal)
        exported = _stored_events(lines)
        _skip_imported_prefix(timeline, exported)
        batch: list[StoredEvent] = []
        count = 0
        for _, stored in exported:
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


def _skip_imported_prefix(timeline: Any, exported: Iterator[tuple[int, StoredEvent]]) -> None:
    start = 1
    while True:
        page = timeline.recorder.select_notifications(start, PAGE)
        for held in page:
            line = next(exported, None)
            if line is None or (
                line[1].originator_id,
                line[1].originator_version,
                line[1].topic,
            ) != (held.originator_id, held.originator_version, held.topic):
                raise ImportRefusedError(
                    "the target store holds events that are not the start of this export; "
                    "--merge only appends to a store holding an earlier part of the same log"
                )
        if len(page) < PAGE:
            return
        start = page[-1].id + 1
