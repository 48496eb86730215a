"""The pure rules of search: folding and stems, query words and terms, the FTS5 and
tsquery expressions built from them, and snippet marks."""

from __future__ import annotations

import pytest

from projections import search_text as st


def test_fold_drops_case_and_accents():
    assert st.fold("Al-Qaïm") == "al-qaim"
    assert st.fold("ÉTATS-UNIS") == "etats-unis"


def test_words_split_on_what_is_not_a_letter_or_digit():
    assert st.words_of("l'Ouest, d'Al-Qaïm (85 sites)") == [
        "l",
        "Ouest",
        "d",
        "Al",
        "Qaïm",
        "85",
        "sites",
    ]
    assert st.words_of('"*( NEAR') == ["NEAR"]


def test_stems_in_french_and_english():
    assert st.stems("frappes") == st.stems("frappe")[:1] + st.stems("frappes")[1:]
    assert st.stems("ciblé".replace("é", "e"))[0] == st.stems("cibler")[0] == "cibl"
    assert st.stems("strikes")[1] == st.stems("strike")[1] == "strike"


def test_a_document_holds_every_searchable_field_and_its_stems():
    content = {
        "excerpt": "Frappes à Al-Qaïm.",
        "summary": "Strikes hit.",
        "places": [{"name": "Al-Qaïm"}],
        "actors": [{"name": "Hachd al-Chaabi"}],
        "source": {"speaker": "un responsable", "quote": "un QG ciblé", "outlet": "AFP"},
    }
    doc = st.document(content, with_stems=True)
    assert doc["w"].split("\n") == [
        "Frappes à Al-Qaïm.",
        "Strikes hit.",
        "un QG ciblé",
        "un responsable",
        "Al-Qaïm",
        "Hachd al-Chaabi",
    ]
    assert doc["n"] == 16
    assert doc["fr"].split()[:4] == ["frapp", "a", "al", "qaim"]
    assert doc["en"].split()[4:6] == ["strike", "hit"]
    assert set(st.document(content, with_stems=False)) == {"w", "n"}


@pytest.mark.parametrize(
    ("q", "says"),
    [
        (None, "empty"),
        ("  ", "empty"),
        ("x" * 501, "501 characters; at most 500"),
        ('* " (', "no letter or digit"),
        (" ".join(["mot"] * 33), "33 words; at most 32"),
    ],
)
def test_queries_that_cannot_be_searched(q, says):
    with pytest.raises(st.QueryError, match=says):
        st.chunks(q)


def test_query_words_keep_what_holds_a_letter():
    assert st.chunks(' "Al-Qaim" * NEAR ( ') == ['"Al-Qaim"', "NEAR"]


def test_name_candidates_are_runs_of_up_to_four_words():
    found = st.name_candidates(["a", "b", "c", "d", "e"])
    assert "a b c d" in found and "b c d e" in found and "a b c d e" not in found
    assert len(found) == 5 + 4 + 3 + 2


def test_a_run_that_names_an_actor_is_one_term_with_every_name():
    names = {"force Quds": ("quds-id", ["Quds Force", "force Quds", "Al-Quds"])}
    found = st.terms(["frappes", "force", "Quds"], names)
    assert [t.text for t in found] == ["frappes", "force Quds"]
    assert found[0] == st.Term("frappes", (("frappes",),))
    assert found[1].actor == "quds-id"
    # The words as asked, then the actor's names; spellings equal once folded are one.
    assert found[1].phrases == (("force", "Quds"), ("Quds", "Force"), ("Al", "Quds"))


def test_fts5_expression_quotes_every_phrase():
    found = st.terms(['NEAR("x"', "AND"], {})
    assert st.fts5_match(found) == (
        '(w : "NEAR x" OR fr : "near x" OR en : "near x") AND '
        '(w : "AND" OR fr : "and" OR en : "and")'
    )


def test_fts5_expression_matches_stems_per_language():
    found = st.terms(["Frappes", "américaines"], {})
    assert st.fts5_match(found) == (
        '(w : "Frappes" OR fr : "frapp" OR en : "frapp") AND '
        '(w : "américaines" OR fr : "americain" OR en : "americain")'
    )


def test_tsquery_binds_every_phrase_under_every_configuration():
    found = st.terms(["Al-Qaim", "PMF"], {"PMF": ("pmf-id", ["Hachd al-Chaabi"])})
    sql, params = st.tsquery_sql(found, ["cfg_a", "cfg_b"])
    assert sql == (
        "(phraseto_tsquery(%s::regconfig, %s) || phraseto_tsquery(%s::regconfig, %s)) && "
        "(phraseto_tsquery(%s::regconfig, %s) || phraseto_tsquery(%s::regconfig, %s) || "
        "phraseto_tsquery(%s::regconfig, %s) || phraseto_tsquery(%s::regconfig, %s))"
    )
    assert params == [
        "cfg_a", "Al Qaim", "cfg_b", "Al Qaim",
        "cfg_a", "PMF", "cfg_b", "PMF",
        "cfg_a", "Hachd al Chaabi", "cfg_b", "Hachd al Chaabi",
    ]  # fmt: skip


def test_marks_find_phrases_folded_and_by_stem():
    text = "Un QG dans la zone d'Al-Qaïm a été ciblé; les frappes continuent."
    found = st.terms(["al-qaim", "frappe", "cibler"], {})
    spans = st.marks(text, found)
    assert [text[s:e] for s, e in spans] == ["Al-Qaïm", "ciblé", "frappes"]


def test_a_phrase_is_marked_only_where_its_words_follow_each_other():
    found = st.terms(["Al-Qaim"], {})
    assert st.marks("Al Bagdad, Qaim", found) == []


def test_snippets_cut_long_fields_around_the_first_mark():
    long = "début " * 60 + "Al-Qaïm" + " fin" * 60
    snippets = st.snippets({"excerpt": long, "source": {}}, st.terms(["Qaim"], {}))
    assert len(snippets) == 1
    snippet = snippets[0]
    assert snippet["field"] == "excerpt"
    assert snippet["text"].startswith("…") and snippet["text"].endswith("…")
    assert len(snippet["text"]) == st.SNIPPET_CHARS + 2
    [(start, end)] = snippet["marks"]
    assert snippet["text"][start:end] == "Qaïm"


def test_fields_without_a_term_give_no_snippet():
    content = {"excerpt": "Rien ici.", "summary": "Al-Qaïm area.", "source": {}}
    snippets = st.snippets(content, st.terms(["Qaim"], {}))
    assert [s["field"] for s in snippets] == ["summary"]
