"""The second time axis: what sources had published by a day (`reported_by=DAY`).

`as_of` is when this service learnt something (log positions, the log's clock);
`reported_by` is when the source published it. Each report version counts from
a day (pure rules here; the fold stores the day on the version):

- a filing counts from its source's `published_at` day, or, with none, from the
  day it was recorded ("undated");
- a correction or retraction counts from its own `published_at` day, or, with
  none, from the day it was recorded;
- a version never counts before the version it changes: its day is the later of
  its own and its predecessor's. So the versions counting by a day are a prefix
  of the report's history, and the one that counts is the latest of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

Version = TypeVar("Version")


def day_of(moment: str) -> str:
    """The calendar day of an ISO date or instant, as written (the source's own day)."""
    return moment[:10]


def counts_from(previous: str | None, published_at: str | None, recorded_at: str) -> str:
    """The day a report version counts from (see the module's rules)."""
    own = day_of(published_at) if published_at else day_of(recorded_at)
    return max(own, previous) if previous else own


def counting_version(versions: Iterable[tuple[int, str, Version]], day: str) -> Version | None:
    """Of a report's versions (valid_from, the day it counts from, the version), the
    one that counts by `day`: the latest whose day is on or before it, or None."""
    found: tuple[int, Version] | None = None
    for valid_from, counts_on, version in versions:
        if counts_on <= day and (found is None or valid_from > found[0]):
            found = (valid_from, version)
    return found[1] if found else None


def undated(report: dict[str, Any]) -> tuple[int, int]:
    """How much of a report version counts from its recorded day: (1 if the filing
    had no published_at else 0, its corrections and retraction without one)."""
    changes = [*report["corrections"], *([report["retraction"]] if report["retraction"] else [])]
    return (
        0 if report.get("dated", True) else 1,
        sum(1 for change in changes if not change.get("published_at")),
    )
