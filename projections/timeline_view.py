"""The escalation timeline: one entry per incident, ordered by when it happened."""

from __future__ import annotations

from typing import Any

import orjson

from projections.database import Cursor
from projections.facts import View
from projections.merge import merge_incident, responses_before_cause
from projections.paging import after_key, encode_cursor
from projections.versioned import Column, VersionedTable, valid_at

MAX_CHAIN = 20
ORDER = ("earliest", "latest", "key")  # the timeline's order, and its cursor's key


class TimelineView(View):
    name = "timeline"

    def __init__(self, db: Any, generation: int) -> None:
        super().__init__(db, generation)
        self.incidents = VersionedTable(
            db,
            f"{self.prefix}_incidents",
            (
                Column("earliest", "TEXT"),
                Column("latest", "TEXT"),
                Column("week", "TEXT"),
                Column("level", "INTEGER"),
                Column("status", "TEXT"),
                Column("disputed", "INTEGER"),
                Column("responds", "INTEGER"),
            ),
            (("earliest", "latest", "key"), ("week",), ("disputed",), ("responds",)),
            current_orders=(ORDER,),
        )
        self.tags = VersionedTable(
            db,
            f"{self.prefix}_tags",
            (Column("incident", "TEXT"), Column("tag", "TEXT")),
            (("tag", "incident"), ("incident",)),
        )

    def own_tables(self) -> list[VersionedTable]:
        return [self.incidents, self.tags]

    # Projection ------------------------------------------------------------------------

    def report_changed(self, cursor: Cursor, before: Any, after: Any, position: int) -> None:
        for incident in self.incidents_of(cursor, [before, after]):
            self._recompute(cursor, incident, position)

    def reports_reresolved(self, cursor: Cursor, report_ids: list[str], position: int) -> None:
        for incident in self.incidents_of(cursor, self.docs_of(cursor, report_ids)):
            self._recompute(cursor, incident, position)

    def _recompute(self, cursor: Cursor, incident: str, position: int) -> None:
        reports = self.reports_in(cursor, incident)
        current_tags = {
            row["doc"]["tag"]: row["key"]
            for row in self.tags.select(cursor, None, "incident = ?", (incident,))
        }
        if not reports:  # every report moved away by corrections
            self.incidents.remove(cursor, incident, position)
            for key in current_tags.values():
                self.tags.remove(cursor, key, position)
            return
        entry = merge_incident(incident, reports, self.resolver(cursor))
        self.incidents.put(
            cursor,
            incident,
            entry,
            position,
            (
                entry["when"]["earliest"],
                entry["when"]["latest"],
                entry["week"],
                entry["level"],
                entry["status"],
                1 if entry["contradictions"] else 0,
                1 if entry["responds_to"] else 0,
            ),
        )
        wanted = {f"kind:{k}" for k in entry["kinds"]}
        wanted |= {f"country:{c}" for c in entry["countries"]}
        wanted |= {f"actor:{a['actor_id']}" for a in entry["actors"] if a["actor_id"]}
        for tag, key in current_tags.items():
            if tag not in wanted:
                self.tags.remove(cursor, key, position)
        for tag in sorted(wanted - set(current_tags)):
            self.tags.put(cursor, f"{incident}|{tag}", {"tag": tag}, position, (incident, tag))

    # Queries ------------------------------------------------------------------------------

    def entries(
        self,
        cursor: Cursor,
        as_of: int | None,
        *,
        start: str | None = None,
        end: str | None = None,
        country: str | None = None,
        actor_ids: set[str] | None = None,
        kind: str | None = None,
        min_level: int | None = None,
        after: str | None = None,
        limit: int = 100,
        sources: bool = True,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page in (earliest, latest, key) order, and the cursor of the next page.

        Without `sources`, each entry carries `source_count` instead of its sources
        (what a list needs; the entry itself has them all).
        """
        where, params = [], []
        if start:
            where.append("latest >= ?")
            params.append(start)
        if end:
            where.append("earliest <= ?")
            params.append(end)
        if min_level is not None:
            where.append("level >= ?")
            params.append(min_level)
        tag_sets = []
        if country:
            tag_sets.append([f"country:{country}"])
        if kind:
            tag_sets.append([f"kind:{kind}"])
        if actor_ids is not None:  # an empty set matches nothing
            tag_sets.append(sorted(f"actor:{a}" for a in actor_ids))
        for tags in tag_sets:
            sub, sub_params = self._tag_filter(as_of, tags)
            where.append(sub)
            params.extend(sub_params)
        if after:
            sub, sub_params = after_key(ORDER, after)
            where.append(sub)
            params.extend(sub_params)
        # The current_orders index gives this order: the database stops at LIMIT.
        rows = self.incidents.fetch(
            cursor,
            as_of,
            ("key", "earliest", "latest", "doc"),
            " AND ".join(where),
            params,
            ", ".join(ORDER),
            limit + 1,
        )
        page, more = rows[:limit], len(rows) > limit
        entries = [orjson.loads(row["doc"]) for row in page]
        self._annotate(cursor, as_of, entries)
        if not sources:
            # Decoding the whole doc and dropping the sources here is faster than
            # having either database cut them out (json_remove, jsonb minus).
            for entry in entries:
                entry["source_count"] = len(entry.pop("sources"))
        cursor_out = None
        if more and page:
            last = page[-1]
            cursor_out = encode_cursor([last[column] for column in ORDER])
        return entries, cursor_out

    def _tag_filter(self, as_of: int | None, tags: list[str]) -> tuple[str, list[Any]]:
        if not tags:
            return "1 = 0", []
        marks = ", ".join("?" * len(tags))
        validity, args = valid_at(as_of)
        sql = f"key IN (SELECT incident FROM {self.tags.sql} WHERE tag IN ({marks}) AND {validity})"
        return sql, [*tags, *args]

    def entry(self, cursor: Cursor, as_of: int | None, incident: str) -> dict[str, Any] | None:
        rows = self.incidents.select(cursor, as_of, "key = ?", (incident,))
        if not rows:
            return None
        entries = [rows[0]["doc"]]
        self._annotate(cursor, as_of, entries)
        return entries[0]

    def _annotate(self, cursor: Cursor, as_of: int | None, entries: list[dict[str, Any]]) -> None:
        """Add what depends on other incidents: the responds-to chain and its contradictions."""
        cache: dict[str, dict[str, Any] | None] = {}

        def load(keys: set[str]) -> None:
            missing = sorted(keys - cache.keys())
            if not missing:
                return
            found = {
                row["key"]: orjson.loads(row["doc"])
                for row in self.incidents.fetch(
                    cursor,
                    as_of,
                    ("key", "doc"),
                    f"key IN ({', '.join('?' * len(missing))})",
                    missing,
                )
            }
            for key in missing:
                cache[key] = found.get(key)

        def lookup(key: str) -> dict[str, Any] | None:
            load({key})
            return cache[key]

        # The direct causes of a whole page in one query; deeper links as they come.
        load({key for entry in entries for key in entry["responds_to"]})

        for entry in entries:
            chain, frontier, seen = [], list(entry["responds_to"]), {entry["incident"]}
            while frontier and len(chain) < MAX_CHAIN:
                key = frontier.pop(0)
                if key in seen:
                    continue
                seen.add(key)
                cause = lookup(key)
                chain.append(
                    {
                        "incident": key,
                        "known": cause is not None,
                        "kind": cause["kind"] if cause else None,
                        "when": cause["when"] if cause else None,
                        "level": cause["level"] if cause else None,
                    }
                )
                if cause:
                    frontier.extend(cause["responds_to"])
            entry["chain"] = chain
            for key in entry["responds_to"]:
                cause = lookup(key)
                if cause is not None:
                    entry["contradictions"] = [
                        *entry["contradictions"],
                        *responses_before_cause(entry, entry["sources"], cause),
                    ]

    def weekly(self, cursor: Cursor, as_of: int | None) -> list[dict[str, Any]]:
        validity, args = valid_at(as_of)
        cursor.execute(
            f"SELECT week, COUNT(*) AS incidents, MAX(level) AS highest_level "
            f"FROM {self.incidents.sql} WHERE {validity} AND status = 'active' "
            "GROUP BY week ORDER BY week",
            args,
        )
        return [dict(row) for row in cursor.fetchall()]

    def contradictions(self, cursor: Cursor, as_of: int | None) -> list[dict[str, Any]]:
        rows = self.incidents.select(
            cursor, as_of, "disputed = 1 OR responds = 1", (), "earliest, latest, key"
        )
        entries = [row["doc"] for row in rows]
        self._annotate(cursor, as_of, entries)
        found = []
        for entry in entries:
            for contradiction in entry["contradictions"]:
                found.append(
                    {"incident": entry["incident"], "when": entry["when"], **contradiction}
                )
        return found
