"""The attack tally as sources had published it by a day (`reported_by`).

The plain tally sums rows the fold keeps current (`attack_days`, `tally_about`).
Here every incident of the report versions that count by the day is derived
again with the fold's own pure rules (`incident_core`, `derive.attack`,
`derive.reported_tally`, `derive.tally_about`) and counted in Python: a scan of
what was published by then, not an index range.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from projections import derive
from projections.as_reported import AsReported
from projections.database import Cursor
from projections.merge import incident_core
from projections.reading import ReadView

# The plain tally's labels for an attack without any (tally_view's SQL).
UNKNOWN_COUNTRY, UNCLAIMED, UNSTATED = "unknown", "unclaimed", "unstated"


def attacks_as_reported(
    view: ReadView, cursor: Cursor, as_of: int | None, by: AsReported, side: list[str], start: date
) -> list[dict[str, Any]]:
    """The documented attacks on the side since `start`, in (day, incident) order."""
    resolve = view.resolver(cursor, as_of, by.docs())
    wanted, since = set(side), start.isoformat()
    found = []
    for incident, rows in by.report_rows(by.incidents()).items():
        attack = derive.attack(incident_core(incident, [r["doc"] for r in rows], resolve))
        if attack and attack["day"] >= since and wanted & {t["key"] for t in attack["targets"]}:
            found.append(attack)
    return sorted(found, key=lambda a: (a["day"], a["incident"]))


def groups_of(attacks: list[dict[str, Any]], group_by: str) -> dict[str, int]:
    """Attacks per label; by country, claimant or means an attack counts under each
    of its own (or "unknown", "unclaimed", "unstated"), as the plain tally's SQL
    counts them."""
    groups: dict[str, int] = {}
    for attack in attacks:
        if group_by in ("day", "week"):
            labels = [attack[group_by]]
        elif group_by == "country":
            labels = attack["countries"] or [UNKNOWN_COUNTRY]
        elif group_by == "means":
            labels = attack["means"] or [UNSTATED]
        else:
            labels = [c["name"] for c in attack["claimants"]] or [UNCLAIMED]
        for label in labels:
            groups[label] = groups.get(label, 0) + 1
    return groups


def tallies_as_reported(
    view: ReadView, cursor: Cursor, as_of: int | None, by: AsReported, side: list[str]
) -> list[dict[str, Any]]:
    """The tallies sources reported about the side (or about no one in particular),
    each with its `tally_about` columns, in the order of the days they speak for."""
    docs = [d for d in by.docs() if d["content"]["kind"] == "tally"]
    resolve = view.resolver(cursor, as_of, docs)
    about_side = {"*", *side}
    found = []
    for doc in docs:
        tally = derive.reported_tally(doc, resolve)
        if tally is None:
            continue
        about = derive.tally_about(tally)
        if about_side & {columns[1] for columns in about.values()}:
            _, _, since, day, _figures, best = next(iter(about.values()))
            found.append({"tally": tally, "since": since, "day": day, "best": best})
    return sorted(found, key=lambda t: (t["day"], t["tally"]["report"]))


def best_reported(tallies: list[dict[str, Any]], start: date, tolerance_days: int) -> Any:
    """The tally whose highest credible attack figure feeds the headline (the latest
    on a tie, then the first report), as the plain tally's index finds it; and that
    figure's count. None if no tally fits."""
    tolerance = timedelta(days=tolerance_days)
    low, high = (start - tolerance).isoformat(), (start + tolerance).isoformat()
    fitting = [t for t in tallies if t["best"] is not None and low <= t["since"] <= high]
    if not fitting:
        return None
    fitting.sort(key=lambda t: t["tally"]["report"])
    fitting.sort(key=lambda t: (t["best"], t["day"]), reverse=True)
    tally, value = fitting[0]["tally"], fitting[0]["best"]
    count = next(
        c
        for c in tally["counts"]
        if c["counted"] == "attacks" and c["qualifier"] in derive.CREDIBLE and c["value"] == value
    )
    return tally, count
