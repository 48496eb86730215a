"""Per-actor histories: every report and incident an actor appears in, with its role.

Names resolve through aliases at projection time; when an alias is added
later, the reports that used it are re-resolved at that log position, so the
history follows and `as_of` still shows what was known before.
"""

from __future__ import annotations

from typing import Any

import orjson

from projections.database import Cursor
from projections.facts import View
from projections.json_sql import JsonSql
from projections.members import members as within
from projections.members import names
from projections.merge import incident_of
from projections.paging import after_key, encode_cursor
from projections.versioned import Column, VersionedTable, valid_at

VIOLENT = ("attack", "strike")
SPOKEN = ("statement", "threat", "claim_of_responsibility", "denial", "tally")
ORDER = ("earliest", "report", "key")  # an actor's history in time order; its cursor's key


class ActorHistoryView(View):
    name = "actor_history"

    def __init__(self, db: Any, generation: int) -> None:
        super().__init__(db, generation)
        self.appearances = VersionedTable(
            db,
            f"{self.prefix}_appearances",
            (Column("actor", "TEXT"), Column("report", "TEXT"), Column("earliest", "TEXT")),
            (("actor", "earliest"), ("report",)),
            current_orders=(("actor", *ORDER),),
        )

    def own_tables(self) -> list[VersionedTable]:
        return [self.appearances]

    # Projection ------------------------------------------------------------------------

    def report_changed(self, cursor: Cursor, before: Any, after: Any, position: int) -> None:
        self._recompute(cursor, after, position, new=before is None)

    def reports_reresolved(self, cursor: Cursor, report_ids: list[str], position: int) -> None:
        for report_id in report_ids:
            doc = self._report(cursor, report_id)
            if doc is not None:
                self._recompute(cursor, doc, position)

    def _recompute(
        self, cursor: Cursor, report: dict[str, Any], position: int, new: bool = False
    ) -> None:
        content, source = report["content"], report["content"]["source"]
        resolve = self.resolver(cursor)
        wanted: dict[str, tuple[str, dict[str, Any]]] = {}
        for mention in content.get("actors", ()):
            actor = resolve(mention["name"], mention.get("actor_id"))
            key = f"{report['id']}|{mention['role']}|{actor['key']}"
            written = wanted[key][1]["written_as"] if key in wanted else []
            wanted[key] = (
                actor["key"],
                {
                    "report": report["id"],
                    "incident": incident_of(report),
                    "role": mention["role"],
                    "actor": actor["key"],
                    "written_as": sorted({*written, mention["name"]}),
                    "kind": content["kind"],
                    "when": content["when"],
                    "retracted": report["retracted"],
                    "corrections": len(report["corrections"]),
                    "outlet": source["outlet"],
                    "speaker": source.get("speaker"),
                    "anonymous": source.get("anonymous", False),
                    "summary": content.get("summary"),
                    "excerpt": content.get("excerpt"),
                    "quote": source.get("quote"),
                },
            )
        if not new:  # a new report has no appearances yet
            for row in self.appearances.select(cursor, None, "report = ?", (report["id"],)):
                if row["key"] not in wanted:
                    self.appearances.remove(cursor, row["key"], position)
        for key in sorted(wanted):
            actor_key, doc = wanted[key]
            self.appearances.put(
                cursor,
                key,
                doc,
                position,
                (actor_key, report["id"], content["when"]["earliest"]),
                new=new,
            )

    # Queries ------------------------------------------------------------------------------

    def history(
        self,
        cursor: Cursor,
        as_of: int | None,
        actor_id: str,
        rollup: bool,
        *,
        after: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any] | None:
        """The actor, a summary of all its appearances, and one page of them in time order.

        `next` is the cursor of the following page (None on the last one).
        """
        found = self.actors.fetch(cursor, as_of, ("doc",), "key = ?", (actor_id,))
        if not found:
            return None
        actor = orjson.loads(found[0]["doc"])
        members = within(cursor, self.actors, as_of, actor_id) if rollup else {actor_id}
        marks = ", ".join("?" * len(members))
        where, params = f"actor IN ({marks})", sorted(members)
        summary, count = self._summary(cursor, as_of, where, params)
        if after:
            sub, sub_params = after_key(ORDER, after)
            where, params = f"{where} AND {sub}", [*params, *sub_params]
        rows = self.appearances.fetch(
            cursor, as_of, (*ORDER, "doc"), where, params, ", ".join(ORDER), limit + 1
        )
        page = rows[:limit]
        appearances = [orjson.loads(row["doc"]) for row in page]
        named = names(cursor, self.actors, as_of, {a["actor"] for a in appearances})
        for appearance in appearances:
            appearance["actor_name"] = named.get(appearance["actor"])
        more = len(rows) > limit and page
        return {
            "actor": {**actor, "members": sorted(members - {actor_id})},
            "rollup": rollup,
            "summary": summary,
            "appearance_count": count,
            "appearances": appearances,
            "next": encode_cursor([page[-1][c] for c in ORDER]) if more else None,
        }

    def _summary(
        self, cursor: Cursor, as_of: int | None, where: str, params: list[str]
    ) -> tuple[dict[str, int], int]:
        """Counts over every appearance (not just one page), from a few fields of each."""
        json = JsonSql(self.db.dialect)
        fields = ", ".join(
            f"{json.text('doc', name)} AS {name}" for name in ("incident", "role", "kind")
        )
        validity, args = valid_at(as_of)
        cursor.execute(
            f"SELECT report, {fields}, {json.is_true('doc', 'retracted')} AS retracted "
            f"FROM {self.appearances.sql} WHERE {validity} AND ({where})",
            [*args, *params],
        )
        appearances = cursor.fetchall()
        live = [a for a in appearances if not a["retracted"]]

        def incidents(roles: tuple[str, ...], kinds: tuple[str, ...]) -> int:
            return len({a["incident"] for a in live if a["role"] in roles and a["kind"] in kinds})

        summary = {
            "reports": len({a["report"] for a in live}),
            "incidents": len({a["incident"] for a in live}),
            "attacks_carried_out": incidents(("perpetrator",), VIOLENT),
            "attacks_suffered": incidents(("target", "affected"), (*VIOLENT, "casualties")),
            "statements": len(
                {
                    a["report"]
                    for a in live
                    if a["role"] == "speaker"
                    or (a["kind"] in SPOKEN and a["role"] in ("claimant",))
                }
            ),
            "denials": len(
                {
                    a["report"]
                    for a in live
                    if a["role"] == "denier" or (a["kind"] == "denial" and a["role"] == "speaker")
                }
            ),
            "retracted_reports": len({a["report"] for a in appearances if a["retracted"]}),
        }
        return summary, len(appearances)
