"""Rows valid from one log position to another.

Every view row carries `valid_from` (the position of the event that produced
it) and `valid_to` (the position of the event that replaced it, NULL while
current). "As of position P" is then one indexed predicate,
`valid_from <= P AND (valid_to IS NULL OR valid_to > P)`, and answers exactly
what a replay of the log up to P would have left in the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from projections.database import Cursor, ViewDatabase

AS_OF = "valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)"


def doc_text(doc: Any) -> str:
    """A row's doc as stored: JSON with sorted keys, so equal docs are equal text
    (both drivers compare and write this)."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode()


def valid_at(as_of: int | None) -> tuple[str, list[Any]]:
    """The predicate (and its parameters) for rows current now or at `as_of`."""
    return ("valid_to IS NULL", []) if as_of is None else (AS_OF, [as_of, as_of])


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # TEXT, INTEGER or BIGINT; the same words work on both stores


@dataclass(frozen=True)
class Derived:
    """A column the database computes from the doc on every write (STORED generated).

    Queries filter and group on it without parsing docs; writers never name it.
    """

    name: str
    field: str  # a top-level field of the doc
    json: bool = False  # kept as JSON (an array to look into), else as text

    def sql(self, dialect: str) -> str:
        if dialect == "sqlite":
            expression, kind = f"json_extract(doc, '$.{self.field}')", "TEXT"
        elif self.json:
            expression, kind = f"(doc::jsonb -> '{self.field}')", "JSONB"
        else:
            expression, kind = f"(doc::jsonb ->> '{self.field}')", "TEXT"
        return f"{self.name} {kind} GENERATED ALWAYS AS ({expression}) STORED"


