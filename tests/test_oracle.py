"""The oracle (tests/oracle.py) against answers worked out by hand from the README,
on a log that reaches what the random streams rarely reach: the tally's target
and an actor within it, strikes on a state-backed force and on a state's force,
dates that meet only thanks to the slack, a date disagreement, a response dated
before its cause, a correction, a retraction, and an alias added after the
report that uses it. The views must agree with the oracle there too, now and
as of before the alias.
"""

from __future__ import annotations

from typing import Any

from domain.values import Alias, ReportContent
from projections.runner import current_generation
from service.storage import open_application, open_views
from tests import oracle
from tests.test_views_property import START, _catch_up, _views


def _report(kind: str, incident: str | None, days: str, **more: Any) -> ReportContent:
    first, _, last = days.partition("/")
    return ReportContent.model_validate(
        {
            "kind": kind,
            "when": {"earliest": first, "latest": last or first, **more.pop("when", {})},
            "source": {"outlet": "AFP", "language": "fr"},
            "incident_key": incident,
            **more,
        }
    )


def _actors(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "role": role} for name, role in pairs]


def _counts(*figures: tuple[int, str, str]) -> list[dict[str, Any]]:
    return [{"value": v, "qualifier": q, "counted": c} for v, q, c in figures]


def _places(*countries: str) -> list[dict[str, str]]:
    return [{"name": c, "country": c} for c in countries]


def _log(app: Any) -> dict[str, Any]:
    us = app.register_actor("United States", category="state")[0].id
    forces = app.register_actor("US forces", category="state_force", parent_id=us)[0].id
    hachd = app.register_actor("Hachd al-Chaabi", category="state_backed")[0].id
    app.register_actor("IRGC", category="state_force")
    militia = _actors(("Hachd al-Chaabi", "perpetrator"), ("US forces", "target"))
    # The late-January drone attack, twice; the first's toll corrected from 3 to 4.
    drone = app.file_report(
        _report(
            "attack", "drone", "2024-01-28", actors=militia, counts=_counts((3, "exact", "killed"))
        )
    ).report_id
    app.file_report(
        _report(
            "attack",
            "drone",
            "2024-01-21/2024-01-31",
            when={"approximate": True},
            actors=_actors(("US forces", "target")),
            counts=_counts((3, "exact", "killed")),
            places=_places("JO"),
        )
    )
    fixed = _report("attack", None, "2024-01-28", counts=_counts((4, "exact", "killed"))).counts
    app.correct_report(drone, {"counts": fixed}, "toll revised")
    # The February strikes: "85 sites" and "plus de 85 sites".
    app.file_report(
        _report(
            "strike",
            "feb",
            "2024-02-02/2024-02-03",
            responds_to="drone",
            actors=_actors(("Hachd al-Chaabi", "target")),
            counts=_counts((85, "exact", "sites")),
            places=_places("IQ"),
        )
    )
    app.file_report(
        _report(
            "strike",
            "feb",
            "2024-02-02",
            responds_to="drone",
            counts=_counts((85, "at_least", "sites")),
            places=_places("SY"),
        )
    )
    # Strikes on the IRGC that two sources date early January (before the drone attack
    # they answer) and one in March.
    for when, answers in (("2024-01-02/2024-01-03", "drone"), ("2024-01-02", "drone")):
        app.file_report(
            _report("strike", "jan", when, responds_to=answers, actors=_actors(("IRGC", "target")))
        )
    app.file_report(_report("strike", "jan", "2024-03-01"))
    # "Vers le 10 janvier" and the 14th: they meet only thanks to the 7 days' slack.
    app.file_report(_report("attack", "ambush", "2024-01-10", when={"approximate": True}))
    app.file_report(_report("attack", "ambush", "2024-01-14"))
    # A report filed, then retracted.
    gone = app.file_report(_report("attack", "gone", "2024-01-10")).report_id
    app.retract_report(gone, "wrong incident")
    # A strike on "PMF", a name that becomes the Hachd's only afterwards.
    app.file_report(_report("strike", "late", "2024-02-10", actors=_actors(("PMF", "target"))))
    before_alias = app.max_position()
    app.add_alias(hachd, Alias(name="PMF"))
    return {"us": str(us), "forces": str(forces), "hachd": str(hachd), "before": before_alias}


def test_the_oracle_gives_the_readme_answers_and_the_views_agree(sqlite_settings):
    app, views = open_application(sqlite_settings), open_views(sqlite_settings)
    try:
        ids = _log(app)
        state = oracle.replay(app, app.max_position())
        entries = oracle.timeline(state)

        drone, feb, jan = entries["drone"], entries["feb"], entries["jan"]
        assert drone["when"] == {"earliest": "2024-01-28", "latest": "2024-01-28", "agreed": True}
        assert drone["level"] == 2  # killed reported
        # Exactly 3 and, corrected, exactly 4: they cannot both be true.
        assert drone["counts"] == {
            "killed": {"low": 3, "high": 4, "qualifier": "disputed", "value": 3}
        }
        assert drone["source_count"] == 2 and drone["countries"] == ["JO"]
        assert feb["counts"] == {
            "sites": {"low": 85, "high": 85, "qualifier": "exact", "value": 85}
        }
        assert feb["level"] == 3 and feb["chain"] == ["drone"] and feb["before_cause"] == []
        assert feb["when"] == {"earliest": "2024-02-02", "latest": "2024-02-02", "agreed": True}
        assert feb["countries"] == ["IQ", "SY"]
        assert jan["level"] == 4
        assert jan["when"] == {"earliest": "2024-01-02", "latest": "2024-01-02", "agreed": False}
        assert [agrees for _, _, agrees in jan["disagreement"]] == [True, True, False]
        assert len(jan["before_cause"]) == 2 and {c for _, c in jan["before_cause"]} == {"drone"}
        ambush = {"earliest": "2024-01-14", "latest": "2024-01-14", "agreed": True}
        assert entries["ambush"]["when"] == ambush
        assert entries["gone"]["status"] == "retracted" and entries["gone"]["level"] is None
        assert entries["late"]["level"] == 3  # PMF is the Hachd now
        earlier = oracle.timeline(oracle.replay(app, ids["before"]))
        assert earlier["late"]["level"] == 1  # before the alias PMF was no one known

        counted = oracle.tally(state, "United States", START)
        assert counted == {"drone": "2024-01-28"}
        assert oracle.per_week(counted) == {"2024-01-22": 1}
        assert oracle.history_summary(state, ids["hachd"], False) == {
            "reports": 3,  # the first drone report, the first February strike, "late"
            "incidents": 3,
            "attacks_carried_out": 1,
            "attacks_suffered": 2,
            "retracted_reports": 0,
        }
        assert oracle.history_summary(state, ids["us"], False)["reports"] == 0
        assert oracle.history_summary(state, ids["us"], True)["attacks_suffered"] == 1

        _catch_up(app, views)
        with views.transaction() as cursor:
            now = _views(views, current_generation(views, cursor))
            for as_of in (None, ids["before"]):
                oracle.assert_views_agree(
                    app, now, cursor, as_of, start=START, target="United States"
                )
    finally:
        views.close()
        app.close()
