"""The three views over the seed article, read through the HTTP API on both stores."""

from __future__ import annotations

from typing import Any

import pytest

from tests.seeding import post_seed

STRIKES = "2024-02-02-us-strikes-iraq-syria"
JORDAN = "2024-01-late-drone-attack-jordan"
WAR = "2023-10-07-hamas-attack-israel"


@pytest.fixture
def seeded(client) -> int:
    return post_seed(client)


def _get(client, path: str, position: int, **params: Any) -> dict[str, Any]:
    answer = client.get(path, params={"min_position": position, **params})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["position"] >= position
    return body


def _actor_id(client, name: str) -> str:
    answer = client.get("/actors/resolve", params={"name": name})
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def test_timeline_runs_from_7_october_to_the_february_strikes(client, seeded):
    entries = _get(client, "/timeline", seeded)["entries"]
    keyed = {e["incident"]: e for e in entries}
    order = [e["incident"] for e in entries]
    assert order.index(WAR) < order.index(JORDAN) < order.index(STRIKES)
    starts = [e["when"]["earliest"] for e in entries]
    assert starts == sorted(starts)

    war = keyed[WAR]
    assert war["when"]["earliest"] == "2023-10-07"

    jordan = keyed[JORDAN]
    assert jordan["when"]["earliest"] == "2024-01-21" and jordan["when"]["latest"] == "2024-01-31"
    assert {k: jordan["counts"][0][k] for k in ("counted", "qualifier", "value")} == {
        "counted": "killed",
        "qualifier": "exact",
        "value": 3,
    }
    assert jordan["level_name"] == "attack_with_casualties"
    assert "JO" in jordan["countries"]

    strikes = keyed[STRIKES]
    assert strikes["when"]["earliest"] == "2024-02-02"  # where most sources put it
    assert strikes["when"]["agreed"] is False  # one sentence says janvier
    counts = {c["counted"]: c for c in strikes["counts"]}
    # Two sources say 85 sites, one "plus de 85" (at least 85): 85 fits every
    # source's bound, so it stays exact.
    assert counts["sites"]["qualifier"] == "exact" and counts["sites"]["value"] == 85
    assert counts["sites"]["bounds"] == {"low": 85, "high": 85}
    assert counts["wounded"]["qualifier"] == "at_least"
    places = {p["name"] for p in strikes["places"]}
    assert {"Al-Qaïm", "Al-Akachat"} <= places
    assert strikes["level_name"] == "strikes_on_state"  # Quds Force is a state's own force
    assert [c["incident"] for c in strikes["chain"]] == [JORDAN]
    # A page of the timeline counts an entry's sources; the full entry has them.
    assert "sources" not in strikes
    full = _get(client, f"/incidents/{STRIKES}", seeded)["entry"]
    assert strikes["source_count"] == len(full["sources"])
    assert {k: v for k, v in full.items() if k != "sources"} == {
        k: v for k, v in strikes.items() if k != "source_count"
    }
    anonymous = [s for s in full["sources"] if s["anonymous"]]
    # The Iraqi interior ministry official (twice) and the Hachd official (twice).
    assert sorted(s["speaker"] for s in anonymous) == [
        "un responsable au ministère de l'Intérieur irakien",
        "un responsable au ministère de l'Intérieur irakien",
        "un responsable du Hachd al-Chaabi",
        "un responsable du Hachd al-Chaabi",
    ]
    assert all(s["excerpt"] for s in full["sources"])
    detailed = _get(client, "/timeline", seeded, detail="full")["entries"]
    assert next(e for e in detailed if e["incident"] == STRIKES) == full


def test_denial_and_biden_statement_are_on_the_timeline(client, seeded):
    entries = _get(client, "/timeline", seeded, detail="full")["entries"]
    denials = [e for e in entries if e["kind"] == "denial"]
    assert any(JORDAN in e["responds_to"] for e in denials)
    assert any(a["name"] == "Iran" and "denier" in a["roles"] for e in denials for a in e["actors"])
    spoken = [e for e in entries if e["kind"] in ("statement", "threat")]
    assert any(
        s["speaker"] == "Joe Biden" or "Biden" in (s["speaker"] or "")
        for e in spoken
        for s in e["sources"]
    )


