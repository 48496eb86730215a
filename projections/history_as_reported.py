"""An actor's history as sources had published it by a day (`reported_by`).

The plain history pages an index over `appearances` and counts in SQL. Here the
appearances are derived again (`derive.appearances`, the fold's own rule) from
every report version that counts by the day, then filtered, ordered and
counted in Python: a scan of what was published by then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections import derive
from projections.as_reported import AsReported
from projections.database import Cursor
from projections.reading import ReadView

VIOLENT = ("attack", "strike")
SPOKEN = ("statement", "threat", "claim_of_responsibility", "denial", "tally")


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


# The summary's counts (README, "Actor histories"): what each counts distinct, and
# which appearances it counts; retracted reports count only in the last.
COUNTS: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "reports": ("report", lambda a: True),
    "incidents": ("incident", lambda a: True),
    "attacks_carried_out": (
        "incident",
        lambda a: a["role"] == "perpetrator" and a["kind"] in VIOLENT,
    ),
    "attacks_suffered": (
        "incident",
        lambda a: a["role"] in ("target", "affected") and a["kind"] in (*VIOLENT, "casualties"),
    ),
    "statements": (
        "report",
        lambda a: a["role"] == "speaker" or (a["kind"] in SPOKEN and a["role"] == "claimant"),
    ),
    "denials": (
        "report",
        lambda a: a["role"] == "denier" or (a["kind"] == "denial" and a["role"] == "speaker"),
    ),
}


def summary_of(appearances: list[dict[str, Any]]) -> dict[str, int]:
    """The history's summary counts over every appearance (not just one page)."""
    live = [a for a in appearances if not a["retracted"]]
    summary = {
        name: len({a[field] for a in live if counts(a)}) for name, (field, counts) in COUNTS.items()
    }
    summary["retracted_reports"] = len({a["report"] for a in appearances if a["retracted"]})
    return summary
