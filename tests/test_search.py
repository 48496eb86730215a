"""GET /search through the HTTP API, on SQLite and on PostgreSQL: accents and case,
French and English stems, actor aliases (as names stood then), as_of before and
after a correction, paging, filters and bad queries."""

from __future__ import annotations

from typing import Any

import pytest

from tests.seeding import post_seed

STRIKES = "2024-02-02-us-strikes-iraq-syria"
OFFICIAL = "un responsable au ministère de l'Intérieur irakien"


def _search(client, position: int, q: str, **params: Any) -> dict[str, Any]:
    for _ in range(10):  # 503 + Retry-After: the views are catching up (a loaded machine)
        answer = client.get("/search", params={"q": q, "min_position": position, **params})
        if answer.status_code != 503:
            break
    assert answer.status_code == 200, answer.text
    return answer.json()


def _file(client, key: str, excerpt: str, **fields: Any) -> dict[str, Any]:
    report = {
        "key": key,
        "kind": "statement",
        "when": "2024-02-03",
        "source": {"outlet": "Test wire", "language": "fr"},
        "excerpt": excerpt,
        "incident_key": key,
        **fields,
    }
    answer = client.post("/reports", json=report)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _marked(snippet: dict[str, Any]) -> list[str]:
    return [snippet["text"][start:end] for start, end in snippet["marks"]]


@pytest.fixture
def seeded(client) -> int:
    return post_seed(client)


@pytest.mark.parametrize(
    ("q", "marked"),
    [
        ("Al-Qaim", ["Al-Qaïm"]),
        ("AL-QAÏM", ["Al-Qaïm"]),
        ('"Al-Qaim"', ["Al-Qaïm"]),
        ("al qaim", ["Al", "Qaïm"]),  # two words, each marked
    ],
)
def test_accents_and_case_never_matter(client, seeded, q, marked):
    body = _search(client, seeded, q)
    speakers = {r["source"]["speaker"] for r in body["results"]}
    assert OFFICIAL in speakers  # the Interior Ministry official's sentence
    official = next(r for r in body["results"] if r["source"]["speaker"] == OFFICIAL)
    assert official["incident"] == STRIKES
    assert official["source"]["anonymous"] is True
    excerpt = next(s for s in official["snippets"] if s["field"] == "excerpt")
    assert _marked(excerpt) == marked
    assert all(r["rank"] > 0 for r in body["results"])
    ranks = [r["rank"] for r in body["results"]]
    assert ranks == sorted(ranks, reverse=True)


def test_french_and_english_stems(client):
    fr = _file(client, "search-fr", "Les miliciens ont ciblé un entrepôt.")
    en = _file(
        client,
        "search-en",
        "Drones struck the outposts.",
        source={"outlet": "Test wire", "language": "en"},
    )
    position = max(fr["position"], en["position"])
    # French: "cibler" and "ciblé" share a stem; "entrepôts" is "entrepôt".
    found = _search(client, position, "cibler entrepots")["results"]
    assert [r["report"] for r in found] == [fr["id"]]
    assert _marked(found[0]["snippets"][0]) == ["ciblé", "entrepôt"]
    # English: "outpost" finds "outposts".
    found = _search(client, position, "outpost")["results"]
    assert [r["report"] for r in found] == [en["id"]]
    assert _marked(found[0]["snippets"][0]) == ["outposts"]
    # Every word must occur: one word nobody wrote empties the answer.
    assert _search(client, position, "outpost zanzibar")["results"] == []


def test_an_alias_finds_the_names_sources_wrote(client, seeded):
    # The seed names Hachd al-Chaabi; no report writes "PMF", one of its aliases.
    body = _search(client, seeded, "PMF")
    assert body["terms"][0]["actor"] is not None
    assert body["results"], "PMF should find the reports naming Hachd al-Chaabi"
    for result in body["results"]:
        marked = " ".join(m for s in result["snippets"] for m in _marked(s))
        assert "Hachd" in marked or "Chaabi" in marked or "Hashd" in marked


def test_an_alias_added_later_does_not_rewrite_the_past(client):
    actor = client.post("/actors", json={"name": "Brigade Zulu Test"})
    assert actor.status_code == 201, actor.text
    filed = _file(
        client,
        "search-alias",
        "La Brigade Zulu Test revendique l'attaque.",
        actors=[{"name": "Brigade Zulu Test", "role": "claimant"}],
    )
    assert _search(client, filed["position"], "Zouloulou")["results"] == []
    alias = client.post(
        f"/actors/{actor.json()['id']}/aliases", json={"name": "Zouloulou", "language": "fr"}
    )
    assert alias.status_code == 201, alias.text
    now = _search(client, alias.json()["position"], "Zouloulou")
    assert [r["report"] for r in now["results"]] == [filed["id"]]
    assert now["terms"][0]["actor"] == actor.json()["id"]
    before = _search(client, alias.json()["position"], "Zouloulou", as_of=filed["position"])
    assert before["results"] == [] and before["terms"][0]["actor"] is None


