"""An actor's history as sources had published it by a day (`reported_by`).

The plain history pages an index over `appearances` and reads the sums the fold
keeps. Here the appearances are derived again (`derive.appearances`, the fold's
own rule) from every report version that counts by the day, then filtered,
ordered and counted in Python by the same summary rule
(`projections/history_counts.py`): a scan of what was published by then.
"""

from __future__ import annotations

from typing import Any

from projections import derive
from projections.as_reported import AsReported
from projections.database import Cursor
from projections.history_counts import Appearance, combined, incident_share, summary
from projections.reading import ReadView


def appearances_as_reported(
    view: ReadView, cursor: Cursor, as_of: int | None, by: AsReported, members: set[str]
) -> list[tuple[tuple[str, str, str], dict[str, Any]]]:
    """(order key, appearance) of the members, in the history's order."""
    resolve = view.resolver(cursor, as_of, by.docs())
    found = [
        ((doc["when"]["earliest"], doc["report"], key), doc)
        for report in by.docs()
        for key, doc in derive.appearances(report, resolve).items()
        if doc["actor"] in members
    ]
    return sorted(found, key=lambda item: item[0])


def summary_of(appearances: list[dict[str, Any]]) -> dict[str, int]:
    """The history's summary counts over every appearance (not just one page), by
    the fold's own rule, counted as one actor's."""
    by_incident: dict[str, list[Appearance]] = {}
    for a in appearances:
        by_incident.setdefault(a["incident"], []).append(
            Appearance("*", a["report"], a["role"], a["kind"], bool(a["retracted"]))
        )
    everyone = combined(incident_share(found, lambda _: ["*"]) for found in by_incident.values())
    return summary(everyone.get("*"), rollup=False)[0]
