"""UCDP GED rows to reports: the 45-column CSV (HDX copies add an HXL tag row,
which the reader skips)."""

from __future__ import annotations

from domain.datasets.common import (
    MappedRow,
    Row,
    RowError,
    build,
    cell,
    clipped,
    coordinate,
    country_code,
    integer,
    iso_day,
    required,
    split_list,
)
from domain.values import ActorCategory, CoordinatePrecision, Role

DATASET = "UCDP GED"
KEY_PREFIX = "ucdp:"

# The 45 columns of the GED CSV, in the codebook's order.
COLUMNS = (
    "id",
    "relid",
    "year",
    "active_year",
    "code_status",
    "type_of_violence",
    "conflict_new_id",
    "conflict_name",
    "dyad_new_id",
    "dyad_name",
    "side_a_new_id",
    "side_a",
    "side_b_new_id",
    "side_b",
    "number_of_sources",
    "source_article",
    "source_office",
    "source_date",
    "source_headline",
    "source_original",
    "where_prec",
    "where_coordinates",
    "where_description",
    "adm_1",
    "adm_2",
    "latitude",
    "longitude",
    "geom_wkt",
    "priogrid_gid",
    "country",
    "country_id",
    "region",
    "event_clarity",
    "date_prec",
    "date_start",
    "date_end",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "low",
    "best",
    "high",
    "gwnoa",
    "gwnob",
)
REQUIRED_COLUMNS = (
    "id",
    "type_of_violence",
    "side_a",
    "side_b",
    "source_article",
    "where_prec",
    "where_coordinates",
    "latitude",
    "longitude",
    "country",
    "event_clarity",
    "date_prec",
    "date_start",
    "date_end",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "low",
    "best",
    "high",
)

_COLUMN_OF = {
    "when": "date_start",
    "places": "where_coordinates",
    "actors": "side_a",
    "counts": "best",
    "source": "source_office",
    "excerpt": "source_headline",
    "summary": "source_article",
}

_WHERE = {
    1: CoordinatePrecision.EXACT,  # the exact place
    2: CoordinatePrecision.NEAR,  # within a limited area around a named place
    3: CoordinatePrecision.LOCALITY,  # a second-order division (ADM2) centroid
    4: CoordinatePrecision.REGION,  # a province (ADM1) centroid
    5: CoordinatePrecision.REGION,  # larger than a province, between places, or vague
    6: CoordinatePrecision.COUNTRY,  # the whole country
    7: CoordinatePrecision.REGION,  # international waters or airspace: no country
}
_DATE_PRECISION = {1: "day", 2: "day", 3: "day", 4: "month", 5: "year"}
_DATE_WORDING = {
    1: "the day",
    2: "a span of 2 to 6 days",
    3: "a known week",
    4: "a known month",
    5: "a known year",
}

P, T = Role.PERPETRATOR, Role.TARGET
# type_of_violence -> roles of side_a, side_b: in state-based and non-state
# conflict both sides fight; in one-sided violence side_a acts on side_b.
ROLES = {1: ((P, T), (P, T)), 2: ((P, T), (P, T)), 3: ((P,), (T,))}


def category(name: str) -> ActorCategory:
    """GED's side_a of state-based conflict is "Government of X": its forces."""
    if name.startswith("Government of"):
        return ActorCategory.STATE_FORCE
    if name == "Civilians":
        return ActorCategory.OTHER
    return ActorCategory.ARMED_GROUP


def deaths(row: Row, column: str) -> int:
    value = integer(row, column)
    if value < 0:
        raise RowError(column, f"{value} is negative")
    return value


def counts(row: Row) -> list[dict[str, object]]:
    """`best` killed with `low` and `high` as its bounds, then best's split by whose:
    each side (the actor mention), civilians, and those UCDP cannot attribute."""
    low, best, high = (deaths(row, c) for c in ("low", "best", "high"))
    if not low <= best <= high:
        raise RowError("best", f"best {best} is not between low {low} and high {high}")
    found: list[dict[str, object]] = [
        {
            "value": best,
            "qualifier": "exact" if low == high else "about",
            "counted": "killed",
            "low": low,
            "high": high,
            "wording": f"UCDP best estimate {best} (low {low}, high {high})",
        }
    ]
    for column, whose in (
        ("deaths_a", cell(row, "side_a")),
        ("deaths_b", cell(row, "side_b")),
        ("deaths_civilians", "civilians"),
        ("deaths_unknown", "unknown"),
    ):
        found.append(
            {
                "value": deaths(row, column),
                "counted": "killed",
                "whose": clipped(whose, 200),
                "wording": f"UCDP {column}",
            }
        )
    return found


def _when(row: Row) -> dict[str, object]:
    precision = integer(row, "date_prec", range(1, 6))
    start, end = iso_day(row, "date_start"), iso_day(row, "date_end")
    if end < start:
        raise RowError("date_end", f"{end} is before date_start {start}")
    return {
        "earliest": start,
        "latest": end,
        "precision": _DATE_PRECISION[precision],
        "wording": f"{start}/{end} (UCDP date_prec {precision}: {_DATE_WORDING[precision]})",
    }


def _place(row: Row) -> dict[str, object]:
    where = integer(row, "where_prec", range(1, 8))
    name = cell(row, "where_coordinates") or cell(row, "adm_1") or required(row, "country")
    latitude, longitude = coordinate(row, "latitude", 90), coordinate(row, "longitude", 180)
    if latitude is None or longitude is None:
        raise RowError("latitude" if latitude is None else "longitude", "is empty; GED gives both")
    return {
        "name": clipped(name, 200),
        # At sea or in the air (7) the event is in no country's territory.
        "country": None if where == 7 else country_code(required(row, "country"), "country"),
        "latitude": latitude,
        "longitude": longitude,
        "coordinate_precision": _WHERE[where],
    }


def _published(row: Row) -> str | None:
    dates = split_list(cell(row, "source_date"))
    if not dates:
        return None
    first = dates[0][:10]
    try:
        return iso_day({"source_date": first}, "source_date").isoformat()
    except RowError:
        raise RowError("source_date", f"{dates[0]!r} is not a date (yyyy-mm-dd)") from None


def map_row(row: Row) -> MappedRow:
    event_id = required(row, "id")
    integer(row, "id")
    violence = integer(row, "type_of_violence", range(1, 4))
    clarity = integer(row, "event_clarity", range(1, 3))
    side_roles = ROLES[violence]
    actors: list[dict[str, object]] = []
    registry: list[tuple[str, ActorCategory]] = []
    for column, own in zip(("side_a", "side_b"), side_roles, strict=True):
        name = clipped(required(row, column), 200)
        actors.extend({"name": name, "role": r} for r in own)
        registry.append((name, category(name)))
    summary = cell(row, "source_article")
    content = {
        "kind": "attack",
        "when": _when(row),
        "summary": clipped(summary, 5000) or None,
        "excerpt": clipped(cell(row, "source_headline"), 5000) or None,
        "places": [_place(row)],
        "actors": actors,
        "counts": counts(row),
        "aggregate": clarity == 2,  # lower clarity: an aggregate or summary report
        "source": {
            "outlet": clipped(cell(row, "source_office") or DATASET, 200),
            "speaker": clipped(cell(row, "source_original"), 200) or None,
            "language": "en",
            "published_at": _published(row),
        },
        "incident_key": f"ucdp:{event_id}",
    }
    return MappedRow(
        key=KEY_PREFIX + event_id,
        dataset=DATASET,
        row_id=event_id,
        revision=None,
        content=build(content, _COLUMN_OF),
        actors=tuple(dict.fromkeys(registry)),
    )
