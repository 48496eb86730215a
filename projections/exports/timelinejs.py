"""An incident as a TimelineJS 3 slide (its JSON format's `events` items).

Dates are given only as finely as the sources know them: a month-level date
has a year and a month and no day; an interval has an `end_date`; the
`display_date` says it in the sources' words. TimelineJS reads `text` as HTML,
so every value from a report is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from projections.exports import fields


def date_object(day: str, unit: str) -> dict[str, int]:
    """A TimelineJS date with the parts `unit` allows (year; year, month; or all three)."""
    parts = {"year": int(day[:4])}
    if unit in ("month", "day"):
        parts["month"] = int(day[5:7])
    if unit == "day":
        parts["day"] = int(day[8:10])
    return parts


def headline(entry: dict[str, Any]) -> str:
    kind = (entry["kind"] or "report").replace("_", " ")
    places = ", ".join(p["name"] for p in entry["places"])
    return escape(f"{kind.capitalize()} — {places}" if places else kind.capitalize())


def _source_item(source: dict[str, Any]) -> str:
    text = escape(fields.source_text(source))
    if source.get("url"):
        text = f'<a href="{escape(source["url"])}">{text}</a>'
    said = source.get("quote") or source.get("excerpt")
    if said:
        text += f": «{escape(said)}»"
    return f"<li>{text}</li>"


def body(entry: dict[str, Any]) -> str:
    """The slide's HTML: what happened, who, the figures, then every source."""
    parts = []
    summaries = fields.distinct(s.get("summary") for s in entry.get("sources", ()))
    if summaries:
        parts.append(f"<p>{escape(summaries[0])}</p>")
    if entry.get("actors"):
        parts.append(f"<p>Actors: {escape(fields.actors_text(entry))}</p>")
    if entry.get("counts"):
        parts.append(f"<p>Figures: {escape(fields.counts_text(entry))}</p>")
    level = entry["level_name"] or "retracted"
    parts.append(f"<p>Escalation level: {escape(level.replace('_', ' '))}</p>")
    if entry["contradictions"]:
        kinds = ", ".join(c["type"].replace("_", " ") for c in entry["contradictions"])
        parts.append(f"<p>Sources contradict each other: {escape(kinds)}</p>")
    if entry["status"] == "retracted":
        parts.append("<p>Every report of this incident has been retracted.</p>")
    sources = "".join(_source_item(s) for s in entry.get("sources", ()))
    parts.append(f"<p>Sources:</p><ul>{sources}</ul>" if sources else "<p>No active source.</p>")
    return "".join(parts)


def incident_slide(entry: dict[str, Any]) -> dict[str, Any]:
    when = entry["when"]
    earliest, latest = when["earliest"], when["latest"]
    unit = fields.date_unit(earliest, latest)
    slide: dict[str, Any] = {
        "unique_id": entry["incident"],
        "start_date": date_object(earliest, unit),
        "display_date": fields.display_date(entry),
        "text": {"headline": headline(entry), "text": body(entry)},
        "group": (entry["level_name"] or "retracted").replace("_", " "),
    }
    if not fields.is_single(earliest, latest, unit):
        slide["end_date"] = date_object(latest, unit)
    return slide


def title_slide(position: int, filters: dict[str, Any]) -> dict[str, Any]:
    """The opening slide: which log position and filters this timeline shows."""
    given = ", ".join(f"{k}={v}" for k, v in filters.items() if v not in (None, ""))
    text = f"As recorded in the log up to position {position}"
    text += f", filtered by {given}." if given else "."
    return {"text": {"headline": "Escalation timeline", "text": f"<p>{escape(text)}</p>"}}
