"""The drivers of the fold, on a real store: time budgets, bulk rebuilds, shape upgrades."""

from __future__ import annotations

from datetime import date

import pytest

from domain.values import ReportContent
from projections.generation import Generation
from projections.runner import (
    apply_batch,
    build,
    create_meta,
    current_generation,
    rebuild,
    tracked_position,
)
from projections.timeline_view import TimelineView
from service.storage import open_application, open_views


def _content(day: int, incident: str, number: int) -> ReportContent:
    return ReportContent.model_validate(
        {
            "kind": "attack",
            "summary": f"report {number}",  # unkeyed reports with equal content are one
            "when": {"edtf": date(2024, 1, day).isoformat()},
            "incident_key": incident,
            "actors": [{"name": "US forces", "role": "target"}],
            "counts": [{"counted": "attacks", "value": 1}],
            "source": {"outlet": "AFP", "language": "fr"},
        }
    )


def _file(app, count: int) -> int:
    filings = app.file_reports([(_content(1 + i % 28, f"i{i % 7}", i), None) for i in range(count)])
    return max(f.position for f in filings)


def _serving_dump(views) -> dict:
    with views.transaction() as cursor:
        return Generation(views, current_generation(views, cursor)).dump(cursor)


def test_a_spent_budget_commits_what_was_applied_and_the_rest_follows(settings):
    app, views = open_application(settings), open_views(settings)
    try:
        create_meta(views)
        last = _file(app, 12)
        # A zero budget ends the batch after its first event, committed and tracked.
        applied, tracked = apply_batch(app, views, budget=0.0)
        assert applied == 1
        assert tracked_position(views) == tracked < last
        while apply_batch(app, views, budget=0.0)[0]:
            pass
        assert tracked_position(views) == last
        with views.transaction() as cursor:
            view = TimelineView(Generation(views, current_generation(views, cursor)))
            entries, _ = view.entries(cursor, None, limit=100)
        assert sorted(e["incident"] for e in entries) == [f"i{n}" for n in range(7)]
        assert sum(len(e["sources"]) for e in entries) == 12
    finally:
        views.close()
        app.close()


@pytest.mark.parametrize("page", [1, 4, 10_000])
def test_the_bulk_driver_writes_the_rows_the_incremental_one_does(settings, page):
    app, views = open_application(settings), open_views(settings)
    try:
        create_meta(views)
        _file(app, 30)
        while apply_batch(app, views, batch=7)[0]:  # incrementally, in small batches
            pass
        before = _serving_dump(views)
        assert len(before["reports"]) == 30
        generation = rebuild(app, views, page=page)
        with views.transaction() as cursor:
            assert current_generation(views, cursor) == generation == 2
        assert _serving_dump(views) == before
    finally:
        views.close()
        app.close()


def test_a_rebuild_keeps_the_serving_generation_and_drops_older_ones(sqlite_settings):
    app, views = open_application(sqlite_settings), open_views(sqlite_settings)
    try:
        create_meta(views)
        _file(app, 5)
        assert [rebuild(app, views), rebuild(app, views), rebuild(app, views)] == [2, 3, 4]
        with views.transaction() as cursor:
            cursor.execute(f"SELECT generation FROM {views.table('tl_tracking')} ORDER BY 1")
            assert [row["generation"] for row in cursor.fetchall()] == [3, 4]
            cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE 'tl_g2_%'")
            assert cursor.fetchall() == []
    finally:
        views.close()
        app.close()


def test_a_build_up_to_a_position_stops_there(settings):
    app, views = open_application(settings), open_views(settings)
    try:
        create_meta(views)
        _file(app, 9)
        generation = build(app, views, stop=4)
        with views.transaction() as cursor:
            gen = Generation(views, generation)
            assert gen.tracked(cursor) == 4
            assert len(gen.dump(cursor)["reports"]) == 4
    finally:
        views.close()
        app.close()


@pytest.mark.parametrize("before", ["older shape", "before shapes", "per-view tables"])
def test_views_of_an_older_shape_are_rebuilt_from_the_log(settings, before):
    app, views = open_application(settings), open_views(settings)
    try:
        create_meta(views)
        last = _file(app, 9)
        while apply_batch(app, views)[0]:
            pass
        with views.transaction() as cursor:
            served = current_generation(views, cursor)
        dump = _serving_dump(views)
        with views.transaction(write=True) as cursor:  # what an older version left behind
            if before == "older shape":
                cursor.execute(f"UPDATE {views.table('tl_shapes')} SET shape = 1")
            elif before == "before shapes":
                cursor.execute(f"DROP TABLE {views.table('tl_shapes')}")
            else:  # one generation per view, as before they shared one
                cursor.execute(f"CREATE TABLE {views.table('tl_timeline_g1_incidents')} (k TEXT)")
                cursor.execute(
                    f"INSERT INTO {views.table('tl_tracking')} VALUES ('timeline', 1, 3)"
                )
                cursor.execute(f"UPDATE {views.table('tl_shapes')} SET shape = 1")

        create_meta(views)  # what every process does when it opens the views

        assert tracked_position(views) == 0
        while apply_batch(app, views)[0]:
            pass
        assert tracked_position(views) == last
        with views.transaction() as cursor:
            assert current_generation(views, cursor) == served + 1
            cursor.execute(f"SELECT view FROM {views.table('tl_tracking')}")
            assert {row["view"] for row in cursor.fetchall()} == {"views"}
        assert _serving_dump(views) == dump
        create_meta(views)  # and once rebuilt, it stays
        assert tracked_position(views) == last
        if before == "per-view tables":
            with views.transaction() as cursor:
                legacy = "'tl_timeline_g1_incidents'"
                cursor.execute(
                    f"SELECT COUNT(*) AS n FROM sqlite_master WHERE name = {legacy}"
                    if views.dialect == "sqlite"
                    else f"SELECT COUNT(*) AS n FROM pg_tables WHERE tablename = {legacy} "
                    "AND schemaname = current_schema()"
                )
                assert cursor.fetchone()["n"] == 0
    finally:
        views.close()
        app.close()
