"""The tally answers for the target it is asked about, and says when it cannot."""

from __future__ import annotations

from tests.conftest import keyed_client
from tests.test_tally_counts import _attack


def test_the_tally_counts_for_the_target_asked_and_refuses_unknown_ones(settings):
    with keyed_client(settings) as client:
        iran = client.post("/actors", json={"name": "Iran", "category": "state"}).json()
        client.post("/actors", json={"name": "United States", "category": "state"})
        filed = [
            client.post("/reports", json=_attack(day, target)).json()["position"]
            for day, target in (
                ("2023-11-02", "Iran"),
                ("2023-11-09", "Iran"),
                ("2023-11-10", "United States"),
            )
        ]
        wait = {"min_position": max(filed)}

        by_name = client.get("/tally", params={"target": "iran", **wait}).json()
        assert by_name["documented_attacks"] == 2
        assert by_name["target"]["actor_id"] == iran["id"]
        by_id = client.get("/tally", params={"target": iran["id"], **wait}).json()
        assert by_id["documented_attacks"] == 2
        default = client.get("/tally", params=wait).json()
        assert default["documented_attacks"] == 1  # the configured target, the United States

        unknown = client.get("/tally", params={"target": "Atlantis"})
        assert unknown.status_code == 404
        assert unknown.json()["detail"] == [
            {
                "field": "target",
                "msg": "no actor is named 'Atlantis' (GET /actors lists them)",
                "type": "not_found",
            }
        ]


def test_a_configured_target_nobody_registered_is_an_error_not_a_zero(settings):
    with keyed_client(settings) as client:  # nobody registered the United States
        answer = client.get("/tally")
        assert answer.status_code == 404
        (problem,) = answer.json()["detail"]
        assert problem["field"] == "target"
        assert problem["msg"].startswith("the configured tally target (TIMELINE_TALLY_TARGET): ")
        assert "'United States'" in problem["msg"]
