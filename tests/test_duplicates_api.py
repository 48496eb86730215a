"""Likely duplicates and analysts' decisions, through the real HTTP API on both stores:
two unkeyed reports of one attack are flagged; a link makes the tally count one
(and `as_of` before it, two); unlink and "distinct" act as said; every write is
authenticated and idempotent with a key."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import keyed_client


def _attack(outlet: str, day: str, place: dict, summary: str) -> dict:
    return {
        "kind": "attack",
        "when": day,
        "summary": summary,
        "places": [place],
        "actors": [
            {"name": "United States", "role": "target"},
            {"name": "Kataeb Hezbollah", "role": "claimant"},
        ],
        "source": {"outlet": outlet, "language": "en"},
    }


TOWER_22 = {"name": "Tower 22", "country": "JO", "latitude": 33.32, "longitude": 38.69}
RUKBAN = {"name": "Rukban", "country": "JO", "latitude": 33.30, "longitude": 38.75}  # ~6 km
AQABA = {"name": "Aqaba", "country": "JO", "latitude": 29.53, "longitude": 35.01}  # ~530 km


def _setup(client: TestClient) -> tuple[str, str, str, int]:
    for name, category in (("United States", "state"), ("Kataeb Hezbollah", "state_backed")):
        assert client.post("/actors", json={"name": name, "category": category}).status_code == 201
    wire = client.post(
        "/reports", json=_attack("AFP", "2024-01-28", TOWER_22, "Drone attack on Tower 22")
    )
    communique = client.post(
        "/reports", json=_attack("CENTCOM", "2024-01-28", RUKBAN, "One-way UAS attack, Rukban")
    )
    far = client.post("/reports", json=_attack("Reuters", "2024-01-28", AQABA, "Aqaba attack"))
    assert wire.status_code == communique.status_code == far.status_code == 201
    return wire.json()["id"], communique.json()["id"], far.json()["id"], far.json()["position"]


def _get(client: TestClient, path: str, **params: object) -> dict:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_two_unkeyed_reports_of_one_attack_are_flagged_and_a_link_counts_them_once(settings):
    with keyed_client(settings) as client:
        wire, communique, far, head = _setup(client)
        pair = sorted([f"report:{wire}", f"report:{communique}"])

        listed = _get(client, "/duplicates", min_position=head)
        assert [d["incidents"] for d in listed["duplicates"]] == [pair]
        (found,) = listed["duplicates"]
        assert found["both_attacks"] is True
        rules = {r["rule"]: r["detail"] for r in found["reasons"]}
        assert rules["when"] == "intervals overlap 2024-01-28..2024-01-28"
        assert rules["place"].endswith("km apart (JO)")
        assert 5 < float(rules["place"].split()[0]) < 7
        assert rules["actor"] == "Kataeb Hezbollah (doer); United States (harmed)"
        entry = _get(client, f"/incidents/report:{wire}")["entry"]
        assert entry["possible_duplicates"] == [
            {"incident": f"report:{communique}", "reasons": found["reasons"]}
        ]
        page = _get(client, "/timeline")["entries"]
        # Aqaba is 530 km away: not a candidate.
        assert {e["incident"]: len(e["possible_duplicates"]) for e in page} == {
            pair[0]: 1,
            pair[1]: 1,
            f"report:{far}": 0,
        }

        tally = _get(client, "/tally", start="2024-01-01", attacks="true")
        assert tally["documented_attacks"] == 3
        assert tally["possibly_double_counted"] == 1
        assert tally["double_count_candidates"] == [pair]
        assert tally["headline"]["text"] == (
            "3 attacks documented since 2024-01-01 "
            "(0 more possibly in the period; 1 possibly counted twice)"
        )

        link = {
            "report": communique,
            "incident": f"report:{wire}",
            "reason": "CENTCOM and AFP describe the same drone attack",
            "decided_by": "desk",
            "key": "link-tower-22",
        }
        made = client.post("/decisions/link", json=link)
        assert made.status_code == 201, made.text
        linked_at = made.json()["position"]
        again = client.post("/decisions/link", json=link)
        assert again.status_code == 200
        assert again.json() == {**made.json(), "created": False}
        other = client.post("/decisions/link", json={**link, "reason": "another reason"})
        assert other.status_code == 409

        after = _get(client, "/tally", start="2024-01-01", min_position=linked_at)
        assert after["documented_attacks"] == 2
        assert after["possibly_double_counted"] == 0
        before = _get(client, "/tally", start="2024-01-01", as_of=linked_at - 1)
        assert before["documented_attacks"] == 3
        assert before["possibly_double_counted"] == 1
        assert _get(client, "/duplicates")["duplicates"] == []
        assert len(_get(client, "/duplicates", as_of=linked_at - 1)["duplicates"]) == 1
        merged = _get(client, f"/incidents/report:{wire}")["entry"]
        assert merged["possible_duplicates"] == []
        assert sorted(s["outlet"] for s in merged["sources"]) == ["AFP", "CENTCOM"]
        gone = client.get(f"/incidents/report:{communique}")
        assert gone.status_code == 404
        logged = [
            e
            for e in map(__import__("json").loads, client.get("/events").text.splitlines())
            if e["type"] == "Decision.Made"
        ]
        assert [e["data"]["action"] for e in logged] == ["link"]
        assert logged[0]["data"]["written_by"] is not None
        assert logged[0]["data"]["decided_by"] == "desk"

        unlinked = client.post(
            "/decisions/unlink", json={"report": communique, "reason": "another attack after all"}
        )
        assert unlinked.status_code == 201, unlinked.text
        back = _get(client, "/tally", start="2024-01-01", min_position=unlinked.json()["position"])
        assert back["documented_attacks"] == 3
        assert [d["incidents"] for d in _get(client, "/duplicates")["duplicates"]] == [pair]

        distinct = client.post(
            "/decisions/distinct",
            json={"incidents": pair, "reason": "two attacks, a day apart in the sources"},
        )
        assert distinct.status_code == 201, distinct.text
        at = distinct.json()["position"]
        assert _get(client, "/duplicates", min_position=at)["duplicates"] == []
        assert _get(client, "/tally", start="2024-01-01")["possibly_double_counted"] == 0
        assert len(_get(client, "/duplicates", as_of=at - 1)["duplicates"]) == 1


def test_decisions_are_refused_with_the_field_named(settings):
    with keyed_client(settings) as client:
        wire, communique, _, _ = _setup(client)
        bad_incident = client.post(
            "/decisions/link",
            json={"report": communique, "incident": "no-such-incident", "reason": "same"},
        )
        assert bad_incident.status_code == 422
        assert bad_incident.json()["detail"][0]["field"] == "incident"
        unknown_report = client.post(
            "/decisions/link",
            json={
                "report": "00000000-0000-4000-8000-000000000000",
                "incident": f"report:{wire}",
                "reason": "same",
            },
        )
        assert unknown_report.status_code == 404
        not_linked = client.post("/decisions/unlink", json={"report": wire, "reason": "undo"})
        assert not_linked.status_code == 409
        assert not_linked.json()["detail"][0]["field"] == "report"
        twice = client.post(
            "/decisions/distinct", json={"incidents": [f"report:{wire}"] * 2, "reason": "x"}
        )
        assert twice.status_code == 422
        assert twice.json()["detail"][0]["field"] == "incidents"
        missing = client.post(
            "/decisions/distinct", json={"incidents": [f"report:{wire}"], "reason": "x"}
        )
        assert missing.status_code == 422
        no_reason = client.post(
            "/decisions/link", json={"report": communique, "incident": f"report:{wire}"}
        )
        assert no_reason.status_code == 422
        assert "reason" in str(no_reason.json()["detail"])
        del client.headers["Authorization"]
        anonymous = client.post(
            "/decisions/link",
            json={"report": communique, "incident": f"report:{wire}", "reason": "same"},
        )
        assert anonymous.status_code == 401
