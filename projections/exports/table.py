"""One CSV row per incident: ACLED's column names where ours mean the same, then ours.

`COLUMNS` pairs each column with its HXL hashtag (the `.hxl.csv` second line).
"""

from __future__ import annotations

from typing import Any

from projections.exports import fields

# (column, HXL hashtag). ACLED's names first, in ACLED's order, then ours.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_id_cnty", "#event+code"),
    ("event_date", "#date+occurred"),
    ("year", "#date+year"),
    ("time_precision", "#date+precision"),
    ("event_type", "#event+type"),
    ("sub_event_type", "#event+type+sub"),
    ("actor1", "#group+name+first"),
    ("assoc_actor_1", "#group+name+first+assoc"),
    ("actor2", "#group+name+second"),
    ("assoc_actor_2", "#group+name+second+assoc"),
    ("country", "#country+name"),
    ("iso2", "#country+code+v_iso2"),
    ("location", "#loc+name"),
    ("latitude", "#geo+lat"),
    ("longitude", "#geo+lon"),
    ("geo_precision", "#geo+precision"),
    ("source", "#meta+source"),
    ("notes", "#description"),
    ("fatalities", "#affected+killed"),
    # ours
    ("earliest", "#date+start"),
    ("latest", "#date+end"),
    ("date_precision", "#date+precision+unit"),
    ("dates_agreed", "#date+agreed"),
    ("envelope_earliest", "#date+start+envelope"),
    ("envelope_latest", "#date+end+envelope"),
    ("date_wording", "#date+text"),
    ("fatalities_qualifier", "#affected+killed+qualifier"),
    ("fatalities_high", "#affected+killed+max"),
    ("counts", "#affected+text"),
    ("coordinate_precision", "#geo+precision+text"),
    ("places", "#loc+name+all"),
    ("actors", "#group+name+all"),
    ("source_count", "#meta+source+num"),
    ("source_urls", "#meta+url"),
    ("level", "#severity+code"),
    ("level_name", "#severity+name"),
    ("status", "#status"),
    ("responds_to", "#event+code+responds_to"),
    ("contradictions", "#meta+contradictions+num"),
    ("corrections", "#meta+corrections+num"),
    ("retracted_reports", "#meta+retracted+num"),
)
HEADER = tuple(name for name, _ in COLUMNS)
HXL_TAGS = tuple(tag for _, tag in COLUMNS)

LIST = "; "  # how ACLED joins several sources or actors in one cell


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def incident_row(entry: dict[str, Any]) -> list[str]:
    """The CSV cells of one entry, in `HEADER` order."""
    when, sources = entry["when"], entry.get("sources", [])
    one, two, _ = fields.sides(entry)
    place = fields.best_place(fields.located(entry))
    killed = fields.killed(entry)
    countries = entry.get("countries", [])
    values = {
        "event_id_cnty": entry["incident"],
        "event_date": when["earliest"],
        "year": when["earliest"][:4],
        "time_precision": fields.time_precision(when["earliest"], when["latest"]),
        "event_type": entry["kind"],
        "sub_event_type": LIST.join(entry["kinds"]),
        "actor1": one[0] if one else None,
        "assoc_actor_1": LIST.join(one[1:]),
        "actor2": two[0] if two else None,
        "assoc_actor_2": LIST.join(two[1:]),
        "country": LIST.join(fields.country_name(c) for c in countries),
        "iso2": LIST.join(countries),
        "location": place["name"] if place else LIST.join(p["name"] for p in entry["places"]),
        "latitude": place["latitude"] if place else None,
        "longitude": place["longitude"] if place else None,
        "geo_precision": fields.GEO_PRECISION.get(place.get("coordinate_precision") or "")
        if place
        else None,
        "source": LIST.join(fields.distinct(s["outlet"] for s in sources)),
        "notes": " | ".join(fields.distinct(s.get("summary") or s.get("excerpt") for s in sources)),
        "fatalities": fields.fatalities(killed),
        "earliest": when["earliest"],
        "latest": when["latest"],
        "date_precision": fields.date_unit(when["earliest"], when["latest"]),
        "dates_agreed": when["agreed"],
        "envelope_earliest": when["envelope"]["earliest"],
        "envelope_latest": when["envelope"]["latest"],
        "date_wording": " | ".join(fields.wordings(entry)),
        "fatalities_qualifier": killed["qualifier"] if killed else None,
        "fatalities_high": killed["high"] if killed else None,
        "counts": fields.counts_text(entry),
        "coordinate_precision": place.get("coordinate_precision") if place else None,
        "places": LIST.join(p["name"] for p in entry["places"]),
        "actors": fields.actors_text(entry),
        "source_count": len(sources),
        "source_urls": " ".join(fields.distinct(s.get("url") for s in sources)),
        "level": entry["level"],
        "level_name": entry["level_name"],
        "status": entry["status"],
        "responds_to": LIST.join(entry["responds_to"]),
        "contradictions": len(entry["contradictions"]),
        "corrections": len(entry["corrections"]),
        "retracted_reports": len(entry["retracted"]),
    }
    return [_cell(values[name]) for name in HEADER]
