"""Where views live: one SQLite file beside the event log, or the PostgreSQL database.

View tables are ours; the event log stays eventsourcing's. Views sit in a
separate SQLite file so that projecting never holds the write lock that ingest
needs. SQL is written once in psycopg's parameter style (`%s` for a bound
parameter, `%%` for a literal percent sign) and always binds its parameters;
PostgreSQL takes it as it is, so its operators (jsonb `?`, `?|`) mean what
they say, and the SQLite side maps the two to `?` and `%`.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


class ViewDatabase:
    dialect: str
    identity: str  # names the store, for processes on one machine to find each other

    def table(self, name: str) -> str:
        raise NotImplementedError

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Cursor]:
        raise NotImplementedError
        yield

    def close(self) -> None:
        pass

    @contextmanager
    def bulk_transaction(self) -> Iterator[Cursor]:
        """A write transaction for `bulk_insert` and `bulk_close` (a rebuild's pages)."""
        with self.transaction(write=True) as cursor:
            yield cursor

    def bulk_insert(
        self, cursor: Cursor, table: str, columns: Sequence[tuple[str, str]], rows: list[Any]
    ) -> None:
        """Insert many rows; `columns` are (name, SQL type) pairs."""
        names = ", ".join(name for name, _ in columns)
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def bulk_close(self, cursor: Cursor, table: str, closes: list[tuple[int, str, int]]) -> None:
        """End row versions: (valid_to, key, valid_from) each."""
        # `valid_to IS NULL`: the row is current, so the partial unique index on
        # current keys finds it (the other indexes are built after a rebuild).
        cursor.executemany(
            f"UPDATE {table} SET valid_to = %s WHERE key = %s AND valid_from = %s "
            "AND valid_to IS NULL",
            closes,
        )

    def lock_row(self, cursor: Cursor, view: str) -> None:
        """Serialise writers of one view's generation pointer."""

    def announce(self, cursor: Cursor, view: str, position: int) -> None:
        """Tell other processes, on commit, that a view reached a position."""


class SQLiteViews(ViewDatabase):
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self.identity = str(Path(path).resolve())
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=30,
                cached_statements=1024,  # three views, many tables: keep them all prepared
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # views can always be rebuilt
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def table(self, name: str) -> str:
        return f'"{name}"'

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Cursor]:
        conn = self._connection()
        # IMMEDIATE takes the write lock up front: a reader-turned-writer could
        # otherwise fail on lock upgrade instead of waiting its turn.
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        cursor = conn.cursor()
        try:
            yield _SqliteCursor(cursor)
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit() if write else conn.rollback()
        finally:
            cursor.close()

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


@lru_cache(maxsize=4096)
def _qmark(sql: str) -> str:
    """psycopg's parameter style as sqlite3's: `%s` is `?` and `%%` is `%`."""
    return re.sub(r"%[s%]", lambda m: "?" if m.group() == "%s" else "%", sql)


class _SqliteCursor:
    """sqlite3 taking SQL in psycopg's parameter style."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(_qmark(sql), params)

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any:
        return self._cursor.executemany(_qmark(sql), params)

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def fetchone(self) -> Any:
        return self._cursor.fetchone()


class _PgCursor:
    """psycopg with a fresh cursor per statement.

    In pipeline mode a cursor keeps the results of every statement sent through
    it, so a read must have a cursor of its own to fetch its own rows.
    """

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._cursor: Any = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._cursor = self._conn.cursor()
        return self._cursor.execute(sql, params)

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any:
        self._cursor = self._conn.cursor()
        return self._cursor.executemany(sql, params)

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def copy_rows(self, sql: str, types: Sequence[str], rows: list[Any]) -> None:
        with self._conn.cursor() as cursor, cursor.copy(sql) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)


_PG_TYPES = {"TEXT": "text", "INTEGER": "int4", "BIGINT": "int8"}


def _keep_prepared(conn: Any) -> None:
    # psycopg evicts prepared statements beyond `prepared_max` (100) with a
    # DEALLOCATE that, in pipeline mode, can overtake a queued statement still
    # using the evicted name ("prepared statement does not exist"). A generation
    # has a few hundred statements: keep them all.
    conn.prepared_max = 4096


class PostgresViews(ViewDatabase):
    dialect = "postgres"

    def __init__(self, conninfo: str, schema: str, pool_size: int = 5) -> None:
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self.schema = schema
        self.conninfo = conninfo
        self.identity = f"{conninfo} schema={schema}"
        self.pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            kwargs={"row_factory": dict_row, "autocommit": False},
            configure=_keep_prepared,
            open=True,
            timeout=10,
        )

    def table(self, name: str) -> str:
        return f'"{self.schema}"."{name}"'

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Cursor]:
        with self.pool.connection() as conn:
            if not write:
                with conn.transaction():
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    yield _PgCursor(conn)
                return
            # Pipeline mode: writes are sent without waiting for each answer, and
            # a read waits only for what it needs. Projecting is mostly writes,
            # so a batch costs a few round trips instead of one per statement.
            with conn.pipeline(), conn.transaction():
                yield _PgCursor(conn)

    @contextmanager
    def bulk_transaction(self) -> Iterator[Cursor]:
        # Not in pipeline mode, which COPY does not support.
        with self.pool.connection() as conn, conn.transaction():
            yield _PgCursor(conn)

    def bulk_insert(
        self, cursor: Cursor, table: str, columns: Sequence[tuple[str, str]], rows: list[Any]
    ) -> None:
        if not rows:
            return
        names = ", ".join(name for name, _ in columns)
        types = [_PG_TYPES[kind] for _, kind in columns]
        assert isinstance(cursor, _PgCursor)
        cursor.copy_rows(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)", types, rows)

    def bulk_close(self, cursor: Cursor, table: str, closes: list[tuple[int, str, int]]) -> None:
        if not closes:
            return
        ends, keys, starts = (list(column) for column in zip(*closes, strict=True))
        cursor.execute(
            f"UPDATE {table} AS t SET valid_to = v.valid_to "
            "FROM unnest(%s::bigint[], %s::text[], %s::bigint[]) AS v(valid_to, key, valid_from) "
            "WHERE t.key = v.key AND t.valid_from = v.valid_from AND t.valid_to IS NULL",
            (ends, keys, starts),
        )

    def lock_row(self, cursor: Cursor, view: str) -> None:
        cursor.execute(
            f"SELECT generation FROM {self.table('tl_generations')} WHERE view = %s FOR UPDATE",
            (view,),
        )

    @property
    def channel(self) -> str:
        return f"timeline_views_{self.schema}"[:63]

    def announce(self, cursor: Cursor, view: str, position: int) -> None:
        cursor.execute("SELECT pg_notify(%s, %s)", (self.channel, f"{view}:{position}"))

    def listen(self, stopping: Any, on_connect: Any) -> Iterator[tuple[str, int]]:
        """(view, position) for every announcement, until `stopping` is set.

        One connection per process, blocked in the server's LISTEN: no polling.
        """
        import psycopg

        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(f'LISTEN "{self.channel}"')
            on_connect()
            while not stopping.is_set():
                for note in conn.notifies(timeout=1.0):
                    view, _, position = note.payload.rpartition(":")
                    yield view, int(position)

    def close(self) -> None:
        self.pool.close()
