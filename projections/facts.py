"""The base of every view: reports and actors as the log has told them so far.

Each view keeps its own copy of these facts, in its own generation of tables,
so that any view can be rebuilt alone. Subclasses say what else changes when a
report changes or when a name starts to mean an actor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from eventsourcing.persistence import Tracking, TrackingRecorder

from domain.actors import Actor
from domain.reports import Report
from domain.values import ReportContent, normalise_name
from projections.database import Cursor, ViewDatabase
from projections.merge import incident_of
from projections.versioned import Column, VersionedTable


def utc_text(moment: datetime) -> str:
    """Fixed-width UTC text, so that string order is time order on both stores."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class View(TrackingRecorder):
    """One generation of one view: its tables, how events change them, its tracking."""

    name: ClassVar[str]
    # Bump when the view's tables change (columns, derived columns, indexes it
    # relies on): stores with the old shape then rebuild the view (create_meta).
    shape: ClassVar[int] = 2
    application_name = "timeline"

    def __init__(self, db: ViewDatabase, generation: int) -> None:
        self.db = db
        self.generation = generation
        prefix = f"tl_{self.name}_g{generation}"
        self.prefix = prefix
        self.reports = VersionedTable(
            db, f"{prefix}_reports", (Column("incident", "TEXT"),), (("incident",),)
        )
        self.actors = VersionedTable(db, f"{prefix}_actors")
        self.names = VersionedTable(
            db, f"{prefix}_names", (Column("actor", "TEXT"),), (("actor",),)
        )
        self.mentions_table = db.table(f"{prefix}_mentions")
        self.times_table = db.table(f"{prefix}_times")
        # Names resolve the same way until the next actor event: a view object
        # lives for one batch, so this saves two lookups per mention per event.
        self._resolved: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._times: list[tuple[int, str]] = []  # written together by `flush`

    # Tables ---------------------------------------------------------------------

    def versioned_tables(self) -> list[VersionedTable]:
        return [self.reports, self.actors, self.names, *self.own_tables()]

    def own_tables(self) -> list[VersionedTable]:
        return []

    def create_tables(self, cursor: Cursor, read_indexes: bool = True) -> None:
        for table in self.versioned_tables():
            table.create(cursor, read_indexes)
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {self.mentions_table} "
            "(name TEXT NOT NULL, report TEXT NOT NULL, PRIMARY KEY (name, report))"
        )
        # Each report change deletes its mentions by report: without this index
        # that is a scan of the whole table per event (the bench profile).
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {self.prefix}_mentions_report "
            f"ON {self.mentions_table} (report)"
        )
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {self.times_table} "
            "(position BIGINT PRIMARY KEY, recorded_at TEXT NOT NULL)"
        )
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {self.prefix}_times_at ON {self.times_table} (recorded_at)"
        )

    def create_read_indexes(self, cursor: Cursor) -> None:
        for table in self.versioned_tables():
            table.create_read_indexes(cursor)

    def analyze(self, cursor: Cursor) -> None:
        if self.db.dialect == "postgres":
            for table in self.versioned_tables():
                cursor.execute(f"ANALYZE {table.sql}")

    def drop_tables(self, cursor: Cursor) -> None:
        for table in self.versioned_tables():
            table.drop(cursor)
        cursor.execute(f"DROP TABLE IF EXISTS {self.mentions_table}")
        cursor.execute(f"DROP TABLE IF EXISTS {self.times_table}")

    # Tracking (eventsourcing's TrackingRecorder interface) -----------------------

    def tracked(self, cursor: Cursor) -> int:
        cursor.execute(
            f"SELECT position FROM {self.db.table('tl_tracking')} "
            "WHERE view = ? AND generation = ?",
            (self.name, self.generation),
        )
        row = cursor.fetchone()
        return int(row["position"]) if row else 0

    def track(self, cursor: Cursor, position: int) -> None:
        cursor.execute(
            f"UPDATE {self.db.table('tl_tracking')} SET position = ? "
            "WHERE view = ? AND generation = ? AND position < ?",
            (position, self.name, self.generation, position),
        )

    def flush(self, cursor: Cursor) -> None:
        """Write what `apply` kept for the end of the batch (same transaction)."""
        cursor.executemany(
            f"INSERT INTO {self.times_table} (position, recorded_at) VALUES (?, ?)", self._times
        )
        self._times.clear()

    def insert_tracking(self, tracking: Tracking) -> None:
        with self.db.transaction(write=True) as cursor:
            self.track(cursor, tracking.notification_id)

    def max_tracking_id(self, application_name: str) -> int | None:
        with self.db.transaction() as cursor:
            return self.tracked(cursor) or None

    # Applying events ------------------------------------------------------------------

    def apply(self, cursor: Cursor, event: Any, position: int) -> None:
        self._times.append((position, utc_text(event.timestamp)))
        if isinstance(event, Report.Filed):
            content = event.content.model_dump(mode="json")
            doc = {
                "id": str(event.originator_id),
                "content": content,
                "retracted": False,
                "retraction": None,
                "corrections": [],
                "filed_position": position,
            }
            self._put_report(cursor, None, doc, position)
        elif isinstance(event, Report.Corrected | Report.Retracted):
            before = self._report(cursor, str(event.originator_id))
            if before is None:  # pragma: no cover - a report's events come in order
                return
            doc = dict(before)
            if isinstance(event, Report.Corrected):
                merged = {
                    **before["content"],
                    **{
                        name: value.model_dump(mode="json")
                        if hasattr(value, "model_dump")
                        else value
                        for name, value in event.changes.items()
                    },
                }
                doc["content"] = ReportContent.model_validate(merged).model_dump(mode="json")
                doc["corrections"] = [
                    *before["corrections"],
                    {
                        "fields": list(event.fields),
                        "reason": event.reason,
                        "by": event.corrected_by,
                        "position": position,
                    },
                ]
            else:
                doc["retracted"] = True
                doc["retraction"] = {
                    "reason": event.reason,
                    "by": event.retracted_by,
                    "position": position,
                }
            self._put_report(cursor, before, doc, position)
        elif isinstance(event, Actor.Registered | Actor.AliasAdded | Actor.ParentSet):
            self._apply_actor(cursor, event, position)

    def _report(self, cursor: Cursor, report_id: str) -> dict[str, Any] | None:
        rows = self.reports.select(cursor, None, "key = ?", (report_id,))
        return rows[0]["doc"] if rows else None

    def _put_report(
        self, cursor: Cursor, before: dict[str, Any] | None, after: dict[str, Any], position: int
    ) -> None:
        new = before is None  # its first event: nothing of it to look up or replace
        self.reports.put(cursor, after["id"], after, position, (incident_of(after),), new=new)
        if not new:
            cursor.execute(f"DELETE FROM {self.mentions_table} WHERE report = ?", (after["id"],))
        mentions = after["content"].get("actors", ())
        names = {normalise_name(m["name"]) for m in mentions}
        names |= {f"id:{m['actor_id']}" for m in mentions if m.get("actor_id")}
        cursor.executemany(
            f"INSERT INTO {self.mentions_table} (name, report) VALUES (?, ?)",
            [(name, after["id"]) for name in sorted(names)],
        )
        self.report_changed(cursor, before, after, position)

    def _apply_actor(self, cursor: Cursor, event: Any, position: int) -> None:
        self._resolved.clear()
        actor_id = str(event.originator_id)
        current = self.actors.select(cursor, None, "key = ?", (actor_id,))
        doc = dict(current[0]["doc"]) if current else {}
        new_names: list[str] = []
        if isinstance(event, Actor.Registered):
            doc = {
                "id": actor_id,
                "name": event.name,
                "aliases": [a.model_dump(mode="json") for a in event.aliases],
                "parent_id": str(event.parent_id) if event.parent_id else None,
                "category": event.category,
                "description": event.description,
            }
            new_names = [event.name, *(a.name for a in event.aliases)]
        elif isinstance(event, Actor.AliasAdded):
            doc["aliases"] = [*doc["aliases"], event.alias.model_dump(mode="json")]
            new_names = [event.alias.name]
        else:
            doc["parent_id"] = str(event.parent_id) if event.parent_id else None
        self.actors.put(cursor, actor_id, doc, position)
        changed = set()
        for name in new_names:
            norm = normalise_name(name)
            if self.names.put(cursor, norm, {"actor": actor_id}, position, (actor_id,)):
                changed.add(norm)
        if isinstance(event, Actor.Registered):
            changed.add(f"id:{actor_id}")  # reports that named it by id before it existed
        if changed:
            # Reports naming this actor, before or after it was registered.
            marks = ", ".join("?" * len(changed))
            cursor.execute(
                f"SELECT DISTINCT report FROM {self.mentions_table} WHERE name IN ({marks}) "
                "ORDER BY report",
                tuple(sorted(changed)),
            )
            affected = [row["report"] for row in cursor.fetchall()]
            if affected:
                self.reports_reresolved(cursor, affected, position)

    # Resolution (current state, inside the projection's transaction) --------------------

    def resolver(self, cursor: Cursor) -> Any:
        cache = self._resolved

        def resolve(name: str, explicit_id: str | None) -> dict[str, Any]:
            cache_key = (name, explicit_id)
            if cache_key in cache:
                return cache[cache_key]
            actor_id = explicit_id
            if actor_id is None:
                rows = self.names.select(cursor, None, "key = ?", (normalise_name(name),))
                actor_id = rows[0]["doc"]["actor"] if rows else None
            actor = self.actors.select(cursor, None, "key = ?", (actor_id,)) if actor_id else []
            if actor:
                doc = actor[0]["doc"]
                found = {
                    "key": doc["id"],
                    "id": doc["id"],
                    "name": doc["name"],
                    "category": doc["category"],
                }
            else:
                found = {
                    "key": f"name:{normalise_name(name)}",
                    "id": None,
                    "name": None,
                    "category": None,
                }
            cache[cache_key] = found
            return found

        return resolve

    def incidents_of(self, cursor: Cursor, reports: list[dict[str, Any] | None]) -> list[str]:
        """The incidents these report documents belong to, each once, in order."""
        return sorted({incident_of(doc) for doc in reports if doc is not None})

    def docs_of(self, cursor: Cursor, report_ids: list[str]) -> list[dict[str, Any]]:
        return [doc for doc in (self._report(cursor, r) for r in report_ids) if doc is not None]

    def reports_in(self, cursor: Cursor, incident: str) -> list[dict[str, Any]]:
        return [r["doc"] for r in self.reports.select(cursor, None, "incident = ?", (incident,))]

    # Hooks ------------------------------------------------------------------------------

    def report_changed(
        self, cursor: Cursor, before: dict[str, Any] | None, after: dict[str, Any], position: int
    ) -> None:
        """A report was filed, corrected or retracted."""

    def reports_reresolved(self, cursor: Cursor, report_ids: list[str], position: int) -> None:
        """Names in these reports now resolve differently (an actor or alias appeared)."""

    # Reading helpers -------------------------------------------------------------------

    def position_at(self, cursor: Cursor, moment: datetime) -> int:
        cursor.execute(
            f"SELECT MAX(position) AS position FROM {self.times_table} WHERE recorded_at <= ?",
            (utc_text(moment),),
        )
        row = cursor.fetchone()
        return int(row["position"] or 0) if row else 0

    def actor_tree(self, cursor: Cursor, as_of: int | None) -> dict[str, dict[str, Any]]:
        return {row["key"]: row["doc"] for row in self.actors.select(cursor, as_of)}

    def resolve_name(self, cursor: Cursor, name: str, as_of: int | None) -> str | None:
        rows = self.names.select(cursor, as_of, "key = ?", (normalise_name(name),))
        return rows[0]["doc"]["actor"] if rows else None

    def dump(self, cursor: Cursor) -> dict[str, list[tuple[Any, ...]]]:
        return {
            table.name.removeprefix(self.prefix): table.dump(cursor)
            for table in self.versioned_tables()
        }


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
