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
from projections import tally_rules
from projections.as_reported import AsReported
from projections.database import Cursor
from projections.derive import CREDIBLE
from projections.duplicates import DEFAULT_KM
from projections.duplicates_view import attack_pairs
from projections.generation import Generation
from projections.json_sql import JsonSql
from projections.members import members
from projections.reading import ReadView, fetch_in
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
        duplicate_km: float = DEFAULT_KM,
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
                cursor,
                as_of,
                by,
                target,
                root,
                side,
                start,
                group_by,
                with_attacks,
                with_reported,
                duplicate_km,
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
        possibly = self._straddling(cursor, as_of, side, start)
        twice, pairs = self._double_counted(cursor, as_of, side, start, duplicate_km)
        answer = {
            "target": {"name": target, "actor_id": root, "including": side},
            "start": start.isoformat(),
            "group_by": group_by,
            "documented_attacks": documented,
            "possibly_in_period": len(possibly),
            "possibly_double_counted": twice,
            "series": _series(groups, group_by),
            "reported_count": self._reported_count(cursor, as_of, side),
            "headline": _headline(documented, len(possibly), twice, best, start),
        }
        if with_reported:
            figures = self._reported(cursor, as_of, side)
            answer["reported"] = figures
            answer["reported_series"] = tally_rules.series(figures)
            answer["tally_disagreements"] = tally_rules.disagreements(figures)
        if with_attacks:  # the lists behind the two counts
            answer["possibly_in_period_attacks"] = possibly
            answer["double_count_candidates"] = pairs
        if with_attacks and not side:
            answer["attacks"] = []
        elif with_attacks:
            rows = self.attacks.fetch(cursor, as_of, ("doc",), where, params, "day, key")
            answer["attacks"] = [orjson.loads(row["doc"]) for row in rows]
        return answer

    def _straddling(
        self, cursor: Cursor, as_of: int | None, side: list[str], start: date
    ) -> list[dict[str, Any]]:
        """Attacks on the side whose interval straddles the start: possibly in the period."""
        if not side:
            return []
        on_side, params = self.json.any_key_in("targets", side)
        day = start.isoformat()
        rows = self.attacks.fetch(
            cursor, as_of, ("doc",), f"latest >= %s AND day < %s AND {on_side}",
            [day, day, *params], "day, key",
        )  # fmt: skip
        found = [orjson.loads(row["doc"]) for row in rows]
        return [
            a
            for a in found
            if tally_rules.in_period(a["when"]["earliest"], a["when"]["latest"], day)
            == tally_rules.POSSIBLE
        ]

    def _double_counted(
        self,
        cursor: Cursor,
        as_of: int | None,
        side: list[str],
        start: date,
        max_km: float,
        documented: set[str] | None = None,
    ) -> tuple[int, list[list[str]]]:
        """How many documented attacks may be counted twice: those in undecided
        candidate pairs of two documented attacks on the side; and those pairs.
        `documented`: the attacks counted, when not those of the log at `as_of`."""
        if not side:
            return 0, []
        pairs = attack_pairs(self.gen, cursor, as_of, start.isoformat(), max_km)
        if not pairs:
            return 0, []
        wanted = {incident for pair in pairs for incident in pair}
        counted = set()
        if documented is not None:
            counted = wanted & documented
        else:
            rows = fetch_in(self.attacks, cursor, as_of, ("key", "doc"), "key", wanted)
            for row in rows:
                doc = orjson.loads(row["doc"])
                if doc["day"] >= start.isoformat() and self._on_side(doc, side):
                    counted.add(row["key"])
        pairs = [p for p in pairs if p[0] in counted and p[1] in counted]
        return tally_rules.possibly_twice(counted, pairs), pairs

    @staticmethod
    def _on_side(attack: dict[str, Any], side: list[str]) -> bool:
        return any(t["key"] in side for t in attack["targets"])

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
        duplicate_km: float,
    ) -> dict[str, Any]:
        """The same answer, derived from the report versions that count by `by`'s day
        (the likely duplicates are those the log holds at `as_of`)."""
        day = start.isoformat()
        every = as_reported.attacks_as_reported(self, cursor, as_of, by, side)
        attacks = [a for a in every if a["day"] >= day]
        possibly = [
            a
            for a in every
            if tally_rules.in_period(a["when"]["earliest"], a["when"]["latest"], day)
            == tally_rules.POSSIBLE
        ]
        twice, pairs = self._double_counted(
            cursor, as_of, side, start, duplicate_km, {a["incident"] for a in attacks}
        )
        tallies = as_reported.tallies_as_reported(self, cursor, as_of, by, side)
        found = as_reported.best_reported(tallies, start, START_TOLERANCE_DAYS)
        best = _figure(*found) if found else None
        answer = {
            "target": {"name": target, "actor_id": root, "including": side},
            "start": day,
            "group_by": group_by,
            "documented_attacks": len(attacks),
            "possibly_in_period": len(possibly),
            "possibly_double_counted": twice,
            "series": _series(as_reported.groups_of(attacks, group_by), group_by),
            "reported_count": sum(len(t["tally"]["counts"]) for t in tallies),
            "headline": _headline(len(attacks), len(possibly), twice, best, start),
        }
        if with_reported:
            figures = [
                _figure(t["tally"], count) for t in tallies for count in t["tally"]["counts"]
            ]
            answer["reported"] = figures
            answer["reported_series"] = tally_rules.series(figures)
            answer["tally_disagreements"] = tally_rules.disagreements(figures)
        if with_attacks:
            answer["possibly_in_period_attacks"] = possibly
            answer["double_count_candidates"] = pairs
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


def _headline(
    documented: int, possibly: int, twice: int, best: dict[str, Any] | None, start: date
) -> dict[str, Any]:
    """All three counts, and the best reported figure: "12 attacks documented since
    2023-10-17 (2 more possibly in the period; 1 possibly counted twice); ..."."""
    noun = "attack" if documented == 1 else "attacks"
    text = (
        f"{documented} {noun} documented since {start.isoformat()} "
        f"({possibly} more possibly in the period; {twice} possibly counted twice)"
    )
    if best is not None:
        source = best["outlet"] + (f" citing {best['speaker']}" if best["speaker"] else "")
        text += f"; sources report at least {best['value']} by {best['speaks_for']} ({source})"
    return {
        "documented": documented,
        "possibly_in_period": possibly,
        "possibly_double_counted": twice,
        "reported_at_least": best["value"] if best else None,
        "reported_source": best,
        "text": text,
    }
