"""Shared pieces for reading what the log holds: upcasters and scans by event type."""

from __future__ import annotations

from typing import Any

PAGE = 500


def no_writer(state: dict[str, Any]) -> None:
    """Upcaster v1 -> v2: version 1 events predate API keys, so nobody wrote them."""
    state["written_by"] = None


def no_change_key(state: dict[str, Any]) -> None:
    """Upcaster v2 -> v3 of corrections and retractions: they predate change keys."""
    state["key"] = None
    state["digest"] = None


def _content_defaults(content: Any) -> None:
    """Fill in, on a stored content's dict, what version 3 of reports added.

    The read side sees plain dicts; the domain sees the value objects the
    transcoder rebuilt, whose defaults pydantic already filled in."""
    if not isinstance(content, dict):
        return
    content.setdefault("means", [])
    content.setdefault("aggregate", False)
    for count in content.get("counts") or ():
        _count_defaults(count)


def _count_defaults(count: Any) -> None:
    if isinstance(count, dict):
        count.setdefault("whose", None)
        count.setdefault("low", None)
        count.setdefault("high", None)


def report_fields_v3(state: dict[str, Any]) -> None:
    """Upcaster v2 -> v3 of `Report.Filed`: no means, not an aggregate, and counts
    that say nothing of whose they are or of bounds."""
    _content_defaults(state["content"])


def change_published_v4(state: dict[str, Any]) -> None:
    """Upcaster v3 -> v4 of corrections and retractions: they predate `published_at`
    (the change counts from its recorded time), and a correction's new counts
    predate `whose` and bounds."""
    state["published_at"] = None
    for count in (state.get("changes") or {}).get("counts") or ():
        _count_defaults(count)


def aggregates_created_by(app: Any, topic: str) -> list[Any]:
    """Every aggregate of an application whose creation event has `topic`, in log order."""
    found: list[Any] = []
    start = 1
    while True:
        page = app.recorder.select_notifications(start, PAGE, topics=[topic])
        found.extend(app.repository.get(n.originator_id) for n in page)
        if len(page) < PAGE:
            return found
        start = page[-1].id + 1
