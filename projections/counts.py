"""Merging the counts of one incident's reports: pure functions over plain dicts.

A figure is what one report says of one (counted, whose): its counts of that
pair are parts of one whole ("3 killed in the north" and "2 in the south"), so
they are summed, never weighed against each other. Across reports, each
figure bounds the truth: exact 3 is [3, 3], at least 85 is [85, ∞), at most 3
is [0, 3], `low`/`high` when a source gives them (UCDP's low/best/high), and
about 40 bounds nothing. The merge keeps what every source allows:

- the bounds all sources allow overlap: an exact value inside them stays
  exact ("exactly 3" and "at most 3": exactly 3); bounds that meet on one value
  make it exact ("at least 3" and "at most 3"); otherwise a lower bound, an
  upper bound or a range of both; "about" figures alone give about a value, or
  the range of them;
- they do not overlap ("at least 85" and "exactly 50"): the figure is
  `disputed` and a `count_disagreement` names every report and its figure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

GROUPS = ("civilians", "combatants", "unknown")

# Which qualifier a sum of parts has: the parts' qualifiers, combined honestly.
SUMMED = {
    frozenset({"exact"}): "exact",
    frozenset({"at_least"}): "at_least",
    frozenset({"at_most"}): "at_most",
    frozenset({"about"}): "about",
    frozenset({"exact", "at_least"}): "at_least",
    frozenset({"exact", "at_most"}): "at_most",
}

Whose = Callable[[str | None], tuple[str, str | None]]  # whose as written -> (key, shown)


def part_bounds(count: dict[str, Any]) -> tuple[int, int | None]:
    """What one count allows: (lowest, highest), None for no upper bound."""
    value, qualifier = count["value"], count["qualifier"]
    low, high = count.get("low"), count.get("high")
    if low is None:
        low = value if qualifier in ("exact", "at_least") else 0
    if high is None and qualifier in ("exact", "at_most"):
        high = value
    return low, high


def figure(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One report's figure for one (counted, whose): its parts summed."""
    bounds = [part_bounds(p) for p in parts]
    highs = [high for _, high in bounds]
    stated_lows = [p.get("low") for p in parts]
    stated_highs = [p.get("high") for p in parts]
    words = [p["wording"] for p in parts if p.get("wording")]
    found = {
        "value": sum(p["value"] for p in parts),
        "qualifier": SUMMED.get(frozenset(p["qualifier"] for p in parts), "about"),
        # A source's own low/high, summed when every part gives one.
        "low": None if None in stated_lows else sum(stated_lows),
        "high": None if None in stated_highs else sum(stated_highs),
        "wording": "; ".join(words) if words else None,
        "_allows": (sum(low for low, _ in bounds), None if None in highs else sum(highs)),
    }
    if len(parts) > 1:
        found["parts"] = [
            {k: p.get(k) for k in ("value", "qualifier", "low", "high", "wording")} for p in parts
        ]
    return found


def merge_figures(figures: list[dict[str, Any]]) -> dict[str, Any]:
    """The merged figure of several sources' figures of one (counted, whose)."""
    values = [f["value"] for f in figures]
    lowest = max(f["_allows"][0] for f in figures)
    uppers = [f["_allows"][1] for f in figures if f["_allows"][1] is not None]
    highest = min(uppers) if uppers else None
    merged: dict[str, Any] = {
        "low": min(values),
        "high": max(values),
        "bounds": {"low": lowest, "high": highest},
    }
    if highest is not None and lowest > highest:
        return {"qualifier": "disputed", "value": min(values), **merged}
    exact = {f["value"] for f in figures if f["qualifier"] == "exact"}
    fits = {v for v in exact if lowest <= v and (highest is None or v <= highest)}
    if len(exact) == 1 and fits:  # one exact value, and every source allows it
        return {"qualifier": "exact", "value": fits.pop(), **merged}
    if lowest == highest:
        return {"qualifier": "exact", "value": lowest, **merged}
    bounded = any(
        f["qualifier"] != "about" or f["low"] is not None or f["high"] is not None for f in figures
    )
    if bounded and highest is None:
        return {"qualifier": "at_least", "value": lowest, **merged}
    if bounded and lowest == 0:
        return {"qualifier": "at_most", "value": highest, **merged}
    if bounded:
        return {"qualifier": "range", "value": lowest, **merged}
    if len(set(values)) == 1:
        return {"qualifier": "about", "value": values[0], **merged}
    return {"qualifier": "range", "value": min(values), **merged}


def merge_counts(
    reports: Iterable[dict[str, Any]], whose_of: Whose
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Merged counts per (counted, whose), and a `count_disagreement` for each
    pair whose figures cannot all be true. `whose_of` tells which whose two
    spellings mean (the same actor, or the same group)."""
    by_pair: dict[tuple[str, str], dict[str, Any]] = {}
    for report in reports:
        parts: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for count in report["content"].get("counts", ()):
            key, shown = whose_of(count.get("whose"))
            pair = (count["counted"], key)
            parts.setdefault(pair, []).append(count)
            by_pair.setdefault(pair, {"whose": shown, "figures": []})
        for pair, stated in parts.items():
            by_pair[pair]["figures"].append((report, figure(stated)))
    merged, disagreements = [], []
    for pair in sorted(by_pair, key=_order):
        counted, whose = pair[0], by_pair[pair]["whose"]
        figures = by_pair[pair]["figures"]
        item = {
            "counted": counted,
            "whose": whose,
            **merge_figures([f for _, f in figures]),
            "sources": [{"report": r["id"], **_public(f)} for r, f in figures],
        }
        merged.append(item)
        if item["qualifier"] == "disputed":
            disagreements.append(_disagreement(counted, whose, figures))
    return merged, disagreements


def _order(pair: tuple[str, str]) -> tuple[str, int, str]:
    counted, whose = pair
    rank = 0 if whose == "" else 1 + GROUPS.index(whose) if whose in GROUPS else len(GROUPS) + 1
    return counted, rank, whose


def _public(found: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in found.items() if not k.startswith("_")}


def _disagreement(
    counted: str, whose: str | None, figures: list[tuple[dict[str, Any], dict[str, Any]]]
) -> dict[str, Any]:
    of = f" of {whose}" if whose else ""
    return {
        "type": "count_disagreement",
        "detail": f"sources give figures of {counted}{of} that cannot all be true",
        "counted": counted,
        "whose": whose,
        "reports": [
            {
                "report": report["id"],
                **{k: found[k] for k in ("value", "qualifier", "low", "high", "wording")},
                "outlet": report["content"]["source"]["outlet"],
                "speaker": report["content"]["source"].get("speaker"),
            }
            for report, found in figures
        ],
    }


def whose_resolver(resolve: Callable[[str, str | None], dict[str, Any]]) -> Whose:
    """`whose_of` for `merge_counts`: a group as itself; a name as the actor it
    resolves to (its key, and its canonical name or the name as written)."""

    def whose_of(whose: str | None) -> tuple[str, str | None]:
        if whose is None:
            return "", None
        if whose in GROUPS:
            return whose, whose
        actor = resolve(whose, None)
        return f"actor:{actor['key']}", actor["name"] or whose

    return whose_of
