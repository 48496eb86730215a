"""`GET /events?follow=true` and `GET /subscribe/events` through the app, on SQLite and
PostgreSQL: the same events and filters as the paged log, errors, and keys.

A followed stream never ends by itself, so these read one with `limit` (it ends
after that many events); live delivery, restarts and overflow are in
tests/test_follow.py, through real server processes.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.schemas import SEED_EXAMPLE


def lines(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/events", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    return [orjson.loads(line) for line in answer.text.splitlines()]


@pytest.fixture
def filed(client: TestClient) -> list[str]:
    """Three reports, the first corrected: 4 events."""
    batch = b"".join(
        orjson.dumps({**copy.deepcopy(SEED_EXAMPLE), "key": f"follow-{n}"}) + b"\n"
        for n in range(3)
    )
    answer = client.post(
        "/reports", content=batch, headers={"content-type": "application/x-ndjson"}
    )
    assert answer.status_code == 201, answer.text
    ids = [item["id"] for item in answer.json()["reports"]]
    correction = client.post(
        f"/reports/{ids[0]}/corrections", json={"changes": {"summary": "s"}, "reason": "r"}
    )
    assert correction.status_code == 201, correction.text
    return ids


def test_follow_sends_what_the_paged_log_sends(client: TestClient, filed: list[str]) -> None:
    full = lines(client)
    assert len(full) == 4
    assert lines(client, follow="true", limit=4) == full
    assert lines(client, follow="true", after=full[1]["position"], limit=2) == full[2:]
    corrected = lines(client, follow="true", type="Report.Corrected", limit=1)
    assert [e["type"] for e in corrected] == ["Report.Corrected"]
    assert corrected == [e for e in full if e["type"] == "Report.Corrected"]
    mine = lines(client, follow="true", report=filed[0], limit=2)
    assert [(e["originator_id"], e["originator_version"]) for e in mine] == [
        (filed[0], 1),
        (filed[0], 2),
    ]


@pytest.mark.parametrize("path", ["/events?follow=true", "/subscribe/events"])
def test_bad_follow_parameters_are_422(client: TestClient, path: str) -> None:
    answer = client.get(path, params={"type": "Report.Deleted"})
    assert answer.status_code == 422
    (problem,) = answer.json()["detail"]
    assert problem["field"] == "type" and "Report.Deleted" in problem["msg"]
    assert "Report.Filed" in problem["msg"]  # the ones it could be
    for params, field in (
        ({"after": -1}, "after"),
        ({"report": "not-a-uuid"}, "report"),
        ({"folow": "true"}, "folow"),
    ):
        answer = client.get(path, params=params)
        assert answer.status_code == 422, (path, params)
        assert [d["field"] for d in answer.json()["detail"]] == [field]
    misspelt = client.get(path, params={"typ": "Report.Filed"}).json()["detail"][0]
    assert misspelt["hint"] == "did you mean 'type'?"


def test_following_needs_a_key_when_reads_do(settings) -> None:
    closed = settings.model_copy(update={"read_keys_required": True})
    with TestClient(create_app(closed)) as app_client:
        for path in ("/events?follow=true", "/subscribe/events"):
            refused = app_client.get(path)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"] == "Bearer"
        _, secret = app_client.app.state.keyring.issue_key("reader")
        auth = {"Authorization": f"Bearer {secret}"}
        written = app_client.post(
            "/actors", json={"name": "Centcom"}, headers=auth
        )  # two events: the actor and its name
        assert written.status_code == 201, written.text
        answer = app_client.get("/events?follow=true&limit=2", headers=auth)
        assert answer.status_code == 200
        assert [orjson.loads(line)["type"] for line in answer.text.splitlines()] == [
            "Actor.Registered",
            "ActorName.Claimed",
        ]
