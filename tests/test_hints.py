"""Hints where a human made a human mistake: the rules, then through POST /reports."""

from __future__ import annotations

import orjson
import pytest

from domain.values import ReportContent
from service.hints import closest, date_from_words, fields_at, hint, language_tag, qualified_count
from service.schemas import ReportIn

NDJSON = {"content-type": "application/x-ndjson"}

# The rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "edtf"),
    [
        ("2 février 2024", "2024-02-02"),
        ("1er janvier 2024", "2024-01-01"),
        ("2 fevrier 2024", "2024-02-02"),
        ("du 2 au 3 février 2024", "2024-02-02/2024-02-03"),
        ("February 2, 2024", "2024-02-02"),
        ("2nd Feb 2024", "2024-02-02"),
        ("janvier 2024", "2024-01"),
        ("30 février 2024", None),
        ("3 au 2 février 2024", None),
        ("dans la nuit", None),
        ("2024-02-02", None),
    ],
)
def test_a_date_in_words(words, edtf):
    assert date_from_words(words) == edtf


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("85+", (85, "at_least")),
        ("1,200 +", (1200, "at_least")),
        ("plus de 85", (85, "at_least")),
        ("at most 12", (12, "at_most")),
        ("environ 40", (40, "about")),
        ("~40", (40, "about")),
        ("85", None),
        ("beaucoup", None),
    ],
)
def test_a_count_with_its_qualifier(text, meant):
    assert qualified_count(text) == meant


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("French", "fr"),
        ("français", "fr"),
        ("Arabic", "ar"),
        ("FR", "fr"),
        ("fr_FR", "fr-FR"),
        ("fr", "fr"),
        ("Klingonese", None),
    ],
)
def test_a_language_name_or_mis_cased_tag(text, tag):
    assert language_tag(text) == tag


def test_closest_prefers_the_same_word_in_another_case_then_a_near_spelling():
    kinds = [kind.value for kind in ReportContent.model_fields["kind"].annotation]
    assert closest("Strike", kinds) == "strike"
    assert closest("strkie", kinds) == "strike"
    assert closest("attak", kinds) == "attack"
    assert closest("bombing", kinds) is None


def test_hint_picks_the_rule_for_the_field():
    assert hint(("when",), "value_error", "2 février 2024") == (
        'write "when": {"edtf":"2024-02-02","wording":"2 février 2024"}: '
        "the date as EDTF, the source's words in when.wording"
    )
    assert hint(("when",), "value_error", {"edtf": "2 février 2024"}).startswith(
        'write "when": {"edtf":"2024-02-02"'
    )
    assert hint(("counts", 0, "value"), "int_parsing", "85+") == (
        'write "value": 85, "qualifier": "at_least" (the source\'s words "85+" can go in "wording")'
    )
    assert hint(("source", "language"), "string_pattern_mismatch", "French") == (
        'a BCP 47 language tag: write "fr"'
    )
    expected = {"expected": "'attack', 'strike' or 'tally'"}
    assert hint(("kind",), "enum", "Strike", expected) == "did you mean 'strike'?"
    assert hint(("kind",), "enum", "bombing", expected) is None
    assert hint(("actor",), "extra_forbidden", [], None, {"actors", "kind"}) == (
        "unknown field 'actor': did you mean 'actors'?"
    )
    assert hint(("colour",), "extra_forbidden", "red", None, {"actors", "kind"}) is None
    assert hint(("summary",), "string_too_long", "x" * 6000) is None


def test_fields_at_walks_into_nested_models():
    assert "actors" in fields_at(ReportIn, ())
    assert "language" in fields_at(ReportIn, ("source",))
    assert fields_at(ReportIn, ("actors", 0)) == {"name", "role", "actor_id"}
    assert fields_at(ReportIn, ("kind",)) is None
    assert fields_at(ReportIn, ("nowhere",)) is None


# Through the API ----------------------------------------------------------------------

SLIPS = {
    "kind": "strkie",
    "when": "2 février 2024",
    "counts": [{"value": "85+", "counted": "sites"}],
    "source": {"outlet": "AFP", "language": "French"},
    "actor": [{"name": "Centcom", "role": "perpetrator"}],
}
HINTS = {
    "kind": "did you mean 'strike'?",
    "when": 'write "when": {"edtf":"2024-02-02","wording":"2 février 2024"}: '
    "the date as EDTF, the source's words in when.wording",
    "counts.0.value": 'write "value": 85, "qualifier": "at_least" '
    '(the source\'s words "85+" can go in "wording")',
    "source.language": 'a BCP 47 language tag: write "fr"',
    "actor": "unknown field 'actor': did you mean 'actors'?",
}


def test_a_report_with_human_slips_gets_a_hint_for_each(client):
    answer = client.post("/reports", json=SLIPS)
    assert answer.status_code == 422
    assert {p["field"]: p.get("hint") for p in answer.json()["detail"]} == HINTS


def test_a_batch_line_with_human_slips_gets_the_same_hints(client):
    good = {
        "kind": "strike",
        "when": "2024-02-02",
        "source": {"outlet": "AFP", "language": "fr"},
    }
    body = orjson.dumps(good) + b"\n" + orjson.dumps({**SLIPS, "kind": "Strike"})
    answer = client.post("/reports", content=body, headers=NDJSON)
    assert answer.status_code == 422
    found = {p["field"]: p.get("hint") for p in answer.json()["detail"] if p["line"] == 2}
    assert found == HINTS
    assert {p["line"] for p in answer.json()["detail"]} == {2}
    assert client.get("/events").content == b""  # all or nothing


def test_an_actor_with_slips_gets_hints_too(client):
    answer = client.post(
        "/actors", json={"name": "Centcom", "alias": [], "category": "State_Force"}
    )
    assert answer.status_code == 422
    assert {p["field"]: p.get("hint") for p in answer.json()["detail"]} == {
        "alias": "unknown field 'alias': did you mean 'aliases'?",
        "category": "did you mean 'state_force'?",
    }
