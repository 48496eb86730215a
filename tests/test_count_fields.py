"""A count's `whose` and bounds, and a report's `means`, through the HTTP API."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from domain.values import Count, Means
from service.schemas import SEED_EXAMPLE


def report(key: str, **overrides: Any) -> dict[str, Any]:
    return {**copy.deepcopy(SEED_EXAMPLE), "key": key, **overrides}


KILLED = {"value": 3, "counted": "killed"}


def test_whose_low_high_and_means_are_kept(client):
    body = report(
        "fields-kept",
        counts=[
            {**KILLED, "whose": "Combatants", "low": 2, "high": 5},
            {"value": 5, "qualifier": "at_least", "counted": "killed", "whose": "Hachd Al Chaabi"},
        ],
        means=["drone", "rocket"],
        aggregate=True,
    )
    filed = client.post("/reports", json=body)
    assert filed.status_code == 201, filed.text
    content = client.get(f"/reports/{filed.json()['id']}").json()["content"]
    assert [(c["whose"], c["low"], c["high"]) for c in content["counts"]] == [
        ("combatants", 2, 5),
        ("Hachd Al Chaabi", None, None),
    ]
    assert content["means"] == ["drone", "rocket"]
    assert content["aggregate"] is True


@pytest.mark.parametrize(
    ("count", "field", "words"),
    [
        ({**KILLED, "low": 4}, "counts.0.low", "low (4) is above value (3)"),
        ({**KILLED, "high": 2}, "counts.0.high", "high (2) is below value (3)"),
        ({**KILLED, "low": -1}, "counts.0.low", "greater than or equal to 0"),
    ],
)
def test_bounds_outside_the_value_are_refused(client, count, field, words):
    answer = client.post("/reports", json=report("bad-bounds", counts=[count]))
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["detail"]
    assert problem["field"] == field
    assert words in problem["msg"]


def test_whose_must_be_a_group_or_a_mentioned_actor(client):
    counts = [KILLED, {**KILLED, "whose": "Hezbollah"}]
    answer = client.post("/reports", json=report("bad-whose", counts=counts))
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["detail"]
    assert problem["field"] == "counts"
    assert problem["msg"].startswith("counts.1.whose: whose 'Hezbollah' is neither civilians")
    assert "name the actor in `actors` too" in problem["msg"]


def test_a_correction_is_checked_against_the_whole_report(client):
    filed = client.post("/reports", json=report("whose-fix"))
    assert filed.status_code == 201
    change = {"changes": {"counts": [{**KILLED, "whose": "Hezbollah"}]}, "reason": "r"}
    answer = client.post(f"/reports/{filed.json()['id']}/corrections", json=change)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == "changes.counts"
    change = {
        "changes": {"counts": [{**KILLED, "whose": "force Quds"}]},
        "reason": "r",
        "published_at": "2024-02-04T08:00:00+00:00",
    }
    answer = client.post(f"/reports/{filed.json()['id']}/corrections", json=change)
    assert answer.status_code == 201, answer.text
    history = client.get(f"/reports/{filed.json()['id']}").json()["history"]
    assert history[-1]["data"]["published_at"] == "2024-02-04T08:00:00+00:00"


def test_unknown_means_is_refused_with_the_vocabulary(client):
    answer = client.post("/reports", json=report("bad-means", means=["drones"]))
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["detail"]
    assert problem["field"] == "means.0"
    assert "'drone'" in problem.get("hint", "") + problem["msg"]
    twice = client.post("/reports", json=report("means-twice", means=["drone", "drone"]))
    assert twice.status_code == 422
    assert twice.json()["detail"][0]["field"] == "means"


def test_a_retraction_takes_a_naive_instant_as_an_error(client):
    filed = client.post("/reports", json=report("retract-published"))
    naive = {"reason": "r", "published_at": "2024-02-04T08:00:00"}
    answer = client.post(f"/reports/{filed.json()['id']}/retraction", json=naive)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == "published_at"
    day = {"reason": "r", "published_at": "2024-02-04"}
    answer = client.post(f"/reports/{filed.json()['id']}/retraction", json=day)
    assert answer.status_code == 201, answer.text


def test_vocabulary_is_documented_in_openapi(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["Means"]["enum"] == [m.value for m in Means]
    assert set(schemas["Count"]["properties"]) >= {"whose", "low", "high"}


def test_groups_are_spelt_one_way():
    assert Count(value=1, counted="killed", whose="CIVILIANS").whose == "civilians"
