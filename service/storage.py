"""Where the event log lives: turns a database URL into eventsourcing's environment.

Both stores go through eventsourcing's own recorders; this module only chooses
one and adds the few read queries the library does not offer (log positions of
one aggregate's events), with bound parameters on both dialects.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.application import TimelineApplication
from domain.keys import Keyring
from projections.database import PostgresViews, SQLiteViews, ViewDatabase
from projections.runner import create_meta
from service.settings import Settings

TRANSCODER_TOPIC = "service.transcoder:OrjsonTranscoder"


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    url = urlparse(settings.database_url)
    env = {"TRANSCODER_TOPIC": TRANSCODER_TOPIC}
    if url.scheme == "sqlite":
        # As in SQLAlchemy: sqlite:///relative/path, sqlite:////absolute/path.
        path = Path(unquote(url.netloc + url.path)[1:] if not url.netloc else unquote(url.path))
        path.parent.mkdir(parents=True, exist_ok=True)
        env.update(
            PERSISTENCE_MODULE="eventsourcing.sqlite",
            SQLITE_DBNAME=str(path),
            SQLITE_LOCK_TIMEOUT="30",
        )
    elif url.scheme in ("postgresql", "postgres"):
        query = parse_qs(url.query)
        schema = query.get("schema", [settings.postgres_schema])[0]
        env.update(
            PERSISTENCE_MODULE="eventsourcing.postgres",
            APPLICATION_RECORDER_TOPIC="service.pg_recorder:PostgresEventRecorder",
            POSTGRES_DBNAME=(url.path or "/").lstrip("/") or "postgres",
            POSTGRES_HOST=url.hostname or "127.0.0.1",
            POSTGRES_PORT=str(url.port or 5432),
            POSTGRES_USER=unquote(url.username or os.environ.get("USER", "postgres")),
            POSTGRES_PASSWORD=unquote(url.password or ""),
            POSTGRES_SCHEMA=schema,
            POSTGRES_POOL_SIZE=str(settings.postgres_pool_size),
            POSTGRES_MAX_OVERFLOW=str(settings.postgres_max_overflow),
            POSTGRES_CONNECT_TIMEOUT="5",
            POSTGRES_PRE_PING="y",
            POSTGRES_LOCK_TIMEOUT="10",
            # Never POSTGRES_ENABLE_DB_FUNCTIONS: it lets tailing readers skip events.
        )
    else:
        raise ValueError(
            f"TIMELINE_DATABASE_URL must start with sqlite:/// or postgresql://, "
            f"not {url.scheme or settings.database_url!r}"
        )
    return env


def _created(make: Any) -> Any:
    """Build an application or view store, retrying a lost race to create tables.

    Processes starting together on a fresh PostgreSQL database can collide in
    `CREATE TYPE` / `CREATE TABLE` (a unique violation in the catalogue, which
    eventsourcing does not expect); the loser simply tries again.
    """
    for attempt in range(5):
        try:
            return make()
        except Exception as error:
            chain, cause = [], error
            while cause is not None:
                chain.append(type(cause).__name__)
                cause = cause.__cause__ or cause.__context__
            if attempt == 4 or not {
                "UniqueViolation",
                "DuplicateObject",
                "DuplicateTable",
                "IntegrityError",
            } & set(chain):
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def open_application(settings: Settings) -> TimelineApplication:
    return _created(lambda: TimelineApplication(env=eventsourcing_env(settings)))


def open_keyring(settings: Settings) -> Keyring:
    """API keys: a file beside the log on SQLite, their own table on PostgreSQL."""
    env = eventsourcing_env(settings)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        events = Path(env["SQLITE_DBNAME"])
        env["SQLITE_DBNAME"] = str(events.with_name(events.stem + ".keys.sqlite3"))
    return _created(lambda: Keyring(env=env))


def is_postgres(app: TimelineApplication) -> bool:
    # Our own recorder (service.pg_recorder) subclasses eventsourcing's.
    return any(
        cls.__module__.startswith("eventsourcing.postgres") for cls in type(app.recorder).__mro__
    )


class LogIndex:
    """Log positions of one aggregate's events, straight from the recorder's table."""

    def __init__(self, app: TimelineApplication) -> None:
        self.recorder: Any = app.recorder
        self.postgres = is_postgres(app)
        if self.postgres:
            from psycopg import sql

            schema = self.recorder.datastore.schema
            table = self.recorder.events_table_name
            self._select = sql.SQL(
                "SELECT notification_id AS position, originator_id, originator_version, "
                "topic, state FROM {}.{} WHERE originator_id = %s AND notification_id > %s "
                "ORDER BY notification_id LIMIT %s"
            ).format(sql.Identifier(schema), sql.Identifier(table))
        else:
            self._select = (
                "SELECT rowid AS position, originator_id, originator_version, topic, state "
                f"FROM {self.recorder.events_table_name} "
                "WHERE originator_id = ? AND rowid > ? ORDER BY rowid LIMIT ?"
            )

    def notifications_of(
        self, originator_id: UUID, after: int = 0, limit: int = 10_000
    ) -> list[Notification]:
        key: Any = originator_id if self.postgres else originator_id.hex
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._select, (key, after, limit))
            rows = cursor.fetchall()
        return [
            Notification(
                id=row["position"],
                originator_id=UUID(str(row["originator_id"])),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in rows
        ]

    def first_states(self, originator_ids: list[UUID]) -> dict[UUID, tuple[bytes, int]]:
        """Each aggregate's first stored event's state, and its latest version, in
        one query (for importers, which ask it of every row of a batch)."""
        if not originator_ids:
            return {}
        table = self.recorder.events_table_name
        latest = (
            "(SELECT MAX(later.originator_version) FROM {table} AS later "
            "WHERE later.originator_id = opening.originator_id) AS latest"
        )
        if self.postgres:
            from psycopg import sql

            named = sql.Identifier(self.recorder.datastore.schema, table)
            query: Any = sql.SQL(
                f"SELECT opening.originator_id, opening.state, {latest} FROM {{table}} AS opening "
                "WHERE opening.originator_id = ANY(%s) AND opening.originator_version = 1"
            ).format(table=named)
            params: Any = (list(originator_ids),)
        else:
            marks = ",".join("?" * len(originator_ids))
            query = (
                f"SELECT opening.originator_id, opening.state, {latest.format(table=table)} "
                f"FROM {table} AS opening "
                f"WHERE opening.originator_id IN ({marks}) AND opening.originator_version = 1"
            )
            params = [i.hex for i in originator_ids]
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(query, params)
            rows = cursor.fetchall()
        return {
            UUID(str(row["originator_id"])): (bytes(row["state"]), row["latest"]) for row in rows
        }

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        for notification in self.notifications_of(originator_id):
            if notification.originator_version == version:
                return notification.id
        return None


def postgres_conninfo(settings: Settings, connect_timeout: int = 5) -> str:
    env = eventsourcing_env(settings)
    return (
        f"host={env['POSTGRES_HOST']} port={env['POSTGRES_PORT']} "
        f"dbname={env['POSTGRES_DBNAME']} user={env['POSTGRES_USER']}"
        + (f" password={env['POSTGRES_PASSWORD']}" if env["POSTGRES_PASSWORD"] else "")
        + f" connect_timeout={connect_timeout}"
    )


def store_probe(settings: Settings, timeline: TimelineApplication) -> Any:
    """A quick check that the store answers, bypassing the application's pool."""
    if not is_postgres(timeline):
        return timeline.max_position
    conninfo = postgres_conninfo(settings, connect_timeout=2)

    def probe() -> None:
        import psycopg

        with psycopg.connect(conninfo) as conn:
            conn.execute("SELECT 1")

    return probe


def open_views(settings: Settings) -> ViewDatabase:
    """The views' database: a SQLite file beside the log, or the same PostgreSQL."""
    env = eventsourcing_env(settings)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        events = Path(env["SQLITE_DBNAME"])
        db: ViewDatabase = SQLiteViews(str(events.with_name(events.stem + ".views.sqlite3")))
    else:
        db = PostgresViews(
            postgres_conninfo(settings), env["POSTGRES_SCHEMA"], pool_size=settings.views_pool_size
        )
    _created(lambda: create_meta(db))
    return db
