"""Reading likely duplicates: the candidates of some incidents, or all of them a page at
a time, at a log position. Candidates are kept up to `duplicates.STORED_KM` apart;
`max_km` (the `duplicate_distance_km` setting) chooses among them when read."""

from __future__ import annotations

from typing import Any

import orjson

from projections.database import Cursor
from projections.duplicates import within
from projections.generation import Generation
from projections.paging import after_key, encode_cursor
from projections.reading import fetch_in


def _distance(max_km: float) -> tuple[str, list[Any]]:
    return "(metres IS NULL OR metres <= %s)", [round(max_km * 1000)]


def candidates_of(
    gen: Generation, cursor: Cursor, as_of: int | None, incidents: list[str], max_km: float
) -> dict[str, list[dict[str, Any]]]:
    """incident -> [{incident, reasons}] for each undecided candidate it is part of."""
    found: dict[str, list[dict[str, Any]]] = {key: [] for key in incidents}
    seen = set()
    for column in ("a", "b"):
        for row in fetch_in(gen.dup_pairs, cursor, as_of, ("key", "doc"), column, incidents):
            if row["key"] in seen:
                continue
            seen.add(row["key"])
            pair = orjson.loads(row["doc"])
            if not within(pair, max_km):
                continue
            first, second = pair["incidents"]
            for mine, other in ((first, second), (second, first)):
                if mine in found:
                    found[mine].append({"incident": other, "reasons": pair["reasons"]})
    for listed in found.values():
        listed.sort(key=lambda c: c["incident"])
    return found


def page(
    gen: Generation,
    cursor: Cursor,
    as_of: int | None,
    *,
    max_km: float,
    after: str | None = None,
    limit: int = 100,
) -> tuple[list[dict[str, Any]], str | None]:
    """Candidates in key order, and the cursor of the next page."""
    where, params = _distance(max_km)
    if after:
        sub, sub_params = after_key(("key",), after)
        where, params = f"{where} AND {sub}", [*params, *sub_params]
    rows = gen.dup_pairs.fetch(cursor, as_of, ("key", "doc"), where, params, "key", limit + 1)
    listed = [orjson.loads(row["doc"]) for row in rows[:limit]]
    more = len(rows) > limit
    pairs = [
        {"incidents": p["incidents"], "reasons": p["reasons"], "both_attacks": p["attacks"]}
        for p in listed
    ]
    return pairs, encode_cursor([rows[limit - 1]["key"]]) if more else None


def attack_pairs(
    gen: Generation, cursor: Cursor, as_of: int | None, start: str, max_km: float
) -> list[list[str]]:
    """The candidate pairs of two attacks both dated from `start` on."""
    where, params = _distance(max_km)
    rows = gen.dup_pairs.fetch(
        cursor, as_of, ("a", "b"), f"attacks = 1 AND day >= %s AND {where}", [start, *params], "key"
    )
    return [[row["a"], row["b"]] for row in rows]
