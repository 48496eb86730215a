"""The seed article's actors and reports, filed through the HTTP API.

`examples/actors.ndjson` and `examples/seed-reports.ndjson` encode the AFP
article of February 2024 about US strikes in Iraq and Syria. These tests load
them as a client would and check that what the article says, including where it
contradicts itself, comes back out of the service as said.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.seeding import ARTICLE, NDJSON, _actors, _batch, _post_actors, _reports

STRIKES = "2024-02-02-us-strikes-iraq-syria"
JORDAN = "2024-01-late-drone-attack-jordan"


def _events(client, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/events", params=params)
    assert answer.status_code == 200
    return [orjson.loads(line) for line in answer.content.splitlines() if line.strip()]


@pytest.fixture
def seeded(client):
    actors = _post_actors(client)
    answer = client.post("/reports", content=_batch(_reports()), headers=NDJSON)
    assert answer.status_code == 201, answer.text
    return {"actors": actors, "batch": answer.json()}


def _content_by_key(client) -> dict[str, dict[str, Any]]:
    return {e["data"]["key"]: e["data"]["content"] for e in _events(client, type="Report.Filed")}


def test_the_seed_files_are_well_formed():
    actors, reports = _actors(), _reports()
    assert len(actors) >= 12
    assert len(reports) >= 18
    keys = [r["key"] for r in reports]
    assert len(set(keys)) == len(keys)
    article = ARTICLE
    if article.exists():
        text = article.read_text()
        for report in reports:
            assert report["excerpt"] in text, report["key"]
            quote = report["source"].get("quote")
            assert quote is None or quote in text, report["key"]


def test_every_line_is_filed_and_logged_in_order(client, seeded):
    reports = _reports()
    batch = seeded["batch"]
    assert batch["created"] == len(reports)
    assert batch["existing"] == 0
    assert [item["line"] for item in batch["reports"]] == list(range(1, len(reports) + 1))
    assert all(item["created"] for item in batch["reports"])

    filed = _events(client, type="Report.Filed")
    assert [e["data"]["key"] for e in filed] == [r["key"] for r in reports]
    assert [e["originator_id"] for e in filed] == [item["id"] for item in batch["reports"]]
    positions = [e["position"] for e in filed]
    assert positions == sorted(positions)
    assert positions == [item["position"] for item in batch["reports"]]
    # The actors came first in the log, then the reports.
    registered = _events(client, type="Actor.Registered")
    assert len(registered) == len(_actors())
    assert max(e["position"] for e in registered) < positions[0]


def test_each_report_reads_back_with_its_history(client, seeded):
    first = seeded["batch"]["reports"][0]
    answer = client.get(f"/reports/{first['id']}")
    assert answer.status_code == 200
    report = answer.json()
    assert report["key"] == "seed-afp-2024-02-02-01"
    assert report["version"] == 1
    assert [e["type"] for e in report["history"]] == ["Report.Filed"]


# What the seed's counts leave out, as a report reads back: whose, and bounds.
UNSAID = {"whose": None, "low": None, "high": None}


def test_the_tally_keeps_its_lower_bound(client, seeded):
    tallies = [c for c in _content_by_key(client).values() if c["kind"] == "tally"]
    assert len(tallies) == 1
    (tally,) = tallies
    assert tally["counts"] == [
        {
            "value": 165,
            "qualifier": "at_least",
            "counted": "attacks",
            **UNSAID,
            "wording": "plus de 165 frappes de drones et tirs de roquettes",
        }
    ]
    assert tally["when"]["earliest"] == "2023-10-11"
    assert tally["when"]["latest"] == "2024-02-02"
    assert tally["when"]["wording"] == "Depuis la mi-octobre"
    assert {p["country"] for p in tally["places"]} == {"IQ", "SY"}


def test_contradictory_dates_are_stored_as_said(client, seeded):
    contents = _content_by_key(client)
    centcom = contents["seed-afp-2024-02-02-01"]
    assert centcom["when"]["earliest"] == "2024-01-02"
    assert centcom["when"]["latest"] == "2024-01-03"
    assert centcom["when"]["wording"] == "dans la nuit du 2 au 3 janvier"
    assert centcom["counts"][0]["value"] == 85
    assert centcom["counts"][0]["qualifier"] == "exact"

    afp = contents["seed-afp-2024-02-02-02"]
    assert afp["when"]["earliest"] == "2024-02-02"
    assert afp["when"]["latest"] == "2024-02-03"
    assert afp["when"]["wording"] == "dans la nuit du 2 au 3 février"
    assert afp["source"]["speaker"] is None

    confirmed = contents["seed-afp-2024-02-02-07"]
    assert confirmed["when"]["earliest"] == confirmed["when"]["latest"] == "2024-01-02"
    assert "ce 2 janvier" in confirmed["when"]["wording"]

    # The same occurrence, whatever each sentence says about its date.
    assert {centcom["incident_key"], afp["incident_key"], confirmed["incident_key"]} == {STRIKES}
    assert centcom["responds_to"] == afp["responds_to"] == JORDAN

    # "plus de 85 sites" in the communiqué paragraph, "85 sites" elsewhere.
    communique = contents["seed-afp-2024-02-02-09"]
    assert communique["counts"][0]["qualifier"] == "at_least"
    assert communique["source"]["channel"] == "communiqué"


def test_the_publication_day_stays_a_day(client, seeded):
    for content in _content_by_key(client).values():
        assert content["source"]["published_at"] == "2024-02-02"
        assert content["source"]["outlet"] == "AFP"
        assert content["source"]["language"] == "fr"


def test_anonymous_sources_are_anonymous(client, seeded):
    contents = _content_by_key(client)
    anonymous = {key: c["source"] for key, c in contents.items() if c["source"]["anonymous"]}
    speakers = {source["speaker"] for source in anonymous.values()}
    assert speakers == {
        "un responsable au ministère de l'Intérieur irakien",
        "un responsable du Hachd al-Chaabi",
    }
    ministry = contents["seed-afp-2024-02-02-03"]["source"]
    assert ministry["anonymous"] is True
    assert ministry["quote"].startswith("Un QG des factions armées dans la zone d'Al-Qaïm")
    assert "entrepôt d'armes légères" in ministry["quote"]

    wounded = contents["seed-afp-2024-02-02-06"]
    assert wounded["kind"] == "casualties"
    assert wounded["source"]["anonymous"] is True
    assert wounded["counts"] == [
        {
            "value": 1,
            "qualifier": "at_least",
            "counted": "wounded",
            **UNSAID,
            "wording": "des blessés",
        }
    ]
    # Biden is named, so not anonymous.
    assert all(
        not c["source"]["anonymous"]
        for c in contents.values()
        if c["source"]["speaker"] == "Joe Biden"
    )


def test_the_jordan_attack_and_what_answers_it(client, seeded):
    contents = _content_by_key(client)
    attack = [c for c in contents.values() if c["incident_key"] == JORDAN and c["kind"] == "attack"]
    assert len(attack) == 1
    assert attack[0]["when"]["earliest"] == "2024-01-21"
    assert attack[0]["when"]["latest"] == "2024-01-31"
    assert attack[0]["when"]["wording"] == "fin janvier"
    assert attack[0]["places"][0]["country"] == "JO"
    assert attack[0]["counts"][0] == {
        "value": 3,
        "qualifier": "exact",
        "counted": "killed",
        **UNSAID,
        "wording": "trois soldats",
    }
    denials = [c for c in contents.values() if c["kind"] == "denial"]
    assert denials and all(c["responds_to"] == JORDAN for c in denials)
    threats = [c for c in contents.values() if c["kind"] == "threat"]
    assert len(threats) == 2


NAMES = {
    "PMF": "Hachd al-Chaabi",
    "Hashd al-Shaabi": "Hachd al-Chaabi",
    "hachd al chaabi": "Hachd al-Chaabi",
    "Centcom": "US Central Command",
    "Commandement militaire américain pour le Moyen-Orient": "US Central Command",
    "Etats-Unis": "United States",
    "Israël": "Israel",
    "L'Iran": "Iran",
    "Téhéran": "Iran",
    "la diplomatie iranienne": "Iranian Ministry of Foreign Affairs",
    "Résistance islamique en Irak": "Islamic Resistance in Iraq",
    "les soldats américains": "US forces",
    "ministère de l'Intérieur irakien": "Iraqi Interior Ministry",
}


def test_names_resolve_to_their_actor(client, seeded):
    found = {}
    for name in NAMES:
        answer = client.get("/actors/resolve", params={"name": name})
        assert answer.status_code == 200, (name, answer.text)
        found[name] = answer.json()["name"]
    assert found == NAMES
    assert client.get("/actors/resolve", params={"name": "Hezbollah"}).status_code == 404


def test_quds_force_belongs_to_the_irgc(client, seeded):
    quds = client.get("/actors/resolve", params={"name": "force Quds"}).json()
    assert quds["name"] == "Quds Force"
    irgc = client.get(f"/actors/{quds['parent_id']}").json()
    assert irgc["name"] == "Islamic Revolutionary Guard Corps"
    assert client.get("/actors/resolve", params={"name": "IRGC"}).json()["id"] == irgc["id"]
    iran = client.get(f"/actors/{irgc['parent_id']}").json()
    assert iran["name"] == "Iran"


def test_every_resolvable_mention_names_a_registered_actor(client, seeded):
    """A mention either resolves by name or carries the id of a registered actor."""
    ids = {actor["id"] for actor in seeded["actors"].values()}
    for key, content in _content_by_key(client).items():
        for mention in content["actors"]:
            if mention["actor_id"] is not None:
                assert mention["actor_id"] in ids, (key, mention)
                continue
            answer = client.get("/actors/resolve", params={"name": mention["name"]})
            assert answer.status_code == 200, (key, mention)


def test_filing_the_batch_again_writes_nothing(client, seeded):
    before = _events(client)
    answer = client.post("/reports", content=_batch(_reports()), headers=NDJSON)
    assert answer.status_code == 200, answer.text
    again = answer.json()
    assert again["created"] == 0
    assert again["existing"] == len(_reports())
    assert [item["id"] for item in again["reports"]] == [
        item["id"] for item in seeded["batch"]["reports"]
    ]
    assert [item["position"] for item in again["reports"]] == [
        item["position"] for item in seeded["batch"]["reports"]
    ]
    assert _events(client) == before


def test_registering_the_actors_again_writes_nothing(client, seeded):
    before = _events(client)
    for actor in _actors():
        body = dict(actor)
        parent = body.pop("parent", None)
        if parent is not None:
            body["parent_id"] = client.get("/actors/resolve", params={"name": parent}).json()["id"]
        answer = client.post("/actors", json=body)
        assert answer.status_code == 200, answer.text
    assert _events(client) == before