def test_filters_and_pagination(client, seeded):
    iraq = _get(client, "/timeline", seeded, country="IQ")["entries"]
    assert STRIKES in {e["incident"] for e in iraq}
    assert JORDAN not in {e["incident"] for e in iraq}
    by_alias = _get(client, "/timeline", seeded, actor="PMF")["entries"]
    assert {e["incident"] for e in by_alias} == {STRIKES}
    high = _get(client, "/timeline", seeded, min_level=3)["entries"]
    assert {e["incident"] for e in high} == {STRIKES}

    full = [e["incident"] for e in _get(client, "/timeline", seeded)["entries"]]
    assert _pages(client, "/timeline", seeded, "entries", "incident", limit=3) == full
    bad = client.get("/timeline", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "cursor"


def _pages(client, path: str, position: int, items: str, key: str, **params: Any) -> list[Any]:
    """`key` of every item, following `next` until the last page."""
    found, cursor = [], None
    while True:
        page = _get(client, path, position, **params, **({"cursor": cursor} if cursor else {}))
        found.extend(item[key] for item in page[items])
        cursor = page["next"]
        if cursor is None:
            return found


def test_weekly_series(client, seeded):
    weeks = {w["week"]: w for w in _get(client, "/timeline/weekly", seeded)["weeks"]}
    assert weeks["2024-01-29"]["highest_level_name"] == "strikes_on_state"
    assert weeks["2023-10-02"]["incidents"] == 1


def test_tally_documents_attacks_and_keeps_165_as_a_lower_bound(client, seeded):
    tally = _get(client, "/tally", seeded, attacks="true", reported="true")
    assert tally["start"] == "2023-10-17"
    # Exactly one: the drone attack in Jordan. The 7 October attack is before the
    # start and not on US forces; the February strikes are strikes, not attacks.
    assert tally["documented_attacks"] == 1
    [jordan] = tally["attacks"]
    assert (jordan["incident"], jordan["day"], jordan["week"]) == (
        JORDAN,
        "2024-01-21",
        "2024-01-15",
    )
    assert tally["series"] == [{"week": "2024-01-15", "attacks": 1, "cumulative": 1}]
    # By default: the counts and the headline, not the lists behind them.
    counts_only = _get(client, "/tally", seeded)
    assert "attacks" not in counts_only and "reported" not in counts_only
    assert counts_only["reported_count"] == len(tally["reported"])
    assert {k: v for k, v in tally.items() if k not in ("attacks", "reported")} == counts_only
    headline = tally["headline"]
    assert headline["reported_at_least"] == 165
    assert headline["reported_source"]["outlet"] == "AFP"
    assert headline["text"] == (
        "1 attack documented in the log since 2023-10-17; "
        "sources report at least 165 by 2024-02-02 (AFP)"
    )
    assert headline["documented"] == 1
    [reported] = tally["reported"]
    assert (reported["value"], reported["qualifier"], reported["counted"]) == (
        165,
        "at_least",
        "attacks",
    )
    assert (reported["since"], reported["speaks_for"]) == ("2023-10-11", "2024-02-02")
    by_country = _get(client, "/tally", seeded, group_by="country")["series"]
    assert by_country == [{"country": "JO", "attacks": 1}]
    assert _get(client, "/tally", seeded, start="2024-02-01")["documented_attacks"] == 0


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("United States", "perpetrator"),
        ("Hachd al-Chaabi", "target"),
        ("Quds Force", "target"),
        ("Iran", "denier"),
        ("Islamic Resistance in Iraq", "claimant"),
    ],
)
def test_actor_histories_have_the_right_roles(client, seeded, name, role):
    actor_id = _actor_id(client, name)
    history = _get(client, f"/actors/{actor_id}/history", seeded, rollup="true")
    roles = {a["role"] for a in history["appearances"]}
    assert role in roles
    dates = [a["when"]["earliest"] for a in history["appearances"]]
    assert dates == sorted(dates)
    assert history["appearance_count"] == len(history["appearances"])
    assert history["next"] is None


