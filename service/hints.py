"""Hints for input where a human made a human mistake: what to write instead.

Each rule looks at one validation problem (where, what kind, the value given)
and, when it recognises the slip, says the fix: a date in words, "85+" as a
count, a kind's wrong case or spelling, a language's name, a field's name one
letter off. Pure functions: no HTTP, no store.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from datetime import date
from typing import Any, get_args, get_origin

import orjson
import pycountry
from pydantic import BaseModel

MONTHS = {
    **dict.fromkeys(("janvier", "january", "jan"), 1),
    **dict.fromkeys(("février", "fevrier", "february", "feb", "fév", "fev"), 2),
    **dict.fromkeys(("mars", "march", "mar"), 3),
    **dict.fromkeys(("avril", "april", "apr", "avr"), 4),
    **dict.fromkeys(("mai", "may"), 5),
    **dict.fromkeys(("juin", "june", "jun"), 6),
    **dict.fromkeys(("juillet", "july", "jul", "juil"), 7),
    **dict.fromkeys(("août", "aout", "august", "aug"), 8),
    **dict.fromkeys(("septembre", "september", "sep", "sept"), 9),
    **dict.fromkeys(("octobre", "october", "oct"), 10),
    **dict.fromkeys(("novembre", "november", "nov"), 11),
    **dict.fromkeys(("décembre", "decembre", "december", "dec", "déc"), 12),
}
_MONTH = "(" + "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True)) + r")\.?"
_DAY = r"(\d{1,2})(?:er|st|nd|rd|th)?"
_YEAR = r"(\d{4})"
_DAY_MONTH_YEAR = re.compile(rf"^{_DAY}\s+{_MONTH}\s+{_YEAR}$")
_DAYS_MONTH_YEAR = re.compile(rf"^(?:du\s+)?{_DAY}\s*(?:au|to|-|–)\s*{_DAY}\s+{_MONTH}\s+{_YEAR}$")
_MONTH_DAY_YEAR = re.compile(rf"^{_MONTH}\s+{_DAY},?\s+{_YEAR}$")
_MONTH_YEAR = re.compile(rf"^{_MONTH}\s+{_YEAR}$")


def date_from_words(text: str) -> str | None:
    """The EDTF for a date written in French or English words, if it is one."""
    words = " ".join(text.casefold().split())
    try:
        if found := _DAY_MONTH_YEAR.match(words):
            day, month, year = found.groups()
            return _day(year, month, day)
        if found := _DAYS_MONTH_YEAR.match(words):
            first, last, month, year = found.groups()
            start, end = _day(year, month, first), _day(year, month, last)
            return f"{start}/{end}" if start < end else None
        if found := _MONTH_DAY_YEAR.match(words):
            month, day, year = found.groups()
            return _day(year, month, day)
        if found := _MONTH_YEAR.match(words):
            month, year = found.groups()
            return f"{int(year):04d}-{MONTHS[month]:02d}"
    except ValueError:  # 30 février
        return None
    return None


def _day(year: str, month: str, day: str) -> str:
    return date(int(year), MONTHS[month], int(day)).isoformat()


_NUMBER = r"(\d[\d\s,.]*)"
_QUALIFIED = [
    (re.compile(rf"^{_NUMBER}\s*\+$"), "at_least"),
    (re.compile(rf"^(?:plus de|au moins|more than|over|at least|>=?|≥)\s*{_NUMBER}$"), "at_least"),
    (
        re.compile(rf"^(?:au plus|jusqu'à|moins de|at most|up to|fewer than|<=?|≤)\s*{_NUMBER}$"),
        "at_most",
    ),
    (
        re.compile(rf"^(?:environ|près de|about|around|approximately|approx\.?|~|≈)\s*{_NUMBER}$"),
        "about",
    ),
]


def qualified_count(text: str) -> tuple[int, str] | None:
    """`("85+")` -> `(85, "at_least")`: a count written with its qualifier."""
    words = " ".join(text.casefold().split())
    for pattern, qualifier in _QUALIFIED:
        if found := pattern.match(words):
            digits = re.sub(r"[\s,.]", "", found.group(1))
            return int(digits), qualifier
    return None


# Names people give a language in French, which pycountry (English names) lacks.
_LANGUAGE_NAMES = {"français": "fr", "anglais": "en", "arabe": "ar", "persan": "fa", "farsi": "fa"}


def language_tag(text: str) -> str | None:
    """The BCP 47 tag for a language's name or a mis-cased tag ("French", "FR", "fr_FR")."""
    words = text.strip()
    if re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*", words):
        primary, *rest = re.split(r"[-_]", words)
        tag = "-".join(
            [primary.lower(), *(part.upper() if len(part) == 2 else part for part in rest)]
        )
        if tag != words:
            return tag
    if named := _LANGUAGE_NAMES.get(words.casefold()):
        return named
    try:
        language = pycountry.languages.lookup(words)
    except LookupError:
        return None
    return getattr(language, "alpha_2", None) or getattr(language, "alpha_3", None)


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` most likely meant: another case, or a letter or two off."""
    choices = list(choices)
    for choice in choices:
        if choice.casefold() == word.casefold():
            return choice
    found = difflib.get_close_matches(word.casefold(), choices, n=1, cutoff=0.6)
    return found[0] if found else None


def hint(
    loc: tuple[Any, ...],
    kind: str,
    value: Any,
    ctx: dict[str, Any] | None = None,
    fields: Iterable[str] | None = None,
) -> str | None:
    """What to write instead, for one validation problem; None when no rule applies.

    `loc` is the path of the field at fault, `kind` pydantic's error type,
    `value` the input, `ctx` pydantic's context, `fields` the names the object
    holding the field accepts (for unknown fields)."""
    name = next((part for part in reversed(loc) if isinstance(part, str)), "")
    if kind == "extra_forbidden" and fields is not None:
        meant = closest(name, [f for f in fields if f != name])
        return f"unknown field {name!r}: did you mean {meant!r}?" if meant else None
    if name == "when" or loc[-2:] == ("when", "edtf"):
        return _when_hint(value)
    if name == "value" and "counts" in loc and isinstance(value, str):
        found = qualified_count(value)
        if found:
            number, qualifier = found
            words = orjson.dumps(value).decode()
            return (
                f'write "value": {number}, "qualifier": "{qualifier}" '
                f'(the source\'s words {words} can go in "wording")'
            )
        return None
    if name == "language" and isinstance(value, str):
        tag = language_tag(value)
        return f'a BCP 47 language tag: write "{tag}"' if tag else None
    if kind == "enum" and isinstance(value, str) and ctx and "expected" in ctx:
        meant = closest(value, re.findall(r"'([^']*)'", str(ctx["expected"])))
        return f"did you mean {meant!r}?" if meant and meant != value else None
    return None


def _when_hint(value: Any) -> str | None:
    words = value.get("edtf") if isinstance(value, dict) else value
    if not isinstance(words, str):
        return None
    edtf = date_from_words(words)
    if edtf is None:
        return None
    example = orjson.dumps({"edtf": edtf, "wording": words}).decode()
    return f'write "when": {example}: the date as EDTF, the source\'s words in when.wording'


def fields_at(model: Any, path: tuple[Any, ...]) -> set[str] | None:
    """The field names of the object at `path` inside `model`, when it is a model."""
    current = _model_in(model)
    for part in path:
        if isinstance(part, int):
            continue
        if current is None or part not in current.model_fields:
            return None
        current = _model_in(current.model_fields[part].annotation)
    return set(current.model_fields) if current is not None else None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None:  # X | None, tuple[X, ...], Annotated[X, ...]
        for argument in get_args(annotation):
            found = _model_in(argument)
            if found is not None:
                return found
    return None
