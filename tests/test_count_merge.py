"""The count merge rules (projections/counts.py), as pure functions."""

from __future__ import annotations

from typing import Any

import pytest

from projections.counts import merge_counts, whose_resolver


def count(value: int, qualifier: str = "exact", counted: str = "killed", **more: Any) -> dict:
    return {"value": value, "qualifier": qualifier, "counted": counted, **more}


def report(rid: str, *counts: dict[str, Any]) -> dict[str, Any]:
    source = {"outlet": f"outlet {rid}", "speaker": None}
    return {"id": rid, "content": {"counts": list(counts), "source": source}}


def resolve(name: str, _: str | None) -> dict[str, Any]:
    # Two spellings of one actor, and a name nobody registered.
    if name.casefold() in ("hachd al-chaabi", "pmf"):
        return {"key": "a-1", "name": "Hachd al-Chaabi"}
    return {"key": f"name:{name.casefold()}", "name": None}


def merged(*reports: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return merge_counts(list(reports), whose_resolver(resolve))


def figure(*reports: dict[str, Any]) -> tuple[str, int]:
    [item], _ = merged(*reports)
    return item["qualifier"], item["value"]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (count(3), count(3, "at_most"), ("exact", 3)),
        (count(3), count(2, "at_least"), ("exact", 3)),
        (count(85), count(85, "at_least"), ("exact", 85)),
        (count(3, "at_least"), count(3, "at_most"), ("exact", 3)),
        (count(3, "at_least"), count(5, "at_least"), ("at_least", 5)),
        (count(3, "at_most"), count(5, "at_most"), ("at_most", 3)),
        (count(2, "at_least"), count(6, "at_most"), ("range", 2)),
        (count(40, "about"), count(40, "about"), ("about", 40)),
        (count(40, "about"), count(45, "about"), ("range", 40)),
        (count(40, "about"), count(30, "at_least"), ("at_least", 30)),
        (count(40, "about"), count(38), ("exact", 38)),
    ],
)
def test_figures_that_can_all_be_true(a, b, expected):
    assert figure(report("r1", a), report("r2", b)) == expected
    assert merged(report("r1", a), report("r2", b))[1] == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (count(85, "at_least"), count(50)),
        (count(3), count(4)),
        (count(10, "at_most"), count(11, "at_least")),
        (count(10, "about", low=8, high=12), count(20)),
    ],
)
def test_figures_that_cannot_all_be_true_are_a_disagreement(a, b):
    [item], [contradiction] = merged(report("r1", a), report("r2", b))
    assert item["qualifier"] == "disputed"
    assert (item["low"], item["high"]) == tuple(sorted((a["value"], b["value"])))
    assert contradiction["type"] == "count_disagreement"
    assert contradiction["counted"] == "killed"
    assert [(r["report"], r["value"], r["qualifier"]) for r in contradiction["reports"]] == [
        ("r1", a["value"], a["qualifier"]),
        ("r2", b["value"], b["qualifier"]),
    ]
    assert contradiction["reports"][0]["outlet"] == "outlet r1"


def test_parts_of_one_report_are_summed_not_weighed():
    one = report("r1", count(3, whose="combatants"), count(5, "at_least", whose="civilians"))
    items, disputes = merged(one)
    assert disputes == []
    assert [(i["whose"], i["qualifier"], i["value"]) for i in items] == [
        ("civilians", "at_least", 5),
        ("combatants", "exact", 3),
    ]
    parts = report("r1", count(3, whose="civilians"), count(5, "at_least", whose="civilians"))
    [item], disputes = merged(parts)
    assert (item["qualifier"], item["value"], disputes) == ("at_least", 8, [])
    assert [p["value"] for p in item["sources"][0]["parts"]] == [3, 5]


@pytest.mark.parametrize(
    ("qualifiers", "summed"),
    [
        (("exact", "exact"), "exact"),
        (("exact", "at_least"), "at_least"),
        (("at_most", "exact"), "at_most"),
        (("at_least", "at_most"), "about"),
        (("about", "exact"), "about"),
    ],
)
def test_summed_parts_combine_their_qualifiers(qualifiers, summed):
    [item], _ = merged(report("r1", *(count(2, q) for q in qualifiers)))
    assert (item["sources"][0]["qualifier"], item["sources"][0]["value"]) == (summed, 4)


def test_summed_parts_then_meet_other_sources():
    # 3 + at least 5 is at least 8: a source saying exactly 6 cannot be right.
    _, [dispute] = merged(report("r1", count(3), count(5, "at_least")), report("r2", count(6)))
    assert [r["value"] for r in dispute["reports"]] == [8, 6]
    # ... and exactly 9 can.
    [item], none = merged(report("r1", count(3), count(5, "at_least")), report("r2", count(9)))
    assert (item["qualifier"], item["value"], none) == ("exact", 9, [])


def test_whose_keeps_figures_apart_and_names_one_actor_one_way():
    items, disputes = merged(
        report("r1", count(3, whose="PMF")),
        report("r2", count(3, "at_most", whose="Hachd al-Chaabi")),
        report("r3", count(7)),
    )
    assert disputes == []
    assert [(i["whose"], i["qualifier"], i["value"]) for i in items] == [
        (None, "exact", 7),
        ("Hachd al-Chaabi", "exact", 3),
    ]


def test_low_and_high_bounds_are_kept_and_merged():
    ucdp = count(10, low=8, high=15)
    [item], none = merged(report("r1", ucdp), report("r2", count(9, "at_least")))
    assert none == []
    assert item["bounds"] == {"low": 9, "high": 15}
    assert (item["qualifier"], item["value"]) == ("exact", 10)
    assert (item["sources"][0]["low"], item["sources"][0]["high"]) == (8, 15)
    # An exact value outside another source's bound does not stay exact.
    [item], none = merged(report("r1", count(3, low=2, high=5)), report("r2", count(4, "at_least")))
    assert (item["qualifier"], item["value"], item["bounds"]) == (
        "range",
        4,
        {"low": 4, "high": 5},
    )
    # Parts' bounds add up when every part gives them.
    [item], _ = merged(report("r1", count(2, low=1, high=3), count(4, low=4, high=6)))
    assert (item["sources"][0]["low"], item["sources"][0]["high"]) == (5, 9)
