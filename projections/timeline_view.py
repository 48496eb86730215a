"""The escalation timeline: one entry per incident, ordered by when it happened.

An incident's row holds only its sort and filter keys (`derive.incident_row`);
the entries a query returns are merged at read time from the report versions
valid at the asked position (`ReadView.merged`).
"""

from __future__ import annotations

from typing import Any

import orjson

from projections import duplicates_view
from projections.as_reported import AsReported
from projections.database import Cursor
from projections.derive import incident_tags
from projections.duplicates import DEFAULT_KM
from projections.generation import INCIDENT_ORDER as ORDER
from projections.generation import Generation
from projections.merge import responses_before_cause
from projections.paging import after_key, decode_cursor, encode_cursor
from projections.reading import ReadView, fetch_in
from projections.versioned import valid_at

MAX_CHAIN = 20


class TimelineView(ReadView):
    name = "timeline"

    def __init__(self, gen: Generation) -> None:
        super().__init__(gen)
        self.incidents, self.tags = gen.incidents, gen.tags

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
        means: list[str] | None = None,
        min_level: int | None = None,
        after: str | None = None,
        limit: int = 100,
        sources: bool = True,
        by: AsReported | None = None,
        duplicate_km: float = DEFAULT_KM,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page in (earliest, latest, key) order, and the cursor of the next page.

        Without `sources`, each entry carries `source_count` instead of its sources
        (what a list needs; the entry itself has them all). `by`: as sources had
        published by its day, every incident merged, filtered and sorted here.
        """
        if by is not None:
            wanted = {"start": start, "end": end, "country": country, "kind": kind, "means": means}
            page, more = self._reported_page(
                cursor, as_of, by, actor_ids, min_level, after, limit, **wanted
            )
            return self._finish(cursor, as_of, page, more, sources, by, duplicate_km)
        where, params = self.incident_filter(
            as_of,
            start=start,
            end=end,
            country=country,
            actor_ids=actor_ids,
            kind=kind,
            means=means,
            min_level=min_level,
        )
        if after:
            sub, sub_params = after_key(ORDER, after)
            where.append(sub)
            params.extend(sub_params)
        # The current_orders index gives this order: the database stops at LIMIT.
        rows = self.incidents.fetch(
            cursor,
            as_of,
            ORDER,
            " AND ".join(where),
            params,
            ", ".join(ORDER),
            limit + 1,
        )
        page, more = rows[:limit], len(rows) > limit
        merged = self.merged(cursor, as_of, [row["key"] for row in page])
        entries = [merged[row["key"]] for row in page]
        return self._finish(cursor, as_of, entries, more, sources, duplicate_km=duplicate_km)

    def _finish(
        self,
        cursor: Cursor,
        as_of: int | None,
        entries: list[dict[str, Any]],
        more: bool,
        sources: bool,
        by: AsReported | None = None,
        duplicate_km: float = DEFAULT_KM,
    ) -> tuple[list[dict[str, Any]], str | None]:
        self._annotate(cursor, as_of, entries, by)
        # Candidates are what the log holds at `as_of`, also when asked `by` a day.
        self.add_duplicates(cursor, as_of, entries, duplicate_km)
        if not sources:
            # Decoding the whole doc and dropping the sources here is faster than
            # having either database cut them out (json_remove, jsonb minus).
            for entry in entries:
                entry["source_count"] = len(entry.pop("sources"))
        cursor_out = None
        if more and entries:
            cursor_out = encode_cursor(list(_order_key(entries[-1])))
        return entries, cursor_out

    def _reported_page(
        self,
        cursor: Cursor,
        as_of: int | None,
        by: AsReported,
        actor_ids: set[str] | None,
        min_level: int | None,
        after: str | None,
        limit: int,
        **wanted: Any,
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of every incident as merged from `by`, by the same filters and
        order as the incidents' rows (`derive.incident_row`, `incident_tags`)."""
        asked = wanted_tags(wanted["country"], wanted["kind"], wanted["means"], actor_ids)
        tags = [set(any_of) for any_of in asked]
        start, end = wanted["start"], wanted["end"]
        bound = decode_cursor(after) if after else None
        found = []
        for entry in self.merged(cursor, as_of, by.incidents(), by).values():
            when, level = entry["when"], entry["level"]
            if (start and when["latest"] < start) or (end and when["earliest"] > end):
                continue
            if min_level is not None and (level is None or level < min_level):
                continue
            if tags and not all(any_of & incident_tags(entry) for any_of in tags):
                continue
            if bound is not None and _order_key(entry) <= bound:
                continue
            found.append(entry)
        found.sort(key=_order_key)
        return found[:limit], len(found) > limit

    def incident_filter(
        self,
        as_of: int | None,
        *,
        start: str | None = None,
        end: str | None = None,
        country: str | None = None,
        actor_ids: set[str] | None = None,
        kind: str | None = None,
        means: list[str] | None = None,
        min_level: int | None = None,
    ) -> tuple[list[str], list[Any]]:
        """The timeline's filters, as conditions on the incidents table (and parameters)."""
        where: list[str] = []
        params: list[Any] = []
        if start:
            where.append("latest >= %s")
            params.append(start)
        if end:
            where.append("earliest <= %s")
            params.append(end)
        if min_level is not None:
            where.append("level >= %s")
            params.append(min_level)
        tag_sets = wanted_tags(country, kind, means, actor_ids)
        for tags in tag_sets:
            sub, sub_params = self._tag_filter(as_of, tags)
            where.append(sub)
            params.extend(sub_params)
        return where, params

    def _tag_filter(self, as_of: int | None, tags: list[str]) -> tuple[str, list[Any]]:
        if not tags:
            return "1 = 0", []
        marks = ", ".join(["%s"] * len(tags))
        validity, args = valid_at(as_of)
        sql = f"key IN (SELECT incident FROM {self.tags.sql} WHERE tag IN ({marks}) AND {validity})"
        return sql, [*tags, *args]

    def entry(
        self,
        cursor: Cursor,
        as_of: int | None,
        incident: str,
        by: AsReported | None = None,
        duplicate_km: float = DEFAULT_KM,
    ) -> dict[str, Any] | None:
        if by is None and not self.incidents.fetch(
            cursor, as_of, ("key",), "key = %s", (incident,)
        ):
            return None
        found = self.merged(cursor, as_of, [incident], by)
        if incident not in found:  # no report of it counts by `by`'s day
            return None
        entries = [found[incident]]
        self._annotate(cursor, as_of, entries, by)
        self.add_duplicates(cursor, as_of, entries, duplicate_km)
        return entries[0]

    def add_duplicates(
        self,
        cursor: Cursor,
        as_of: int | None,
        entries: list[dict[str, Any]],
        max_km: float = DEFAULT_KM,
    ) -> None:
        """Each entry's undecided likely duplicates, with the reasons matched."""
        found = duplicates_view.candidates_of(
            self.gen, cursor, as_of, [e["incident"] for e in entries], max_km
        )
        for entry in entries:
            entry["possible_duplicates"] = found[entry["incident"]]

    def known_incidents(self, cursor: Cursor, incidents: list[str]) -> set[str]:
        """Which of these incidents the timeline has now."""
        rows = fetch_in(self.incidents, cursor, None, ("key",), "key", incidents)
        return {row["key"] for row in rows}

    def link_of(self, cursor: Cursor, report: str) -> dict[str, Any] | None:
        """The link an analyst made for this report, if it is linked now."""
        rows = self.gen.reports.fetch(cursor, None, ("doc",), "key = %s", (report,))
        return orjson.loads(rows[0]["doc"]).get("linked") if rows else None

    def duplicates(
        self,
        cursor: Cursor,
        as_of: int | None,
        *,
        max_km: float = DEFAULT_KM,
        after: str | None = None,
        limit: int = 100,
    ) -> tuple[list[dict[str, Any]], str | None]:
        return duplicates_view.page(
            self.gen, cursor, as_of, max_km=max_km, after=after, limit=limit
        )

    def _annotate(
        self,
        cursor: Cursor,
        as_of: int | None,
        entries: list[dict[str, Any]],
        by: AsReported | None = None,
    ) -> None:
        """Add what depends on other incidents: the responds-to chain and its contradictions."""
        cache: dict[str, dict[str, Any] | None] = {}

        def load(keys: set[str]) -> None:
            missing = sorted(keys - cache.keys())
            if not missing:
                return
            found = self.merged(cursor, as_of, missing, by)
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

    def weekly(
        self, cursor: Cursor, as_of: int | None, by: AsReported | None = None
    ) -> list[dict[str, Any]]:
        if by is not None:
            weeks: dict[str, dict[str, Any]] = {}
            for entry in self.merged(cursor, as_of, by.incidents(), by).values():
                if entry["status"] != "active":
                    continue
                week = weeks.setdefault(
                    entry["week"], {"week": entry["week"], "incidents": 0, "highest_level": None}
                )
                week["incidents"] += 1
                week["highest_level"] = max(week["highest_level"] or 0, entry["level"])
            return [weeks[week] for week in sorted(weeks)]
        validity, args = valid_at(as_of)
        cursor.execute(
            f"SELECT week, COUNT(*) AS incidents, MAX(level) AS highest_level "
            f"FROM {self.incidents.sql} WHERE {validity} AND status = 'active' "
            "GROUP BY week ORDER BY week",
            args,
        )
        return [dict(row) for row in cursor.fetchall()]

    def contradictions(
        self, cursor: Cursor, as_of: int | None, by: AsReported | None = None
    ) -> list[dict[str, Any]]:
        if by is not None:
            every = self.merged(cursor, as_of, by.incidents(), by).values()
            entries = sorted(
                (e for e in every if e["contradictions"] or e["responds_to"]), key=_order_key
            )
        else:
            rows = self.incidents.fetch(
                cursor, as_of, ("key",), "disputed = 1 OR responds = 1", (), "earliest, latest, key"
            )
            merged = self.merged(cursor, as_of, [row["key"] for row in rows])
            entries = [merged[row["key"]] for row in rows]
        self._annotate(cursor, as_of, entries, by)
        found = []
        for entry in entries:
            for contradiction in entry["contradictions"]:
                found.append(
                    {"incident": entry["incident"], "when": entry["when"], **contradiction}
                )
        return found


def wanted_tags(
    country: str | None, kind: str | None, means: list[str] | None, actor_ids: set[str] | None
) -> list[list[str]]:
    """The tag filters asked for: an incident must carry one tag of each list."""
    tag_sets = []
    if country:
        tag_sets.append([f"country:{country}"])
    if kind:
        tag_sets.append([f"kind:{kind}"])
    if means:  # any of them
        tag_sets.append(sorted({f"means:{m}" for m in means}))
    if actor_ids is not None:  # an empty set matches nothing
        tag_sets.append(sorted(f"actor:{a}" for a in actor_ids))
    return tag_sets


def _order_key(entry: dict[str, Any]) -> tuple[str, str, str]:
    """An entry's place in the timeline's order (INCIDENT_ORDER), and its cursor."""
    return (entry["when"]["earliest"], entry["when"]["latest"], entry["incident"])
