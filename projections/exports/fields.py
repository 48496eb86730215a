"""What every format derives from an entry: date precision, the best-located
place, the two sides of an event, figures as words."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date
from typing import Any

import pycountry

# Finest first: the point a map shows is the most precise place the sources give.
COORDINATE_PRECISIONS = ("exact", "near", "locality", "region", "country")
# ACLED's geo_precision: 1 the place itself, 2 near it or part of a region, 3 a larger region.
GEO_PRECISION = {"exact": 1, "locality": 1, "near": 2, "region": 3, "country": 3}

# ACLED's actor1 side: who acted (or said it did); actor2: who it was done to.
SIDE_1 = ("perpetrator", "claimant")
SIDE_2 = ("target", "affected")

MONTHS = tuple(calendar.month_name)  # English names whatever the locale: "", "January", ...


def located(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The entry's places with coordinates: each place once, at the finest
    coordinates any active report gives it (`merge.merge_places`)."""
    return [place for place in entry.get("places", ()) if place.get("latitude") is not None]


def best_place(located: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The most precise located place (unknown precision last); the first on a tie."""
    if not located:
        return None

    def rank(place: dict[str, Any]) -> int:
        precision = place.get("coordinate_precision")
        return COORDINATE_PRECISIONS.index(precision) if precision else len(COORDINATE_PRECISIONS)

    return min(located, key=rank)


def date_unit(earliest: str, latest: str) -> str:
    """The coarsest calendar unit both bounds are whole in: year, month or day."""
    first, last = date.fromisoformat(earliest), date.fromisoformat(latest)
    month_end = last.day == calendar.monthrange(last.year, last.month)[1]
    if first.day == 1 and month_end:
        return "year" if first.month == 1 and last.month == 12 else "month"
    return "day"


def is_single(earliest: str, latest: str, unit: str) -> bool:
    """Whether the interval is one day, one month or one year of its unit."""
    if unit == "year":
        return earliest[:4] == latest[:4]
    if unit == "month":
        return earliest[:7] == latest[:7]
    return earliest == latest


def time_precision(earliest: str, latest: str) -> int:
    """ACLED's time_precision: 1 a day, 2 within a week, 3 longer (a month or its part)."""
    days = (date.fromisoformat(latest) - date.fromisoformat(earliest)).days + 1
    return 1 if days == 1 else 2 if days <= 7 else 3


def _day_text(day: str) -> str:
    parsed = date.fromisoformat(day)
    return f"{parsed.day} {MONTHS[parsed.month]} {parsed.year}"


def _unit_text(day: str, unit: str) -> str:
    if unit == "year":
        return day[:4]
    if unit == "month":
        return f"{MONTHS[int(day[5:7])]} {day[:4]}"
    return _day_text(day)


def interval_text(earliest: str, latest: str) -> str:
    """The interval in words at its own precision: "January 2024", "2 – 3 February 2024"."""
    unit = date_unit(earliest, latest)
    start, end = _unit_text(earliest, unit), _unit_text(latest, unit)
    if is_single(earliest, latest, unit):
        return start
    return f"{start} – {end}"


def wordings(entry: dict[str, Any]) -> list[str]:
    """How the sources worded the date, each wording once."""
    found: list[str] = []
    for source in entry.get("sources", ()):
        wording = source["when"].get("wording")
        if wording and wording not in found:
            found.append(wording)
    return found


def display_date(entry: dict[str, Any]) -> str:
    """The date as the sources word it, with the interval it stands for, and any disagreement."""
    when = entry["when"]
    text = interval_text(when["earliest"], when["latest"])
    worded = wordings(entry)
    if worded:
        text = f"{' / '.join(worded)} ({text})"
    if not when["agreed"]:
        envelope = when["envelope"]
        text += (
            f"; sources disagree, between {interval_text(envelope['earliest'], envelope['latest'])}"
        )
    return text


def sides(entry: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """Actor names on ACLED's side 1 (perpetrators, claimants), side 2 (targets,
    affected) and the rest (speakers, deniers), each actor once, on its first side."""
    one, two, rest = [], [], []
    for actor in entry.get("actors", ()):
        roles = set(actor["roles"])
        if roles & set(SIDE_1):
            one.append(actor["name"])
        elif roles & set(SIDE_2):
            two.append(actor["name"])
        else:
            rest.append(actor["name"])
    return one, two, rest


def actors_text(entry: dict[str, Any]) -> str:
    """Every actor with its roles: "Hachd al-Chaabi (target); Iran (denier)"."""
    return "; ".join(f"{a['name']} ({', '.join(a['roles'])})" for a in entry.get("actors", ()))


def count_text(count: dict[str, Any]) -> str:
    """A merged figure in words, never more certain than its qualifier: "at least 85
    sites", "3 killed (civilians)", "disputed: 50 to 85 sites"."""
    value, counted, qualifier = count["value"], count["counted"], count["qualifier"]
    of = f" ({count['whose']})" if count.get("whose") else ""
    if qualifier in ("range", "disputed"):
        low, high = _span(count)
        spread = f"{low} to {high} {counted}{of}"
        return f"disputed: {spread}" if qualifier == "disputed" else spread
    prefix = {"at_least": "at least ", "at_most": "at most ", "about": "about "}.get(qualifier, "")
    return f"{prefix}{value} {counted}{of}"


def _span(count: dict[str, Any]) -> tuple[int, int]:
    """A range's ends: the bounds every source allows when they close it, else the
    lowest and highest figures given (and a dispute's are always the figures)."""
    bounds = count.get("bounds") or {}
    if count["qualifier"] == "range" and bounds.get("low") and bounds.get("high") is not None:
        return bounds["low"], bounds["high"]
    return count["low"], count["high"]


def counts_text(entry: dict[str, Any]) -> str:
    return "; ".join(count_text(c) for c in entry.get("counts", ()))


def killed(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The killed figure: of everyone when a source gives one, else the first by whose."""
    figures = [c for c in entry.get("counts", ()) if c["counted"] == "killed"]
    return next((c for c in figures if not c.get("whose")), figures[0] if figures else None)


def fatalities(count: dict[str, Any] | None) -> int | None:
    """ACLED's conservative figure: the lowest the sources allow (for a dispute, the
    lowest figure given). None when no source gives a floor (none, or "at most")."""
    if count is None or count["qualifier"] == "at_most":
        return None
    return _span(count)[0] if count["qualifier"] in ("range", "disputed") else count["value"]


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country else code


def source_text(source: dict[str, Any]) -> str:
    """An outlet and whom it quotes: "AFP, quoting un responsable … (anonymous)"."""
    text = source["outlet"]
    if source.get("speaker"):
        text += f", quoting {source['speaker']}"
        if source.get("anonymous"):
            text += " (anonymous)"
    if source.get("published_at"):
        text += f", {source['published_at']}"
    return text


def distinct(values: Iterable[str | None]) -> list[str]:
    found: list[str] = []
    for value in values:
        if value and value not in found:
            found.append(value)
    return found
