"""The fold: how each event changes the facts, as pure functions over plain dicts.

No SQL and no I/O: a driver (`projections/projector.py`) feeds events in log
order and stores what these functions return. Events come as the stored JSON
(`projections/log_reader.py`), already validated when they were written.

A report's facts are one document: its content as it now stands (corrections
applied), its corrections, its retraction, and the position it was filed at.
An actor's are its canonical name, aliases, parent, category and description.
"""

from __future__ import annotations

from typing import Any

from domain.values import normalise_name
from projections.log_reader import LoggedEvent
from projections.reported_by import counts_from

REPORT_EVENTS = ("Report.Filed", "Report.Corrected", "Report.Retracted")
ACTOR_EVENTS = ("Actor.Registered", "Actor.AliasAdded", "Actor.ParentSet")


def filed(event: LoggedEvent) -> dict[str, Any]:
    published_at = event.state["content"]["source"].get("published_at")
    return {
        "id": event.originator_id,
        "content": event.state["content"],
        "retracted": False,
        "retraction": None,
        "corrections": [],
        "filed_position": event.position,
        # The day this version counts from for `reported_by` (projections/reported_by.py).
        "published": counts_from(None, published_at, event.recorded_at),
        "dated": published_at is not None,
    }


def _published(report: dict[str, Any], event: LoggedEvent) -> str:
    """The day a change counts from: its own publication day, else its recorded day,
    never before the version it changes."""
    previous = report.get("published")
    return counts_from(previous, event.state.get("published_at"), event.recorded_at)


def corrected(report: dict[str, Any], event: LoggedEvent) -> dict[str, Any]:
    """The report with the correction's fields replaced; the whole was validated on write."""
    state = event.state
    return {
        **report,
        "content": {**report["content"], **state["changes"]},
        "corrections": [
            *report["corrections"],
            {
                "fields": list(state["fields"]),
                "reason": state["reason"],
                "by": state["corrected_by"],
                "position": event.position,
                "published_at": state.get("published_at"),
            },
        ],
        "published": _published(report, event),
    }


def retracted(report: dict[str, Any], event: LoggedEvent) -> dict[str, Any]:
    state = event.state
    return {
        **report,
        "retracted": True,
        "retraction": {
            "reason": state["reason"],
            "by": state["retracted_by"],
            "position": event.position,
            "published_at": state.get("published_at"),
        },
        "published": _published(report, event),
    }


def report_after(report: dict[str, Any] | None, event: LoggedEvent) -> dict[str, Any] | None:
    """The report's facts after one of its events (None: an event out of order)."""
    if event.type == "Report.Filed":
        return filed(event)
    if report is None:  # a report's events come in order; nothing to correct
        return None
    return (
        corrected(report, event) if event.type == "Report.Corrected" else retracted(report, event)
    )


def actor_after(
    actor: dict[str, Any] | None, event: LoggedEvent
) -> tuple[dict[str, Any], list[str]]:
    """The actor's facts after one of its events, and the names it newly goes by."""
    state = event.state
    if event.type == "Actor.Registered":
        doc = {
            "id": event.originator_id,
            "name": state["name"],
            "aliases": list(state["aliases"]),
            "parent_id": state["parent_id"],
            "category": state["category"],
            "description": state["description"],
        }
        return doc, [state["name"], *(alias["name"] for alias in state["aliases"])]
    doc = dict(actor or {})
    if event.type == "Actor.AliasAdded":
        doc["aliases"] = [*doc.get("aliases", ()), state["alias"]]
        return doc, [state["alias"]["name"]]
    doc["parent_id"] = state["parent_id"]
    return doc, []


def mention_tokens(report: dict[str, Any]) -> list[str]:
    """How a report names actors: each normalised name, and each explicit actor id.

    An actor event re-resolves exactly the reports holding one of its tokens.
    """
    mentions = report["content"].get("actors", ())
    tokens = {normalise_name(m["name"]) for m in mentions}
    tokens |= {f"id:{m['actor_id']}" for m in mentions if m.get("actor_id")}
    return sorted(tokens)
