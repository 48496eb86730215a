"""Actors, their aliases and parents through the HTTP API (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.testclient import TestClient

from domain.actors import actor_id_for

HACHD = {
    "name": "Hachd al-Chaabi",
    "aliases": [
        {"name": "Hashd al-Shaabi", "language": "en"},
        {"name": "Popular Mobilization Forces", "language": "en"},
        {"name": "PMF", "language": "en"},
    ],
    "description": "coalition d'anciens paramilitaires rassemblant des factions pro-Iran",
}


def log(client: TestClient) -> list[dict[str, Any]]:
    answer = client.get("/events")
    assert answer.status_code == 200
    return [orjson.loads(line) for line in answer.text.splitlines() if line.strip()]


def register(client: TestClient, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    answer = client.post("/actors", json=body)
    assert answer.status_code == status, answer.text
    return answer.json()


def test_register_with_aliases(client: TestClient) -> None:
    answer = client.post("/actors", json=HACHD)
    assert answer.status_code == 201, answer.text
    actor = answer.json()
    assert actor["id"] == str(actor_id_for("Hachd al-Chaabi"))
    assert answer.headers["location"] == f"/actors/{actor['id']}"
    assert actor["name"] == "Hachd al-Chaabi"
    assert actor["aliases"] == HACHD["aliases"]
    assert actor["parent_id"] is None
    assert actor["description"] == HACHD["description"]
    assert actor["version"] == 1
    types = [e["type"] for e in log(client)]
    assert types.count("Actor.Registered") == 1
    assert types.count("ActorName.Claimed") == 4  # the name and each alias
    assert actor["position"] == next(
        e["position"] for e in log(client) if e["type"] == "Actor.Registered"
    )
    fetched = client.get(f"/actors/{actor['id']}").json()
    assert fetched == {**actor, "position": None}


def test_register_same_again_is_200(client: TestClient) -> None:
    first = register(client, HACHD)
    before = log(client)
    again = register(client, HACHD, status=200)
    assert again["id"] == first["id"]
    assert again["position"] is None
    assert log(client) == before


def conflicts(answer: Any) -> dict[str, str]:
    """field -> message of a 409 that names its fields."""
    assert answer.status_code == 409, answer.text
    return {problem["field"]: problem["msg"] for problem in answer.json()["detail"]}


def test_register_again_with_a_subset_is_200(client: TestClient) -> None:
    hachd = register(client, HACHD)
    iran = register(client, {"name": "Iran", "category": "state"})
    subsets = [
        {"name": "Hachd al-Chaabi"},
        {"name": "Hachd al-Chaabi", "aliases": [{"name": "PMF", "language": "en"}]},
        {"name": "Hachd al-Chaabi", "aliases": [{"name": "pmf"}]},  # no language: not stated
        {**HACHD, "aliases": HACHD["aliases"][:1]},
    ]
    before = log(client)
    for body in subsets:
        again = register(client, body, status=200)
        assert again["id"] == hachd["id"] and again["position"] is None, body
        assert again["aliases"] == HACHD["aliases"], body
    assert log(client) == before

    # The registry grows; what was registered first stays a valid registration.
    client.post(f"/actors/{hachd['id']}/aliases", json={"name": "Hachd", "language": "fr"})
    client.put(f"/actors/{hachd['id']}/parent", json={"parent_id": iran["id"]})
    before = log(client)
    again = register(client, HACHD, status=200)
    assert again["parent_id"] == iran["id"]
    assert again["aliases"] == [*HACHD["aliases"], {"name": "Hachd", "language": "fr"}]
    register(client, {**HACHD, "parent_id": iran["id"]}, status=200)
    assert log(client) == before


def test_same_name_with_other_details_conflicts_naming_the_field(client: TestClient) -> None:
    hachd = register(client, HACHD)
    iran = register(client, {"name": "Iran", "category": "state"})
    before = log(client)
    answer = client.post("/actors", json={**HACHD, "description": "autre description"})
    assert list(conflicts(answer)) == ["description"]
    assert HACHD["description"] in conflicts(answer)["description"]
    answer = client.post("/actors", json={**HACHD, "category": "state"})
    assert conflicts(answer) == {"category": "is not set"}
    answer = client.post("/actors", json={"name": "Hachd al-Chaabi", "parent_id": iran["id"]})
    assert conflicts(answer) == {
        "parent_id": f"is not set; change it with PUT /actors/{hachd['id']}/parent"
    }
    answer = client.post(
        "/actors", json={"name": "Hachd al-Chaabi", "aliases": [{"name": "Hachd"}]}
    )
    assert conflicts(answer) == {
        "aliases.0.name": f"'Hachd' is not a name of actor {hachd['id']}; "
        f"add it with POST /actors/{hachd['id']}/aliases"
    }
    answer = client.post(
        "/actors", json={"name": "Hachd al-Chaabi", "aliases": [{"name": "PMF", "language": "fr"}]}
    )
    assert conflicts(answer) == {"aliases.0.language": "'PMF' is registered with language 'en'"}
    answer = client.post("/actors", json={"name": "Hachd al-Chaabi", "aliases": [{"name": "Iran"}]})
    assert conflicts(answer) == {
        "aliases.0.name": f"name 'Iran' already belongs to actor {iran['id']}"
    }
    assert log(client) == before


CLASHES = {
    "case": ({"name": "Kataeb Hezbollah", "aliases": [{"name": "pmf"}]}, "pmf", "aliases.0.name"),
    "hyphen and case": (
        {"name": "Une autre faction", "aliases": [{"name": "Hachd Al Chaabi"}]},
        "Hachd Al Chaabi",
        "aliases.0.name",
    ),
    "accents": (
        {"name": "Une autre faction", "aliases": [{"name": "Hâchd al Châabi"}]},
        "Hâchd al Châabi",
        "aliases.0.name",
    ),
    "second alias": (
        {"name": "Forces", "aliases": [{"name": "ok"}, {"name": "popular mobilization-forces"}]},
        "popular mobilization-forces",
        "aliases.1.name",
    ),
    "canonical name": ({"name": "pmf"}, "pmf", "name"),
}


def test_alias_of_another_actor_conflicts(client: TestClient) -> None:
    hachd = register(client, HACHD)
    before = log(client)
    for case, (new_actor, clashing, field) in CLASHES.items():
        answer = client.post("/actors", json=new_actor)
        assert conflicts(answer) == {
            field: f"name {clashing!r} already belongs to actor {hachd['id']}"
        }, case
        assert log(client) == before, case
        assert client.get(f"/actors/{actor_id_for(new_actor['name'])}").status_code == 404, case
        resolved = client.get("/actors/resolve", params={"name": clashing}).json()
        assert resolved["id"] == hachd["id"], case
    assert client.get("/actors/resolve", params={"name": "ok"}).status_code == 404


def test_canonical_name_spelled_differently_is_the_same_actor(client: TestClient) -> None:
    hachd = register(client, HACHD)
    before = log(client)
    answer = client.post("/actors", json={"name": "Hâchd Al Chaabi"})
    assert conflicts(answer) == {
        "name": f"actor {hachd['id']} is registered as 'Hachd al-Chaabi'; use it"
    }
    assert log(client) == before


def test_add_alias_and_resolve(client: TestClient) -> None:
    hachd = register(client, HACHD)
    answer = client.post(
        f"/actors/{hachd['id']}/aliases", json={"name": "الحشد الشعبي", "language": "ar"}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["aliases"][-1] == {"name": "الحشد الشعبي", "language": "ar"}
    assert answer.json()["version"] == 2
    assert [e["type"] for e in log(client)][-2:] == ["Actor.AliasAdded", "ActorName.Claimed"]

    for name in ("الحشد الشعبي", "pmf", "hachd al chaabi", "HASHD-AL-SHAABI"):
        found = client.get("/actors/resolve", params={"name": name})
        assert found.status_code == 200, name
        assert found.json()["id"] == hachd["id"]

    before = log(client)
    again = client.post(f"/actors/{hachd['id']}/aliases", json={"name": "Pmf"})
    assert again.status_code == 200  # already known: nothing to add
    assert log(client) == before

    missing = client.get("/actors/resolve", params={"name": "Kataeb Hezbollah"})
    assert missing.status_code == 404


def test_add_alias_taken_by_another_actor_conflicts(client: TestClient) -> None:
    hachd = register(client, HACHD)
    kataeb = register(client, {"name": "Kataeb Hezbollah"})
    before = log(client)
    answer = client.post(
        f"/actors/{kataeb['id']}/aliases", json={"name": "Popular Mobilization  forces"}
    )
    assert conflicts(answer) == {
        "name": f"name 'Popular Mobilization  forces' already belongs to actor {hachd['id']}"
    }
    assert log(client) == before
    assert client.get(f"/actors/{kataeb['id']}").json()["aliases"] == []


def test_unknown_actor_is_404(client: TestClient) -> None:
    missing = actor_id_for("nobody")
    assert client.get(f"/actors/{missing}").status_code == 404
    assert client.post(f"/actors/{missing}/aliases", json={"name": "x"}).status_code == 404
    assert client.put(f"/actors/{missing}/parent", json={"parent_id": None}).status_code == 404
    assert (
        client.post("/actors", json={"name": "Orphan", "parent_id": str(missing)}).status_code
        == 404
    )
    assert log(client) == []
    basij = register(client, {"name": "Basij"})
    before = log(client)
    answer = client.put(f"/actors/{basij['id']}/parent", json={"parent_id": str(missing)})
    assert answer.status_code == 404
    assert log(client) == before


def test_parent_via_registration_and_put(client: TestClient) -> None:
    irgc = register(
        client,
        {"name": "Gardiens de la révolution", "aliases": [{"name": "IRGC", "language": "en"}]},
    )
    quds = register(client, {"name": "force Quds", "parent_id": irgc["id"]})
    assert quds["parent_id"] == irgc["id"]
    assert client.get(f"/actors/{quds['id']}").json()["parent_id"] == irgc["id"]

    basij = register(client, {"name": "Basij"})
    answer = client.put(f"/actors/{basij['id']}/parent", json={"parent_id": irgc["id"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["parent_id"] == irgc["id"]
    assert answer.json()["version"] == 2
    assert log(client)[-1]["type"] == "Actor.ParentSet"
    assert client.get(f"/actors/{basij['id']}").json()["parent_id"] == irgc["id"]

    # Setting the same parent again writes nothing; null detaches.
    before = log(client)
    same = client.put(f"/actors/{basij['id']}/parent", json={"parent_id": irgc["id"]})
    assert same.status_code == 200 and same.json()["position"] is None
    assert log(client) == before
    detached = client.put(f"/actors/{basij['id']}/parent", json={"parent_id": None})
    assert detached.json()["parent_id"] is None
    assert client.get(f"/actors/{basij['id']}").json()["parent_id"] is None


def test_parent_cycle_is_422(client: TestClient) -> None:
    irgc = register(client, {"name": "IRGC"})
    quds = register(client, {"name": "force Quds", "parent_id": irgc["id"]})
    unit = register(client, {"name": "Unité 400", "parent_id": quds["id"]})
    before = log(client)
    for actor, parent in ((irgc, unit), (irgc, quds), (quds, quds)):
        answer = client.put(f"/actors/{actor['id']}/parent", json={"parent_id": parent["id"]})
        assert answer.status_code == 422, answer.text
        assert "ancestor" in answer.json()["detail"]
    assert log(client) == before
    assert client.get(f"/actors/{irgc['id']}").json()["parent_id"] is None


def test_list_actors(client: TestClient) -> None:
    assert client.get("/actors").json() == []
    names = ["Hachd al-Chaabi", "Kataeb Hezbollah", "Centcom"]
    register(client, HACHD)
    register(client, {"name": "Kataeb Hezbollah"})
    register(client, {"name": "Centcom"})
    client.post(f"/actors/{actor_id_for('Centcom')}/aliases", json={"name": "US Central Command"})
    listed = client.get("/actors").json()
    assert [a["name"] for a in listed] == names
    assert [a["id"] for a in listed] == [str(actor_id_for(n)) for n in names]
    assert listed[2]["aliases"] == [{"name": "US Central Command", "language": None}]


def test_invalid_actor_names_its_field(client: TestClient) -> None:
    answer = client.post("/actors", json={"name": "ok", "aliases": [{"name": "x\x00y"}]})
    assert answer.status_code == 422
    assert [d["field"] for d in answer.json()["detail"]] == ["aliases.0.name"]
    answer = client.post("/actors", json={"name": ""})
    assert answer.status_code == 422
    assert [d["field"] for d in answer.json()["detail"]] == ["name"]
    assert log(client) == []
