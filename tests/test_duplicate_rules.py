"""The pure rules: duplicate scoring and blocking, the tally's period, double counts,
reported series and their disagreements."""

from __future__ import annotations

from projections import duplicates, tally_rules
from projections.merge import incident_core

US = "00000000-0000-4000-8000-000000000001"
KH = "00000000-0000-4000-8000-000000000002"


def _resolve(name: str, explicit: str | None) -> dict:
    ids = {"United States": US, "Kataeb Hezbollah": KH}
    actor_id = ids.get(name)
    return {"key": actor_id or f"name:{name}", "id": actor_id, "name": name, "category": None}


def _report(rid: str, kind="attack", when=("2024-01-28", "2024-01-28"), places=(), **extra):
    return {
        "id": rid,
        "filed_position": 1,
        "retracted": False,
        "corrections": [],
        "content": {
            "kind": kind,
            "when": {"earliest": when[0], "latest": when[1], **extra},
            "places": list(places),
            "actors": [
                {"name": "United States", "role": "target"},
                {"name": "Kataeb Hezbollah", "role": "claimant"},
            ],
            "source": {"outlet": "AFP"},
        },
    }


def _features(report: dict) -> dict | None:
    return duplicates.features(incident_core(f"report:{report['id']}", [report], _resolve))


TOWER = {"name": "Tower 22", "country": "JO", "latitude": 33.32, "longitude": 38.69}
RUKBAN = {"name": "Rukban", "country": "JO", "latitude": 33.30, "longitude": 38.75}


def test_nearby_places_overlapping_days_and_a_shared_actor_match_with_reasons():
    a, b = _features(_report("a", places=[TOWER])), _features(_report("b", places=[RUKBAN]))
    found = duplicates.match(a, b, 25)
    assert [r["rule"] for r in found["reasons"]] == ["kind", "when", "place", "actor"]
    assert 5 < found["km"] < 7
    assert duplicates.match(a, b, 5) is None  # beyond the configured distance


def test_each_rule_can_refuse_a_match():
    a = _features(_report("a", places=[TOWER]))
    later = _features(_report("b", when=("2024-01-30", "2024-01-30"), places=[TOWER]))
    assert duplicates.match(a, later) is None  # days do not overlap
    approximate = _report("c", when=("2024-01-30", "2024-01-30"), places=[TOWER], approximate=True)
    assert duplicates.match(a, _features(approximate)) is not None  # within the stated slack
    syria = _features(_report("d", places=[{"name": "Tower 22", "country": "SY"}]))
    assert duplicates.match(a, syria) is None  # another country
    statement = _features(_report("e", kind="statement", places=[TOWER]))
    assert statement is None  # not of the attack family


def test_same_place_name_or_no_place_matches_without_a_distance():
    named = _features(_report("a", places=[{"name": "Tour-22", "country": "JO"}]))
    other = _features(_report("b", places=[{"name": "tour 22", "country": "JO"}]))
    found = duplicates.match(named, other)
    assert found["km"] is None
    assert found["reasons"][2]["detail"] == "same place 'tour 22' (JO)"
    nowhere = _features(_report("c"))
    assert duplicates.match(named, nowhere)["reasons"][2]["detail"] == "one names no place"


def test_roles_must_be_compatible():
    a = _features(_report("a", places=[TOWER]))
    swapped = _report("b", places=[TOWER])
    swapped["content"]["actors"] = [
        {"name": "United States", "role": "claimant"},
        {"name": "Kataeb Hezbollah", "role": "target"},
    ]
    assert duplicates.match(a, _features(swapped)) is None


def test_blocks_are_country_week_and_actor_and_vague_intervals_are_not_blocked():
    a = _features(_report("a", when=("2024-01-28", "2024-01-29"), places=[TOWER]))
    actors = sorted(actor for actor, _, _ in a["actors"])
    assert len(actors) == 2  # both resolved: one block each, per week
    assert duplicates.blocks(a) == [
        f"JO|{w}|{x}" for w in ("2024-01-22", "2024-01-29") for x in actors
    ]
    assert duplicates.blocks(_features(_report("b"))) == [f"?|2024-01-22|{x}" for x in actors]
    assert duplicates.block_scope(f"JO|2024-01-22|{actors[0]}") == f"2024-01-22|{actors[0]}"
    year = _features(_report("c", when=("2024-01-01", "2024-12-31"), places=[TOWER]))
    assert duplicates.blocks(year) == []


def test_the_tally_period_rule():
    start = "2023-10-17"
    assert tally_rules.in_period("2023-10-17", "2023-10-17", start) == tally_rules.CERTAIN
    assert tally_rules.in_period("2023-10-01", "2023-10-31", start) == tally_rules.POSSIBLE
    assert tally_rules.in_period("2023-10-15", "2023-10-20", start) == tally_rules.POSSIBLE
    assert tally_rules.in_period("2023-10-01", "2023-10-16", start) is None


def test_attacks_possibly_counted_twice():
    attacks = {"a", "b", "c", "d"}
    assert tally_rules.possibly_twice(attacks, []) == 0
    assert tally_rules.possibly_twice(attacks, [["a", "b"]]) == 1
    assert tally_rules.possibly_twice(attacks, [["a", "b"], ["b", "c"]]) == 2
    assert tally_rules.possibly_twice(attacks, [["a", "b"], ["c", "d"]]) == 2
    assert tally_rules.possibly_twice({"a"}, [["a", "x"]]) == 0  # x not counted


def _figure(outlet, value, qualifier, day="2024-02-02", since="2023-10-17", report="r"):
    return {
        "outlet": outlet, "speaker": None, "value": value, "qualifier": qualifier,
        "counted": "attacks", "since": since, "speaks_for": day, "report": report,
        "wording": None,
    }  # fmt: skip


def test_reported_series_per_source_and_their_disagreements():
    figures = [
        _figure("AFP", 165, "at_least", report="r1"),
        _figure("AFP", 150, "at_least", day="2024-01-20", report="r2"),
        _figure("Pentagon", 160, "exact", report="r3"),
    ]
    series = tally_rules.series(figures)
    assert [(s["outlet"], [p["day"] for p in s["points"]]) for s in series] == [
        ("AFP", ["2024-01-20", "2024-02-02"]),
        ("Pentagon", ["2024-02-02"]),
    ]
    (found,) = tally_rules.disagreements(figures)
    assert (found["type"], found["day"]) == ("tally_disagreement", "2024-02-02")
    assert sorted(f["report"] for f in found["figures"]) == ["r1", "r3"]
    agreeing = [_figure("AFP", 165, "at_least"), _figure("Pentagon", 170, "exact")]
    assert tally_rules.disagreements(agreeing) == []
    about = [_figure("AFP", 100, "about"), _figure("Pentagon", 105, "exact")]
    assert tally_rules.disagreements(about) == []