@dataclass(frozen=True)
class VersionedTable:
    db: ViewDatabase
    name: str  # full table name, e.g. tl_timeline_g1_incidents
    columns: tuple[Column, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    # Orders the current rows are paged in: partial indexes WHERE valid_to IS NULL,
    # so that a first page walks the index and stops at LIMIT instead of sorting.
    current_orders: tuple[tuple[str, ...], ...] = ()
    derived: tuple[Derived, ...] = ()

    @property
    def sql(self) -> str:
        return self.db.table(self.name)

    def create(self, cursor: Cursor, read_indexes: bool = True) -> None:
        """The table, with the indexes projecting needs; and, unless a build will
        add them at its end (`create_read_indexes`), those that queries need."""
        extra = "".join(f", {c.name} {c.type}" for c in self.columns)
        extra += "".join(f", {d.sql(self.db.dialect)}" for d in self.derived)
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {self.sql} (key TEXT NOT NULL, "
            f"valid_from BIGINT NOT NULL, valid_to BIGINT, doc TEXT NOT NULL{extra})"
        )
        cursor.execute(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {self.name}_current ON {self.sql} (key) "
            "WHERE valid_to IS NULL"
        )
        for number, index in enumerate(self.indexes):
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {self.name}_i{number} ON {self.sql} "
                f"({', '.join(index)}, valid_from)"
            )
        if read_indexes:
            self.create_read_indexes(cursor)

    def create_read_indexes(self, cursor: Cursor) -> None:
        # Built once over a finished table, these cost a fraction of keeping them
        # up to date row by row during a rebuild.
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {self.name}_key ON {self.sql} (key, valid_from)"
        )
        # The change feed reads versions by the position that started or ended them.
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {self.name}_from ON {self.sql} (valid_from)")
        # Partial: with every current row under NULL, SQLite would pick a full index
        # for `valid_to IS NULL` and then sort, rather than a current_orders index.
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {self.name}_ended ON {self.sql} (valid_to) "
            "WHERE valid_to IS NOT NULL"
        )
        for number, order in enumerate(self.current_orders):
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {self.name}_c{number} ON {self.sql} "
                f"({', '.join(order)}) WHERE valid_to IS NULL"
            )

    def drop(self, cursor: Cursor) -> None:
        cursor.execute(f"DROP TABLE IF EXISTS {self.sql}")

    # Writing (inside the projection's transaction) ----------------------------

    def current(self, cursor: Cursor, key: str) -> dict[str, Any] | None:
        cursor.execute(
            f"SELECT valid_from, doc FROM {self.sql} WHERE key = %s AND valid_to IS NULL", (key,)
        )
        row = cursor.fetchone()
        if row is None:
            return None
        return {"valid_from": row["valid_from"], "doc": row["doc"]}

    def put(
        self,
        cursor: Cursor,
        key: str,
        doc: Any,
        position: int,
        values: Sequence[Any] = (),
        new: bool = False,
    ) -> bool:
        """Make `doc` the current row for `key` from `position`; False if unchanged.

        `new` promises that `key` has no row yet (a report's first event), which
        saves looking for one.
        """
        text = doc_text(doc)
        # Extra columns are derived from the doc, so an equal doc means equal values.
        row = None if new else self.current(cursor, key)
        if row is not None and row["doc"] == text:
            return False
        names = "".join(f", {c.name}" for c in self.columns)
        marks = ", %s" * len(self.columns)
        if row is not None and row["valid_from"] == position:
            # Replaced within the same event: no one can have seen the old one.
            sets = "".join(f", {c.name} = %s" for c in self.columns)
            cursor.execute(
                f"UPDATE {self.sql} SET doc = %s{sets} WHERE key = %s AND valid_to IS NULL",
                (text, *values, key),
            )
            return True
        if row is not None:
            self._close(cursor, key, position)
        cursor.execute(
            f"INSERT INTO {self.sql} (key, valid_from, valid_to, doc{names}) "
            f"VALUES (%s, %s, NULL, %s{marks})",
            (key, position, text, *values),
        )
        return True

    def remove(self, cursor: Cursor, key: str, position: int) -> bool:
        row = self.current(cursor, key)
        if row is None:
            return False
        if row["valid_from"] == position:
            cursor.execute(f"DELETE FROM {self.sql} WHERE key = %s AND valid_to IS NULL", (key,))
        else:
            self._close(cursor, key, position)
        return True

    def _close(self, cursor: Cursor, key: str, position: int) -> None:
        cursor.execute(
            f"UPDATE {self.sql} SET valid_to = %s WHERE key = %s AND valid_to IS NULL",
            (position, key),
        )

    # Reading -------------------------------------------------------------------

    def select(
        self,
        cursor: Cursor,
        as_of: int | None,
        where: str = "",
        params: Sequence[Any] = (),
        order: str = "",
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows current now (as_of None) or at log position `as_of`, docs decoded."""
        rows = []
        for row in self.fetch(cursor, as_of, ["*"], where, params, order, limit):
            item = dict(row)
            item["doc"] = orjson.loads(item["doc"])
            rows.append(item)
        return rows

    def fetch(
        self,
        cursor: Cursor,
        as_of: int | None,
        columns: Sequence[str],
        where: str = "",
        params: Sequence[Any] = (),
        order: str = "",
        limit: int | None = None,
    ) -> list[Any]:
        """Only `columns` of the rows valid now or at `as_of`, docs left as JSON text.

        For queries: decode (or pass through) only the docs that are returned.
        """
        validity, args = valid_at(as_of)
        sql = f"SELECT {', '.join(columns)} FROM {self.sql} WHERE {validity}"
        if where:
            sql += f" AND ({where})"
            args.extend(params)
        if order:
            sql += f" ORDER BY {order}"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(limit)
        cursor.execute(sql, args)
        return cursor.fetchall()

    def dump(self, cursor: Cursor) -> list[tuple[Any, ...]]:
        """Every row ever written, in a stable order (for rebuild comparisons)."""
        cursor.execute(f"SELECT * FROM {self.sql} ORDER BY key, valid_from")
        return [tuple(dict(row).values()) for row in cursor.fetchall()]
