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
from projections.history_counts import summary
from projections.members import members as within
from projections.members import names
from projections.paging import after_key, decode_cursor, encode_cursor
from projections.reading import ReadView

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
            counts, count = as_reported.summary_of([a for _, a in every]), len(every)
            bound = decode_cursor(after) if after else None
            rows = [
                {**dict(zip(ORDER, key, strict=True)), "doc": a}
                for key, a in every
                if bound is None or key > bound
            ][: limit + 1]
        else:
            marks = ", ".join(["%s"] * len(members))
            where, params = f"actor IN ({marks})", sorted(members)
            counts, count = self._summary(cursor, as_of, actor_id, rollup)
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
            "summary": counts,
            "appearance_count": count,
            "appearances": appearances,
            "next": encode_cursor([page[-1][c] for c in ORDER]) if more else None,
        }

    def _summary(
        self, cursor: Cursor, as_of: int | None, actor_id: str, rollup: bool
    ) -> tuple[dict[str, int], int]:
        """Counts over every appearance (not just one page): the sums the fold keeps,
        one row whatever the history's length."""
        found = self.gen.actor_counts.fetch(cursor, as_of, ("doc",), "key = %s", (actor_id,))
        return summary(orjson.loads(found[0]["doc"]) if found else None, rollup)


def _decoded(doc: str | dict[str, Any]) -> dict[str, Any]:
    return doc if isinstance(doc, dict) else orjson.loads(doc)
