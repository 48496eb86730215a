"""The search index is part of the read side: both drivers keep it, a rebuild
remakes it, and what is written after a rebuild is indexed too (SQLite and
PostgreSQL, real stores)."""

from __future__ import annotations

from typing import Any

import pytest

from domain.values import ReportContent
from projections import search_text
from projections.generation import Generation
from projections.runner import apply_batch, create_meta, current_generation, rebuild
from projections.search_view import SearchView
from service.storage import open_application, open_views


def _content(number: int, excerpt: str) -> ReportContent:
    return ReportContent.model_validate(
        {
            "kind": "statement",
            "excerpt": excerpt,
            "summary": f"report {number}",
            "when": {"edtf": "2024-02-03"},
            "incident_key": f"i{number % 3}",
            "source": {"outlet": "AFP", "language": "fr"},
        }
    )


def _search(views, q: str, as_of: int | None = None) -> list[str]:
    with views.transaction() as cursor:
        view = SearchView(Generation(views, current_generation(views, cursor)))
        words = search_text.chunks(q)
        answer = view.search(cursor, as_of, words, filters={}, limit=100)
    return sorted(r["report"] for r in answer["results"])


def _catch_up(app, views) -> None:
    while apply_batch(app, views, batch=5)[0]:
        pass


@pytest.mark.parametrize("page", [3, 10_000])
def test_a_rebuild_indexes_every_version_as_the_incremental_driver_did(settings, page):
    app, views = open_application(settings), open_views(settings)
    try:
        create_meta(views)
        filed = app.file_reports(
            [(_content(n, f"Le dépôt numéro {n} à Abou Kamal."), None) for n in range(8)]
        )
        ids = [str(f.report_id) for f in filed]
        before_correction = max(f.position for f in filed)
        app.correct_report(
            filed[0].report_id, {"excerpt": "Un poste de commandement."}, "was a post"
        )
        app.retract_report(filed[1].report_id, "not confirmed")
        _catch_up(app, views)
        asked: list[tuple[str, Any]] = [
            ("depot Kamal", None),
            ("poste commandement", None),
            ("depot Kamal", before_correction),
            ("poste commandement", before_correction),
        ]
        incremental = {key: _search(views, *key) for key in asked}
        assert incremental[("depot Kamal", None)] == sorted(ids[1:])  # retracted: still said
        assert incremental[("poste commandement", None)] == [ids[0]]
        assert incremental[("depot Kamal", before_correction)] == sorted(ids)
        assert incremental[("poste commandement", before_correction)] == []

        rebuild(app, views, page=page)
        assert {key: _search(views, *key) for key in asked} == incremental

        # After the bulk build, the incremental driver indexes new versions.
        later = app.file_reports([(_content(9, "Un dépôt de plus à Abou Kamal."), None)])
        app.correct_report(filed[2].report_id, {"excerpt": "Rien."}, "wrong place")
        _catch_up(app, views)
        now = _search(views, "depot Kamal")
        assert str(later[0].report_id) in now and ids[2] not in now
    finally:
        views.close()
        app.close()
