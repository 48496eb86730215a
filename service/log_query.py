"""Which events of the log a reader asked for (`type`, `report`), read a page at a time.

Shared by the paged log (`GET /events`) and the followers (`?follow=true`,
`/subscribe/events`), so both keep exactly the same events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.application import EVENT_TYPES

PAGE = 1_000


def unknown_type_problem(types: Sequence[str]) -> dict[str, str] | None:
    """The problem with the first event type that does not exist, if any."""
    unknown = [t for t in types if t not in EVENT_TYPES]
    if not unknown:
        return None
    return {
        "field": "type",
        "msg": f"unknown event type {unknown[0]!r}; one of {', '.join(EVENT_TYPES)}",
        "type": "enum",
    }


@dataclass(frozen=True)
class LogQuery:
    types: tuple[str, ...] = ()  # short names ("Report.Filed"); checked by the route
    report: UUID | None = None

    @cached_property
    def topics(self) -> frozenset[str]:
        return frozenset(EVENT_TYPES[t] for t in self.types)

    def keeps(self, notification: Notification) -> bool:
        if self.report is not None and notification.originator_id != self.report:
            return False
        topics = self.topics
        return not topics or notification.topic in topics

    def page(self, timeline: Any, index: Any, after: int) -> tuple[list[Notification], int, bool]:
        """The kept events after position `after`, read from the store; the position
        read up to; and whether that was the end of the log as it then stood."""
        if self.report is not None:
            found = index.notifications_of(self.report, after=after, limit=PAGE)
        else:
            found = timeline.read_log(after, PAGE, self.types)
        read_to = found[-1].id if found else after
        return [n for n in found if self.keeps(n)], read_to, len(found) < PAGE
