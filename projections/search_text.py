"""Full-text search, the pure part: what a report version is indexed by, how a
query becomes terms, and where an answer's snippets are marked.

No SQL and no I/O. Words are folded (case and accents never matter: "Al-Qaim"
is "Al-Qaïm") and stemmed for French and English with the Snowball stemmers
(PyStemmer), so "frappes" finds "frappe" and "strikes" finds "strike". Every
report is stemmed both ways: one report mixes languages (a French excerpt, an
English filer's summary, actor names in several languages).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import Stemmer

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
MAX_NAME_WORDS = 4  # the longest run of query words tried as an actor's name
SNIPPET_CHARS = 160  # a longer field is cut around its first mark

_WORD = re.compile(r"[^\W_]+")  # letters and digits, as the FTS tokenizers split
_STEMMERS = {"fr": Stemmer.Stemmer("french"), "en": Stemmer.Stemmer("english")}
LANGUAGES = tuple(_STEMMERS)


class QueryError(ValueError):
    """A query that cannot be searched for; the message says why and what to write."""


@lru_cache(maxsize=65_536)
def fold(word: str) -> str:
    """Lower case, without accents ("Qaïm" -> "qaim")."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def nfc(text: str) -> str:
    # Most texts already are: checking is much cheaper than normalising.
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def words_of(text: str) -> list[str]:
    return _WORD.findall(nfc(text))


@lru_cache(maxsize=65_536)
def stems(folded: str) -> tuple[str, ...]:
    """A folded word's stem in each language, in LANGUAGES order."""
    return tuple(_STEMMERS[language].stemWord(folded) for language in LANGUAGES)


# Indexing ------------------------------------------------------------------------------


def fields(content: dict[str, Any]) -> list[tuple[str, str]]:
    """The searchable texts of a report's content, each with the field it comes from."""
    source = content.get("source") or {}
    found = [
        ("excerpt", content.get("excerpt")),
        ("summary", content.get("summary")),
        ("quote", source.get("quote")),
        ("speaker", source.get("speaker")),
    ]
    found += [("places", place.get("name")) for place in content.get("places") or ()]
    found += [("actors", actor.get("name")) for actor in content.get("actors") or ()]
    return [(field, text) for field, text in found if text]


def document(content: dict[str, Any], with_stems: bool) -> dict[str, Any]:
    """What one report version is indexed by: its texts (`w`), how many words they
    hold (`n`), and, where the database does not stem (SQLite), the folded words'
    stems per language."""
    texts = [text for _, text in fields(content)]
    words = [word for text in texts for word in words_of(text)]
    doc: dict[str, Any] = {"w": "\n".join(texts), "n": len(words)}
    if with_stems:
        folded = [fold(word) for word in words]
        for index, language in enumerate(LANGUAGES):
            doc[language] = " ".join(stems(word)[index] for word in folded)
    return doc


# Queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One thing every result must contain: any of its phrases (each a list of
    words in order). A run of query words that names an actor gets the actor's
    other names as phrases too."""

    text: str
    phrases: tuple[tuple[str, ...], ...]
    actor: str | None = None


def chunks(q: str | None) -> list[str]:
    """The query's whitespace-separated words that hold a letter or digit.

    Raises QueryError for an empty query, one over MAX_QUERY_CHARS, or one over
    MAX_TERMS words. Nothing the user writes is syntax: `"`, `*`, `(`, `NEAR` and
    `AND` are words or separators like any other.
    """
    text = (q or "").strip()
    if not text:
        raise QueryError("q is empty: write the words to search for, e.g. q=Al-Qaim")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"q has {len(text)} characters; at most {MAX_QUERY_CHARS}: search for fewer words"
        )
    found = [chunk for chunk in text.split() if words_of(chunk)]
    if not found:
        raise QueryError(f"q ({text!r}) has no letter or digit to search for")
    if len(found) > MAX_TERMS:
        raise QueryError(f"q has {len(found)} words; at most {MAX_TERMS}")
    return found


def name_candidates(words: list[str]) -> list[str]:
    """Every run of up to MAX_NAME_WORDS consecutive query words, as one name."""
    return sorted(
        {
            " ".join(words[start : start + size])
            for start in range(len(words))
            for size in range(1, MAX_NAME_WORDS + 1)
            if start + size <= len(words)
        }
    )


def terms(words: list[str], names: dict[str, tuple[str, list[str]]]) -> list[Term]:
    """The query's terms. `names` maps a run of words (as `name_candidates` gave
    it) that names an actor to (actor id, every name of the actor); the longest
    such run from the left becomes one term, matched by any of the actor's names."""
    found, start = [], 0
    while start < len(words):
        for size in range(min(MAX_NAME_WORDS, len(words) - start), 0, -1):
            run = " ".join(words[start : start + size])
            if run in names:
                actor_id, actor_names = names[run]
                phrases = [tuple(words_of(run)), *(tuple(words_of(n)) for n in actor_names)]
                found.append(Term(run, _unique(phrases), actor_id))
                start += size
                break
        else:
            run = words[start]
            found.append(Term(run, (tuple(words_of(run)),)))
            start += 1
    return found


