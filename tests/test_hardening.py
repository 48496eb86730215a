"""Keys, limits, hostile input and concurrent writers, through the real HTTP app."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from uuid import UUID, uuid4

import orjson
import pytest
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient

from domain.values import ReportContent
from service.api import create_app
from service.schemas import SEED_EXAMPLE

NDJSON = {"content-type": "application/x-ndjson"}


def report(key: str | None = None) -> dict:
    body = {k: v for k, v in SEED_EXAMPLE.items() if k != "key"}
    return {**body, "key": key} if key else body


def log(client: TestClient) -> list[dict]:
    answer = client.get("/events")
    assert answer.status_code == 200
    return [orjson.loads(line) for line in answer.content.splitlines()]


# Keys ----------------------------------------------------------------------------------


def test_writes_need_a_valid_unrevoked_key_and_events_record_it(client):
    secret = client.headers.pop("Authorization")
    missing = client.post("/reports", json=report())
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    bad = client.post("/reports", json=report(), headers={"Authorization": "Bearer tl_nope"})
    assert bad.status_code == 401
    wrong_scheme = client.post("/reports", json=report(), headers={"Authorization": "Basic x"})
    assert wrong_scheme.status_code == 401
    assert client.post("/actors", json={"name": "Hamas"}).status_code == 401
    assert log(client) == []
    assert client.get("/timeline").status_code == 200  # reads are open

    keyring = client.app.state.keyring
    key, fresh = keyring.issue_key("desk")
    written = client.post("/reports", json=report(), headers={"Authorization": f"Bearer {fresh}"})
    assert written.status_code == 201
    assert log(client)[0]["data"]["written_by"] == str(key.id)

    keyring.revoke_key(key.id, "left the desk")
    revoked = client.post("/reports", json=report(), headers={"Authorization": f"Bearer {fresh}"})
    assert revoked.status_code == 403
    assert len(log(client)) == 1
    client.headers["Authorization"] = secret


def test_keys_are_stored_only_as_hashes(sqlite_settings, tmp_path):
    with TestClient(create_app(sqlite_settings)) as app_client:
        _, secret = app_client.app.state.keyring.issue_key("desk")
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("*.sqlite3*"))
    assert secret.encode() not in stored
    assert secret[3:].encode() not in stored


def test_reads_can_require_a_key(sqlite_settings):
    closed = sqlite_settings.model_copy(update={"read_keys_required": True})
    with TestClient(create_app(closed)) as app_client:
        assert app_client.get("/timeline").status_code == 401
        assert app_client.get("/events").status_code == 401
        _, secret = app_client.app.state.keyring.issue_key("reader")
        auth = {"Authorization": f"Bearer {secret}"}
        assert app_client.get("/timeline", headers=auth).status_code == 200
        assert app_client.get("/healthz").status_code == 200  # probes stay open


# Upcasting -----------------------------------------------------------------------------


def test_version_1_events_are_upcast_when_read(client):
    """Events written before keys existed read back with written_by None."""
    report_id = uuid4()
    timeline = client.app.state.timeline
    content = {k: v for k, v in SEED_EXAMPLE.items() if k != "key"}
    state = timeline.mapper.transcoder.encode(
        {
            "timestamp": datetime.now(UTC),
            "originator_topic": "domain.reports:Report",
            "content": ReportContent.model_validate(content),
            "key": None,
            "digest": "v1",
        }
    )
    timeline.recorder.insert_events(
        [StoredEvent(report_id, 1, "domain.reports:Report.Filed", state)]
    )
    answer = client.get(f"/reports/{report_id}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["content"]["kind"] == "strike"
    (event,) = [e for e in log(client) if e["originator_id"] == str(report_id)]
    assert event["schema_version"] == 1
    assert timeline.get_report(report_id).written_by is None
    corrected = client.post(
        f"/reports/{report_id}/corrections",
        json={"changes": {"summary": "after upcasting"}, "reason": "test"},
    )
    assert corrected.status_code == 201


# Concurrency ---------------------------------------------------------------------------


def _race(client: TestClient, report_id: str, expected: int | None, count: int) -> list[int]:
    statuses: list[int] = []
    barrier = threading.Barrier(count)

    def correct(n: int) -> None:
        barrier.wait()
        body = {"changes": {"summary": f"correction {n}"}, "reason": f"race {expected} {n}"}
        if expected is not None:
            body["expected_version"] = expected
        statuses.append(client.post(f"/reports/{report_id}/corrections", json=body).status_code)

    threads = [threading.Thread(target=correct, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_concurrent_corrections_never_lose_an_update(client):
    report_id = client.post("/reports", json=report()).json()["id"]
    statuses = _race(client, report_id, expected=1, count=6)
    assert sorted(statuses) == [201] + [409] * 5  # exactly one wins version 2
    # Without an expected version each is re-run on fresh state: it lands, or (after
    # repeated contention) answers 409; never a silent overwrite.
    statuses = _race(client, report_id, expected=None, count=6)
    assert set(statuses) <= {201, 409} and statuses.count(201) >= 3
    landed = 1 + statuses.count(201)
    final = client.get(f"/reports/{report_id}").json()
    assert final["version"] == 1 + landed and final["corrections"] == landed
    reasons = {e["data"]["reason"] for e in final["history"] if e["type"] == "Report.Corrected"}
    assert len(reasons) == landed  # every acknowledged correction is in the history


# Hostile input ---------------------------------------------------------------------------

HOSTILE_BODIES = {
    "truncated ndjson": (
        orjson.dumps(report("a")) + b"\n" + orjson.dumps(report("b"))[:40],
        NDJSON,
    ),
    "invalid utf-8": (b'{"kind": "attack", "when": "2024-01-01", "summary": "\xff\xfe"}', None),
    "invalid utf-8 ndjson": (orjson.dumps(report("c")) + b"\n\xc3\x28\n", NDJSON),
    "huge integer": (
        orjson.dumps(report())[:-1]
        + b',"counts":[{"value":'
        + b"9" * 400
        + b',"counted":"sites"}]}',
        None,
    ),
    "huge float": (
        b'{"kind":"attack","when":"2024-01-01","counts":[{"value":1e400,'
        b'"counted":"sites"}],"source":{"outlet":"AFP","language":"fr"}}',
        None,
    ),
    "deep nesting": (b'{"kind":' + b"[" * 5000 + b"]" * 5000 + b"}", None),
    "edtf garbage": (orjson.dumps({**report(), "when": "2024-02-30/../../etc"}), None),
    "edtf injection": (orjson.dumps({**report(), "when": "'; DROP TABLE stored_events;--"}), None),
    "not an object": (b"[1, 2, 3]", None),
    "empty": (b"", None),
    "nul bytes": (orjson.dumps({**report(), "summary": "a\x00b"}), None),
    "bidi override": (orjson.dumps({**report(), "summary": "abc\u202edcba"}), None),
    "too long": (orjson.dumps({**report(), "summary": "x" * 6000}), None),
    "too many actors": (
        orjson.dumps(
            {**report(), "actors": [{"name": f"a{n}", "role": "target"} for n in range(60)]}
        ),
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_hostile_bodies_get_4xx_and_change_nothing(client, name):
    before = log(client)
    body, headers = HOSTILE_BODIES[name]
    answer = client.post(
        "/reports", content=body, headers=headers or {"content-type": "application/json"}
    )
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    detail = answer.json()["detail"]
    assert detail and all("field" in problem and "msg" in problem for problem in detail)
    assert log(client) == before


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/reports/..%2f..%2fetc%2fpasswd", 404),
        ("/reports/1%3BDROP%20TABLE%20stored_events", 422),
        ("/reports/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12, 404),
        ("/timeline?country=IQ'%20OR%201=1--", 422),  # not a country code
        ("/timeline?actor=x'%20OR%20'1'='1", 404),  # nobody has this name
        ("/events?after=1;DROP%20TABLE%20x", 422),
        ("/events?type=Report.Filed'%20OR%201=1", 422),
        ("/tally?group_by=week;DROP", 422),
        ("/timeline?as_of=1%20OR%201=1", 422),
        ("/incidents/'%20OR%201=1--", 404),
    ],
)
def test_path_and_query_injection(client, path, status):
    client.post("/reports", json=report("kept"))
    before = log(client)
    answer = client.get(path)
    assert answer.status_code == status, answer.text[:300]
    assert log(client) == before


def test_batch_line_limit(sqlite_settings):
    small = sqlite_settings.model_copy(update={"max_batch_reports": 3})
    with TestClient(create_app(small)) as app_client:
        _, secret = app_client.app.state.keyring.issue_key("t")
        body = b"\n".join(orjson.dumps(report(f"k{n}")) for n in range(4))
        answer = app_client.post(
            "/reports", content=body, headers={**NDJSON, "Authorization": f"Bearer {secret}"}
        )
        assert answer.status_code == 422
        assert "at most 3" in answer.json()["detail"][0]["msg"]


def test_unknown_actor_id_in_a_report_is_refused(client):
    body = {**report(), "actors": [{"name": "x", "role": "target", "actor_id": str(UUID(int=1))}]}
    answer = client.post("/reports", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "actors.0.actor_id"
    assert log(client) == []
