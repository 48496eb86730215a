"""The tally's rules, as pure functions: which attacks fall in its period, which
may be counted twice, and which reported figures cannot all be true."""

from __future__ import annotations

import math
from typing import Any

CERTAIN, POSSIBLE = "certain", "possible"


def in_period(earliest: str, latest: str, start: str) -> str | None:
    """Whether an attack dated `earliest`..`latest` (ISO days) falls in the period
    from `start` on: CERTAIN if it began on or after the start, POSSIBLE if its
    interval straddles the start ("2023-10", or "2023-10-15/2023-10-20" for a start
    of 2023-10-17), None if it ended before."""
    if earliest >= start:
        return CERTAIN
    if latest >= start:
        return POSSIBLE
    return None


def possibly_twice(attacks: set[str], pairs: list[list[str]]) -> int:
    """How many of `attacks` may be counted twice, given candidate duplicate pairs:
    a group of n attacks linked by candidates may be as few as one attack."""
    parent = {a: a for a in attacks}

    def root(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in pairs:
        if a in parent and b in parent:
            parent[root(a)] = root(b)
    grouped = {a for a, b in pairs if a in parent and b in parent} | {
        b for a, b in pairs if a in parent and b in parent
    }
    return len(grouped) - len({root(a) for a in grouped})


def _bounds(value: int, qualifier: str) -> tuple[float, float]:
    """The values a figure allows ("about" within 10%, at least one either way)."""
    if qualifier == "at_least":
        return value, math.inf
    if qualifier == "at_most":
        return 0, value
    if qualifier == "about":
        slack = max(1.0, value * 0.1)
        return value - slack, value + slack
    return value, value


def series(figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reported figures as points per source (outlet and speaker), in day order."""
    by_source: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for figure in figures:
        by_source.setdefault((figure["outlet"], figure["speaker"]), []).append(figure)
    return [
        {
            "outlet": outlet,
            "speaker": speaker,
            "points": [
                {
                    "day": f["speaks_for"],
                    "since": f["since"],
                    "value": f["value"],
                    "qualifier": f["qualifier"],
                    "counted": f["counted"],
                    "report": f["report"],
                }
                for f in sorted(points, key=lambda f: (f["speaks_for"], f["report"]))
            ],
        }
        for (outlet, speaker), points in sorted(
            by_source.items(), key=lambda i: (i[0][0], i[0][1] or "")
        )
    ]


def disagreements(figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Figures for the same thing, period (since) and day that cannot all be true."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for figure in figures:
        key = (figure["counted"], figure["since"], figure["speaks_for"])
        groups.setdefault(key, []).append(figure)
    found = []
    for (counted, since, day), group in sorted(groups.items()):
        bounds = [_bounds(f["value"], f["qualifier"]) for f in group]
        if max(low for low, _ in bounds) <= min(high for _, high in bounds):
            continue
        found.append(
            {
                "type": "tally_disagreement",
                "counted": counted,
                "since": since,
                "day": day,
                "detail": "sources report figures for the same period and day "
                "that cannot all be true",
                "figures": [
                    {
                        k: f[k]
                        for k in ("report", "value", "qualifier", "outlet", "speaker", "wording")
                    }
                    for f in group
                ],
            }
        )
    return found
