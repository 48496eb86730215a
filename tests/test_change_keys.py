"""Idempotency keys on corrections and retractions, and on the header, through the HTTP API.

Every test runs on SQLite and PostgreSQL; the race runs against a real server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient

from tests.servers import Process, auth, free_port, running
from tests.test_actor_races import race
from tests.test_reports_api import log, make_report

FIX = {
    "changes": {
        "when": {"edtf": "2024-02-02/2024-02-03", "wording": "dans la nuit du 2 au 3 février"}
    },
    "reason": "janvier is a typo",
    "corrected_by": "AFP desk",
}
BAD_KEY = "a b\x7f"


def filed(client: TestClient, key: str = "r-1") -> str:
    answer = client.post("/reports", json=make_report(key=key))
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_a_correction_retried_with_its_key_is_written_once(client: TestClient) -> None:
    report = filed(client)
    url = f"/reports/{report}/corrections"
    first = client.post(url, json={**FIX, "key": "fix-1"})
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 2
    before = log(client)
    again = client.post(url, json={**FIX, "key": "fix-1"})
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    by_header = client.post(url, json=FIX, headers={"Idempotency-Key": "fix-1"})
    assert (by_header.status_code, by_header.json()) == (200, first.json())
    assert log(client) == before

    # Later changes do not make the retry a new one: it still answers version 2.
    other = client.post(url, json={"changes": {"summary": "x"}, "reason": "r", "key": "fix-2"})
    assert other.status_code == 201 and other.json()["version"] == 3
    again = client.post(url, json={**FIX, "key": "fix-1"})
    assert (again.status_code, again.json()) == (200, first.json())
    assert client.get(f"/reports/{report}").json()["corrections"] == 2


def test_a_key_reused_for_another_change_is_409(client: TestClient) -> None:
    report = filed(client)
    url = f"/reports/{report}"
    assert client.post(f"{url}/corrections", json={**FIX, "key": "k"}).status_code == 201
    before = log(client)
    expected = f"key 'k' already made version 2 of report {report} with a different request"
    for path, body in (
        ("corrections", {**FIX, "reason": "another reason", "key": "k"}),
        ("corrections", {**FIX, "expected_version": 1, "key": "k"}),
        ("retraction", {"reason": "r", "key": "k"}),
    ):
        answer = client.post(f"{url}/{path}", json=body)
        assert (answer.status_code, answer.json()) == (409, {"detail": expected}), body
    assert log(client) == before


def test_a_retraction_retried_with_its_key_is_200(client: TestClient) -> None:
    report = filed(client)
    url = f"/reports/{report}/retraction"
    body = {"reason": "la source a démenti", "retracted_by": "AFP desk", "expected_version": 1}
    first = client.post(url, json=body, headers={"Idempotency-Key": "undo"})
    assert first.status_code == 201, first.text
    before = log(client)
    # Without a key a second retraction is a 409; with its key, a retry is answered.
    assert client.post(url, json=body).status_code == 409
    again = client.post(url, json={**body, "key": "undo"})
    assert (again.status_code, again.json()) == (200, first.json())
    assert log(client) == before


def test_the_idempotency_header_is_validated_like_the_key_field(client: TestClient) -> None:
    report = filed(client)
    before = log(client)
    pattern = "String should match pattern '^[\\x21-\\x7e]+$'"
    as_field = client.post("/reports", json=make_report(key=BAD_KEY))
    assert as_field.status_code == 422
    assert [(p["field"], p["msg"]) for p in as_field.json()["detail"]] == [("key", pattern)]
    for path, body in (
        ("/reports", make_report(key=None)),
        (f"/reports/{report}/corrections", FIX),
        (f"/reports/{report}/retraction", {"reason": "r"}),
    ):
        answer = client.post(path, json=body, headers={"Idempotency-Key": BAD_KEY})
        assert answer.status_code == 422, (path, answer.text)
        assert [(p["field"], p["msg"]) for p in answer.json()["detail"]] == [
            ("Idempotency-Key", pattern)
        ], path
        as_field = client.post(path, json={**body, "key": BAD_KEY})
        assert as_field.status_code == 422, path
        assert [p["field"] for p in as_field.json()["detail"]] == ["key"], path
    assert log(client) == before


def test_racing_retries_of_one_correction_write_it_once(store_env: dict[str, str]) -> None:
    with running(Process(["serve", "--runners", "none"], store_env, free_port())) as (server,):
        clients = [
            httpx.Client(base_url=server.url, headers=auth(server.url), timeout=30)
            for _ in range(4)
        ]
        for n in range(15):
            answer = clients[0].post("/reports", json=make_report(key=f"race-{n}"))
            assert answer.status_code == 201, answer.text
            url = f"/reports/{answer.json()['id']}/corrections"
            body: dict[str, Any] = {**FIX, "key": f"fix-{n}"}
            answers = race([lambda c=c, u=url, b=body: c.post(u, json=b) for c in clients])
            statuses = sorted(a.status_code for a in answers)
            assert statuses == [200, 200, 200, 201], [a.text for a in answers]
            assert len({(a.json()["version"], a.json()["position"]) for a in answers}) == 1
            events = clients[0].get("/events", params={"type": "Report.Corrected"})
            assert len(events.text.splitlines()) == n + 1
        for client in clients:
            client.close()


def test_version_2_changes_read_back_without_a_key(client: TestClient) -> None:
    """A correction stored before change keys existed (class_version 2)."""
    report = filed(client)
    timeline = client.app.state.timeline
    state = timeline.mapper.transcoder.encode(
        {
            "timestamp": datetime.now(UTC),
            "originator_topic": "domain.reports:Report",
            "class_version": 2,
            "fields": ("summary",),
            "changes": {"summary": "before keys"},
            "reason": "old",
            "corrected_by": None,
            "written_by": None,
        }
    )
    timeline.recorder.insert_events(
        [StoredEvent(UUID(report), 2, "domain.reports:Report.Corrected", state)]
    )
    now = client.get(f"/reports/{report}").json()
    assert (now["version"], now["content"]["summary"]) == (2, "before keys")
    answer = client.post(f"/reports/{report}/corrections", json={**FIX, "key": "after"})
    assert (answer.status_code, answer.json()["version"]) == (201, 3)
    again = client.post(f"/reports/{report}/corrections", json={**FIX, "key": "after"})
    assert (again.status_code, again.json()) == (200, answer.json())
