"""The fast path for plain EDTF forms answers exactly as the `edtf` library does."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.dates import EDTFError, ParsedInterval, _parsed, _plain, interval_from_edtf


def _library(text: str) -> ParsedInterval | str:
    try:
        return _parsed(text)
    except EDTFError:
        return "invalid"


def _fast(text: str) -> ParsedInterval | str | None:
    return _plain(text.strip())


DAYS = [
    date(2023, 10, 7),
    date(2024, 2, 29),
    date(2023, 2, 28),
    date(1999, 12, 31),
    date(2100, 1, 1),
]
FIXED = [
    "2024-02-02",
    "2024-02",
    "2024",
    "2024-02-02~",
    "2024-02-02?",
    "2024-02~",
    "2024?",
    "2023-10-07/2023-10-08",
    "2023-10/2024-01",
    "2024/2025",
    "2024-01-01/2024-01",
    "2024-02-02/2024-02-01",  # reversed: the library returns it, validation refuses it
    "2023-02/2023-02-28",
    " 2024-02-02 ",
    "1000-01-01",
    "9999-12-31",
    "2024-02-30",
    "1900-02-29",
    "2000-02-29",
]
NOT_PLAIN = [
    "2024-02-02%",
    "2024-21",
    "0000",
    "0999",
    "2024-00-01",
    "2024-13",
    "2024-2-2",
    "2024-02-02~/2024-02-05?",
    "2024-02-02/..",
    "?2024-01-01",
    "2024-02-02~~",
    "２０２４-01-01",  # fullwidth digits: never read as a year
    "٢٠٢٤-01-01",
]


@pytest.mark.parametrize("text", FIXED)
def test_plain_forms_match_the_library(text: str) -> None:
    fast = _fast(text)
    expected = _library(text)
    if fast is None:
        assert expected == "invalid" or text in ("2024-02-30", "1900-02-29")
    else:
        assert fast == expected


@pytest.mark.parametrize("text", NOT_PLAIN)
def test_other_forms_go_to_the_library(text: str) -> None:
    assert _fast(text) is None


@settings(max_examples=60, deadline=None)
@given(
    st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 30)),
    st.sampled_from(["day", "month", "year"]),
    st.sampled_from(["", "~", "?"]),
    st.one_of(st.none(), st.integers(0, 400)),
    st.sampled_from(["day", "month", "year"]),
)
def test_generated_dates_match_the_library(
    day: date, precision: str, qualifier: str, span: int | None, upper_precision: str
) -> None:
    def form(d: date, p: str) -> str:
        return {"day": d.isoformat(), "month": d.isoformat()[:7], "year": d.isoformat()[:4]}[p]

    if span is None:
        text = form(day, precision) + qualifier
    else:
        end = min(day + timedelta(days=span), date(9999, 12, 31))
        text = f"{form(day, precision)}/{form(end, upper_precision)}"
    assert _fast(text) == _library(text)


def test_invalid_plain_looking_days_are_refused_by_the_library() -> None:
    for text in ("2024-02-30", "2023-02-29", "2024-04-31"):
        with pytest.raises(EDTFError):
            interval_from_edtf(text)


def test_days_from_the_samples() -> None:
    for day in DAYS:
        assert _fast(day.isoformat()) == _library(day.isoformat())
