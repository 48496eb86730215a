"""The projection runner's batching, on a real store: time budgets and one-pass rebuilds."""

from __future__ import annotations

from datetime import date

import pytest

from domain.values import ReportContent
from projections.runner import (
    VIEWS,
    DecodedLog,
    apply_batch,
    create_meta,
    current_generation,
    rebuild_views,
    tracked_positions,
)
from service.storage import open_application, open_views


def _content(day: int, incident: str) -> ReportContent:
    return ReportContent.model_validate(
        {
            "kind": "attack",
            "when": {"edtf": date(2024, 1, day).isoformat()},
            "incident_key": incident,
            "actors": [{"name": "US forces", "role": "target"}],
            "counts": [{"counted": "attacks", "value": 1}],
            "source": {"outlet": "AFP", "language": "fr"},
        }
    )


def _file(app, count: int) -> int:
    filings = app.file_reports([(_content(1 + i % 28, f"i{i % 7}"), None) for i in range(count)])
    return max(f.position for f in filings)


def test_a_spent_budget_commits_what_was_applied_and_the_rest_follows(settings):
    app, views = open_application(settings), open_views(settings)
    try:
        create_meta(views)
        last = _file(app, 12)
        # A zero budget ends the batch after its first event, committed and tracked.
        applied, tracked = apply_batch(app, views, "timeline", budget=0.0)
        assert applied == 1
        assert tracked_positions(views)["timeline"] == tracked < last
        while apply_batch(app, views, "timeline", budget=0.0)[0]:
            pass
        assert tracked_positions(views)["timeline"] == last
        with views.transaction() as cursor:
            view = VIEWS["timeline"](views, current_generation(views, cursor, "timeline"))
            entries, _ = view.entries(cursor, None, limit=100)
        assert sorted(e["incident"] for e in entries) == [f"i{n}" for n in range(7)]
    finally:
        views.close()
        app.close()


def test_rebuilding_every_view_in_one_pass_equals_applying_them_one_by_one(settings):
    app, views = open_application(settings), open_views(settings)
    try:
        create_meta(views)
        _file(app, 30)
        for name in VIEWS:  # incrementally, each on its own, in small batches
            while apply_batch(app, views, name, batch=7)[0]:
                pass
        with views.transaction() as cursor:
            before = {
                name: VIEWS[name](views, current_generation(views, cursor, name)).dump(cursor)
                for name in VIEWS
            }
        generations = rebuild_views(app, views, list(VIEWS), batch=4)
        with views.transaction() as cursor:
            for name in VIEWS:
                assert current_generation(views, cursor, name) == generations[name]
                assert VIEWS[name](views, generations[name]).dump(cursor) == before[name]
    finally:
        views.close()
        app.close()


def test_the_decoded_log_keeps_only_its_newest_events(sqlite_settings):
    app = open_application(sqlite_settings)
    try:
        last = _file(app, 10)
        log = DecodedLog(app, keep=4)
        first = log.read(1, 10)
        assert [position for position, _ in first] == list(range(1, last + 1))
        again = log.read(last - 3, 10)
        # The newest four are the very objects decoded before; the rest were let go.
        assert all(a is b for (_, a), (_, b) in zip(again, first[-4:], strict=True))
        assert len(log._events) == 4
    finally:
        app.close()


@pytest.mark.parametrize("before", ["older shape", "before shapes"])
def test_views_of_an_older_shape_are_rebuilt_from_the_log(settings, before):
    app, views = open_application(settings), open_views(settings)
    try:
        create_meta(views)
        last = _file(app, 9)
        for name in VIEWS:
            while apply_batch(app, views, name)[0]:
                pass
        with views.transaction() as cursor:
            served = {name: current_generation(views, cursor, name) for name in VIEWS}
            dumps = {name: VIEWS[name](views, served[name]).dump(cursor) for name in VIEWS}
        with views.transaction(write=True) as cursor:  # what an older version left behind
            if before == "older shape":
                cursor.execute(f"UPDATE {views.table('tl_shapes')} SET shape = 1")
            else:
                cursor.execute(f"DROP TABLE {views.table('tl_shapes')}")

        create_meta(views)  # what every process does when it opens the views

        assert tracked_positions(views) == dict.fromkeys(VIEWS, 0)
        for name in VIEWS:
            while apply_batch(app, views, name)[0]:
                pass
        assert tracked_positions(views) == dict.fromkeys(VIEWS, last)
        with views.transaction() as cursor:
            for name in VIEWS:
                generation = current_generation(views, cursor, name)
                assert generation == served[name] + 1
                assert VIEWS[name](views, generation).dump(cursor) == dumps[name]
        create_meta(views)  # and once rebuilt, it stays
        assert tracked_positions(views) == dict.fromkeys(VIEWS, last)
    finally:
        views.close()
        app.close()
