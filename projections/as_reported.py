"""Reading the reports as sources had published them by a day, as of a log position.

Per report, the version that counts is the latest one the log held at `as_of`
whose day (the `published` column, `projections/reported_by.py`) is on or
before the asked day. The plain views read rows the fold keeps current; this
reads every report version published by that day, so it costs a scan of the
reports table, and the views re-merge every incident involved at read time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from projections.database import Cursor
from projections.generation import Generation
from projections.merge import incident_of
from projections.reported_by import counting_version, undated


@dataclass
class AsReported:
    """The report versions that count by `day`, as of one log position."""

    day: str
    rows: dict[str, dict[str, Any]]  # report id -> {key, valid_from, doc (decoded)}
    by_incident: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for report_id, row in sorted(self.rows.items()):
            self.by_incident.setdefault(incident_of(row["doc"]), []).append(report_id)

    def incidents(self) -> list[str]:
        return sorted(self.by_incident)

    def report_rows(self, incidents: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """The counting versions of these incidents' reports (as `ReadView.report_rows`)."""
        return {
            key: [self.rows[report] for report in self.by_incident.get(key, ())]
            for key in incidents
        }

    def docs(self) -> list[dict[str, Any]]:
        return [row["doc"] for row in self.rows.values()]

    def answer(self) -> dict[str, Any]:
        """What the answer says of this axis: the day, and how much of what counted
        did so from its recorded day, for want of a publication day."""
        reports = changes = 0
        for row in self.rows.values():
            report, change = undated(row["doc"])
            reports, changes = reports + report, changes + change
        return {"day": self.day, "undated_reports": reports, "undated_changes": changes}


def read_as_reported(gen: Generation, cursor: Cursor, as_of: int | None, day: str) -> AsReported:
    """Every report's counting version by `day` among those written by `as_of`."""
    sql = f"SELECT key, valid_from, published, doc FROM {gen.reports.sql} WHERE published <= %s"
    params: list[Any] = [day]
    if as_of is not None:
        sql += " AND valid_from <= %s"
        params.append(as_of)
    cursor.execute(sql, params)
    versions: dict[str, list[tuple[int, str, Any]]] = {}
    for row in cursor.fetchall():
        versions.setdefault(row["key"], []).append((int(row["valid_from"]), row["published"], row))
    rows = {}
    for key, found in versions.items():
        chosen = counting_version(found, day)
        if chosen is not None:
            doc = orjson.loads(chosen["doc"])
            rows[key] = {"key": key, "valid_from": int(chosen["valid_from"]), "doc": doc}
    return AsReported(day, rows)
