"""The change feed of a view: what a range of log positions changed, read from the rows.

Rows are versioned by log position, so "what changed after position N" is a
query, not a separate log. Changes are coalesced: one message covers a range
of positions (`after`, `position`] and carries the latest version of each
entry that changed in it, never the versions in between. A row that exists
at the end of the range is an upsert; one that existed at its start and no
longer does is a removal; one born and gone within the range is not sent.
A subscriber that resumes from its last position therefore misses nothing,
even across restarts.

Timeline entries are merged at read time, so which entries changed is read
from what they are made of: their reports, their own row, their tags and their
likely-duplicate pairs (at the default distance).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from projections.database import Cursor
from projections.reading import fetch_in
from projections.versioned import VersionedTable

# The tables subscribers see, per view.
PUBLIC_TABLES = {
    "timeline": ("incidents",),
    "tally": ("attacks", "tallies"),
    "actor_history": ("appearances",),
}
WAS = "_was"  # a change's doc at the start of its range, to tell who it left


def _changed(table: VersionedTable, cursor: Cursor, column: str, after: int, upto: int) -> set[str]:
    cursor.execute(
        f"SELECT DISTINCT {column} AS k FROM {table.sql} "
        "WHERE (valid_from > %s AND valid_from <= %s) OR (valid_to > %s AND valid_to <= %s)",
        (after, upto, after, upto),
    )
    return {row["k"] for row in cursor.fetchall()}


def _docs(table: VersionedTable, cursor: Cursor, as_of: int, keys: list[str]) -> dict[str, Any]:
    rows = fetch_in(table, cursor, as_of, ("key", "doc"), "key", keys)
    return {row["key"]: orjson.loads(row["doc"]) for row in rows}


def _last_stood(table: VersionedTable, cursor: Cursor, key: str, upto: int) -> Any:
    cursor.execute(
        f"SELECT doc FROM {table.sql} WHERE key = %s AND valid_from <= %s "
        "ORDER BY valid_from DESC LIMIT 1",
        (key, upto),
    )
    return orjson.loads(cursor.fetchone()["doc"])


def _coalesce(
    table_name: str, keys: list[str], was: dict[str, Any], now: dict[str, Any], gone: Any
) -> list[dict[str, Any]]:
    found = []
    for key in keys:
        before, after = was.get(key), now.get(key)
        if after is not None:
            if after != before:
                found.append(
                    {"table": table_name, "op": "upsert", "key": key, "doc": after, WAS: before}
                )
        elif before is not None:
            found.append({"table": table_name, "op": "remove", "key": key, "doc": gone(key)})
    return found


def changes(view: Any, cursor: Cursor, after: int, upto: int) -> list[dict[str, Any]]:
    """The coalesced message for positions (after, upto], or none if nothing changed."""
    if upto <= after:
        return []
    found: list[dict[str, Any]] = []
    if view.name == "timeline":
        gen = view.gen
        keys = _changed(gen.reports, cursor, "incident", after, upto)
        keys |= _changed(gen.incidents, cursor, "key", after, upto)
        keys |= _changed(gen.tags, cursor, "incident", after, upto)
        # A new candidate pair, or one decided, changes both entries' possible_duplicates.
        keys |= _changed(gen.dup_pairs, cursor, "a", after, upto)
        keys |= _changed(gen.dup_pairs, cursor, "b", after, upto)
        ordered = sorted(keys)
        was, now = view.merged(cursor, after, ordered), view.merged(cursor, upto, ordered)
        for position, entries in ((after, was), (upto, now)):
            view.add_duplicates(cursor, position, list(entries.values()))

        def gone(key: str) -> Any:
            return was[key]

        found = _coalesce("incidents", ordered, was, now, gone)
    else:
        for table_name in PUBLIC_TABLES[view.name]:
            table: VersionedTable = getattr(view, table_name)
            ordered = sorted(_changed(table, cursor, "key", after, upto))
            was, now = _docs(table, cursor, after, ordered), _docs(table, cursor, upto, ordered)
            found.extend(
                _coalesce(
                    table_name,
                    ordered,
                    was,
                    now,
                    lambda k, t=table: _last_stood(t, cursor, k, upto),
                )
            )
    if not found:
        return []
    found.sort(key=lambda c: (c["table"], c["key"], c["op"]))
    return [{"view": view.name, "position": upto, "after": after, "changes": found}]


def matches(view_name: str, doc: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    """Whether one row concerns a subscriber's filter (actor ids, country, kind, means)."""
    actors: set[str] | None = filters.get("actors")
    country: str | None = filters.get("country")
    means = filters.get("means")  # any of them
    if means and view_name != "actor_history" and not means & set(doc.get("means", ())):
        return False
    if view_name == "timeline":
        if country and country not in doc.get("countries", ()):
            return False
        if filters.get("kind") and filters["kind"] not in doc.get("kinds", ()):
            return False
        if actors is not None:
            return any(a.get("actor_id") in actors for a in doc.get("actors", ()))
        return True
    if view_name == "tally":
        if country and country not in doc.get("countries", ()):
            return False
        if actors is not None:
            involved = {p["key"] for p in (*doc.get("targets", ()), *doc.get("claimants", ()))}
            return bool(involved & actors)
        return True
    return not (actors is not None and doc.get("actor") not in actors)


def _public(change: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in change.items() if name != WAS}


def filtered(message: dict[str, Any], filters: Mapping[str, Any]) -> dict[str, Any] | None:
    """The message as a subscriber with `filters` sees it; None if nothing concerns it.

    An entry that matched the filter at the start of the range and no longer does
    (an incident corrected from IQ to SY, for a `country=IQ` subscriber) comes as a
    `remove` with `"left_filter": true`.
    """
    view, kept = message["view"], []
    for change in message["changes"]:
        if not filters or matches(view, change["doc"], filters):
            kept.append(_public(change))
        elif change.get(WAS) is not None and matches(view, change[WAS], filters):
            kept.append({**_public(change), "op": "remove", "left_filter": True})
    return {**message, "changes": kept} if kept else None
