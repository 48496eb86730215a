"""Filing, idempotency, validation, corrections and retractions through the HTTP API.

Every test runs once on SQLite and once on PostgreSQL (the `client` fixture).
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from domain.reports import report_id_for_key
from service.schemas import SEED_EXAMPLE
from tests.conftest import keyed_client

NDJSON = {"content-type": "application/x-ndjson"}


def make_report(key: str | None = "r-1", **overrides: Any) -> dict[str, Any]:
    body = copy.deepcopy(SEED_EXAMPLE)
    body.pop("key")
    if key is not None:
        body["key"] = key
    body.update(overrides)
    return body


def log(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/events", params=params)
    assert answer.status_code == 200, answer.text
    return [orjson.loads(line) for line in answer.text.splitlines() if line.strip()]


def ndjson(*lines: dict[str, Any] | bytes) -> bytes:
    return (
        b"\n".join(line if isinstance(line, bytes) else orjson.dumps(line) for line in lines)
        + b"\n"
    )


def fields_of(answer: Any) -> list[str]:
    return [problem["field"] for problem in answer.json()["detail"]]


# Filing a single report ------------------------------------------------------


def test_file_single_report_and_read_it(client: TestClient) -> None:
    unkeyed = client.post("/reports", json=make_report(key=None))
    assert unkeyed.status_code == 201, unkeyed.text
    assert unkeyed.json()["created"] is True
    assert unkeyed.headers["location"] == f"/reports/{unkeyed.json()['id']}"
    (event,) = log(client)
    assert event["type"] == "Report.Filed"
    assert event["originator_id"] == unkeyed.json()["id"]
    assert event["position"] == unkeyed.json()["position"]

    sent = make_report(key="afp-85-sites")
    filed = client.post("/reports", json=sent).json()
    assert filed["position"] > event["position"]
    answer = client.get(f"/reports/{filed['id']}")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["id"] == filed["id"]
    assert report["version"] == 1
    assert report["key"] == "afp-85-sites"
    assert report["retracted"] is False
    assert report["corrections"] == 0
    content = report["content"]
    assert content["kind"] == "strike"
    assert content["when"]["earliest"] == "2024-02-02"
    assert content["when"]["latest"] == "2024-02-03"
    assert content["when"]["edtf"] == "2024-02-02/2024-02-03"
    assert content["when"]["wording"] == "dans la nuit du 2 au 3 février"
    assert content["counts"] == [
        {
            "value": 85,
            "qualifier": "at_least",
            "counted": "sites",
            "whose": None,
            "low": None,
            "high": None,
            "wording": "plus de 85 sites",
        }
    ]
    assert [a["name"] for a in content["actors"]] == ["Centcom", "Hachd al-Chaabi", "force Quds"]
    assert content["source"]["published_at"] == "2024-02-02T23:40:00Z"
    assert content["incident_key"] == sent["incident_key"]
    (filed_event,) = report["history"]
    assert filed_event["type"] == "Report.Filed"
    assert filed_event["position"] == filed["position"]
    assert filed_event["originator_version"] == 1
    assert filed_event["data"]["content"]["counts"][0]["value"] == 85
    assert filed_event["data"]["key"] == "afp-85-sites"

    day_only = make_report(key="day-only")
    day_only["source"]["published_at"] = "2024-02-02"
    other = client.post("/reports", json=day_only).json()
    content = client.get(f"/reports/{other['id']}").json()["content"]
    assert content["source"]["published_at"] == "2024-02-02"  # a day stays a day


# Idempotency -------------------------------------------------------------------


def test_same_key_same_payload_answers_existing_report(client: TestClient) -> None:
    first = client.post("/reports", json=make_report(key="k-same"))
    assert first.status_code == 201
    before = log(client)
    again = client.post("/reports", json=make_report(key="k-same"))
    assert again.status_code == 200, again.text
    assert again.json() == {
        "id": first.json()["id"],
        "position": first.json()["position"],
        "created": False,
    }
    assert log(client) == before

    # The same through the Idempotency-Key header.
    by_header = client.post(
        "/reports", json=make_report(key=None), headers={"Idempotency-Key": "hdr-1"}
    )
    assert by_header.status_code == 201, by_header.text
    assert by_header.json()["id"] == str(report_id_for_key("hdr-1"))
    before = log(client)
    again = client.post(
        "/reports", json=make_report(key=None), headers={"Idempotency-Key": "hdr-1"}
    )
    assert again.status_code == 200, again.text
    assert again.json()["id"] == by_header.json()["id"]
    assert again.json()["position"] == by_header.json()["position"]
    # The header and the field are the same key.
    via_field = client.post("/reports", json=make_report(key="hdr-1"))
    assert via_field.status_code == 200
    assert via_field.json()["id"] == by_header.json()["id"]
    assert log(client) == before
    assert client.get(f"/reports/{by_header.json()['id']}").json()["key"] == "hdr-1"


def test_same_key_different_payload_conflicts(client: TestClient) -> None:
    first = client.post("/reports", json=make_report(key="k-conflict"))
    assert first.status_code == 201
    before = log(client)
    other = client.post("/reports", json=make_report(key="k-conflict", summary="autre chose"))
    assert other.status_code == 409, other.text
    assert "k-conflict" in other.json()["detail"]
    via_header = client.post(
        "/reports",
        json=make_report(key=None, summary="autre chose"),
        headers={"Idempotency-Key": "k-conflict"},
    )
    assert via_header.status_code == 409
    assert log(client) == before
    assert client.get(f"/reports/{first.json()['id']}").json()["content"].get("summary") is None


def test_header_and_field_disagreeing_is_422(client: TestClient) -> None:
    answer = client.post(
        "/reports", json=make_report(key="in-body"), headers={"Idempotency-Key": "in-header"}
    )
    assert answer.status_code == 422, answer.text
    assert fields_of(answer) == ["key"]
    assert log(client) == []
    agreeing = client.post(
        "/reports", json=make_report(key="both"), headers={"Idempotency-Key": "both"}
    )
    assert agreeing.status_code == 201
    assert agreeing.json()["id"] == str(report_id_for_key("both"))


# NDJSON batches ---------------------------------------------------------------


def test_batch_files_all_in_order(client: TestClient) -> None:
    body = ndjson(
        make_report(key="b-1"),
        make_report(key="b-2", kind="attack"),
        make_report(key=None, summary="sans clé"),
    )
    answer = client.post("/reports", content=body, headers=NDJSON)
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert result["created"] == 3
    assert result["existing"] == 0
    items = result["reports"]
    assert [item["line"] for item in items] == [1, 2, 3]
    assert all(item["created"] for item in items)
    assert items[0]["id"] == str(report_id_for_key("b-1"))
    assert items[1]["id"] == str(report_id_for_key("b-2"))
    positions = [item["position"] for item in items]
    assert positions == sorted(positions) and len(set(positions)) == 3
    events = log(client)
    assert [(e["originator_id"], e["position"]) for e in events] == [
        (item["id"], item["position"]) for item in items
    ]
    assert client.get(f"/reports/{items[1]['id']}").json()["content"]["kind"] == "attack"
    summary = client.get(f"/reports/{items[2]['id']}").json()["content"]["summary"]
    assert summary == "sans clé"


def test_batch_with_bad_lines_names_each_line_and_writes_nothing(client: TestClient) -> None:
    client.post("/reports", json=make_report(key="already-there"))
    before = log(client)
    reversed_when = {"earliest": "2024-02-05", "latest": "2024-02-01"}
    body = ndjson(
        make_report(key="ok-1"),
        make_report(key="bad-kind", kind="massacre"),
        make_report(key="ok-3"),
        make_report(key="bad-when", when=reversed_when),
        b'{"kind": "strike", ',
    )
    answer = client.post("/reports", content=body, headers=NDJSON)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    by_line = {(d["line"], d["field"]): d for d in detail}
    assert set(by_line) == {(2, "kind"), (4, "when.latest"), (5, "body")}
    assert "attack" in by_line[(2, "kind")]["msg"]  # names the allowed kinds
    assert "before earliest" in by_line[(4, "when.latest")]["msg"]
    assert "JSON" in by_line[(5, "body")]["msg"]
    assert all(d["msg"] and d["type"] for d in detail)
    assert log(client) == before
    assert client.get(f"/reports/{report_id_for_key('ok-1')}").status_code == 404

    # Blank lines count: numbers are the file's line numbers.
    body = (
        orjson.dumps(make_report(key="x-1"))
        + b"\n\n"
        + orjson.dumps(make_report(key="x-2", kind="nope"))
    )
    answer = client.post("/reports", content=body, headers=NDJSON)
    assert answer.status_code == 422
    assert [(d["line"], d["field"]) for d in answer.json()["detail"]] == [(3, "kind")]
    assert log(client) == before


def test_batch_reusing_key_with_other_payload_conflicts(client: TestClient) -> None:
    client.post("/reports", json=make_report(key="existing"))
    before = log(client)
    body = ndjson(
        make_report(key="new-1"),
        make_report(key="new-2"),
        make_report(key="existing", summary="une autre version"),
    )
    answer = client.post("/reports", content=body, headers=NDJSON)
    assert answer.status_code == 409, answer.text
    (problem,) = answer.json()["detail"]
    assert problem["line"] == 3
    assert problem["field"] == "key"
    assert "existing" in problem["msg"]
    assert log(client) == before
    for key in ("new-1", "new-2"):
        assert client.get(f"/reports/{report_id_for_key(key)}").status_code == 404


def test_batch_duplicate_keys(client: TestClient) -> None:
    conflicting = ndjson(make_report(key="dup"), make_report(key="dup", summary="différent"))
    answer = client.post("/reports", content=conflicting, headers=NDJSON)
    assert answer.status_code == 409
    assert [(d["line"], d["field"]) for d in answer.json()["detail"]] == [(2, "key")]
    assert log(client) == []

    body = ndjson(make_report(key="twice"), make_report(key="twice"))
    answer = client.post("/reports", content=body, headers=NDJSON)
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert (result["created"], result["existing"]) == (1, 1)
    first, second = result["reports"]
    assert first["id"] == second["id"] == str(report_id_for_key("twice"))
    assert first["position"] == second["position"]
    assert (first["created"], second["created"]) == (True, False)
    assert [e["type"] for e in log(client)] == ["Report.Filed"]


def test_batch_with_existing_same_payload_files_only_the_new(client: TestClient) -> None:
    first = client.post("/reports", json=make_report(key="old")).json()
    body = ndjson(make_report(key="old"), make_report(key="fresh"))
    answer = client.post("/reports", content=body, headers=NDJSON)
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert (result["created"], result["existing"]) == (1, 1)
    old, fresh = result["reports"]
    assert old == {"line": 1, "id": first["id"], "position": first["position"], "created": False}
    assert fresh["created"] is True and fresh["id"] == str(report_id_for_key("fresh"))
    assert fresh["position"] > first["position"]
    assert [e["originator_id"] for e in log(client)] == [first["id"], fresh["id"]]


def test_batch_refuses_idempotency_header_and_empty_body(client: TestClient) -> None:
    answer = client.post(
        "/reports",
        content=ndjson(make_report(key=None)),
        headers={**NDJSON, "Idempotency-Key": "nope"},
    )
    assert answer.status_code == 422
    assert fields_of(answer) == ["Idempotency-Key"]
    empty = client.post("/reports", content=b"\n  \n", headers=NDJSON)
    assert empty.status_code == 422
    assert fields_of(empty) == ["body"]
    assert log(client) == []


# Validation ---------------------------------------------------------------------


def _with(path: str, value: Any) -> dict[str, Any]:
    body = make_report(key="invalid")
    target: Any = body
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return body


INVALID = {
    "unknown kind": (_with("kind", "massacre"), "kind", "attack"),
    "latest before earliest": (
        _with("when", {"earliest": "2024-02-05", "latest": "2024-02-01"}),
        "when.latest",
        "before earliest",
    ),
    "negative count": (_with("counts.0.value", -3), "counts.0.value", "greater than or equal"),
    "unknown qualifier": (_with("counts.0.qualifier", "roughly"), "counts.0.qualifier", "exact"),
    "malformed edtf": (_with("when", "2024-13-45"), "when", "EDTF"),
    "malformed edtf in object": (_with("when", {"edtf": "février 2024"}), "when", "EDTF"),
    "bad country code": (_with("places.0.country", "XX"), "places.0.country", "ISO 3166"),
    "control character": (_with("summary", "frappe\x07 aérienne"), "summary", "control"),
    "bidi override": (_with("source.quote", "abc\u202edef"), "source.quote", "control"),
    "extra field": (_with("colour", "red"), "colour", "Extra inputs"),
    "naive published_at": (
        _with("source.published_at", "2024-02-02T23:40:00"),
        "source.published_at",
        "UTC offset",
    ),
    "half coordinates": (_with("places.0.latitude", 34.3), "places.0", "latitude and longitude"),
    "responds to itself": (
        _with("responds_to", SEED_EXAMPLE["incident_key"]),
        "body",
        "own incident_key",
    ),
    "bad language tag": (_with("source.language", "French"), "source.language", "pattern"),
    "edtf interval reversed": (
        _with("when", "2024-02-05/2024-02-01"),
        "when.latest",
        "before earliest",
    ),
    "missing source": (
        {k: v for k, v in make_report(key="invalid").items() if k != "source"},
        "source",
        "required",
    ),
}


def test_malformed_body_and_unsupported_content_type(client: TestClient) -> None:
    answer = client.post(
        "/reports", content=b"[1, 2]", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422
    assert fields_of(answer) == ["body"]
    answer = client.post("/reports", content=b"{oops", headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert fields_of(answer) == ["body"]
    answer = client.post(
        "/reports",
        content=orjson.dumps(make_report(key="txt")),
        headers={"content-type": "text/plain"},
    )
    assert answer.status_code == 415, answer.text
    assert "text/plain" in answer.json()["detail"]
    assert log(client) == []


@pytest.fixture
def small_client(settings: Any) -> Any:
    small = settings.model_copy(update={"max_body_bytes": 2048})
    with keyed_client(small) as test_client:
        yield test_client


def test_body_over_the_limit_is_413_and_writes_nothing(small_client: TestClient) -> None:
    fits = small_client.post("/reports", json=make_report(key="small"))
    assert fits.status_code == 201, fits.text
    before = log(small_client)
    too_big = make_report(key="big", summary="x" * 3000)  # valid, only too large
    answer = small_client.post("/reports", json=too_big)
    assert answer.status_code == 413, answer.text
    assert answer.json()["detail"][0]["field"] == "body"
    batch = ndjson(make_report(key="b-1"), make_report(key="b-2"), make_report(key="b-3"))
    assert len(batch) > 2048
    assert small_client.post("/reports", content=batch, headers=NDJSON).status_code == 413
    # Without a Content-Length (chunked upload) the limit holds while streaming.
    payload = orjson.dumps(make_report(key="streamed", summary="y" * 3000))

    def chunks() -> Any:
        for start in range(0, len(payload), 500):
            yield payload[start : start + 500]

    streamed = small_client.post(
        "/reports", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413, streamed.text
    assert log(small_client) == before


def test_invalid_reports_name_their_field(client: TestClient) -> None:
    """Every case of the table, on one store: each is refused and names its field."""
    failures = []
    for case, (body, field, message) in INVALID.items():
        answer = client.post("/reports", json=body)
        detail = answer.json().get("detail") if answer.status_code == 422 else None
        matching = [d for d in detail or [] if d["field"] == field and message in d["msg"]]
        if not matching:
            failures.append(f"{case}: {answer.status_code} {answer.text}")
    assert not failures, "\n".join(failures)
    assert log(client) == []


# Corrections --------------------------------------------------------------------

NEW_COUNT = {"value": 90, "qualifier": "about", "counted": "sites", "wording": "environ 90 sites"}
# As the report stores it: with the fields a count may leave out.
STORED_COUNT = {**NEW_COUNT, "whose": None, "low": None, "high": None}


def filed(client: TestClient, key: str = "to-correct", **overrides: Any) -> dict[str, Any]:
    answer = client.post("/reports", json=make_report(key=key, **overrides))
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_correction_creates_version_2_and_keeps_the_old_value(client: TestClient) -> None:
    report = filed(client)
    answer = client.post(
        f"/reports/{report['id']}/corrections",
        json={
            "changes": {"counts": [NEW_COUNT]},
            "reason": "Centcom a révisé",
            "corrected_by": "AFP desk",
        },
    )
    assert answer.status_code == 201, answer.text
    change = answer.json()
    assert change["id"] == report["id"]
    assert change["version"] == 2
    assert change["position"] > report["position"]

    now = client.get(f"/reports/{report['id']}").json()
    assert now["version"] == 2
    assert now["corrections"] == 1
    assert now["content"]["counts"] == [STORED_COUNT]
    assert now["content"]["kind"] == "strike"  # untouched fields stay
    assert [e["type"] for e in now["history"]] == ["Report.Filed", "Report.Corrected"]
    filed_event, corrected_event = now["history"]
    assert filed_event["data"]["content"]["counts"][0]["value"] == 85
    assert corrected_event["position"] == change["position"]
    assert corrected_event["originator_version"] == 2
    assert corrected_event["data"]["changes"]["counts"] == [STORED_COUNT]
    assert corrected_event["data"]["fields"] == ["counts"]
    assert corrected_event["data"]["reason"] == "Centcom a révisé"
    assert corrected_event["data"]["corrected_by"] == "AFP desk"

    # ?version=1 shows the report as first filed.
    first = client.get(f"/reports/{report['id']}", params={"version": 1}).json()
    assert first["version"] == 1
    assert first["corrections"] == 0
    assert first["content"]["counts"][0]["value"] == 85
    assert first["content"].get("summary") is None
    client.post(
        f"/reports/{report['id']}/corrections",
        json={"changes": {"kind": "attack", "summary": "corrigé"}, "reason": "erreur"},
    )
    second = client.get(f"/reports/{report['id']}", params={"version": 2}).json()
    assert (second["content"]["kind"], second["content"]["counts"]) == ("strike", [STORED_COUNT])
    now = client.get(f"/reports/{report['id']}").json()
    assert (now["version"], now["corrections"]) == (3, 2)
    assert (now["content"]["kind"], now["content"]["summary"]) == ("attack", "corrigé")
    assert now["content"]["counts"] == [STORED_COUNT]
    assert client.get(f"/reports/{report['id']}", params={"version": 0}).status_code == 422


INVALID_CORRECTIONS = {
    "when reversed": (
        {"changes": {"when": {"earliest": "2024-02-05", "latest": "2024-02-01"}}},
        "changes.when.latest",
        "before earliest",
    ),
    "responds to itself": (
        {"changes": {"responds_to": SEED_EXAMPLE["incident_key"]}},
        "changes",
        "own incident_key",
    ),
    "required field null": (
        {"changes": {"kind": None}},
        "changes.kind",
        "Input should be 'attack', 'strike', 'casualties'",
    ),
    "negative count": (
        {"changes": {"counts": [{"value": -1, "counted": "killed"}]}},
        "changes.counts.0.value",
        "greater than or equal",
    ),
    "unknown field": ({"changes": {"colour": "red"}}, "changes.colour", "Extra inputs"),
    "empty changes": ({"changes": {}}, "body", "at least one field"),
    "no reason": (
        {"changes": {"summary": "x"}, "reason": None},
        "reason",
        "Input should be a valid string",
    ),
    "bad expected_version": (
        {"changes": {"summary": "x"}, "expected_version": 0},
        "expected_version",
        "greater than or equal to 1",
    ),
}


def test_invalid_corrections_are_422_and_write_nothing(client: TestClient) -> None:
    report = filed(client)
    before = log(client)
    failures = []
    for case, (body, field, message) in INVALID_CORRECTIONS.items():
        body = {"reason": "essai", **body}
        answer = client.post(f"/reports/{report['id']}/corrections", json=body)
        detail = answer.json().get("detail") if answer.status_code == 422 else None
        if not [d for d in detail or [] if d["field"] == field and message in d["msg"]]:
            failures.append(f"{case}: {answer.status_code} {answer.text}")
    assert not failures, "\n".join(failures)
    assert log(client) == before
    assert client.get(f"/reports/{report['id']}").json()["version"] == 1


def test_correction_expected_version(client: TestClient) -> None:
    report = filed(client)
    url = f"/reports/{report['id']}/corrections"
    stale = client.post(
        url, json={"changes": {"summary": "a"}, "reason": "r", "expected_version": 2}
    )
    assert stale.status_code == 409, stale.text
    assert [e["type"] for e in log(client)] == ["Report.Filed"]
    ok = client.post(url, json={"changes": {"summary": "a"}, "reason": "r", "expected_version": 1})
    assert ok.status_code == 201
    again = client.post(
        url, json={"changes": {"summary": "b"}, "reason": "r", "expected_version": 1}
    )
    assert again.status_code == 409
    assert client.get(f"/reports/{report['id']}").json()["content"]["summary"] == "a"


def test_unknown_report_is_404(client: TestClient) -> None:
    missing = report_id_for_key("missing")
    answer = client.post(
        f"/reports/{missing}/corrections", json={"changes": {"summary": "x"}, "reason": "r"}
    )
    assert answer.status_code == 404
    answer = client.post(f"/reports/{missing}/retraction", json={"reason": "r"})
    assert answer.status_code == 404
    assert client.get(f"/reports/{missing}").status_code == 404
    assert client.get(f"/reports/{missing}", params={"version": 1}).status_code == 404
    assert log(client) == []


# Retraction ---------------------------------------------------------------------


def test_retraction(client: TestClient) -> None:
    report = filed(client)
    url = f"/reports/{report['id']}"
    stale = client.post(f"{url}/retraction", json={"reason": "r", "expected_version": 3})
    assert stale.status_code == 409
    assert client.get(url).json()["retracted"] is False
    answer = client.post(
        f"{url}/retraction",
        json={"reason": "La source a démenti", "retracted_by": "AFP desk", "expected_version": 1},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == 2
    now = client.get(url).json()
    assert now["retracted"] is True
    assert now["retraction_reason"] == "La source a démenti"
    assert now["content"]["kind"] == "strike"  # the report stays readable
    assert [e["type"] for e in now["history"]] == ["Report.Filed", "Report.Retracted"]
    assert now["history"][1]["data"]["retracted_by"] == "AFP desk"
    before = log(client)

    second = client.post(f"{url}/retraction", json={"reason": "encore"})
    assert second.status_code == 409
    correction = client.post(
        f"{url}/corrections", json={"changes": {"summary": "x"}, "reason": "trop tard"}
    )
    assert correction.status_code == 409
    assert "retracted" in correction.json()["detail"]
    assert log(client) == before
    assert client.get(url, params={"version": 1}).json()["retracted"] is False
