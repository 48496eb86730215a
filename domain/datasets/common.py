"""What every dataset mapping shares: the mapped row, the row error, cell parsers."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import pycountry
from pydantic import ValidationError

from domain.values import ActorCategory, ReportContent, iso_country

Row = Mapping[str, str]
_WHOLE = re.compile(r"-?\d+(\.0+)?")  # "12", "-3", "12.0": whole numbers as CSV writes them


class RowError(ValueError):
    """A cell the mapping cannot use: which column, and what is wrong with it."""

    def __init__(self, column: str | None, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


@dataclass(frozen=True)
class MappedRow:
    key: str  # idempotency key of the report: "acled:KEN7182", "ucdp:244657"
    dataset: str  # "ACLED", "UCDP GED": names the source of corrections
    row_id: str  # the dataset's own id of the event
    revision: str | None  # ACLED's `timestamp` (when the row was last uploaded)
    content: ReportContent
    actors: tuple[tuple[str, ActorCategory], ...]  # names to resolve, with their category


def cell(row: Row, column: str) -> str:
    """The cell's text, stripped; '' when blank."""
    return (row.get(column) or "").strip()


def required(row: Row, column: str) -> str:
    value = cell(row, column)
    if not value:
        raise RowError(column, "is empty; every row needs it")
    return value


def integer(row: Row, column: str, allowed: range | None = None, default: int | None = None) -> int:
    text = cell(row, column)
    if not text and default is not None:
        return default
    if text.isascii() and text.isdigit():
        value = int(text)  # most cells: no pattern to match
    else:
        try:
            value = int(float(text)) if _WHOLE.fullmatch(text) else int(text)
        except ValueError:
            raise RowError(column, f"{text!r} is not a whole number") from None
    if allowed is not None and value not in allowed:
        raise RowError(
            column, f"{value} is not one of the codes {allowed.start}-{allowed.stop - 1}"
        )
    return value


def coordinate(row: Row, column: str, limit: float) -> float | None:
    text = cell(row, column)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise RowError(column, f"{text!r} is not a number") from None
    if not -limit <= value <= limit:
        raise RowError(column, f"{value} is outside -{limit}..{limit}")
    return value


def iso_day(row: Row, column: str) -> date:
    """A `yyyy-mm-dd` day, also when followed by a time (GED writes `2019-01-01 00:00:00.000`)."""
    text = required(row, column)
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise RowError(column, f"{text!r} is not a date (yyyy-mm-dd)") from None


def last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


# Names the datasets use that pycountry does not know by that name.
_COUNTRY_NAMES = {
    "democratic republic of congo": "CD",
    "dr congo": "CD",
    "republic of congo": "CG",
    "congo": "CG",
    "ivory coast": "CI",
    "cote d'ivoire": "CI",
    "eswatini": "SZ",
    "kingdom of eswatini": "SZ",
    "swaziland": "SZ",
    "bosnia-herzegovina": "BA",
    "bosnia and herzegovina": "BA",
    "palestine": "PS",
    "russia": "RU",
    "syria": "SY",
    "iran": "IR",
    "turkey": "TR",
    "laos": "LA",
    "north korea": "KP",
    "south korea": "KR",
    "vietnam": "VN",
    "east timor": "TL",
    "cape verde": "CV",
    "micronesia": "FM",
}
# Countries without an ISO 3166-1 code: the place keeps its name, with no country.
NO_ISO_CODE = frozenset({"kosovo"})


@lru_cache(maxsize=4_096)  # a dataset names a few hundred countries, row after row
def country_code(name: str, column: str) -> str | None:
    """ISO 3166-1 alpha-2 code of a country as a dataset names it. GED's historical
    names in brackets ("DR Congo (Zaire)", "Yemen (North Yemen)") count by their
    first part."""
    plain = re.sub(r"\s*\(.*\)\s*$", "", name).strip()
    lowered = plain.casefold()
    if lowered in NO_ISO_CODE:
        return None
    if lowered in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[lowered]
    try:
        return pycountry.countries.lookup(plain).alpha_2
    except LookupError:
        pass
    try:
        return pycountry.countries.search_fuzzy(plain)[0].alpha_2
    except LookupError:
        raise RowError(column, f"{name!r} is not a country name this importer knows") from None


def alpha3_code(code: str, column: str) -> str:
    found = pycountry.countries.get(alpha_3=code.upper())
    if found is None:
        raise RowError(column, f"{code!r} is not an ISO 3166-1 alpha-3 code")
    return iso_country(found.alpha_2)


def clipped(text: str, limit: int) -> str:
    """Text cut to what a report field holds, marked as cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_list(text: str) -> list[str]:
    """`;`-separated names, as both datasets write lists."""
    return [part.strip() for part in text.split(";") if part.strip()]


def build(content: dict[str, Any], columns: Mapping[str, str]) -> ReportContent:
    """Validate the report; a problem is reported on the column it came from."""
    try:
        return ReportContent.model_validate(content)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise RowError(columns.get(field), f"{where}: {message}") from None
