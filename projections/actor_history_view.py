"""Per-actor histories: every report and incident an actor appears in, with its role.

Names resolve through aliases at projection time; when an alias is added
later, the reports that used it are re-resolved at that log position, so the
history follows and `as_of` still shows what was known before.
"""

from __future__ import annotations

from typing import Any

import orjson

from projections import history_as_reported as as_reported
from projections.as_reported import AsReported
from projections.database import Cursor
from projections.generation import Generation
from projections.history_as_reported import SPOKEN, VIOLENT
from projections.members import members as within
from projections.members import names
from projections.paging import after_key, decode_cursor, encode_cursor
from projections.reading import ReadView
from projections.versioned import valid_at

ORDER = ("earliest", "report", "key")  # an actor's history in time order; its cursor's key


class ActorHistoryView(ReadView):
    name = "actor_history"

    def __init__(self, gen: Generation) -> None:
        super().__init__(gen)
        self.appearances = gen.appearances

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
        by: AsReported | None = None,
    ) -> dict[str, Any] | None:
        """The actor, a summary of all its appearances, and one page of them in time order.

        `next` is the cursor of the following page (None on the last one). `by`: as
        sources had published by its day (`projections/history_as_reported.py`).
        """
        found = self.actors.fetch(cursor, as_of, ("doc",), "key = %s", (actor_id,))
        if not found:
            return None
        actor = orjson.loads(found[0]["doc"])
        members = within(cursor, self.actors, as_of, actor_id) if rollup else {actor_id}
        if by is not None:
            every = as_reported.appearances_as_reported(self, cursor, as_of, by, members)
            summary, count = as_reported.summary_of([a for _, a in every]), len(every)
            bound = decode_cursor(after) if after else None
            rows = [
                {**dict(zip(ORDER, key, strict=True)), "doc": a}
                for key, a in every
                if bound is None or key > bound
            ][: limit + 1]
        else:
            marks = ", ".join(["%s"] * len(members))
            where, params = f"actor IN ({marks})", sorted(members)
            summary, count = self._summary(cursor, as_of, where, params)
            if after:
                sub, sub_params = after_key(ORDER, after)
                where, params = f"{where} AND {sub}", [*params, *sub_params]
            rows = self.appearances.fetch(
                cursor, as_of, (*ORDER, "doc"), where, params, ", ".join(ORDER), limit + 1
            )
        page = rows[:limit]
        appearances = [_decoded(row["doc"]) for row in page]
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
        """Counts over every appearance (not just one page), by the database, from the
        appearances' narrow columns (no doc is read)."""

        def among(values: tuple[str, ...]) -> str:
            return "(" + ", ".join(f"'{v}'" for v in values) + ")"

        live = "retracted = 0"
        counts = {
            "reports": f"DISTINCT CASE WHEN {live} THEN report END",
            "incidents": f"DISTINCT CASE WHEN {live} THEN incident END",
            "attacks_carried_out": f"DISTINCT CASE WHEN {live} AND role = 'perpetrator' "
            f"AND kind IN {among(VIOLENT)} THEN incident END",
            "attacks_suffered": f"DISTINCT CASE WHEN {live} AND role IN ('target', 'affected') "
            f"AND kind IN {among((*VIOLENT, 'casualties'))} THEN incident END",
            "statements": f"DISTINCT CASE WHEN {live} AND (role = 'speaker' OR "
            f"(kind IN {among(SPOKEN)} AND role = 'claimant')) THEN report END",
            "denials": f"DISTINCT CASE WHEN {live} AND (role = 'denier' OR "
            "(kind = 'denial' AND role = 'speaker')) THEN report END",
            "retracted_reports": "DISTINCT CASE WHEN retracted = 1 THEN report END",
        }
        selected = ", ".join(f"COUNT({sql}) AS {name}" for name, sql in counts.items())
        validity, args = valid_at(as_of)
        cursor.execute(
            f"SELECT COUNT(*) AS appearances, {selected} "
            f"FROM {self.appearances.sql} WHERE {validity} AND ({where})",
            [*args, *params],
        )
        row = dict(cursor.fetchone())
        return {name: int(row[name]) for name in counts}, int(row["appearances"])


def _decoded(doc: str | dict[str, Any]) -> dict[str, Any]:
    return doc if isinstance(doc, dict) else orjson.loads(doc)
