"""The pure rules of `reported_by`: which day a report version counts from, and
which version counts by a day (projections/reported_by.py)."""

from __future__ import annotations

from projections.reported_by import counting_version, counts_from, day_of, undated

RECORDED = "2026-12-01T19:00:00.000000+00:00"


def test_a_version_counts_from_its_publication_day_else_its_recorded_day():
    assert counts_from(None, "2024-02-02", RECORDED) == "2024-02-02"
    assert counts_from(None, "2024-02-02T23:40:00+01:00", RECORDED) == "2024-02-02"  # its own day
    assert counts_from(None, None, RECORDED) == "2026-12-01"
    assert day_of("2024-02-05T09:00:00Z") == "2024-02-05"


def test_a_change_never_counts_before_the_version_it_changes():
    # A correction dated before the report it corrects counts from the report's day.
    assert counts_from("2024-02-05", "2024-02-01", RECORDED) == "2024-02-05"
    assert counts_from("2024-02-02", "2024-02-04", RECORDED) == "2024-02-04"
    assert counts_from("2024-02-02", None, RECORDED) == "2026-12-01"


def test_the_latest_version_on_or_before_the_day_counts():
    versions = [(3, "2024-02-02", "filed"), (7, "2024-02-04", "corrected"), (9, "2026-12-01", "x")]
    assert counting_version(versions, "2024-02-01") is None
    assert counting_version(versions, "2024-02-02") == "filed"
    assert counting_version(versions, "2024-02-03") == "filed"
    assert counting_version(versions, "2024-02-04") == "corrected"
    assert counting_version(versions, "2026-12-01") == "x"
    assert counting_version(list(reversed(versions)), "2024-02-05") == "corrected"  # any order


def test_undated_counts_the_filing_and_each_change_without_a_publication_day():
    report = {
        "dated": False,
        "corrections": [{"published_at": "2024-02-04"}, {"published_at": None}],
        "retraction": {"published_at": None},
    }
    assert undated(report) == (1, 2)
    assert undated({"dated": True, "corrections": [], "retraction": None}) == (0, 0)
