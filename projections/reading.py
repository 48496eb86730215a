"""Reading a generation as of a position: names, actors, and entries merged at read time.

A timeline entry is merged here, for the incidents a query returns, from the
report versions valid at the asked position, with names resolved as they
stood then. The merge rules are the same pure functions the fold uses
(`projections/merge.py`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from domain.values import normalise_name
from projections.as_reported import AsReported, read_as_reported
from projections.database import Cursor
from projections.generation import Generation
from projections.merge import Resolver, merge_incident
from projections.versioned import VersionedTable

CHUNK = 500  # keys per IN (...) list


def fetch_in(
    table: VersionedTable,
    cursor: Cursor,
    as_of: int | None,
    columns: tuple[str, ...],
    column: str,
    keys: Iterable[str],
) -> list[Any]:
    """The rows valid at `as_of` whose `column` is one of `keys`, CHUNK keys a query."""
    wanted, found = sorted(set(keys)), []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        marks = ", ".join(["%s"] * len(chunk))
        found.extend(table.fetch(cursor, as_of, columns, f"{column} IN ({marks})", chunk))
    return found


class ReadView:
    """What every view reads besides its own rows: actors, names, the clock."""

    name = ""

    def __init__(self, gen: Generation) -> None:
        self.gen, self.db = gen, gen.db
        self.actors, self.names = gen.actors, gen.names

    def position_at(self, cursor: Cursor, moment: datetime) -> int:
        return self.gen.position_at(cursor, moment)

    def as_reported(self, cursor: Cursor, as_of: int | None, day: str | None) -> AsReported | None:
        """The reports as published by `day` (None: no such axis asked)."""
        return None if day is None else read_as_reported(self.gen, cursor, as_of, day)

    def resolve_name(self, cursor: Cursor, name: str, as_of: int | None) -> str | None:
        rows = self.names.fetch(cursor, as_of, ("actor",), "key = %s", (normalise_name(name),))
        return rows[0]["actor"] if rows else None

    def resolve_actor(self, cursor: Cursor, actor: str, as_of: int | None) -> str | None:
        """An actor id, or any of its names, as the actor it meant at `as_of`."""
        try:
            actor_id = str(UUID(actor))
        except ValueError:
            return self.resolve_name(cursor, actor, as_of)
        rows = self.actors.fetch(cursor, as_of, ("key",), "key = %s", (actor_id,))
        return actor_id if rows else None

    def actor_tree(self, cursor: Cursor, as_of: int | None) -> dict[str, dict[str, Any]]:
        return {row["key"]: row["doc"] for row in self.actors.select(cursor, as_of)}

    # Read-time merging -------------------------------------------------------------------

    def report_rows(
        self, cursor: Cursor, as_of: int | None, incidents: list[str]
    ) -> dict[str, list[Any]]:
        """The report versions (key, valid_from, doc as text) of these incidents at `as_of`."""
        found: dict[str, list[Any]] = {key: [] for key in incidents}
        columns = ("incident", "key", "valid_from", "doc")
        for row in fetch_in(self.gen.reports, cursor, as_of, columns, "incident", incidents):
            found[row["incident"]].append(row)
        return found

    def names_epoch(self, cursor: Cursor, as_of: int | None) -> int:
        """The last position at or before `as_of` that changed an actor or a name:
        until the next, every name resolves the same way."""
        bound, args = ("", []) if as_of is None else (" WHERE valid_from <= %s", [as_of])
        cursor.execute(
            f"SELECT MAX(valid_from) AS p FROM {self.actors.sql}{bound} "
            f"UNION ALL SELECT MAX(valid_from) FROM {self.names.sql}{bound}",
            [*args, *args],
        )
        return max((int(row["p"] or 0) for row in cursor.fetchall()), default=0)

    def resolver(
        self, cursor: Cursor, as_of: int | None, reports: Iterable[dict[str, Any]]
    ) -> Resolver:
        """Resolution of every mention in `reports` as names stood at `as_of`."""
        mentions = [m for r in reports for m in r["content"].get("actors", ())]
        norms = sorted({normalise_name(m["name"]) for m in mentions})
        owners = {
            row["key"]: row["actor"]
            for row in fetch_in(self.names, cursor, as_of, ("key", "actor"), "key", norms)
        }
        ids = {*owners.values(), *(m["actor_id"] for m in mentions if m.get("actor_id"))}
        actors = {
            row["key"]: orjson.loads(row["doc"])
            for row in fetch_in(self.actors, cursor, as_of, ("key", "doc"), "key", ids)
        }

        def resolve(name: str, explicit_id: str | None) -> dict[str, Any]:
            norm = normalise_name(name)
            actor = actors.get(explicit_id or owners.get(norm, ""))
            if actor:
                return {
                    "key": actor["id"],
                    "id": actor["id"],
                    "name": actor["name"],
                    "category": actor["category"],
                }
            return {"key": f"name:{norm}", "id": None, "name": None, "category": None}

        return resolve

    def merged(
        self,
        cursor: Cursor,
        as_of: int | None,
        incidents: list[str],
        by: AsReported | None = None,
    ) -> dict[str, dict[str, Any]]:
        """The timeline entries of these incidents at `as_of` (absent ones left out);
        `by`: from the report versions that count by its day instead.

        An entry is a pure function of its report versions and of how names resolve,
        so it is merged once per such state and kept (`MERGED`): a page of entries
        that did not change since it was last read costs one query and no merge.
        """
        rows = by.report_rows(incidents) if by else self.report_rows(cursor, as_of, incidents)
        epoch = self.names_epoch(cursor, as_of)
        found, missing = {}, {}
        for key, versions in rows.items():
            if not versions:
                continue
            state = (
                self.db.identity,  # one process may read several stores (tests, tools)
                self.gen.number,
                key,
                epoch,
                frozenset((r["key"], r["valid_from"]) for r in versions),
            )
            entry = MERGED.get(state)
            if entry is None:
                missing[key] = (state, [_decoded(r["doc"]) for r in versions])
            else:
                found[key] = entry
        if missing:
            resolve = self.resolver(
                cursor, as_of, (d for _, docs in missing.values() for d in docs)
            )
            for key, (state, docs) in missing.items():
                found[key] = MERGED.put(state, merge_incident(key, docs, resolve))
        # Callers replace top-level fields (chain, source_count): each gets its own dict.
        return {key: dict(found[key]) for key in incidents if key in found}


def _decoded(doc: str | dict[str, Any]) -> dict[str, Any]:
    """A report version's doc: as stored (text), or already decoded (`AsReported`)."""
    return doc if isinstance(doc, dict) else orjson.loads(doc)


class MergedEntries:
    """A bounded cache of merged entries, shared by the threads of a process."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._entries: OrderedDict[Any, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, state: Any) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(state)
            if entry is not None:
                self._entries.move_to_end(state)
            return entry

    def put(self, state: Any, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._entries[state] = entry
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return entry


MERGED = MergedEntries()
