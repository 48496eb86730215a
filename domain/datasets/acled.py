"""ACLED rows to reports: both column sets (pre-2023 and current).

ACLED's actor order is not attacker then target: actor1 and actor2 are the two
sides as ACLED codes them. What each is in a report depends on the event type
(`ROLES`, documented in the README): in violence against civilians and remote
violence actor1 acts and actor2 is hit; in a battle both sides fight, so each is
recorded as both perpetrator and target; a protest's actor1 speaks.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache

from domain.datasets.common import (
    NO_ISO_CODE,
    MappedRow,
    Row,
    RowError,
    alpha3_code,
    build,
    cell,
    clipped,
    coordinate,
    country_code,
    integer,
    last_day,
    required,
    split_list,
)
from domain.values import ActorCategory, CoordinatePrecision, Means, Role

DATASET = "ACLED"
KEY_PREFIX = "acled:"

# Present in both column sets; `event_id_cnty` first, the rest by codebook order.
REQUIRED_COLUMNS = (
    "event_id_cnty",
    "event_date",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "actor2",
    "country",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "notes",
    "fatalities",
    "timestamp",
)
PRE_2023_COLUMNS = ("data_id", "event_id_no_cnty", "iso3")
CURRENT_COLUMNS = ("disorder_type", "civilian_targeting", "tags")
DELETED_COLUMNS = ("event_id_cnty", "deleted_timestamp")

_EVENT_ID = re.compile(r"[A-Za-z]{2,4}\d+")

# The report field a validation problem comes from -> the column to blame.
_COLUMN_OF = {
    "when": "event_date",
    "places": "location",
    "actors": "actor1",
    "counts": "fatalities",
    "source": "source",
    "excerpt": "notes",
    "summary": "sub_event_type",
}

# inter1/inter2: numeric in pre-2023 exports, text in current ones.
_INTER = {
    "1": ActorCategory.STATE_FORCE,
    "2": ActorCategory.ARMED_GROUP,
    "3": ActorCategory.ARMED_GROUP,
    "4": ActorCategory.ARMED_GROUP,
    "5": ActorCategory.OTHER,
    "6": ActorCategory.OTHER,
    "7": ActorCategory.OTHER,
    "8": ActorCategory.OTHER,
    "state forces": ActorCategory.STATE_FORCE,
    "rebel group": ActorCategory.ARMED_GROUP,
    "rebel groups": ActorCategory.ARMED_GROUP,
    "political militia": ActorCategory.ARMED_GROUP,
    "political militias": ActorCategory.ARMED_GROUP,
    "identity militia": ActorCategory.ARMED_GROUP,
    "identity militias": ActorCategory.ARMED_GROUP,
    "rioters": ActorCategory.OTHER,
    "protesters": ActorCategory.OTHER,
    "civilians": ActorCategory.OTHER,
    "external/other forces": ActorCategory.OTHER,
    "external/other": ActorCategory.OTHER,
}

P, T, S, A = Role.PERPETRATOR, Role.TARGET, Role.SPEAKER, Role.AFFECTED
# (event_type, sub_event_type or None for any) -> (kind, roles of actor1, roles of actor2)
ROLES: dict[tuple[str, str | None], tuple[str, tuple[Role, ...], tuple[Role, ...]]] = {
    ("Battles", None): ("attack", (P, T), (P, T)),
    ("Explosions/Remote violence", None): ("attack", (P,), (T,)),
    ("Explosions/Remote violence", "Air/drone strike"): ("strike", (P,), (T,)),
    ("Explosions/Remote violence", "Shelling/artillery/missile attack"): ("strike", (P,), (T,)),
    ("Violence against civilians", None): ("attack", (P,), (T,)),
    ("Riots", None): ("attack", (P,), (T,)),
    ("Protests", None): ("statement", (S,), (P,)),
    ("Strategic developments", None): ("statement", (S,), (A,)),
    ("Strategic developments", "Agreement"): ("statement", (S,), (S,)),
    ("Strategic developments", "Arrests"): ("statement", (P,), (T,)),
    ("Strategic developments", "Looting/property destruction"): ("attack", (P,), (T,)),
}
EVENT_TYPES = sorted({event_type for event_type, _ in ROLES})

# sub_event_type -> means (domain.values.Means); the other sub-event types name none.
MEANS = {
    "Armed clash": Means.ARMED_CLASH,
    "Air/drone strike": Means.AIR_STRIKE,  # ACLED does not tell drones from aircraft
    "Shelling/artillery/missile attack": Means.ARTILLERY,
    "Remote explosive/landmine/IED": Means.IED,
    "Suicide bomb": Means.SUICIDE_BOMB,
    "Grenade": Means.GRENADE,
    "Chemical weapon": Means.CHEMICAL,
}

_GEO = {
    1: CoordinatePrecision.LOCALITY,  # a named town, its coordinates
    2: CoordinatePrecision.NEAR,  # near a town, or part of a region
    3: CoordinatePrecision.REGION,  # only a larger region
}

_MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}


@lru_cache(maxsize=65_536)  # days recur across rows
def event_day(text: str) -> date:
    """`yyyy-mm-dd`, `dd-mm-yy` or `01 November 2024`, as ACLED exports have written it."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        if m := re.fullmatch(r"(\d{1,2})-(\d{1,2})-(\d{2})", text):
            year = int(m[3])
            # ACLED's data starts in 1997: two digits from 97 up are the 1900s.
            year += 1900 if year >= 97 else 2000
            return date(year, int(m[2]), int(m[1]))
        if m := re.fullmatch(r"(\d{1,2}) ([A-Za-z]+) (\d{4})", text):
            month = _MONTHS.get(m[2].lower())
            if month is not None:
                return date(int(m[3]), month, int(m[1]))
    except ValueError as error:
        raise RowError("event_date", f"{text!r} is not a real day: {error}") from None
    raise RowError(
        "event_date",
        f"{text!r} is not a date ACLED writes: yyyy-mm-dd, dd-mm-yy or 01 November 2024",
    )


