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

import orjson

from projections import tally_as_reported as as_reported
from projections.as_reported import AsReported
from projections.database import Cursor
from projections.derive import CREDIBLE
from projections.generation import Generation
from projections.json_sql import JsonSql
from projections.members import members
from projections.reading import ReadView
from projections.versioned import valid_at

# A reported tally counts for the headline if its period starts this close to
# the tally's own start ("mi-octobre" vs 2023-10-17).
START_TOLERANCE_DAYS = 21
UNCLAIMED = "unclaimed"
UNSTATED = "unstated"  # an attack whose sources say nothing of the means


class TallyView(ReadView):
    name = "tally"

    def __init__(self, gen: Generation) -> None:
        super().__init__(gen)
        self.attacks, self.tallies = gen.attacks, gen.tallies

    # Queries ------------------------------------------------------------------------------

    def tally(
        self,
        cursor: Cursor,
        as_of: int | None,
        *,
        start: date,
        target: str,
        group_by: str,
        with_attacks: bool = False,
        with_reported: bool = False,
        by: AsReported | None = None,
    ) -> dict[str, Any]:
        """Documented attacks counted per `group_by` in SQL, and the headline: them
        against the highest credible tally sources report.

        The attacks themselves come only `with_attacks`, and every figure sources
        report (`reported`) only `with_reported`: the headline and a chart need neither.
        `by`: as sources had published by its day (`projections/tally_as_reported.py`).
        """
        root = self.resolve_actor(cursor, target, as_of)
        side = sorted(members(cursor, self.actors, as_of, root)) if root else []
        if by is not None:
            return self._as_reported(
                cursor, as_of, by, target, root, side, start, group_by, with_attacks, with_reported
            )
        on_side, side_params = self.json.any_key_in("targets", side)
        where, params = f"day >= %s AND {on_side}", [start.isoformat(), *side_params]
        by_day = self._by_day(cursor, as_of, root, start) if root else {}
        documented = sum(by_day.values())
        if group_by in ("day", "week"):
            groups: dict[str, int] = {}
            for (day, week), attacks in by_day.items():
                label = day if group_by == "day" else week
                groups[label] = groups.get(label, 0) + attacks
        else:  # an attack may count under several countries or claimants
            groups = self._groups(cursor, as_of, group_by, where, params) if side else {}
        best = self._best_reported(cursor, as_of, side, start)
        answer = {
            "target": {"name": target, "actor_id": root, "including": side},
            "start": start.isoformat(),
            "group_by": group_by,
            "documented_attacks": documented,
            "series": _series(groups, group_by),
            "reported_count": self._reported_count(cursor, as_of, side),
            "headline": _headline(documented, best, start),
        }
        if with_reported:
            answer["reported"] = self._reported(cursor, as_of, side)
        if with_attacks and not side:
            answer["attacks"] = []
        elif with_attacks:
            rows = self.attacks.fetch(cursor, as_of, ("doc",), where, params, "day, key")
            answer["attacks"] = [orjson.loads(row["doc"]) for row in rows]
        return answer

    def _as_reported(
        self,
        cursor: Cursor,
        as_of: int | None,
        by: AsReported,
        target: str,
        root: str | None,
        side: list[str],
        start: date,
        group_by: str,
        with_attacks: bool,
        with_reported: bool,
    ) -> dict[str, Any]:
        """The same answer, derived from the report versions that count by `by`'s day."""
        attacks = as_reported.attacks_as_reported(self, cursor, as_of, by, side, start)
        tallies = as_reported.tallies_as_reported(self, cursor, as_of, by, side)
        found = as_reported.best_reported(tallies, start, START_TOLERANCE_DAYS)
        best = _figure(*found) if found else None
        answer = {
            "target": {"name": target, "actor_id": root, "including": side},
            "start": start.isoformat(),
            "group_by": group_by,
            "documented_attacks": len(attacks),
            "series": _series(as_reported.groups_of(attacks, group_by), group_by),
            "reported_count": sum(len(t["tally"]["counts"]) for t in tallies),
            "headline": _headline(len(attacks), best, start),
        }
        if with_reported:
            answer["reported"] = [
                _figure(t["tally"], count) for t in tallies for count in t["tally"]["counts"]
            ]
        if with_attacks:
            answer["attacks"] = attacks
        return answer

    @property
    def json(self) -> JsonSql:
        return JsonSql(self.db.dialect)

    def _groups(
        self, cursor: Cursor, as_of: int | None, group_by: str, where: str, params: list[Any]
    ) -> dict[str, int]:
        """Attacks per label, counted by the database: each of its countries (or
        "unknown"), each of its claimants' names (or "unclaimed"), each of its
        means (or "unstated")."""
        array, field, empty = {
            "country": ("countries", None, "unknown"),
            "claimant": ("claimants", "name", UNCLAIMED),
            "means": ("means", None, UNSTATED),
        }[group_by]
        join, item = self.json.each("a.doc", array, field)
        label = f"COALESCE({item}, '{empty}')"
        validity, args = valid_at(as_of)
        cursor.execute(
            f"SELECT {label} AS label, COUNT(*) AS attacks FROM {self.attacks.sql} AS a {join} "
            f"WHERE {validity} AND ({where}) GROUP BY 1",
            [*args, *params],
        )
        # Sorted here, not in SQL: PostgreSQL's collation may not be code point order.
        return {row["label"]: int(row["attacks"]) for row in cursor.fetchall()}

    def _by_day(
        self, cursor: Cursor, as_of: int | None, root: str, start: date
    ) -> dict[tuple[str, str], int]:
        """Attacks on the side of `root` per (day, week) since `start`: at most a row
        a day, kept per actor as attacks come and go (`attack_days`)."""
        rows = self.gen.attack_days.fetch(
            cursor, as_of, ("day", "week", "attacks"), "actor = %s AND day >= %s",
            (root, start.isoformat()),
        )  # fmt: skip
        return {(row["day"], row["week"]): int(row["attacks"]) for row in rows}

    def _about(self, side: list[str]) -> tuple[str, list[str]]:
        """`tally_about` rows for tallies about the side, or about no one in particular."""
        keys = ["*", *side]
        return f"about IN ({', '.join(['%s'] * len(keys))})", keys

    def _reported_count(self, cursor: Cursor, as_of: int | None, side: list[str]) -> int:
        """How many figures `reported` lists (one per count of each tally)."""
        about, params = self._about(side)
        validity, args = valid_at(as_of)
        # A tally about two actors of the side has two rows: count it once.
        cursor.execute(
            "SELECT SUM(figures) AS n FROM (SELECT report, MAX(figures) AS figures "
            f"FROM {self.gen.tally_about.sql} WHERE {validity} AND ({about}) GROUP BY report) t",
            [*args, *params],
        )
        return int(cursor.fetchone()["n"] or 0)

    def _best_reported(
        self, cursor: Cursor, as_of: int | None, side: list[str], start: date
    ) -> dict[str, Any] | None:
        """The highest credible attack count sources report (the latest on a tie, then
        the first in `reported` order), found through an index: one tally decoded."""
        about, params = self._about(side)
        tolerance = timedelta(days=START_TOLERANCE_DAYS)
        rows = self.gen.tally_about.fetch(
            cursor,
            as_of,
            ("report", "best"),
            f"({about}) AND best IS NOT NULL AND since BETWEEN %s AND %s",
            [*params, (start - tolerance).isoformat(), (start + tolerance).isoformat()],
            "best DESC, day DESC, report",  # day: the day it speaks for
            1,
        )
        if not rows:
            return None
        found = self.tallies.fetch(cursor, as_of, ("doc",), "key = %s", (rows[0]["report"],))
        doc = orjson.loads(found[0]["doc"])
        best = next(
            c
            for c in doc["counts"]
            if c["counted"] == "attacks"
            and c["qualifier"] in CREDIBLE
            and c["value"] == rows[0]["best"]
        )
        return _figure(doc, best)

    def _reported(self, cursor: Cursor, as_of: int | None, side: list[str]) -> list[dict[str, Any]]:
        """Every figure sources report about the side, in the order of the days they
        speak for; decoded only those."""
        about, params = self._about(side)
        found = []
        validity, args = valid_at(as_of)
        reports = (
            f"key IN (SELECT report FROM {self.gen.tally_about.sql} WHERE {validity} AND {about})"
        )
        rows = self.tallies.fetch(cursor, as_of, ("doc",), reports, [*args, *params], "day, key")
        for row in rows:
            doc = orjson.loads(row["doc"])
            found.extend(_figure(doc, count) for count in doc["counts"])
        return found


def _series(groups: dict[str, int], group_by: str) -> list[dict[str, Any]]:
    """Attacks per label in label order, with a running count by day or week."""
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
    return series


def _figure(doc: dict[str, Any], count: dict[str, Any]) -> dict[str, Any]:
    """One figure a source reported. A reported tally is a claim, not a count: exact
    figures are kept as said but the headline treats every figure as a lower bound."""
    return {
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
