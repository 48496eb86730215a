"""The tally's per-actor daily counts follow the hierarchy as it changes."""

from __future__ import annotations

from domain.actors import actor_id_for
from domain.reports import Report, content_digest
from domain.values import ReportContent
from service.storage import open_application
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


def test_attacks_that_named_an_actor_by_id_before_it_was_registered_count_for_its_parent(
    settings,
):
    """The API refuses an id nobody registered, but a log can hold one (an import,
    an older version): its attacks must count once the actor is registered within
    another."""
    app = open_application(settings)
    try:
        us, _, _ = app.register_actor("United States", category="state")
        unit_id = actor_id_for("Task Force 51")
        content = ReportContent.model_validate(
            {**_attack("2023-11-05", "TF-51"), "actors": [
                {"name": "TF-51", "role": "target", "actor_id": str(unit_id)}
            ]}
        )  # fmt: skip
        event = Report.filed(content, "tf51-attack", content_digest(content), None)
        app.recorder.insert_events([app.mapper.to_stored_event(event)])
        app.register_actor("Task Force 51", parent_id=us.id, category="state_force")
    finally:
        app.close()
    with keyed_client(settings) as client:
        head = client.get("/events", params={"after": 0}).text.count("\n")
        tally = client.get("/tally", params={"min_position": head})
        assert tally.status_code == 200, tally.text
        assert tally.json()["documented_attacks"] == 1