def interval(day: date, time_precision: int) -> dict[str, object]:
    """The fuzzy interval a coded day and its `time_precision` stand for.

    1: that day. 2: only the week (or weekend) is known and its middle is coded:
    three days either side. 3: only the month; ACLED codes mid-month, or the first
    or last day for "early" or "late" in the month: the month, or its first or
    last ten days."""
    coded = day.isoformat()
    if time_precision == 1:
        return {"earliest": day, "latest": day, "wording": f"{coded} (ACLED: the day)"}
    if time_precision == 2:
        return {
            "earliest": day - timedelta(days=3),
            "latest": day + timedelta(days=3),
            "approximate": True,
            "wording": f"the week around {coded} (ACLED time_precision 2)",
        }
    end = last_day(day)
    if day.day == 1:
        first, last, part = 1, 10, "early "
    elif day.day == end:
        first, last, part = 21, end, "late "
    else:
        first, last, part = 1, end, ""
    month = day.strftime("%B %Y")
    return {
        "earliest": day.replace(day=first),
        "latest": day.replace(day=last),
        "precision": "month",
        "wording": f"{part}{month} (ACLED time_precision 3, coded {coded})",
    }


def category(row: Row, column: str) -> ActorCategory:
    return _category(cell(row, column), column)


@lru_cache(maxsize=1_024)
def _category(code: str, column: str) -> ActorCategory:
    if not code or code == "0":
        return ActorCategory.OTHER
    found = _INTER.get(code.casefold())
    if found is None:
        raise RowError(column, f"{code!r} is not an ACLED actor type (1-8, or e.g. 'Rebel group')")
    return found


def roles(event_type: str, sub_event_type: str) -> tuple[str, tuple[Role, ...], tuple[Role, ...]]:
    found = ROLES.get((event_type, sub_event_type)) or ROLES.get((event_type, None))
    if found is None:
        raise RowError("event_type", f"{event_type!r} is not one of {', '.join(EVENT_TYPES)}")
    return found


