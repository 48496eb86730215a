"""The attack tally: attacks the log documents, next to the tallies sources report.

Documented attacks are attack incidents (reports merged by incident key, so
three reports of one attack count once) whose targets include the tally's
target actor or any actor within it (US forces within the United States).
Reported tallies ("plus de 165 frappes ... depuis la mi-octobre") are kept as
lower bounds with their source and the day they speak for, and never added
to the documented count.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from projections.database import Cursor
from projections.facts import View, descendants
from projections.merge import merge_incident, week_of
from projections.versioned import Column, VersionedTable

# A reported tally counts for the headline if its period starts this close to
# the tally's own start ("mi-octobre" vs 2023-10-17).
START_TOLERANCE_DAYS = 21
UNCLAIMED = "unclaimed"


class TallyView(View):
    name = "tally"

    def __init__(self, db: Any, generation: int) -> None:
        super().__init__(db, generation)
        self.attacks = VersionedTable(
            db, f"{self.prefix}_attacks", (Column("day", "TEXT"),), (("day",),)
        )
        self.tallies = VersionedTable(
            db, f"{self.prefix}_tallies", (Column("day", "TEXT"),), (("day",),)
        )

    def own_tables(self) -> list[VersionedTable]:
        return [self.attacks, self.tallies]

    # Projection ------------------------------------------------------------------------

    def report_changed(self, cursor: Cursor, before: Any, after: Any, position: int) -> None:
        for incident in self.incidents_of(cursor, [before, after]):
            self._recompute_attack(cursor, incident, position)
        self._recompute_tally(cursor, after, position)

    def reports_reresolved(self, cursor: Cursor, report_ids: list[str], position: int) -> None:
        docs = self.docs_of(cursor, report_ids)
        for doc in docs:
            self._recompute_tally(cursor, doc, position)
        for incident in self.incidents_of(cursor, docs):
            self._recompute_attack(cursor, incident, position)

    def _recompute_attack(self, cursor: Cursor, incident: str, position: int) -> None:
        reports = self.reports_in(cursor, incident)
        entry = merge_incident(incident, reports, self.resolver(cursor)) if reports else None
        if entry is None or entry["status"] != "active" or "attack" not in entry["kinds"]:
            self.attacks.remove(cursor, incident, position)
            return

        def keys(roles: set[str]) -> list[dict[str, Any]]:
            return [
                {"key": a["actor_id"] or f"name:{a['name']}", "name": a["name"]}
                for a in entry["actors"]
                if roles & set(a["roles"])
            ]

        day = entry["when"]["earliest"]
        doc = {
            "incident": incident,
            "day": day,
            "week": week_of(day),
            "when": entry["when"],
            "countries": entry["countries"],
            "targets": keys({"target", "affected"}),
            "claimants": keys({"claimant"}) or keys({"perpetrator"}),
            "level": entry["level"],
            "reports": len(entry["sources"]),
        }
        self.attacks.put(cursor, incident, doc, position, (day,))

    def _recompute_tally(self, cursor: Cursor, report: dict[str, Any], position: int) -> None:
        content = report["content"]
        if report["retracted"] or content["kind"] != "tally":
            self.tallies.remove(cursor, report["id"], position)
            return
        resolve = self.resolver(cursor)
        targets = [
            resolve(a["name"], a.get("actor_id"))
            for a in content.get("actors", ())
            if a["role"] in ("target", "affected")
        ]
        source = content["source"]
        doc = {
            "report": report["id"],
            "counts": content.get("counts", []),
            "since": content["when"]["earliest"],
            "speaks_for": content["when"]["latest"],
            "when": content["when"],
            "targets": [{"key": t["key"], "name": t["name"]} for t in targets],
            "countries": sorted(
                {p["country"] for p in content.get("places", ()) if p.get("country")}
            ),
            "outlet": source["outlet"],
            "speaker": source.get("speaker"),
            "published_at": source.get("published_at"),
            "excerpt": content.get("excerpt"),
            "quote": source.get("quote"),
        }
        self.tallies.put(cursor, report["id"], doc, position, (content["when"]["latest"],))

    # Queries ------------------------------------------------------------------------------

    def tally(
        self,
        cursor: Cursor,
        as_of: int | None,
        *,
        start: date,
        target: str,
        group_by: str,
    ) -> dict[str, Any]:
        actors = self.actor_tree(cursor, as_of)
        root = self.resolve_name(cursor, target, as_of)
        side = descendants(actors, root) if root else set()
        attacks = [
            row["doc"]
            for row in self.attacks.select(
                cursor, as_of, "day >= ?", (start.isoformat(),), "day, key"
            )
            if any(t["key"] in side for t in row["doc"]["targets"])
        ]
        groups: dict[str, int] = {}
        for attack in attacks:
            for label in _labels(attack, group_by):
                groups[label] = groups.get(label, 0) + 1
        series, running = [], 0
        for label in sorted(groups):
            running += groups[label]
            series.append(
                {
                    group_by: label,
                    "attacks": groups[label],
                    **({"cumulative": running} if group_by in ("day", "week") else {}),
                }
            )
        reported = self._reported(cursor, as_of, side)
        credible = [
            r
            for r in reported
            if r["counted"] == "attacks"
            and r["qualifier"] in ("at_least", "exact", "about")
            and abs(date.fromisoformat(r["since"]) - start) <= timedelta(days=START_TOLERANCE_DAYS)
        ]
        best = max(credible, key=lambda r: (r["value"], r["speaks_for"]), default=None)
        return {
            "target": {"name": target, "actor_id": root, "including": sorted(side)},
            "start": start.isoformat(),
            "group_by": group_by,
            "documented_attacks": len(attacks),
            "series": series,
            "reported": reported,
            "headline": _headline(len(attacks), best, start),
            "attacks": attacks,
        }

    def _reported(self, cursor: Cursor, as_of: int | None, side: set[str]) -> list[dict[str, Any]]:
        found = []
        for row in self.tallies.select(cursor, as_of, "", (), "day, key"):
            doc = row["doc"]
            if doc["targets"] and not any(t["key"] in side for t in doc["targets"]):
                continue
            for count in doc["counts"]:
                # A reported tally is a claim, not a count: exact figures are kept
                # as said but the headline treats every figure as a lower bound.
                found.append(
                    {
                        "report": doc["report"],
                        "value": count["value"],
                        "qualifier": count["qualifier"],
                        "counted": count["counted"],
                        "wording": count.get("wording"),
                        "since": doc["since"],
                        "speaks_for": doc["speaks_for"],
                        "outlet": doc["outlet"],
                        "speaker": doc["speaker"],
                        "published_at": doc["published_at"],
                        "excerpt": doc["excerpt"],
                    }
                )
        return found


def _labels(attack: dict[str, Any], group_by: str) -> list[str]:
    if group_by == "day":
        return [attack["day"]]
    if group_by == "week":
        return [attack["week"]]
    if group_by == "country":
        return attack["countries"] or ["unknown"]
    return [c["name"] for c in attack["claimants"]] or [UNCLAIMED]


def _headline(documented: int, best: dict[str, Any] | None, start: date) -> dict[str, Any]:
    noun = "attack" if documented == 1 else "attacks"
    text = f"{documented} {noun} documented in the log since {start.isoformat()}"
    if best is not None:
        source = best["outlet"] + (f" citing {best['speaker']}" if best["speaker"] else "")
        text += f"; sources report at least {best['value']} by {best['speaks_for']} ({source})"
    return {
        "documented": documented,
        "reported_at_least": best["value"] if best else None,
        "reported_source": best,
        "text": text,
    }
