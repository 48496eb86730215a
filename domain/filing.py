"""Planning one store transaction for many independent filing requests.

Each request (one report, or a whole batch) is written whole or not at all, and
requests must not fail each other. Idempotency keys are claimed in request
order, so that two requests using the same new key in one transaction behave as
if they had come one after the other: the first files the report, the second
gets it back (same payload) or a conflict (different payload).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from domain.errors import IdempotencyConflictError
from domain.reports import report_id_for_key
from domain.values import ReportContent


@dataclass(frozen=True)
class Filing:
    report_id: UUID
    created: bool
    position: int | None = None  # log position of the Filed event, when just written


@dataclass
class BatchConflictError(Exception):
    """Some items of a batch reuse a key with a different payload."""

    conflicts: list[tuple[int, IdempotencyConflictError]] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"item {index}: {error}" for index, error in self.conflicts)


@dataclass(frozen=True)
class FilingRequest:
    """One caller's reports: written together or not at all."""

    items: Sequence[tuple[ReportContent, str | None]]
    written_by: str | None = None


@dataclass(frozen=True)
class Item:
    content: ReportContent
    key: str | None
    digest: str


Slot = tuple[int, int]  # (request, item)


@dataclass
class Plan:
    """What to write, what is already there, and which requests conflict."""

    new: list[Slot] = field(default_factory=list)
    # A later use of a key claimed earlier in this transaction: same report.
    copies: dict[Slot, Slot] = field(default_factory=dict)
    # A key that the store already holds with this payload: nothing to write.
    existing: dict[Slot, UUID] = field(default_factory=dict)
    conflicts: dict[int, BatchConflictError] = field(default_factory=dict)


def plan(requests: dict[int, list[Item]], stored: dict[str, tuple[UUID, str]]) -> Plan:
    """Claim keys in request order. `stored`: key -> (report id, digest) known in the store."""
    result = Plan()
    claimed: dict[str, tuple[Slot, str]] = {}
    for r, items in requests.items():
        mine: dict[str, tuple[Slot, str]] = {}
        new: list[Slot] = []
        copies: dict[Slot, Slot] = {}
        existing: dict[Slot, UUID] = {}
        conflicts: list[tuple[int, IdempotencyConflictError]] = []
        for i, item in enumerate(items):
            key = item.key
            if key is None:
                new.append((r, i))
                continue
            if key in stored:
                report_id, digest = stored[key]
                if digest == item.digest:
                    existing[(r, i)] = report_id
                else:
                    conflicts.append((i, IdempotencyConflictError(key, report_id)))
            elif key in mine or key in claimed:
                first, digest = mine[key] if key in mine else claimed[key]
                if digest == item.digest:
                    copies[(r, i)] = first
                else:
                    conflicts.append((i, IdempotencyConflictError(key, report_id_for_key(key))))
            else:
                mine[key] = ((r, i), item.digest)
                new.append((r, i))
        if conflicts:
            result.conflicts[r] = BatchConflictError(conflicts)
            continue  # claims nothing: a later request may use its keys
        claimed.update(mine)
        result.new.extend(new)
        result.copies.update(copies)
        result.existing.update(existing)
    return result