def _unique(phrases: list[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    seen: dict[tuple[str, ...], tuple[str, ...]] = {}
    for phrase in phrases:
        if phrase:
            seen.setdefault(tuple(fold(w) for w in phrase), phrase)
    return tuple(seen.values())


def _stemmed(phrase: tuple[str, ...], index: int) -> str:
    return " ".join(stems(fold(word))[index] for word in phrase)


def fts5_match(found: list[Term]) -> str:
    """An FTS5 MATCH expression (SQLite): every term, each as any of its phrases
    in the words or in either language's stems. Phrases are built only of
    letters and digits, inside double quotes, so user text is never syntax."""
    parts = []
    for term in found:
        options = []
        for phrase in term.phrases:
            options.append(f'w : "{" ".join(phrase)}"')
            options += [
                f'{language} : "{_stemmed(phrase, index)}"'
                for index, language in enumerate(LANGUAGES)
            ]
        parts.append("(" + " OR ".join(options) + ")")
    return " AND ".join(parts)


def tsquery_sql(found: list[Term], configs: list[str]) -> tuple[str, list[Any]]:
    """A tsquery expression (PostgreSQL) and its parameters: every term (&&), each
    as any of its phrases (||) under each text search configuration. Phrases are
    bound parameters, so user text is never syntax."""
    parts, params = [], []
    for term in found:
        options = []
        for phrase in term.phrases:
            for config in configs:
                options.append("phraseto_tsquery(%s::regconfig, %s)")
                params += [config, " ".join(phrase)]
        parts.append("(" + " || ".join(options) + ")")
    return " && ".join(parts), params


# Snippets ------------------------------------------------------------------------------


@lru_cache(maxsize=65_536)
def _keys(word: str) -> frozenset[str]:
    """What a word matches by: its folded form, and its stem in each language."""
    folded = fold(word)
    by_stem = (
        f"{language}:{stem}" for language, stem in zip(LANGUAGES, stems(folded), strict=True)
    )
    return frozenset((folded, *by_stem))


def _starts(found: list[Term]) -> dict[str, list[list[frozenset[str]]]]:
    """Every phrase as the keys of its words, listed under each key of its first word."""
    index: dict[str, list[list[frozenset[str]]]] = {}
    for term in found:
        for phrase in term.phrases:
            wanted = [_keys(word) for word in phrase]
            for key in wanted[0]:
                index.setdefault(key, []).append(wanted)
    return index


def marks(text: str, found: list[Term]) -> list[tuple[int, int]]:
    """Where any term's phrases occur in `text` (folded, or stem for stem), as
    (start, end) character offsets, in order, not overlapping."""
    return _marks(nfc(text), _starts(found))


def _marks(text: str, starts: dict[str, list[list[frozenset[str]]]]) -> list[tuple[int, int]]:
    spans = [(*m.span(), _keys(m.group())) for m in _WORD.finditer(text)]
    hits = []
    for index, (start, _, keys) in enumerate(spans):
        for key in keys:
            for wanted in starts.get(key, ()):
                window = spans[index : index + len(wanted)]
                if len(window) == len(wanted) and all(
                    have & want for (_, _, have), want in zip(window, wanted, strict=True)
                ):
                    hits.append((start, window[-1][1]))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(hits):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def snippets(content: dict[str, Any], found: list[Term]) -> list[dict[str, Any]]:
    """The fields of a report that hold a term, each with its marks: `text` (cut
    around the first mark, with "…", when longer than SNIPPET_CHARS) and `marks`,
    [start, end) offsets into that text. Offsets, not markup, so that no client
    has to trust HTML in a source's words."""
    found_fields, starts = [], _starts(found)
    for field, original in fields(content):
        text = nfc(original)
        spans = _marks(text, starts)
        if not spans:
            continue
        text, spans = _cut(text, spans)
        found_fields.append({"field": field, "text": text, "marks": [list(s) for s in spans]})
    return found_fields


def _cut(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    if len(text) <= SNIPPET_CHARS:
        return text, spans
    first = spans[0][0]
    start = max(0, min(first - SNIPPET_CHARS // 3, len(text) - SNIPPET_CHARS))
    end = start + SNIPPET_CHARS
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - start
    kept = [(s + shift, e + shift) for s, e in spans if s >= start and e <= end]
    return prefix + text[start:end] + suffix, kept
