"""EDTF (Library of Congress Extended Date/Time Format) to a day interval.

Parsing is the `edtf` library's job; this module only turns its answer into
the bounds, precision and qualifiers a report keeps.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from edtf import parse_edtf, struct_time_to_date
from edtf.parser.edtf_exceptions import EDTFParseException


class EDTFError(ValueError):
    pass


@dataclass(frozen=True)
class ParsedInterval:
    earliest: date
    latest: date
    precision: str
    approximate: bool
    uncertain: bool


def _precision(node: object) -> str:
    # Intervals, dates and qualified dates expose precision at different depths.
    for candidate in (node, getattr(node, "date", None), getattr(node, "lower", None)):
        precision = getattr(candidate, "precision", None)
        if precision in ("day", "month", "year"):
            return precision
    return "day"


def _flag(node: object, name: str) -> bool:
    parts = [node, getattr(node, "lower", None), getattr(node, "upper", None)]
    return any(bool(getattr(part, name, False)) for part in parts if part is not None)


# About 340 bytes an entry: 16,384 entries cap the cache at ~6 MB (65,536 would
# be ~22 MB of resident set in a long-running service); that still holds every
# day of 40 years, or a few thousand days with their intervals and variants.
@lru_cache(maxsize=16_384)
def interval_from_edtf(text: str) -> ParsedInterval:
    """Strict bounds of an EDTF expression; `~` and `?` are kept as flags, not
    used to widen the bounds (the library's fuzzy widening spans years).

    Cached: the parser takes ~20 ms a call, and every stored report is
    revalidated (so re-parsed) when its events are read back; the same few
    thousand date expressions recur across a whole log. The plain forms most
    reports use skip the parser altogether (see `_plain`)."""
    plain = _plain(text.strip())
    if plain is not None:
        return plain
    return _parsed(text)


# YYYY, YYYY-MM or YYYY-MM-DD, alone with an optional ~ or ?, or two of them
# unqualified as an interval. Anything else (seasons, %, qualified interval
# ends, open ends, invalid days) goes to the library, which decides.
_PLAIN_DATE = r"([1-9][0-9]{3})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12][0-9]|3[01]))?)?"
_SINGLE = re.compile(_PLAIN_DATE + r"([~?]?)")
_INTERVAL = re.compile(_PLAIN_DATE + "/" + _PLAIN_DATE)


def _bounds(year: str, month: str | None, day: str | None) -> tuple[date, date, str] | None:
    y = int(year)
    if month is None:
        return date(y, 1, 1), date(y, 12, 31), "year"
    m = int(month)
    if day is None:
        return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1]), "month"
    d = int(day)
    if d > calendar.monthrange(y, m)[1]:
        return None  # not a real day: let the library word the refusal
    return date(y, m, d), date(y, m, d), "day"


def _plain(text: str) -> ParsedInterval | None:
    """The library's answer for the plain forms, without its grammar (tested
    against the library in tests/test_dates.py)."""
    if match := _SINGLE.fullmatch(text):
        found = _bounds(*match.group(1, 2, 3))
        if found is None:
            return None
        qualifier = match.group(4)
        return ParsedInterval(*found, approximate=qualifier == "~", uncertain=qualifier == "?")
    if match := _INTERVAL.fullmatch(text):
        lower, upper = _bounds(*match.group(1, 2, 3)), _bounds(*match.group(4, 5, 6))
        if lower is None or upper is None:
            return None
        # The library takes an interval's precision from its start.
        return ParsedInterval(lower[0], upper[1], lower[2], approximate=False, uncertain=False)
    return None


def _parsed(text: str) -> ParsedInterval:
    try:
        node = parse_edtf(text.strip())
        earliest = struct_time_to_date(node.lower_strict())
        latest = struct_time_to_date(node.upper_strict())
    except (EDTFParseException, ValueError, TypeError, AttributeError, OverflowError) as error:
        raise EDTFError(f"{text!r} is not a valid EDTF date or interval") from error
    if earliest is None or latest is None:
        raise EDTFError(f"{text!r} has an open end; give both bounds")
    return ParsedInterval(
        earliest=earliest,
        latest=latest,
        precision=_precision(node),
        approximate=_flag(node, "is_approximate"),
        uncertain=_flag(node, "is_uncertain"),
    )
