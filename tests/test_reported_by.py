"""`reported_by=DAY`: the views as sources had published them by a day, through the API.

The log's clock (`as_of`) says when this service learnt something; `reported_by`
when the source published it. Here the archives are backfilled: every report
below is recorded today, long after the 2024 days its sources published it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.utils import get_topic

from domain.reports import Report, content_digest
from domain.values import ReportContent
from service.storage import open_application
from tests.conftest import keyed_client
from tests.seeding import post_seed

US = "United States"


def _attack(incident: str, day: str, published: str | None) -> dict[str, Any]:
    source: dict[str, Any] = {"outlet": "AFP", "language": "fr"}
    if published:
        source["published_at"] = published
    return {
        # Unique per test: report ids derive from keys, and merged entries are cached
        # per process by report id and position, whatever the store.
        "key": f"{incident}-{uuid4()}",
        "kind": "attack",
        "when": day,
        "incident_key": incident,
        "places": [{"name": "Tower 22", "country": "JO"}],
        "actors": [{"name": US, "role": "target"}],
        "source": source,
    }


def _tally(key: str, value: int, published: str) -> dict[str, Any]:
    return {
        "key": f"{key}-{uuid4()}",
        "kind": "tally",
        "when": f"2023-10-17/{published}",
        "actors": [{"name": US, "role": "target"}],
        "counts": [{"value": value, "qualifier": "at_least", "counted": "attacks"}],
        "source": {"outlet": "AFP", "language": "fr", "published_at": published},
    }


def _undated_recorded_on(day: datetime) -> Report.Filed:
    """An attack report with no published_at, recorded on `day` (written as the log
    would have been then, straight into the store)."""
    body = _attack("undated", "2024-02-01", None)
    key = body.pop("key")
    content = ReportContent.model_validate(body)
    return Report.Filed(
        originator_topic=get_topic(Report),
        originator_id=Report.create_id(content, key),
        originator_version=1,
        timestamp=day,
        content=content,
        key=key,
        digest=content_digest(content),
        written_by=None,
    )


def _incidents(client, **params: Any) -> list[str]:
    answer = client.get("/timeline", params=params)
    assert answer.status_code == 200, answer.text
    return [entry["incident"] for entry in answer.json()["entries"]]


def test_reports_count_from_the_day_their_source_published_them(settings):
    with keyed_client(settings) as client:
        client.post("/actors", json={"name": US, "category": "state"})
        first = client.post("/reports", json=_attack("first", "2024-02-01", "2024-02-02"))
        second = client.post("/reports", json=_attack("second", "2024-02-04", "2024-02-05T09:00Z"))
        tallies = [
            client.post("/reports", json=_tally("tally-165", 165, "2024-02-02")),
            client.post("/reports", json=_tally("tally-170", 170, "2024-02-05")),
        ]
        head = max(r.json()["position"] for r in (first, second, *tallies))
        wait = {"min_position": head}

        def attacks(**params: Any) -> list[str]:
            return [i for i in _incidents(client, **params, **wait) if not i.startswith("report:")]

        assert attacks() == ["first", "second"]
        by_day = client.get("/timeline", params={"reported_by": "2024-02-03", **wait}).json()
        assert [e["incident"] for e in by_day["entries"]] == [
            "report:" + tallies[0].json()["id"],  # 2023-10-17/2024-02-02
            "first",
        ]
        assert by_day["reported_by"] == {
            "day": "2024-02-03",
            "undated_reports": 0,
            "undated_changes": 0,
        }
        # The day itself is included; an instant counts on its own day.
        assert attacks(reported_by="2024-02-05") == ["first", "second"]
        assert attacks(reported_by="2024-02-04") == ["first"]

        one = client.get("/incidents/first", params={"reported_by": "2024-02-03"})
        assert one.status_code == 200
        assert one.json()["entry"]["when"]["earliest"] == "2024-02-01"
        missing = client.get("/incidents/second", params={"reported_by": "2024-02-03"})
        assert missing.status_code == 404

        tally = client.get("/tally", params={"reported_by": "2024-02-03", "reported": "true"})
        assert tally.json()["documented_attacks"] == 1
        assert [f["value"] for f in tally.json()["reported"]] == [165]
        assert tally.json()["headline"]["text"] == (
            "1 attack documented in the log since 2023-10-17; "
            "sources report at least 165 by 2024-02-02 (AFP)"
        )
        now = client.get("/tally", params={"reported": "true"}).json()
        assert now["documented_attacks"] == 2
        assert now["headline"]["reported_at_least"] == 170

        us = client.get("/actors/resolve", params={"name": US}).json()["id"]
        history = client.get(f"/actors/{us}/history", params={"reported_by": "2024-02-03"}).json()
        assert [a["incident"] for a in history["appearances"] if a["kind"] == "attack"] == ["first"]
        assert history["summary"]["attacks_suffered"] == 1
        assert history["summary"]["reports"] == 2  # the attack and the 165 tally


def test_reported_by_combines_with_as_of(settings):
    with keyed_client(settings) as client:
        client.post("/actors", json={"name": US, "category": "state"})
        first = client.post("/reports", json=_attack("first", "2024-02-01", "2024-02-02")).json()
        second = client.post("/reports", json=_attack("second", "2024-01-20", "2024-01-21"))
        head = second.json()["position"]
        before_first = first["position"] - 1
        day = {"reported_by": "2024-02-03", "min_position": head}

        assert _incidents(client, as_of=before_first, **day) == []
        assert _incidents(client, as_of=first["position"], **day) == ["first"]
        assert _incidents(client, as_of=head, **day) == ["second", "first"]
        # Published by 2024-01-31: only the second, and only once the log holds it.
        early = {"reported_by": "2024-01-31", "min_position": head}
        assert _incidents(client, as_of=first["position"], **early) == []
        assert _incidents(client, as_of=head, **early) == ["second"]
        tally = client.get("/tally", params={"as_of": first["position"], **day}).json()
        assert tally["documented_attacks"] == 1
        assert tally["position"] == first["position"]


def test_a_change_counts_from_its_own_day_not_the_reports(settings):
    with keyed_client(settings) as client:
        client.post("/actors", json={"name": US, "category": "state"})
        report = client.post("/reports", json=_attack("first", "2024-02-01", "2024-02-02")).json()
        # Recorded today, with no published_at of its own: it counts from today.
        correction = client.post(
            f"/reports/{report['id']}/corrections",
            json={"changes": {"when": "2024-01-30"}, "reason": "the date", "corrected_by": "desk"},
        )
        assert correction.status_code == 201, correction.text
        retraction = client.post(
            f"/reports/{report['id']}/retraction",
            json={"reason": "unconfirmed", "retracted_by": "desk"},
        )
        wait = {"min_position": retraction.json()["position"]}
        today = datetime.now(UTC).date().isoformat()

        past = client.get("/incidents/first", params={"reported_by": "2024-02-03", **wait}).json()
        assert past["entry"]["when"]["earliest"] == "2024-02-01"  # the correction not yet
        assert past["entry"]["status"] == "active"  # nor the retraction
        assert past["entry"]["corrections"] == []
        assert past["reported_by"]["undated_changes"] == 0
        assert (
            client.get("/tally", params={"reported_by": "2024-02-03"}).json()["documented_attacks"]
            == 1
        )

        later = client.get("/incidents/first", params={"reported_by": today, **wait}).json()
        assert later["entry"]["status"] == "retracted"
        assert later["entry"]["corrections"][0]["published_at"] is None
        assert later["reported_by"]["undated_changes"] == 2
        assert client.get("/tally", params={"reported_by": today}).json()["documented_attacks"] == 0


def test_an_undated_report_counts_from_its_recorded_day_and_is_counted(settings):
    app = open_application(settings)
    try:
        event = _undated_recorded_on(datetime(2024, 2, 2, 18, 0, tzinfo=UTC))
        app.recorder.insert_events([app.mapper.to_stored_event(event)])
    finally:
        app.close()
    with keyed_client(settings) as client:
        client.post("/actors", json={"name": US, "category": "state"})
        filed = client.post("/reports", json=_attack("dated", "2024-02-01", "2024-02-03"))
        wait = {"min_position": filed.json()["position"]}

        early = client.get("/timeline", params={"reported_by": "2024-02-01", **wait}).json()
        assert early["entries"] == []
        assert early["reported_by"]["undated_reports"] == 0
        answer = client.get("/timeline", params={"reported_by": "2024-02-02", **wait}).json()
        assert [e["incident"] for e in answer["entries"]] == ["undated"]
        assert answer["reported_by"] == {
            "day": "2024-02-02",
            "undated_reports": 1,
            "undated_changes": 0,
        }
        both = client.get("/tally", params={"reported_by": "2024-02-03", **wait}).json()
        assert both["documented_attacks"] == 2
        assert both["reported_by"]["undated_reports"] == 1


@pytest.mark.parametrize("value", ["2024-02-30", "03/02/2024", "2024-2-3", "yesterday", ""])
@pytest.mark.parametrize(
    "path", ["/timeline", "/timeline/weekly", "/incidents/x", "/tally", "/contradictions"]
)
def test_a_bad_day_is_a_422_naming_reported_by_and_the_format(sqlite_settings, path, value):
    with keyed_client(sqlite_settings) as client:
        client.post("/actors", json={"name": US, "category": "state"})
        answer = client.get(path, params={"reported_by": value})
        assert answer.status_code == 422, answer.text
        (problem,) = answer.json()["detail"]
        assert problem["field"] == "reported_by"
        assert "YYYY-MM-DD, such as 2024-02-03" in problem["msg"]


def test_a_bad_day_on_a_history_is_a_422_too(settings):
    with keyed_client(settings) as client:
        us = client.post("/actors", json={"name": US, "category": "state"}).json()["id"]
        answer = client.get(f"/actors/{us}/history", params={"reported_by": "2024-13-01"})
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["field"] == "reported_by"


def _without_axis(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in ("reported_by", "as_of")}


def test_a_day_after_everything_answers_as_the_plain_views_do(settings):
    """The scan path (every incident re-merged, counted in Python) against the rows
    the fold keeps (SQL), on the seed article: equal answers, view by view."""
    with keyed_client(settings) as client:
        post_seed(client)
        for means in (["drone"], ["drone", "rocket"]):
            body = {**_attack("with-means", "2024-01-28", "2024-01-29"), "means": means}
            head = client.post("/reports", json=body).json()["position"]
        irgc = client.get("/actors/resolve", params={"name": "IRGC"}).json()["id"]
        wait = {"min_position": head}
        asks = [
            ("/timeline", {"detail": "full"}),
            ("/timeline", {"limit": 3}),
            ("/timeline", {"country": "IQ", "min_level": 3}),
            ("/timeline", {"actor": "PMF", "from": "2024-02-01"}),
            ("/timeline", {"means": ["rocket", "ied"]}),
            ("/timeline/weekly", {}),
            ("/incidents/2024-02-02-us-strikes-iraq-syria", {}),
            ("/contradictions", {}),
            ("/tally", {"attacks": "true", "reported": "true"}),
            ("/tally", {"group_by": "country"}),
            ("/tally", {"group_by": "claimant", "target": "Iran"}),
            ("/tally", {"group_by": "day", "start": "2024-01-01"}),
            ("/tally", {"group_by": "means", "attacks": "true"}),
            (f"/actors/{irgc}/history", {"rollup": "true"}),
            (f"/actors/{irgc}/history", {"limit": 1}),
        ]
        by_means = client.get("/tally", params={"group_by": "means", **wait}).json()["series"]
        assert {row["means"]: row["attacks"] for row in by_means}["drone"] == 1  # not vacuous
        assert _incidents(client, means="rocket", **wait) == ["with-means"]
        for path, params in asks:
            plain = client.get(path, params={**params, **wait}).json()
            late = client.get(path, params={**params, **wait, "reported_by": "9999-12-31"}).json()
            assert late["reported_by"]["day"] == "9999-12-31"
            assert _without_axis(late) == _without_axis(plain), (path, params)
            if plain.get("next"):  # the following page, from the plain view's cursor
                after = {**params, **wait, "cursor": plain["next"]}
                assert _without_axis(
                    client.get(path, params={**after, "reported_by": "9999-12-31"}).json()
                ) == _without_axis(client.get(path, params=after).json()), (path, "page 2")


def test_a_change_with_its_own_publication_day_counts_from_it(settings):
    with keyed_client(settings) as client:
        client.post("/actors", json={"name": US, "category": "state"})
        report = client.post("/reports", json=_attack("first", "2024-02-01", "2024-02-02")).json()
        incident = "/incidents/first"
        corrected = client.post(
            f"/reports/{report['id']}/corrections",
            json={
                "changes": {"when": "2024-01-30"},
                "reason": "AFP's correction of 3 February",
                "corrected_by": "AFP desk",
                "published_at": "2024-02-03",
            },
        )
        assert corrected.status_code == 201, corrected.text
        retracted = client.post(
            f"/reports/{report['id']}/retraction",
            json={
                "reason": "withdrawn",
                "retracted_by": "AFP desk",
                "published_at": "2024-02-04T08:00:00Z",
            },
        )
        wait = {"min_position": retracted.json()["position"]}

        def entry(day: str) -> dict[str, Any]:
            answer = client.get(incident, params={"reported_by": day, **wait})
            assert answer.status_code == 200, answer.text
            return answer.json()

        assert entry("2024-02-02")["entry"]["when"]["earliest"] == "2024-02-01"
        on_the_day = entry("2024-02-03")
        assert on_the_day["entry"]["when"]["earliest"] == "2024-01-30"
        assert on_the_day["entry"]["status"] == "active"
        assert on_the_day["entry"]["corrections"][0]["published_at"] == "2024-02-03"
        assert on_the_day["reported_by"]["undated_changes"] == 0
        assert entry("2024-02-04")["entry"]["status"] == "retracted"
        tally = client.get("/tally", params={"reported_by": "2024-02-03", **wait}).json()
        assert tally["documented_attacks"] == 1
        assert (
            client.get("/tally", params={"reported_by": "2024-02-04"}).json()["documented_attacks"]
            == 0
        )