def _country(row: Row) -> str | None:
    if cell(row, "iso3") and cell(row, "country").casefold() not in NO_ISO_CODE:
        return alpha3_code(cell(row, "iso3"), "iso3")  # pre-2023 exports carry the code
    return country_code(required(row, "country"), "country")


def _place(row: Row) -> dict[str, object]:
    names = [cell(row, c) for c in ("location", "admin2", "admin1")]
    name = ", ".join(dict.fromkeys(n for n in names if n)) or required(row, "country")
    latitude = coordinate(row, "latitude", 90)
    longitude = coordinate(row, "longitude", 180)
    if (latitude is None) != (longitude is None):
        raise RowError(
            "longitude" if longitude is None else "latitude", "latitude and longitude go together"
        )
    place: dict[str, object] = {"name": clipped(name, 200), "country": _country(row)}
    if latitude is not None:
        precision = integer(row, "geo_precision", range(1, 4))
        place |= {
            "latitude": latitude,
            "longitude": longitude,
            "coordinate_precision": _GEO[precision],
        }
    return place


def map_row(row: Row) -> MappedRow:
    """One ACLED row (either column set) as a report."""
    event_id = required(row, "event_id_cnty")
    if not _EVENT_ID.fullmatch(event_id):
        raise RowError("event_id_cnty", f"{event_id!r} is not an ACLED event id (e.g. KEN7182)")
    event_type, sub_event_type = required(row, "event_type"), cell(row, "sub_event_type")
    kind, first_roles, second_roles = roles(event_type, sub_event_type)
    day = event_day(required(row, "event_date"))
    when = interval(day, integer(row, "time_precision", range(1, 4)))
    timestamp = integer(row, "timestamp")

    actors: list[dict[str, object]] = []
    registry: list[tuple[str, ActorCategory]] = []
    for side, own_roles in (("1", first_roles), ("2", second_roles)):
        name = cell(row, f"actor{side}")
        if not name:
            continue
        kind_of = category(row, f"inter{side}")
        # Associated actors are allies or descriptors of their side: same roles.
        names = [name, *split_list(cell(row, f"assoc_actor_{side}"))]
        for n in names:
            actors.extend({"name": clipped(n, 200), "role": r} for r in own_roles)
        registry.extend(
            (clipped(n, 200), kind_of if n == name else ActorCategory.OTHER) for n in names
        )

    fatalities = integer(row, "fatalities")
    if fatalities < 0:
        raise RowError("fatalities", f"{fatalities} is negative")
    summary = f"{event_type}: {sub_event_type}" if sub_event_type else event_type
    if cell(row, "civilian_targeting"):
        summary += " (civilian targeting)"
    if cell(row, "tags"):
        summary += f"; tags: {cell(row, 'tags')}"
    content = {
        "kind": kind,
        "when": when,
        "summary": clipped(summary, 5000),
        "excerpt": clipped(cell(row, "notes"), 5000) or None,
        "places": [_place(row)],
        "actors": actors,
        "counts": [
            {
                "value": fatalities,
                "qualifier": "exact",
                "counted": "killed",
                "wording": "ACLED fatalities (its most conservative reported toll)",
            }
        ],
        "means": [MEANS[sub_event_type]] if sub_event_type in MEANS else [],
        "source": {
            "outlet": clipped(required(row, "source"), 200),
            "channel": clipped(cell(row, "source_scale"), 200) or None,
            "language": "en",
        },
        "incident_key": f"acled:{event_id.lower()}",
    }
    return MappedRow(
        key=KEY_PREFIX + event_id,
        dataset=DATASET,
        row_id=event_id,
        revision=str(timestamp),
        content=build(content, _COLUMN_OF),
        actors=tuple(dict.fromkeys(registry)),
    )


def deleted_row(row: Row) -> tuple[str, str]:
    """(event_id_cnty, deleted_timestamp) of one row of ACLED's deleted list."""
    event_id = required(row, "event_id_cnty")
    return event_id, str(integer(row, "deleted_timestamp"))
