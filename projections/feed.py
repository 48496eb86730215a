"""The change feed of a view: what each log position changed, read from the view itself.

Rows are versioned by log position, so "what changed after position N" is a
query, not a separate log: a row version that starts at P is an upsert at P; a
row that ends at P with no successor is a removal at P. A subscriber that
resumes from its last position therefore misses nothing, even across restarts,
and never sees a position twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from projections.database import Cursor
from projections.facts import View

# The tables subscribers see, per view (the facts tables are internal).
PUBLIC_TABLES = {
    "timeline": ("incidents",),
    "tally": ("attacks", "tallies"),
    "actor_history": ("appearances",),
}


def changes(view: View, cursor: Cursor, after: int, upto: int) -> list[dict[str, Any]]:
    """One message per log position in (after, upto] that changed the view."""
    by_position: dict[int, list[dict[str, Any]]] = {}
    for table_name in PUBLIC_TABLES[view.name]:
        table = getattr(view, table_name)
        cursor.execute(
            f"SELECT key, valid_from, valid_to, doc FROM {table.sql} "
            "WHERE (valid_from > ? AND valid_from <= ?) OR (valid_to > ? AND valid_to <= ?)",
            (after, upto, after, upto),
        )
        rows = [dict(row) for row in cursor.fetchall()]
        started = {(row["key"], row["valid_from"]) for row in rows}
        for row in rows:
            doc = orjson.loads(row["doc"])
            if after < row["valid_from"] <= upto:
                by_position.setdefault(row["valid_from"], []).append(
                    {"table": table_name, "op": "upsert", "key": row["key"], "doc": doc}
                )
            ended = row["valid_to"]
            if ended is not None and after < ended <= upto and (row["key"], ended) not in started:
                by_position.setdefault(ended, []).append(
                    {"table": table_name, "op": "remove", "key": row["key"], "doc": doc}
                )
    return [
        {
            "view": view.name,
            "position": position,
            "changes": sorted(found, key=lambda c: (c["table"], c["key"], c["op"])),
        }
        for position, found in sorted(by_position.items())
    ]


def matches(view_name: str, change: dict[str, Any], filters: Mapping[str, Any]) -> bool:
    """Whether one change concerns a subscriber's filter (actor ids, country, kind)."""
    doc = change["doc"]
    actors: set[str] | None = filters.get("actors")
    country: str | None = filters.get("country")
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


def filtered(message: dict[str, Any], filters: Mapping[str, Any]) -> dict[str, Any] | None:
    kept = [c for c in message["changes"] if matches(message["view"], c, filters)]
    return {**message, "changes": kept} if kept else None