def test_as_of_before_and_after_a_correction(client):
    filed = _file(client, "search-corrected", "Un dépôt de munitions à Abou Kamal.")
    corrected = client.post(
        f"/reports/{filed['id']}/corrections",
        json={
            "changes": {"excerpt": "Un poste de commandement à Abou Kamal."},
            "reason": "the depot was a command post",
            "corrected_by": "desk",
        },
    )
    assert corrected.status_code == 201, corrected.text
    now = corrected.json()["position"]
    assert _search(client, now, "dépôt munitions")["results"] == []
    found = _search(client, now, "poste commandement")["results"]
    assert [r["report"] for r in found] == [filed["id"]]
    assert found[0]["corrections"] == 1
    then = _search(client, now, "depot munitions", as_of=filed["position"])
    assert [r["report"] for r in then["results"]] == [filed["id"]]
    assert then["results"][0]["corrections"] == 0
    assert _marked(then["results"][0]["snippets"][0]) == ["dépôt", "munitions"]
    assert _search(client, now, "poste commandement", as_of=filed["position"])["results"] == []


def test_paging_gives_every_result_once_at_the_first_page_position(client):
    ids = {
        _file(client, f"search-page-{n}", f"Rapport numéro {n} sur Tanf xylophone.")["id"]
        for n in range(5)
    }
    position = client.get("/readyz").json()["position"]
    first = _search(client, position, "xylophone", limit=2)
    seen = [r["report"] for r in first["results"]]
    assert len(seen) == 2 and first["next"]
    late = _file(client, "search-page-late", "Un autre xylophone, plus tard.")
    cursor = first["next"]
    while cursor:
        page = client.get("/search", params={"q": "xylophone", "cursor": cursor, "limit": 2})
        assert page.status_code == 200, page.text
        assert page.json()["position"] == first["position"]
        seen += [r["report"] for r in page.json()["results"]]
        cursor = page.json()["next"]
    assert sorted(seen) == sorted(ids)  # each once, and not the one filed after page one
    assert late["id"] in {
        r["report"] for r in _search(client, late["position"], "xylophone")["results"]
    }


def test_filters_apply_as_on_the_timeline(client):
    iraq = _file(
        client, "search-iq", "Vibraphone à Bagdad.", places=[{"name": "Bagdad", "country": "IQ"}]
    )
    syria = _file(
        client,
        "search-sy",
        "Vibraphone à Deir ez-Zor.",
        places=[{"name": "Deir ez-Zor", "country": "SY"}],
    )
    position = max(iraq["position"], syria["position"])
    assert {r["report"] for r in _search(client, position, "vibraphone")["results"]} == {
        iraq["id"],
        syria["id"],
    }
    in_iraq = _search(client, position, "vibraphone", country="IQ")["results"]
    assert [r["report"] for r in in_iraq] == [iraq["id"]]
    assert _search(client, position, "vibraphone", kind="strike")["results"] == []
    assert _search(client, position, "vibraphone", to="2024-01-31")["results"] == []


@pytest.mark.parametrize(
    ("q", "says"),
    [("", "empty"), ("   ", "empty"), ("x" * 10_000, "at most 500"), ('* ( "', "no letter")],
)
def test_bad_queries_are_422_naming_q(client, q, says):
    answer = client.get("/search", params={"q": q})
    assert answer.status_code == 422, answer.text
    problem = answer.json()["detail"][0]
    assert problem["field"] == "q" and says in problem["msg"]


def test_missing_q_is_422(client):
    answer = client.get("/search")
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "q"


SYNTAX = [
    'Al-Qaim"',
    "Qaim*",
    "NEAR",
    "NEAR(Al Qaim)",
    "Al AND Qaim",
    "Al OR",
    "(Qaim",
    "w : Qaim",
    "{w en} : x",
    "Qaim'); DROP TABLE x; --",
    "a:b:c",
    "^Qaim",
    "-Qaim",
    "NOT",
    "Qaim & | ! <-> :*",
]


def test_full_text_syntax_in_q_is_literal_never_500(client, seeded):
    for q in SYNTAX:
        assert isinstance(_search(client, seeded, q)["results"], list), q
    # Syntax around a word is punctuation: the word is still found, and only where
    # it is written ("NEAR" and "AND" are words the seed does not hold next to Qaim).
    for q in ["Qaim*", "(Qaim", "^Qaim", 'Al-Qaim"']:
        speakers = {r["source"]["speaker"] for r in _search(client, seeded, q)["results"]}
        assert OFFICIAL in speakers, q
    assert _search(client, seeded, "NEAR(Al Qaim)")["results"] == []


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        ({"cursor": "nonsense"}, "cursor", 422),
        ({"country": "Iraq"}, "country", 422),
        ({"min_level": "9"}, "min_level", 422),
        ({"qq": "x"}, "qq", 422),
        ({"actor": "Nobody At All"}, "actor", 404),
        ({"as_of": "yesterday"}, "as_of", 422),
    ],
)
def test_bad_parameters_name_the_field(client, params, field, status):
    answer = client.get("/search", params={"q": "Qaim", **params})
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"][0]["field"] == field
