"""SQL reaches each store as written: psycopg's parameter style, no rewriting of `?`."""

from __future__ import annotations

from service.storage import open_views


def test_a_literal_question_mark_stays_a_question_mark(settings):
    views = open_views(settings)
    try:
        with views.transaction() as cursor:
            cursor.execute("SELECT '?' || %s || '100%%' AS said", ("is it ",))
            assert cursor.fetchone()["said"] == "?is it 100%"
    finally:
        views.close()


def test_the_jsonb_question_mark_operator_works_on_postgres(postgres_settings):
    views = open_views(postgres_settings)
    try:
        with views.transaction() as cursor:
            cursor.execute(
                "SELECT (%s::jsonb ? %s) AS has, (%s::jsonb ?| %s) AS any_of",
                ('{"kind": 1}', "kind", '{"kind": 1}', ["when", "kind"]),
            )
            assert dict(cursor.fetchone()) == {"has": True, "any_of": True}
    finally:
        views.close()
