"""The tally's per-actor daily counts follow the hierarchy as it changes."""

from __future__ import annotations

from tests.conftest import keyed_client


def _attack(day: str, target: str) -> dict:
    return {
        "kind": "attack",
        "when": day,
        "summary": f"attack on {target} on {day}",
        "places": [{"name": "Tower 22", "country": "JO"}],
        "actors": [{"name": target, "role": "target"}],
        "source": {"outlet": "AFP", "language": "fr"},
    }


def test_attacks_on_an_actor_count_for_the_actor_it_is_placed_within(settings):
    with keyed_client(settings) as client:
        us = client.post("/actors", json={"name": "United States", "category": "state"})
        unit = client.post("/actors", json={"name": "Task Force 99", "category": "state_force"})
        assert us.status_code == unit.status_code == 201
        filed = [
            client.post("/reports", json=_attack(day, "Task Force 99")).json()["position"]
            for day in ("2023-11-02", "2023-11-03", "2023-11-20")
        ]

        def tally(**params: object) -> dict:
            answer = client.get("/tally", params={"group_by": "week", **params})
            assert answer.status_code == 200, answer.text
            return answer.json()

        before = tally(min_position=max(filed))
        assert before["documented_attacks"] == 0
        placed = client.put(
            f"/actors/{unit.json()['id']}/parent", json={"parent_id": us.json()["id"]}
        )
        assert placed.status_code == 200, placed.text
        after = tally(min_position=placed.json()["position"])
        assert after["documented_attacks"] == 3
        assert [(s["week"], s["attacks"], s["cumulative"]) for s in after["series"]] == [
            ("2023-10-30", 2, 2),
            ("2023-11-20", 1, 3),
        ]
        # As the log stood before the unit was placed within the United States.
        assert tally(as_of=max(filed))["documented_attacks"] == 0
        # Taken out again, its attacks no longer count.
        out = client.put(f"/actors/{unit.json()['id']}/parent", json={"parent_id": None})
        assert out.status_code == 200, out.text
        assert tally(min_position=out.json()["position"])["documented_attacks"] == 0
        assert tally(as_of=placed.json()["position"])["documented_attacks"] == 3
