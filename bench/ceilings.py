"""Ceilings measured in the same run: what the store or the decoder does on its own.

- ingest: the same reports, turned into the same stored events by the service's
  own aggregate and mapper (orjson transcoder), inserted with a bare
  `executemany` per 1,000-report batch, one transaction each, into a table of
  the event store's own shape: sqlite3 (WAL, synchronous=FULL, as the
  eventsourcing recorder) or psycopg 3.
- rebuild: reading the same log through the recorder's notification log, in
  the pages the bulk driver reads, and parsing every event's stored state with
  `orjson.loads`, without projecting (the raw read the read side works from).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from bench.synth import SyntheticLog

StoredRow = tuple[Any, int, str, bytes]


def serialized_batches(
    seed: int, prefix: str, skip: int, batches: int, size: int, workdir: Path
) -> list[list[StoredRow]]:
    """The stored events the ingest client's measured batches become."""
    from domain.application import TimelineApplication
    from domain.reports import Report
    from service.schemas import ReportIn
    from service.storage import TRANSCODER_TOPIC

    app = TimelineApplication(
        env={
            "TRANSCODER_TOPIC": TRANSCODER_TOPIC,
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(workdir / "mapper-only.sqlite3"),
        }
    )
    log = SyntheticLog(seed=seed, key_prefix=prefix)
    stream = log.reports()
    for _ in range(skip * size):
        next(stream)
    found: list[list[StoredRow]] = []
    try:
        for _ in range(batches):
            rows = []
            for _ in range(size):
                report = ReportIn.model_validate(next(stream))
                aggregate = Report.file(report.content(), key=report.key)
                for event in aggregate.collect_events():
                    stored = app.mapper.to_stored_event(event)
                    rows.append(
                        (
                            stored.originator_id,
                            stored.originator_version,
                            stored.topic,
                            stored.state,
                        )
                    )
            found.append(rows)
    finally:
        app.close()
    return found


def sqlite_executemany(batches: list[list[StoredRow]], path: Path) -> float:
    """Reports per second: one executemany and one commit per batch."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
        started = time.perf_counter()
        count = 0
        for rows in batches:
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO stored_events VALUES (?, ?, ?, ?)",
                [(r[0].hex, r[1], r[2], r[3]) for r in rows],
            )
            conn.execute("COMMIT")
            count += len(rows)
        return count / (time.perf_counter() - started)
    finally:
        conn.close()


def postgres_executemany(batches: list[list[StoredRow]], url: str, schema: str) -> float:
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(
            f'CREATE TABLE "{schema}".ceiling_events (originator_id uuid NOT NULL, '
            "originator_version bigint NOT NULL, topic text, state bytea, "
            "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
        )
        conn.execute(f'CREATE UNIQUE INDEX ON "{schema}".ceiling_events (notification_id ASC)')
        conn.commit()
        started = time.perf_counter()
        count = 0
        for rows in batches:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(
                    f'INSERT INTO "{schema}".ceiling_events '
                    "(originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)",
                    rows,
                )
            count += len(rows)
        return count / (time.perf_counter() - started)


def read_and_decode(app: Any, page: int = 10_000) -> tuple[int, float]:
    """(events, seconds) to read the whole log and parse every event's state."""
    import orjson

    started = time.perf_counter()
    count, start = 0, 1
    while True:
        notifications = app.recorder.select_notifications(start, page)
        for notification in notifications:
            orjson.loads(notification.state)
        count += len(notifications)
        if len(notifications) < page:
            return count, time.perf_counter() - started
        start = notifications[-1].id + 1
