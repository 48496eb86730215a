"""An actor and every actor within it (Quds Force within the IRGC), and actors' names.

`members` finds the same set as `descendants` over every actor's doc, without
decoding every doc: the database reads out only the parents.
"""

from __future__ import annotations

from typing import Any

from projections.database import Cursor
from projections.json_sql import JsonSql
from projections.versioned import VersionedTable


def descendants(actors: dict[str, dict[str, Any]], root: str) -> set[str]:
    """The actor and every actor within it (Quds Force within the IRGC)."""
    children: dict[str, list[str]] = {}
    for actor_id, doc in actors.items():
        if doc.get("parent_id"):
            children.setdefault(doc["parent_id"], []).append(actor_id)
    found, stack = {root}, [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def members(cursor: Cursor, actors: VersionedTable, as_of: int | None, root: str) -> set[str]:
    # One pass reading only each actor's parent (a recursive join would re-read
    # every actor's doc once per level and member).
    parent = JsonSql(actors.db.dialect).text("doc", "parent_id")
    rows = actors.fetch(cursor, as_of, ("key", f"{parent} AS parent"), f"{parent} IS NOT NULL")
    return descendants({row["key"]: {"parent_id": row["parent"]} for row in rows}, root)


def names(
    cursor: Cursor, actors: VersionedTable, as_of: int | None, keys: set[str]
) -> dict[str, Any]:
    """The name of each of these actors that exists (as of `as_of`)."""
    if not keys:
        return {}
    rows = actors.fetch(
        cursor,
        as_of,
        ("key", f"{JsonSql(actors.db.dialect).text('doc', 'name')} AS name"),
        f"key IN ({', '.join(['%s'] * len(keys))})",
        sorted(keys),
    )
    return {row["key"]: row["name"] for row in rows}
