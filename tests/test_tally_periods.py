"""The tally says what it knows: attacks straddling its start are possibly in the
period, and the figures sources report form a series per source, with the ones
that cannot all be true listed as disagreements (real HTTP API, both stores)."""

from __future__ import annotations

from tests.conftest import keyed_client
from tests.test_tally_counts import _attack


def _tally_report(outlet: str, value: int, qualifier: str, when: str) -> dict:
    return {
        "kind": "tally",
        "when": when,
        "summary": f"{outlet}: {value} attacks on US forces",
        "actors": [{"name": "United States", "role": "target"}],
        "counts": [{"value": value, "qualifier": qualifier, "counted": "attacks"}],
        "source": {"outlet": outlet, "language": "en"},
    }


def test_straddling_attacks_are_possibly_in_the_period(settings):
    with keyed_client(settings) as client:
        client.post("/actors", json={"name": "United States", "category": "state"})
        days = ("2023-10", "2023-10-15/2023-10-20", "2023-09", "2023-10-17", "2023-11-02")
        filed = [client.post("/reports", json=_attack(d, "United States")).json() for d in days]
        head = max(f["position"] for f in filed)
        answer = client.get(
            "/tally", params={"start": "2023-10-17", "attacks": "true", "min_position": head}
        ).json()
        assert answer["documented_attacks"] == 2
        assert answer["possibly_in_period"] == 2
        straddling = answer["possibly_in_period_attacks"]
        assert sorted((a["when"]["earliest"], a["when"]["latest"]) for a in straddling) == [
            ("2023-10-01", "2023-10-31"),
            ("2023-10-15", "2023-10-20"),
        ]
        assert {a["incident"] for a in answer["attacks"]} == {
            f"report:{filed[3]['id']}",
            f"report:{filed[4]['id']}",
        }
        assert answer["headline"]["text"].startswith(
            "2 attacks documented since 2023-10-17 (2 more possibly in the period; "
        )
        # A later start: the October attacks are simply before it.
        later = client.get("/tally", params={"start": "2023-11-01"}).json()
        assert (later["documented_attacks"], later["possibly_in_period"]) == (1, 0)
        bad = client.get("/tally", params={"start": "17 October"})
        assert bad.status_code == 422
        assert "start" in str(bad.json()["detail"])


def test_reported_figures_come_as_a_series_per_source_with_disagreements(settings):
    with keyed_client(settings) as client:
        client.post("/actors", json={"name": "United States", "category": "state"})
        reports = [
            _tally_report("Pentagon", 150, "exact", "2023-10-17/2024-01-20"),
            _tally_report("Pentagon", 165, "exact", "2023-10-17/2024-02-02"),
            _tally_report("Tracker", 180, "at_least", "2023-10-17/2024-02-02"),
        ]
        head = max(client.post("/reports", json=r).json()["position"] for r in reports)
        answer = client.get("/tally", params={"reported": "true", "min_position": head}).json()
        series = {s["outlet"]: s["points"] for s in answer["reported_series"]}
        assert [(p["day"], p["value"], p["qualifier"]) for p in series["Pentagon"]] == [
            ("2024-01-20", 150, "exact"),
            ("2024-02-02", 165, "exact"),
        ]
        assert [(p["day"], p["value"]) for p in series["Tracker"]] == [("2024-02-02", 180)]
        (disagreement,) = answer["tally_disagreements"]
        assert disagreement["type"] == "tally_disagreement"
        assert (disagreement["since"], disagreement["day"]) == ("2023-10-17", "2024-02-02")
        assert sorted((f["outlet"], f["value"]) for f in disagreement["figures"]) == [
            ("Pentagon", 165),
            ("Tracker", 180),
        ]
        plain = client.get("/tally").json()
        assert "reported_series" not in plain and "tally_disagreements" not in plain
