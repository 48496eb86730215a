"""An incident as an RFC 7946 Feature: a Point at its most precise located place.

Positions are [longitude, latitude] (RFC 7946 section 3.1.1), WGS 84, with no
`crs` member (section 4). Incidents no source locates have no feature.
"""

from __future__ import annotations

from typing import Any

from projections.exports import fields


def incident_feature(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The entry's Feature, or None when no source gives coordinates."""
    place = fields.best_place(fields.located(entry))
    if place is None:
        return None
    when, sources = entry["when"], entry.get("sources", [])
    killed = fields.killed(entry)
    one, two, _ = fields.sides(entry)
    return {
        "type": "Feature",
        "id": entry["incident"],
        "geometry": {"type": "Point", "coordinates": [place["longitude"], place["latitude"]]},
        "properties": {
            "incident": entry["incident"],
            "kind": entry["kind"],
            "kinds": entry["kinds"],
            "level": entry["level"],
            "level_name": entry["level_name"],
            "status": entry["status"],
            "earliest": when["earliest"],
            "latest": when["latest"],
            "date_precision": fields.date_unit(when["earliest"], when["latest"]),
            "time_precision": fields.time_precision(when["earliest"], when["latest"]),
            "dates_agreed": when["agreed"],
            "display_date": fields.display_date(entry),
            "place": place["name"],
            "country": place["country"],
            "coordinate_precision": place["coordinate_precision"],
            "geo_precision": fields.GEO_PRECISION.get(place["coordinate_precision"] or ""),
            "places": [p["name"] for p in entry["places"]],
            "actor1": one,
            "actor2": two,
            "fatalities": fields.fatalities(killed),
            "fatalities_qualifier": killed["qualifier"] if killed else None,
            "counts": fields.counts_text(entry),
            "sources": [fields.source_text(s) for s in sources],
            "source_count": len(sources),
        },
    }
