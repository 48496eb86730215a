"""Likely duplicates: incidents that share no key but probably describe one occurrence.

Pure functions over an incident's merged core (`merge.incident_core`). Two
incidents are candidates when all of these hold (the README repeats them):

- both are of the kind family attack / strike / casualties;
- their intervals overlap, each widened by APPROXIMATE_SLACK_DAYS where a
  source marks its date approximate or uncertain;
- they share a country and, in it, a place of the same normalised name, or
  coordinates within a distance (the `duplicate_distance_km` setting, at most
  STORED_KM), or one of them names no place at all;
- they share at least one resolved actor in compatible roles (perpetrator or
  claimant; target or affected; any other role only with itself).

Candidates are found by blocking, never by comparing all pairs: an incident is
filed under (country, week) for each country and week its interval touches (an
incident naming no place under ("?", week)), and compared only with incidents
of its blocks. An interval spanning more than MAX_BLOCK_WEEKS weeks is too vague
to flag.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from domain.values import normalise_name
from projections.merge import APPROXIMATE_SLACK_DAYS, week_of

FAMILY = ("attack", "casualties", "strike")
DEFAULT_KM = 25.0
STORED_KM = 100.0  # pairs farther apart are never kept; the setting chooses within
MAX_BLOCK_WEEKS = 10
NO_PLACE = "?"
_ROLE_GROUP = {"perpetrator": "doer", "claimant": "doer", "target": "harmed", "affected": "harmed"}
_EARTH_KM = 6371.0088


def pair_key(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return f"{first}|{second}"


def features(core: dict[str, Any]) -> dict[str, Any] | None:
    """What an incident is compared by, or None if it can never be a candidate."""
    kinds = set(core["kinds"]) & set(FAMILY)
    if core["status"] != "active" or not kinds:
        return None
    slack = timedelta(days=APPROXIMATE_SLACK_DAYS)
    earliest, latest = [], []
    places: list[dict[str, Any]] = []
    for report in core["_active"]:
        content = report["content"]
        when = content["when"]
        low, high = date.fromisoformat(when["earliest"]), date.fromisoformat(when["latest"])
        if when.get("approximate") or when.get("uncertain"):
            low, high = low - slack, high + slack
        earliest.append(low)
        latest.append(high)
        for place in content.get("places", ()):
            item = {
                "country": place.get("country"),
                "name": normalise_name(place["name"]),
                "lat": place.get("latitude"),
                "lon": place.get("longitude"),
            }
            if item not in places:
                places.append(item)
    actors = sorted(
        [a["actor_id"], a["name"], sorted({_ROLE_GROUP.get(r, r) for r in a["roles"]})]
        for a in core["actors"]
        if a["actor_id"]
    )
    if not actors:
        return None
    return {
        "incident": core["incident"],
        "kinds": sorted(kinds),
        "attack": "attack" in core["kinds"],
        "day": core["when"]["earliest"],
        "earliest": min(earliest).isoformat(),
        "latest": max(latest).isoformat(),
        "places": places,
        "actors": actors,
    }


def weeks(found: dict[str, Any]) -> list[str]:
    """The weeks (their Mondays) an incident's widened interval touches."""
    first = date.fromisoformat(week_of(found["earliest"]))
    last = date.fromisoformat(week_of(found["latest"]))
    count = (last - first).days // 7 + 1
    if count > MAX_BLOCK_WEEKS:
        return []
    return [(first + timedelta(weeks=n)).isoformat() for n in range(count)]


def blocks(found: dict[str, Any]) -> list[str]:
    """The blocks an incident is filed under: `country|week|actor`, or `?|week|actor`
    with no place. Every match needs an actor in common, so blocking by actor too
    loses no candidate, and keeps blocks small in a dense log (a country's week
    holds thousands of events; an actor's share of it, far fewer)."""
    countries = sorted({p["country"] for p in found["places"] if p["country"]})
    if found["places"] and not countries:
        return []  # places, none with a country: nothing to block by
    actors = sorted({actor for actor, _, _ in found["actors"]})
    return [f"{c}|{w}|{a}" for c in countries or [NO_PLACE] for w in weeks(found) for a in actors]


def block_scope(block: str) -> str:
    """A block's `week|actor`: what a placeless incident is compared within."""
    return block.split("|", 1)[1]


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def _place_reason(
    a: dict[str, Any], b: dict[str, Any], max_km: float
) -> tuple[dict[str, str], float | None] | None:
    if not a["places"] or not b["places"]:
        return {"rule": "place", "detail": "one names no place"}, None
    nearest: tuple[float, str] | None = None
    for country in sorted({p["country"] for p in a["places"] if p["country"]}):
        mine = [p for p in a["places"] if p["country"] == country]
        theirs = [p for p in b["places"] if p["country"] == country]
        same = sorted({p["name"] for p in mine} & {p["name"] for p in theirs})
        if same:
            return {"rule": "place", "detail": f"same place {same[0]!r} ({country})"}, None
        for p in mine:
            for q in theirs:
                if p["lat"] is None or q["lat"] is None:
                    continue
                km = distance_km((p["lat"], p["lon"]), (q["lat"], q["lon"]))
                if km <= max_km and (nearest is None or km < nearest[0]):
                    nearest = (km, country)
    if nearest is None:
        return None
    km = round(nearest[0], 1)
    return {"rule": "place", "detail": f"{km} km apart ({nearest[1]})"}, km


def match(
    a: dict[str, Any], b: dict[str, Any], max_km: float = DEFAULT_KM
) -> dict[str, Any] | None:
    """Why incidents `a` and `b` (their `features`) are likely one occurrence, or None.

    Answers the reasons matched, one per rule, and the distance in km when the
    places matched by coordinates only (None otherwise)."""
    if a["incident"] == b["incident"]:
        return None
    if not (a["earliest"] <= b["latest"] and b["earliest"] <= a["latest"]):
        return None
    place = _place_reason(a, b, max_km)
    if place is None:
        return None
    theirs = {actor_id: set(groups) for actor_id, _, groups in b["actors"]}
    shared = [
        f"{name} ({', '.join(sorted(set(groups) & theirs[actor_id]))})"
        for actor_id, name, groups in a["actors"]
        if set(groups) & theirs.get(actor_id, set())
    ]
    if not shared:
        return None
    low, high = max(a["earliest"], b["earliest"]), min(a["latest"], b["latest"])
    reasons = [
        {"rule": "kind", "detail": f"{'/'.join(a['kinds'])} and {'/'.join(b['kinds'])}"},
        {"rule": "when", "detail": f"intervals overlap {low}..{high}"},
        place[0],
        {"rule": "actor", "detail": "; ".join(shared)},
    ]
    return {"reasons": reasons, "km": place[1]}


def candidate(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """The stored candidate row of two incidents' features (kept up to STORED_KM)."""
    first, second = sorted((a, b), key=lambda f: f["incident"])
    found = match(first, second, STORED_KM)
    if found is None:
        return None
    return {
        "incidents": [first["incident"], second["incident"]],
        "reasons": found["reasons"],
        "km": found["km"],
        "attacks": first["attack"] and second["attack"],
        "day": min(first["day"], second["day"]),
    }


def within(pair: dict[str, Any], max_km: float) -> bool:
    """Whether a stored candidate holds at the asked distance."""
    return pair["km"] is None or pair["km"] <= max_km
