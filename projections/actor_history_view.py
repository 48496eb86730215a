"""Per-actor histories: every report and incident an actor appears in, with its role.

Names resolve through aliases at projection time; when an alias is added
later, the reports that used it are re-resolved at that log position, so the
history follows and `as_of` still shows what was known before.
"""

from __future__ import annotations

from typing import Any

from projections.database import Cursor
from projections.facts import View, descendants
from projections.merge import incident_of
from projections.versioned import Column, VersionedTable

VIOLENT = ("attack", "strike")
SPOKEN = ("statement", "threat", "claim_of_responsibility", "denial", "tally")


class ActorHistoryView(View):
    name = "actor_history"

    def __init__(self, db: Any, generation: int) -> None:
        super().__init__(db, generation)
        self.appearances = VersionedTable(
            db,
            f"{self.prefix}_appearances",
            (Column("actor", "TEXT"), Column("report", "TEXT"), Column("earliest", "TEXT")),
            (("actor", "earliest"), ("report",)),
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
        self, cursor: Cursor, as_of: int | None, actor_id: str, rollup: bool
    ) -> dict[str, Any] | None:
        actors = self.actor_tree(cursor, as_of)
        if actor_id not in actors:
            return None
        members = descendants(actors, actor_id) if rollup else {actor_id}
        marks = ", ".join("?" * len(members))
        rows = self.appearances.select(
            cursor, as_of, f"actor IN ({marks})", sorted(members), "earliest, report, key"
        )
        appearances = []
        for row in rows:
            doc = dict(row["doc"])
            doc["actor_name"] = actors.get(doc["actor"], {}).get("name")
            appearances.append(doc)
        live = [a for a in appearances if not a["retracted"]]

        def incidents(roles: tuple[str, ...], kinds: tuple[str, ...]) -> int:
            return len({a["incident"] for a in live if a["role"] in roles and a["kind"] in kinds})

        return {
            "actor": {**actors[actor_id], "members": sorted(members - {actor_id})},
            "rollup": rollup,
            "summary": {
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
                        if a["role"] == "denier"
                        or (a["kind"] == "denial" and a["role"] == "speaker")
                    }
                ),
                "retracted_reports": len({a["report"] for a in appearances if a["retracted"]}),
            },
            "appearances": appearances,
        }
