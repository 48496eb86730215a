"""What the views derive from the facts: pure functions from report and actor
documents to the small rows that queries sort, filter and count on.

A timeline entry is not stored whole: an incident keeps only its sort and
filter keys here, and its entry is merged at read time from the report
versions valid at the asked position (`projections/timeline_view.py`).
"""

from __future__ import annotations

from typing import Any

from projections.merge import Resolver, incident_of, week_of


def incident_row(entry: dict[str, Any]) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """An incident's sort and filter keys (its row's doc, and its columns)."""
    doc = {
        "earliest": entry["when"]["earliest"],
        "latest": entry["when"]["latest"],
        "week": entry["week"],
        "level": entry["level"],
        "status": entry["status"],
        "disputed": 1 if entry["contradictions"] else 0,
        "responds": 1 if entry["responds_to"] else 0,
    }
    return doc, tuple(doc.values())


def incident_tags(entry: dict[str, Any]) -> set[str]:
    """What the timeline filters an incident by: its kinds, countries, actors and means."""
    tags = {f"kind:{k}" for k in entry["kinds"]}
    tags |= {f"means:{m}" for m in entry["means"]}
    tags |= {f"country:{c}" for c in entry["countries"]}
    tags |= {f"actor:{a['actor_id']}" for a in entry["actors"] if a["actor_id"]}
    return tags


def attack(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The tally's row for an incident: an active attack, dated by its earliest day."""
    if entry["status"] != "active" or "attack" not in entry["kinds"]:
        return None

    def keys(roles: set[str]) -> list[dict[str, Any]]:
        return [
            {"key": a["actor_id"] or f"name:{a['name']}", "name": a["name"]}
            for a in entry["actors"]
            if roles & set(a["roles"])
        ]

    day = entry["when"]["earliest"]
    return {
        "incident": entry["incident"],
        "day": day,
        "week": week_of(day),
        "when": entry["when"],
        "countries": entry["countries"],
        "means": entry["means"],
        "targets": keys({"target", "affected"}),
        "claimants": keys({"claimant"}) or keys({"perpetrator"}),
        "level": entry["level"],
        "reports": entry["source_count"],
    }


def reported_tally(report: dict[str, Any], resolve: Resolver) -> dict[str, Any] | None:
    """A tally a source reported ("plus de 165 ... depuis la mi-octobre"), if it is one."""
    content = report["content"]
    if report["retracted"] or content["kind"] != "tally":
        return None
    targets = [
        resolve(a["name"], a.get("actor_id"))
        for a in content.get("actors", ())
        if a["role"] in ("target", "affected")
    ]
    source = content["source"]
    return {
        "report": report["id"],
        "counts": content.get("counts", []),
        "since": content["when"]["earliest"],
        "speaks_for": content["when"]["latest"],
        "when": content["when"],
        "targets": [{"key": t["key"], "name": t["name"]} for t in targets],
        "countries": sorted({p["country"] for p in content.get("places", ()) if p.get("country")}),
        "means": list(content.get("means", ())),
        "outlet": source["outlet"],
        "speaker": source.get("speaker"),
        "published_at": source.get("published_at"),
        "excerpt": content.get("excerpt"),
        "quote": source.get("quote"),
    }


CREDIBLE = ("at_least", "exact", "about")  # qualifiers a headline figure may have


def tally_about(tally: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Who a reported tally is about (each target's key, or "*" for no one in
    particular), each with the tally's columns: since, the day it speaks for, how
    many figures it reports, its highest credible attack figure (or None)."""
    credible = [
        c["value"]
        for c in tally["counts"]
        if c["counted"] == "attacks" and c["qualifier"] in CREDIBLE
    ]
    columns = (
        tally["since"],
        tally["speaks_for"],
        len(tally["counts"]),
        max(credible) if credible else None,
    )
    about = sorted({t["key"] for t in tally["targets"]}) or ["*"]
    return {f"{tally['report']}|{key}": (tally["report"], key, *columns) for key in about}


def appearances(report: dict[str, Any], resolve: Resolver) -> dict[str, dict[str, Any]]:
    """Each (role, actor) a report names, keyed `report|role|actor`. Spellings of
    one actor in one role make one appearance."""
    content, source = report["content"], report["content"]["source"]
    found: dict[str, dict[str, Any]] = {}
    for mention in content.get("actors", ()):
        actor = resolve(mention["name"], mention.get("actor_id"))
        key = f"{report['id']}|{mention['role']}|{actor['key']}"
        written = found[key]["written_as"] if key in found else []
        found[key] = {
            "report": report["id"],
            "incident": incident_of(report),
            "role": mention["role"],
            "actor": actor["key"],
            "written_as": sorted({*written, mention["name"]}),
            "kind": content["kind"],
            "when": content["when"],
            "retracted": report["retracted"],
            "corrections": len(report["corrections"]),
            "outlet": source["outlet"],
            "speaker": source.get("speaker"),
            "anonymous": source.get("anonymous", False),
            "summary": content.get("summary"),
            "excerpt": content.get("excerpt"),
            "quote": source.get("quote"),
        }
    return found


def appearance_columns(doc: dict[str, Any]) -> tuple[Any, ...]:
    """An appearance's columns: what histories page and count by."""
    return (
        doc["actor"],
        doc["report"],
        doc["when"]["earliest"],
        doc["incident"],
        doc["role"],
        doc["kind"],
        1 if doc["retracted"] else 0,
    )
