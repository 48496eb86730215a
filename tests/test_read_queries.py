"""Read queries that say what they did not understand, through the real HTTP app,
on a real SQLite file and a real PostgreSQL, over the seed article."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect

from service.query_params import unknown_parameters
from tests.seeding import post_seed


@pytest.fixture
def seeded(client):
    client.head = post_seed(client)
    return client


def only_problem(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    (problem,) = answer.json()["detail"]
    return problem


# country ------------------------------------------------------------------------------


def test_a_country_name_is_refused_with_the_code_to_write(seeded):
    problem = only_problem(seeded.get("/timeline", params={"country": "Iraq"}), 422)
    assert problem["field"] == "country"
    assert problem["msg"] == (
        "'Iraq' is not an ISO 3166-1 alpha-2 country code; "
        "use the ISO 3166-1 alpha-2 code: write IQ"
    )
    unknown = only_problem(seeded.get("/timeline", params={"country": "Atlantis"}), 422)
    assert unknown["msg"].endswith("use the ISO 3166-1 alpha-2 code: e.g. IQ")
    # The same rule as filing: the same words for the same mistake.
    body = {
        "kind": "strike",
        "when": "2024-02-02",
        "places": [{"name": "Al-Qaïm", "country": "Iraq"}],
        "source": {"outlet": "AFP", "language": "fr"},
    }
    filed = only_problem(seeded.post("/reports", json=body), 422)
    assert filed["field"] == "places.0.country" and filed["msg"] == problem["msg"]
    # A code in any case still reads.
    lower = seeded.get("/timeline", params={"country": "iq", "min_position": seeded.head})
    assert lower.status_code == 200
    assert "2024-02-02-us-strikes-iraq-syria" in {e["incident"] for e in lower.json()["entries"]}


# actor --------------------------------------------------------------------------------


def test_an_actor_nobody_is_named_is_a_404_naming_the_actor(seeded):
    problem = only_problem(seeded.get("/timeline", params={"actor": "Nobody"}), 404)
    assert problem == {
        "field": "actor",
        "msg": "no actor is named 'Nobody' (GET /actors lists them)",
        "type": "not_found",
    }
    assert seeded.get("/actors/resolve", params={"name": "Nobody"}).status_code == 404
    unknown_id = "00000000-0000-4000-8000-000000000000"
    by_id = only_problem(seeded.get("/timeline", params={"actor": unknown_id}), 404)
    assert by_id["msg"] == f"no actor has the id {unknown_id} (GET /actors lists them)"
    quds = seeded.get("/actors/resolve", params={"name": "force Quds"}).json()["id"]
    assert seeded.get("/timeline", params={"actor": quds}).status_code == 200
    known = seeded.get("/timeline", params={"actor": "force Quds", "min_position": seeded.head})
    assert known.status_code == 200 and known.json()["entries"]


def test_subscriptions_refuse_an_unknown_actor_and_a_country_name(seeded):
    actor = only_problem(seeded.get("/subscribe/timeline", params={"actor": "Nobody"}), 404)
    assert actor["field"] == "actor" and "'Nobody'" in actor["msg"]
    country = only_problem(seeded.get("/subscribe/timeline", params={"country": "Iraq"}), 422)
    assert country["field"] == "country" and country["msg"].endswith("write IQ")
    unknown_id = "00000000-0000-4000-8000-000000000000"
    by_id = only_problem(seeded.get("/subscribe/timeline", params={"actor": unknown_id}), 404)
    assert by_id["msg"] == f"no actor has the id {unknown_id} (GET /actors lists them)"
    extra = only_problem(seeded.get("/subscribe/timeline", params={"contry": "IQ"}), 422)
    assert extra["field"] == "contry"
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        seeded.websocket_connect("/ws/timeline?actor=Nobody") as socket,
    ):
        socket.receive_text()
    assert closed.value.code == 1008
    assert closed.value.reason == "actor: no actor is named 'Nobody' (GET /actors lists them)"


# version ------------------------------------------------------------------------------


def test_a_version_the_report_never_had_is_a_404_saying_the_latest(seeded):
    params = {"detail": "full", "limit": 1, "min_position": seeded.head}
    filed = seeded.get("/timeline", params=params).json()["entries"]
    report_id = filed[0]["sources"][0]["report"]
    assert seeded.get(f"/reports/{report_id}", params={"version": 1}).status_code == 200
    problem = only_problem(seeded.get(f"/reports/{report_id}", params={"version": 5}), 404)
    assert problem == {
        "field": "version",
        "msg": "the report has no version 5; its latest version is 1",
        "type": "not_found",
    }


# unknown parameters -------------------------------------------------------------------

VIEWS = [
    ("/timeline", {"actor", "as_of", "country", "cursor", "detail", "from", "kind"}),
    ("/timeline/weekly", {"as_of", "min_position"}),
    ("/contradictions", {"as_of", "min_position"}),
    ("/tally", {"as_of", "attacks", "group_by", "min_position", "reported", "start"}),
    ("/incidents/2024-02-02-us-strikes-iraq-syria", {"as_of", "min_position"}),
]


@pytest.mark.parametrize(("path", "some_known"), VIEWS)
def test_an_unknown_query_parameter_is_named_with_the_known_ones(seeded, path, some_known):
    problem = only_problem(seeded.get(path, params={"contry": "IQ"}), 422)
    assert problem["field"] == "contry" and problem["type"] == "extra_forbidden"
    listed = set(problem["msg"].split("this endpoint takes: ")[1].split(", "))
    assert some_known <= listed and "contry" not in listed
    assert seeded.get(path, params={"as_of": seeded.head}).status_code == 200


def test_an_actor_history_refuses_an_unknown_parameter(seeded):
    quds = seeded.get("/actors/resolve", params={"name": "force Quds"}).json()["id"]
    problem = only_problem(seeded.get(f"/actors/{quds}/history", params={"rolup": "true"}), 422)
    assert problem["field"] == "rolup" and problem["hint"] == "did you mean 'rollup'?"


def test_unknown_parameters_rule():
    assert unknown_parameters(["as_of", "limit"], ["as_of", "limit"]) == []
    (problem,) = unknown_parameters(["lmit", "as_of", "lmit"], ["as_of", "limit"])
    assert problem == {
        "field": "lmit",
        "msg": "unknown query parameter 'lmit'; this endpoint takes: as_of, limit",
        "type": "extra_forbidden",
        "hint": "did you mean 'limit'?",
    }
    (far,) = unknown_parameters(["zzz"], [])
    assert far["msg"].endswith("this endpoint takes: none") and "hint" not in far


# positions beyond the log's head ------------------------------------------------------


@pytest.mark.parametrize("name", ["as_of", "min_position"])
def test_a_position_beyond_the_head_is_a_422_not_a_retry(seeded, name):
    head = seeded.head
    answer = seeded.get("/timeline", params={name: head + 1000})
    problem = only_problem(answer, 422)
    assert "retry-after" not in answer.headers
    assert problem == {
        "field": name,
        "msg": f"position {head + 1000} is beyond the log's head ({head}); "
        f"the log has positions up to {head}",
        "type": "beyond_head",
    }
    at_head = seeded.get("/timeline", params={name: head})
    assert at_head.status_code == 200 and at_head.json()["position"] == head


def test_a_view_that_lags_a_position_the_log_has_still_answers_503(sqlite_settings):
    from tests.conftest import keyed_client

    stopped = sqlite_settings.model_copy(update={"run_projections": False})
    with keyed_client(stopped) as client:
        head = post_seed(client)
        answer = client.get("/timeline", params={"min_position": head})
        assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
        assert (
            answer.json()["detail"] == f"view timeline has not reached position {head} yet; retry"
        )


def test_a_name_the_log_has_but_the_view_not_yet_is_no_404(sqlite_settings):
    from tests.conftest import keyed_client

    stopped = sqlite_settings.model_copy(update={"run_projections": False})
    with keyed_client(stopped) as client:
        assert client.post("/actors", json={"name": "Kataeb Hezbollah"}).status_code == 201
        answer = client.get("/timeline", params={"actor": "Kataeb Hezbollah"})
        assert answer.status_code == 200 and answer.json()["entries"] == []
        assert client.get("/timeline", params={"actor": "Nobody"}).status_code == 404
        sse = client.get("/subscribe/timeline", params={"actor": "Nobody"})
        assert sse.status_code == 404
