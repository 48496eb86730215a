"""A re-imported row against the report it filed: what changed, and why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.datasets.common import MappedRow
from domain.values import ReportContent


def changed_fields(before: ReportContent, after: ReportContent) -> dict[str, Any]:
    """The report fields whose values differ, with their new values (as JSON)."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return {field: new[field] for field in new if new[field] != old.get(field)}


def correction_reason(row: MappedRow) -> str:
    if row.revision is not None:
        stamp = row.revision
        if stamp.isdigit():  # ACLED's is Unix time: say when, too
            stamp += datetime.fromtimestamp(int(stamp), UTC).strftime(" (%Y-%m-%dT%H:%M:%SZ)")
        return f"{row.dataset} revised event {row.row_id} (row timestamp {stamp})"
    return f"{row.dataset} event {row.row_id} changed in a later release"


def correction_key(row: MappedRow, digest: str, version: int) -> str:
    """One key per (row, revision, content, report version): two imports of one
    file racing write the correction once."""
    return f"{row.key}@{row.revision or 'release'}:{digest[:16]}:v{version}"


def revised_at(revision: str | None) -> datetime | None:
    """When the dataset published a revision: ACLED's Unix `timestamp`, as an instant."""
    return datetime.fromtimestamp(int(revision), UTC) if revision and revision.isdigit() else None


def retraction_reason(dataset: str, row_id: str, deleted_timestamp: str) -> str:
    return f"{dataset} deleted event {row_id} (deleted_timestamp {deleted_timestamp})"
