"""Count merges per (counted, whose) and `means` filters, through the real HTTP
API on SQLite and PostgreSQL (a live subscription through a real server)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.servers import Collector, Process, file, free_port, running
from tests.servers import report as own_incident

US = {"name": "United States", "category": "state"}


def attack(key: str, incident: str, *counts: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "attack",
        "when": "2024-01-28",
        "places": [{"name": "Tour 22", "country": "JO"}],
        "actors": [
            {"name": "United States", "role": "target"},
            {"name": "Kataeb Hezbollah", "role": "perpetrator"},
        ],
        "counts": list(counts),
        "source": {"outlet": key.split("-")[0], "language": "en"},
        "incident_key": incident,
        **more,
    }


def killed(value: int, qualifier: str = "exact", **more: Any) -> dict[str, Any]:
    return {"value": value, "qualifier": qualifier, "counted": "killed", **more}


def file_all(client, *reports: dict[str, Any]) -> tuple[list[str], int]:
    ids, position = [], 0
    for body in reports:
        answer = client.post("/reports", json=body)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
        position = answer.json()["position"]
    return ids, position


def entry(client, incident: str, position: int) -> dict[str, Any]:
    answer = client.get(f"/incidents/{incident}", params={"min_position": position})
    assert answer.status_code == 200, answer.text
    return answer.json()["entry"]


def figures(found: dict[str, Any]) -> list[tuple[str, str | None, str, int]]:
    return [(c["counted"], c["whose"], c["qualifier"], c["value"]) for c in found["counts"]]


def test_an_exact_figure_within_another_sources_bound_stays_exact(client):
    _, position = file_all(
        client,
        attack("afp-1", "inc-exact", killed(3)),
        attack("reuters-1", "inc-exact", killed(3, "at_most")),
    )
    found = entry(client, "inc-exact", position)
    assert figures(found) == [("killed", None, "exact", 3)]
    assert found["counts"][0]["bounds"] == {"low": 3, "high": 3}
    assert found["contradictions"] == []


def test_figures_that_cannot_all_be_true_are_a_count_disagreement(client):
    ids, position = file_all(
        client,
        attack("centcom-1", "inc-dispute", killed(85, "at_least")),
        attack("afp-2", "inc-dispute", killed(50)),
    )
    found = entry(client, "inc-dispute", position)
    assert figures(found) == [("killed", None, "disputed", 50)]
    assert (found["counts"][0]["low"], found["counts"][0]["high"]) == (50, 85)
    [contradiction] = found["contradictions"]
    assert contradiction["type"] == "count_disagreement"
    assert [
        (r["report"], r["value"], r["qualifier"], r["outlet"]) for r in contradiction["reports"]
    ] == [
        (ids[0], 85, "at_least", "centcom"),
        (ids[1], 50, "exact", "afp"),
    ]
    listed = client.get("/contradictions", params={"min_position": position}).json()
    assert [(c["incident"], c["type"]) for c in listed["contradictions"]] == [
        ("inc-dispute", "count_disagreement")
    ]


def test_counts_of_one_report_are_parts_summed_per_whose(client):
    one = attack(
        "afp-3",
        "inc-parts",
        killed(3, whose="combatants", wording="3 soldiers killed"),
        killed(5, "at_least", whose="civilians", wording="at least 5 civilians killed"),
        killed(2, whose="civilians", wording="2 more civilians in hospital"),
        killed(1, whose="Kataeb Hezbollah"),
    )
    other = attack("reuters-3", "inc-parts", killed(9, whose="Civilians"))
    _, position = file_all(client, one, other)
    found = entry(client, "inc-parts", position)
    assert figures(found) == [
        ("killed", "civilians", "exact", 9),  # at least 5 + 2 = at least 7; 9 fits it
        ("killed", "combatants", "exact", 3),
        ("killed", "Kataeb Hezbollah", "exact", 1),
    ]
    assert found["contradictions"] == []
    civilians = found["counts"][0]["sources"]
    assert [(s["value"], s["qualifier"]) for s in civilians] == [(7, "at_least"), (9, "exact")]
    assert [p["value"] for p in civilians[0]["parts"]] == [5, 2]


def test_low_and_high_bounds_are_kept_and_merged(client):
    _, position = file_all(
        client,
        attack("ucdp-4", "inc-bounds", killed(10, low=8, high=15)),
        attack("afp-4", "inc-bounds", killed(9, "at_least")),
    )
    found = entry(client, "inc-bounds", position)
    assert figures(found) == [("killed", None, "exact", 10)]
    count = found["counts"][0]
    assert count["bounds"] == {"low": 9, "high": 15}
    assert [(s["low"], s["high"]) for s in count["sources"]] == [(8, 15), (None, None)]


def test_timeline_and_tally_filter_and_group_by_means(client):
    assert client.post("/actors", json=US).status_code == 201
    _, position = file_all(
        client,
        attack("afp-5", "inc-drone", means=["drone"]),
        attack("centcom-5", "inc-drone", means=["drone", "rocket"]),
        attack("afp-6", "inc-rocket", means=["rocket"], when="2024-01-29"),
        attack("afp-7", "inc-none", when="2024-01-30"),
    )
    assert entry(client, "inc-drone", position)["means"] == ["drone", "rocket"]

    def timeline(*means: str) -> list[str]:
        params = [("means", m) for m in means] + [("min_position", str(position))]
        answer = client.get("/timeline", params=params)
        assert answer.status_code == 200, answer.text
        return [e["incident"] for e in answer.json()["entries"]]

    assert timeline("drone") == ["inc-drone"]
    assert timeline("rocket") == ["inc-drone", "inc-rocket"]
    assert timeline("drone", "rocket") == ["inc-drone", "inc-rocket"]
    assert timeline("mortar") == []
    assert timeline() == ["inc-drone", "inc-rocket", "inc-none"]

    bad = client.get("/timeline", params=[("means", "drone"), ("means", "drones")])
    assert bad.status_code == 422, bad.text
    [problem] = bad.json()["detail"]
    assert problem["field"] == "means.1"
    assert "'drones' is not a means; the vocabulary is: drone, air_strike" in problem["msg"]

    tally = client.get(
        "/tally", params={"group_by": "means", "start": "2024-01-01", "min_position": position}
    )
    assert tally.status_code == 200, tally.text
    assert tally.json()["documented_attacks"] == 3
    assert [(s["means"], s["attacks"]) for s in tally.json()["series"]] == [
        ("drone", 1),
        ("rocket", 2),
        ("unstated", 1),
    ]


@pytest.mark.timeout(120)
def test_a_subscription_filtered_by_means(store_env):
    env = {**store_env, "TIMELINE_SSE_HEARTBEAT_SECONDS": "0.5"}
    server = Process(["serve"], env, free_port())
    with running(server):
        drones = Collector(server.url, after=0, means="drone").start()
        tally = Collector(server.url, "tally", after=0, means="drone").start()
        positions = file(
            server.url,
            [
                {**own_incident(1), "means": ["rocket"]},
                {**own_incident(2), "means": ["drone", "rocket"]},
                own_incident(3),
            ],
        )
        assert drones.wait_for({positions[1]}), (drones.ids, drones.error)
        assert tally.wait_for({positions[1]}), (tally.ids, tally.error)
        time.sleep(0.5)
        drones.stop()
        tally.stop()
    for collector in (drones, tally):
        docs = [c["doc"] for m in collector.messages for c in m["changes"]]
        assert [d["means"] for d in docs] == [["drone", "rocket"]]