def test_actor_history_pages_give_every_appearance_once(client, seeded):
    us = _actor_id(client, "United States")
    whole = _get(client, f"/actors/{us}/history", seeded, rollup="true")
    # Reports 01, 02, 07, 08, 09 (Centcom, "américains", Washington as perpetrators),
    # 12 (Washington speaking), 13 and 16 (the soldiers in Jordan), 19 and 20 (US
    # soldiers as targets).
    assert whole["appearance_count"] == 10
    keys = [(a["report"], a["role"], a["actor"]) for a in whole["appearances"]]
    paged = []
    cursor = None
    while True:
        params = {"rollup": "true", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = _get(client, f"/actors/{us}/history", seeded, **params)
        assert page["summary"] == whole["summary"]  # the summary is of every page
        assert len(page["appearances"]) <= 2
        paged.extend((a["report"], a["role"], a["actor"]) for a in page["appearances"])
        cursor = page["next"]
        if cursor is None:
            break
    assert paged == keys
    bad = client.get(f"/actors/{us}/history", params={"cursor": "eyJ4Ijox"})
    assert bad.status_code == 422


def test_roll_up_follows_parents(client, seeded):
    irgc = _actor_id(client, "IRGC")
    alone = _get(client, f"/actors/{irgc}/history", seeded)
    rolled = _get(client, f"/actors/{irgc}/history", seeded, rollup="true")
    assert _actor_id(client, "force Quds") in rolled["actor"]["members"]
    assert alone["appearances"] == []  # no report names the IRGC itself
    # The Quds Force, a target of the strikes in reports 01 and 07.
    assert [(a["written_as"], a["role"]) for a in rolled["appearances"]] == [
        (["force iranienne Quds"], "target"),
        (["force Quds"], "target"),
    ]


def test_janvier_fevrier_contradiction_is_listed(client, seeded):
    found = _get(client, "/contradictions", seeded)["contradictions"]
    kinds = {(c["type"], c["incident"]) for c in found}
    assert ("date_disagreement", STRIKES) in kinds
    before = [c for c in found if c["type"] == "response_before_cause"]
    assert any(c["responds_to"] == JORDAN and "janvier" in (c["wording"] or "") for c in before)


def test_alias_added_later_is_followed_and_as_of_shows_before(client, seeded):
    hachd = _actor_id(client, "Hachd al-Chaabi")
    filed = client.post(
        "/reports",
        json={
            "kind": "statement",
            "when": "2024-02-03",
            "actors": [{"name": "Kataeb al-Hachd", "role": "speaker"}],
            "source": {"outlet": "AFP", "language": "fr"},
        },
    )
    assert filed.status_code == 201
    before = _get(client, f"/actors/{hachd}/history", filed.json()["position"])
    assert filed.json()["id"] not in {a["report"] for a in before["appearances"]}
    alias = client.post(f"/actors/{hachd}/aliases", json={"name": "Kataeb al-Hachd"})
    assert alias.status_code == 201
    after = _get(client, f"/actors/{hachd}/history", alias.json()["position"])
    new = [a for a in after["appearances"] if a["report"] == filed.json()["id"]]
    assert [(a["written_as"], a["role"]) for a in new] == [(["Kataeb al-Hachd"], "speaker")]
    assert [a for a in after["appearances"] if a not in new] == before["appearances"]
    assert after["appearance_count"] == before["appearance_count"] + 1
    # Just before the alias, the history is exactly what it was before it.
    as_of = _get(client, f"/actors/{hachd}/history", 0, as_of=str(alias.json()["position"] - 1))
    assert {k: v for k, v in as_of.items() if k not in ("position", "as_of")} == {
        k: v for k, v in before.items() if k not in ("position", "as_of")
    }


def test_retraction_and_correction_show_in_the_entry(client, seeded):
    seed_entry = _get(client, f"/incidents/{JORDAN}", seeded)["entry"]
    # The attack report (13: "trois soldats"), not the casualties one (16, no figure).
    report = next(s["report"] for s in seed_entry["sources"] if s["kind"] == "attack")
    corrected = client.post(
        f"/reports/{report}/corrections",
        json={
            "changes": {"counts": [{"value": 4, "qualifier": "exact", "counted": "killed"}]},
            "reason": "test correction",
        },
    )
    assert corrected.status_code == 201
    entry = _get(client, f"/incidents/{JORDAN}", corrected.json()["position"])["entry"]
    assert entry["corrections"][0]["reason"] == "test correction"
    # The only killed figure is now the corrected one: exactly 4, no longer 3.
    assert entry["counts"] == [
        {
            "counted": "killed",
            "whose": None,
            "value": 4,
            "low": 4,
            "high": 4,
            "bounds": {"low": 4, "high": 4},
            "qualifier": "exact",
            "sources": [
                {
                    "report": report,
                    "value": 4,
                    "qualifier": "exact",
                    "low": None,
                    "high": None,
                    "wording": None,
                }
            ],
        }
    ]
    retracted = client.post(f"/reports/{report}/retraction", json={"reason": "test"})
    entry = _get(client, f"/incidents/{JORDAN}", retracted.json()["position"])["entry"]
    assert [r["report"] for r in entry["retracted"]] == [report]
    others = [s["report"] for s in seed_entry["sources"] if s["report"] != report]
    assert [s["report"] for s in entry["sources"]] == others
    assert entry["counts"] == []  # report 16 gives no figure
    # Earlier positions still answer exactly as they were.
    old = _get(client, f"/incidents/{JORDAN}", 0, as_of=str(seeded))["entry"]
    assert old == seed_entry


def test_bad_as_of_and_a_min_position_beyond_the_log(client, seeded):
    bad = client.get("/timeline", params={"as_of": "yesterday"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "as_of"
    # No view will ever reach a position the log does not have: no retry helps
    # (tests/test_read_queries.py has the 503 of a view that lags).
    late = client.get("/timeline", params={"min_position": seeded + 1000})
    assert late.status_code == 422 and "retry-after" not in late.headers
    assert late.json()["detail"][0]["field"] == "min_position"
