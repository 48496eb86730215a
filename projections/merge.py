"""Merging the reports of one incident into one timeline entry.

Pure functions over plain dicts (the report documents a view keeps), so the
rules are easy to read and to test, and the same on every store.

Rules (the README repeats them):
- Dates: every source's interval, widened by APPROXIMATE_SLACK_DAYS when the
  source marks it approximate or uncertain, should overlap; the entry's
  interval is what all sources allow. If they do not, the sources disagree
  beyond their stated precision: the entry sits where most sources agree,
  keeps the envelope of all of them, and lists the disagreement.
- Counts: per (counted, whose), see `projections/counts.py`: a report's parts
  summed, the sources' bounds intersected, a `count_disagreement` when they
  cannot all be true.
- Means: the union of what the sources say was used.
- Escalation ladder, lowest to highest (LEVELS).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from projections.counts import merge_counts, whose_resolver

APPROXIMATE_SLACK_DAYS = 7

LEVELS = (
    "rhetoric",  # 0: statements, threats, denials, claims, tallies only
    "attack",  # 1: an attack or strike without reported casualties
    "attack_with_casualties",  # 2: killed, wounded or casualties reported
    "strikes_on_state_backed_force",  # 3: strikes on a force a state backs
    "strikes_on_state",  # 4: strikes on a state's own forces or the state itself
)

# Which kind names an incident when its reports differ, most telling first.
KIND_PRIORITY = (
    "strike",
    "attack",
    "casualties",
    "claim_of_responsibility",
    "denial",
    "threat",
    "statement",
    "tally",
)

Resolver = Callable[[str, str | None], dict[str, Any]]


def incident_of(report: dict[str, Any]) -> str:
    """The incident a report belongs to: the one an analyst linked it into, else its
    own key, else an incident of its own."""
    link = report.get("linked")
    if link:
        return link["incident"]
    return report["content"].get("incident_key") or f"report:{report['id']}"


def week_of(day: str) -> str:
    parsed = date.fromisoformat(day)
    return (parsed - timedelta(days=parsed.weekday())).isoformat()


SLACK = timedelta(days=APPROXIMATE_SLACK_DAYS)


def _bounds(when: dict[str, Any], widen: bool) -> tuple[str, str]:
    """A source's interval as ISO days (fixed width, so text order is day order)."""
    earliest, latest = when["earliest"], when["latest"]
    if widen and (when.get("approximate") or when.get("uncertain")):
        return (
            (date.fromisoformat(earliest) - SLACK).isoformat(),
            (date.fromisoformat(latest) + SLACK).isoformat(),
        )
    return earliest, latest


