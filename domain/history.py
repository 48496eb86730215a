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
