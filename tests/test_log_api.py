"""The ordered log (GET /events) and the health endpoints (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
from datetime import datetime
from itertools import pairwise
from typing import Any
from uuid import UUID

import orjson
import pytest
from fastapi.testclient import TestClient

from domain.application import EVENT_TYPES
from service.schemas import SEED_EXAMPLE

FIELDS = {
    "position",
    "type",
    "recorded_at",
    "originator_id",
    "originator_version",
    "schema_version",
    "data",
}


def report(key: str, **overrides: Any) -> dict[str, Any]:
    return {**copy.deepcopy(SEED_EXAMPLE), "key": key, **overrides}


def events(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/events", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    assert answer.text == "" or answer.text.endswith("\n")
    return [orjson.loads(line) for line in answer.text.split("\n") if line]


@pytest.fixture
def populated(client: TestClient) -> dict[str, Any]:
    """Three reports (one corrected twice, one retracted) and an actor with an alias."""
    batch = b"".join(orjson.dumps(report(f"log-{n}")) + b"\n" for n in range(3))
    filed = client.post("/reports", content=batch, headers={"content-type": "application/x-ndjson"})
    assert filed.status_code == 201, filed.text
    ids = [item["id"] for item in filed.json()["reports"]]
    for summary in ("première correction", "seconde correction"):
        answer = client.post(
            f"/reports/{ids[0]}/corrections",
            json={"changes": {"summary": summary}, "reason": "précision"},
        )
        assert answer.status_code == 201
    assert (
        client.post(f"/reports/{ids[1]}/retraction", json={"reason": "démenti"}).status_code == 201
    )
    actor = client.post("/actors", json={"name": "Centcom"}).json()
    alias = client.post(f"/actors/{actor['id']}/aliases", json={"name": "US Central Command"})
    assert alias.status_code == 201
    answer = client.post(
        f"/reports/{ids[2]}/corrections", json={"changes": {"kind": "attack"}, "reason": "r"}
    )
    assert answer.status_code == 201
    return {"reports": ids, "actor": actor["id"]}


def test_log_lines_order_and_readiness(client: TestClient, populated: dict[str, Any]) -> None:
    log = events(client)
    # 3 filed + 3 corrected + 1 retracted + actor registered + 1 claim + alias + claim
    assert len(log) == 11
    for event in log:
        assert set(event) == FIELDS
        assert event["type"] in EVENT_TYPES
        assert datetime.fromisoformat(event["recorded_at"]).utcoffset() is not None
        UUID(event["originator_id"])
        # Version 2 added `written_by` (the API key) to report and actor events,
        # version 3 a change's idempotency `key` and `digest` and a report's means
        # and count fields, version 4 a change's `published_at`.
        expected = {
            "ActorName.Claimed": 1,
            "Report.Filed": 3,
            "Report.Corrected": 4,
            "Report.Retracted": 4,
        }
        assert event["schema_version"] == expected.get(event["type"], 2)
        if event["type"] != "ActorName.Claimed":
            UUID(event["data"]["written_by"])
        assert isinstance(event["data"], dict)
        assert "timestamp" not in event["data"]
    positions = [e["position"] for e in log]
    assert all(a < b for a, b in pairwise(positions))
    assert [e["type"] for e in log] == [
        "Report.Filed",
        "Report.Filed",
        "Report.Filed",
        "Report.Corrected",
        "Report.Corrected",
        "Report.Retracted",
        "Actor.Registered",
        "ActorName.Claimed",
        "Actor.AliasAdded",
        "ActorName.Claimed",
        "Report.Corrected",
    ]
    # Each aggregate's events count its versions from 1: report 0 corrected twice,
    # report 1 retracted, report 2 corrected once, the actor given an alias; each
    # name claimed is an aggregate of its own, at version 1.
    r0, r1, r2 = populated["reports"]
    actor = populated["actor"]
    claims = [log[7]["originator_id"], log[9]["originator_id"]]
    assert len(set(claims) | {r0, r1, r2, actor}) == 6
    assert [(e["originator_id"], e["originator_version"]) for e in log] == [
        (r0, 1),
        (r1, 1),
        (r2, 1),
        (r0, 2),
        (r0, 3),
        (r1, 2),
        (actor, 1),
        (claims[0], 1),
        (actor, 2),
        (claims[1], 1),
        (r2, 2),
    ]
    first = log[0]
    assert first["originator_id"] == populated["reports"][0]
    assert first["data"]["content"]["kind"] == "strike"
    assert first["data"]["key"] == "log-0"
    assert log[3]["data"]["changes"] == {"summary": "première correction"}
    assert log[5]["data"]["reason"] == "démenti"
    recorded = [datetime.fromisoformat(e["recorded_at"]) for e in log]
    assert recorded == sorted(recorded)

    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "position": positions[-1]}


def test_after_and_limit_page_exactly(client: TestClient, populated: dict[str, Any]) -> None:
    full = events(client)
    for size in (1, 2, 3, 4, 100):
        pages: list[dict[str, Any]] = []
        cursor = 0
        while True:
            page = events(client, after=cursor, limit=size)
            assert len(page) <= size
            if not page:
                break
            pages.extend(page)
            cursor = page[-1]["position"]
        assert pages == full, size
    middle = full[4]["position"]
    assert events(client, after=middle) == full[5:]
    assert events(client, after=middle, limit=2) == full[5:7]
    assert events(client, after=full[-1]["position"]) == []


def test_type_and_report_filters(client: TestClient, populated: dict[str, Any]) -> None:
    full = events(client)
    corrected = events(client, type="Report.Corrected")
    assert corrected == [e for e in full if e["type"] == "Report.Corrected"]
    assert len(corrected) == 3
    both = events(client, type=["Report.Retracted", "Actor.AliasAdded"])
    assert [e["type"] for e in both] == ["Report.Retracted", "Actor.AliasAdded"]
    # Paging a filtered log still pages exactly.
    assert events(client, type="Report.Corrected", limit=2) == corrected[:2]
    assert events(client, type="Report.Corrected", after=corrected[1]["position"]) == corrected[2:]

    first = populated["reports"][0]
    mine = events(client, report=first)
    assert mine == [e for e in full if e["originator_id"] == first]
    assert [e["type"] for e in mine] == ["Report.Filed", "Report.Corrected", "Report.Corrected"]
    assert [e["originator_version"] for e in mine] == [1, 2, 3]
    assert events(client, report=first, after=mine[0]["position"]) == mine[1:]
    assert events(client, report=first, limit=1) == mine[:1]
    actor = events(client, report=populated["actor"])
    assert [e["type"] for e in actor] == ["Actor.Registered", "Actor.AliasAdded"]

    combined = events(client, report=first, type="Report.Corrected")
    assert [e["originator_version"] for e in combined] == [2, 3]


def test_report_type_and_limit_combine(client: TestClient, populated: dict[str, Any]) -> None:
    first = populated["reports"][0]
    page = events(client, report=first, type="Report.Corrected", limit=1)
    assert [e["originator_version"] for e in page] == [2]


def test_bad_parameters_are_422(client: TestClient) -> None:
    answer = client.get("/events", params={"type": "Report.Deleted"})
    assert answer.status_code == 422
    (problem,) = answer.json()["detail"]
    assert problem["field"] == "type"
    assert "Report.Deleted" in problem["msg"]
    for params, field in (
        ({"after": -1}, "after"),
        ({"limit": 0}, "limit"),
        ({"report": "not-a-uuid"}, "report"),
    ):
        answer = client.get("/events", params=params)
        assert answer.status_code == 422, params
        assert [d["field"] for d in answer.json()["detail"]] == [field]


def test_empty_log(client: TestClient) -> None:
    assert events(client) == []
    assert client.get("/readyz").json() == {"status": "ready", "position": 0}