def merge_when(reports: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The interval the sources allow, and a contradiction if some disagree.

    When intervals do not all overlap, the entry is placed where most sources
    agree (the largest group sharing a common day; on a tie, the later one) and
    the others are listed as disagreeing.
    """
    every = [_bounds(r["content"]["when"], widen=False) for r in reports]
    wide = [_bounds(r["content"]["when"], widen=True) for r in reports]
    best: list[int] = []
    if max(first for first, _ in wide) <= min(last for _, last in wide):
        best = list(range(len(wide)))  # one day they all allow: every start's group is all
    for start, _ in [] if best else sorted(wide):
        group = [i for i, (first, last) in enumerate(wide) if first <= start <= last]
        if len(group) >= len(best):
            best = group
    low, high = max(every[i][0] for i in best), min(every[i][1] for i in best)
    if low > high:  # they agree only thanks to the slack: keep the slack's window
        low = max(wide[i][0] for i in best)
        high = min(wide[i][1] for i in best)
    merged = {
        "earliest": low,
        "latest": high,
        "agreed": len(best) == len(reports),
        "envelope": {
            "earliest": min(e for e, _ in every),
            "latest": max(last for _, last in every),
        },
    }
    if merged["agreed"]:
        return merged, None
    contradiction = {
        "type": "date_disagreement",
        "detail": "sources place this incident at times that do not overlap, "
        "even allowing for their stated precision",
        "reports": [
            {
                "report": r["id"],
                "agrees_with_placement": i in best,
                "earliest": r["content"]["when"]["earliest"],
                "latest": r["content"]["when"]["latest"],
                "wording": r["content"]["when"].get("wording"),
                "outlet": r["content"]["source"]["outlet"],
                "speaker": r["content"]["source"].get("speaker"),
            }
            for i, r in enumerate(reports)
        ],
    }
    return merged, contradiction


def merge_actors(reports: list[dict[str, Any]], resolve: Resolver) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for report in reports:
        for mention in report["content"].get("actors", ()):
            actor = resolve(mention["name"], mention.get("actor_id"))
            key = actor["key"]
            entry = found.setdefault(
                key,
                {
                    "actor_id": actor["id"],
                    "name": actor["name"] or mention["name"],
                    "category": actor["category"],
                    "written_as": [],
                    "roles": [],
                },
            )
            if mention["name"] not in entry["written_as"]:
                entry["written_as"].append(mention["name"])
            if mention["role"] not in entry["roles"]:
                entry["roles"].append(mention["role"])
    return sorted(found.values(), key=lambda a: (a["name"].casefold(), a["actor_id"] or ""))


HARM = ("killed", "wounded", "casualties")


# Finest first: where sources place one name differently, the finest fix wins.
PRECISION_ORDER = ("exact", "near", "locality", "region", "country", None)


def merge_places(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each place named by the reports once (by name and country), in the order
    first named, with the finest coordinates any report gives it (null if none)."""
    merged: dict[tuple[str, str | None], dict[str, Any]] = {}
    for report in reports:
        for place in report["content"].get("places", ()):
            name = (place["name"], place.get("country"))
            item = merged.setdefault(
                name,
                {
                    "name": name[0],
                    "country": name[1],
                    "latitude": None,
                    "longitude": None,
                    "coordinate_precision": None,
                },
            )
            if place.get("latitude") is None:
                continue
            precision = place.get("coordinate_precision")
            rank = PRECISION_ORDER.index
            if item["latitude"] is None or rank(precision) < rank(item["coordinate_precision"]):
                item["latitude"], item["longitude"] = place["latitude"], place["longitude"]
                item["coordinate_precision"] = precision
    return list(merged.values())


def escalation_level(kinds: set[str], harmed: bool, actors: list[dict[str, Any]]) -> int:
    """The ladder's rung; `harmed`: some source reports a killed, wounded or
    casualties count above zero."""
    if not kinds & {"attack", "strike", "casualties"}:
        return 0
    if "strike" in kinds:
        target_categories = {a["category"] for a in actors if "target" in a["roles"]}
        if target_categories & {"state", "state_force"}:
            return 4
        if "state_backed" in target_categories:
            return 3
    return 2 if harmed or "casualties" in kinds else 1


def _source(report: dict[str, Any]) -> dict[str, Any]:
    content, source = report["content"], report["content"]["source"]
    return {
        "report": report["id"],
        "kind": content["kind"],
        "outlet": source["outlet"],
        "speaker": source.get("speaker"),
        "anonymous": source.get("anonymous", False),
        "channel": source.get("channel"),
        "language": source.get("language"),
        "published_at": source.get("published_at"),
        "url": source.get("url"),
        "quote": source.get("quote"),
        "excerpt": content.get("excerpt"),
        "summary": content.get("summary"),
        "when": content["when"],
        "responds_to": content.get("responds_to"),
        "corrections": len(report["corrections"]),
    }


def incident_core(key: str, reports: Iterable[dict[str, Any]], resolve: Resolver) -> dict[str, Any]:
    """What an incident is sorted, filtered and counted by: when, kinds, actors,
    countries, level, status, responses and whether its sources disagree.

    The fold computes this for every report event; `merge_incident` builds the
    whole entry on it, so that the two never differ.
    """
    reports = sorted(reports, key=lambda r: r["filed_position"])
    active = [r for r in reports if not r["retracted"]]
    basis = active or reports  # an all-retracted incident still shows where it was
    when, disagreement = merge_when(basis)
    kinds = {r["content"]["kind"] for r in active}
    actors = merge_actors(active, resolve)
    places = merge_places(active)
    harmed = any(
        c["counted"] in HARM and c["value"] > 0
        for r in active
        for c in r["content"].get("counts", ())
    )
    level = escalation_level(kinds, harmed, actors) if active else None
    counts, disputed = merge_counts(active, whose_resolver(resolve))
    contradictions = [disagreement] if disagreement and active else []
    return {
        "incident": key,
        "status": "active" if active else "retracted",
        "kind": next((k for k in KIND_PRIORITY if k in kinds), None),
        "kinds": sorted(kinds),
        "when": when,
        "week": week_of(when["earliest"]),
        "level": level,
        "level_name": LEVELS[level] if level is not None else None,
        "actors": actors,
        "places": places,
        "countries": sorted({p["country"] for p in places if p["country"]}),
        "responds_to": sorted(
            {r["content"]["responds_to"] for r in active if r["content"].get("responds_to")}
        ),
        "means": sorted({m for r in active for m in r["content"].get("means", ())}),
        "counts": counts,
        "source_count": len(active),
        "contradictions": [*contradictions, *disputed],
        "_reports": reports,
        "_active": active,
    }


def merge_incident(
    key: str, reports: Iterable[dict[str, Any]], resolve: Resolver
) -> dict[str, Any]:
    """One timeline entry from every report filed under incident `key`."""
    core = incident_core(key, reports, resolve)
    reports, active = core.pop("_reports"), core.pop("_active")
    retracted = [
        {
            "report": r["id"],
            "reason": r["retraction"]["reason"],
            "by": r["retraction"]["by"],
            "outlet": r["content"]["source"]["outlet"],
            "speaker": r["content"]["source"].get("speaker"),
        }
        for r in reports
        if r["retracted"]
    ]
    corrections = [
        {"report": r["id"], **correction} for r in reports for correction in r["corrections"]
    ]
    del core["source_count"]
    return {
        "incident": key,
        "status": core["status"],
        "kind": core["kind"],
        "kinds": core["kinds"],
        "when": core["when"],
        "week": core["week"],
        "level": core["level"],
        "level_name": core["level_name"],
        "actors": core["actors"],
        "counts": core["counts"],
        "means": core["means"],
        "places": core["places"],
        "countries": core["countries"],
        "responds_to": core["responds_to"],
        "sources": [_source(r) for r in active],
        "corrections": corrections,
        "retracted": retracted,
        "contradictions": core["contradictions"],
    }


def responses_before_cause(
    entry: dict[str, Any], reports: list[dict[str, Any]], cause: dict[str, Any]
) -> list[dict[str, Any]]:
    """Reports of `entry` that say they answer `cause` and are dated entirely before it.

    A report of the same incident that answers nothing, or something else, says
    nothing about `cause`."""
    found = []
    cause_start = date.fromisoformat(cause["when"]["earliest"])
    for source in reports:
        if source.get("responds_to") != cause["incident"]:
            continue
        latest = date.fromisoformat(source["when"]["latest"])
        if latest < cause_start:
            found.append(
                {
                    "type": "response_before_cause",
                    "detail": f"dated {source['when']['earliest']}..{source['when']['latest']} "
                    f"but answers {cause['incident']}, which begins {cause['when']['earliest']}",
                    "incident": entry["incident"],
                    "responds_to": cause["incident"],
                    "report": source["report"],
                    "wording": source["when"].get("wording"),
                    "outlet": source["outlet"],
                    "speaker": source["speaker"],
                }
            )
    return found
