"""Value objects: what one source said happened, when, where, to whom and how much.

They are immutable pydantic models so that the same definitions validate input,
document the HTTP contract and travel inside stored events. Nothing here knows
about HTTP or SQL.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any
from uuid import UUID

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.dates import EDTFError, interval_from_edtf

# Control characters other than tab and newline have no business in a report,
# and are a classic way to hide text from a reviewer.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _clean_text(value: str) -> str:
    if not value.isascii():  # ASCII text is NFC already: most cells, skipped cheaply
        value = unicodedata.normalize("NFC", value)
    if _CONTROL.search(value):
        raise ValueError("contains control or bidirectional-override characters")
    return value


def _text(max_length: int) -> Any:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        AfterValidator(_clean_text),
    ]


Name = _text(200)
Text = _text(5_000)
Slug = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9._:-]{0,127}$"),
]
LanguageTag = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
]


class ValueObject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReportKind(StrEnum):
    ATTACK = "attack"
    STRIKE = "strike"
    CASUALTIES = "casualties"
    STATEMENT = "statement"
    THREAT = "threat"
    DENIAL = "denial"
    CLAIM_OF_RESPONSIBILITY = "claim_of_responsibility"
    TALLY = "tally"


class Role(StrEnum):
    PERPETRATOR = "perpetrator"
    TARGET = "target"
    CLAIMANT = "claimant"
    DENIER = "denier"
    SPEAKER = "speaker"
    AFFECTED = "affected"


class Qualifier(StrEnum):
    EXACT = "exact"
    AT_LEAST = "at_least"  # "plus de 85 sites"
    AT_MOST = "at_most"
    ABOUT = "about"


class Counted(StrEnum):
    KILLED = "killed"
    WOUNDED = "wounded"
    CASUALTIES = "casualties"
    SITES = "sites"
    ATTACKS = "attacks"
    STRIKES = "strikes"
    TARGETS = "targets"


class Whose(StrEnum):
    """Whose dead or wounded a count counts, when the source says; a count may
    also name one of the report's actor mentions instead (one side's losses)."""

    CIVILIANS = "civilians"
    COMBATANTS = "combatants"
    UNKNOWN = "unknown"  # the source says it cannot tell (UCDP deaths_unknown)


class Means(StrEnum):
    """What was used, as analysts chart it. Kept short on purpose: each value is
    one that ACLED's sub-event types or UCDP's events name, or that wires report
    as such. A new value is an enum member here; old reports never carry it."""

    DRONE = "drone"  # uncrewed aircraft, one-way attack drones included
    AIR_STRIKE = "air_strike"  # crewed aircraft, or ACLED "Air/drone strike" unspecified
    MISSILE = "missile"  # guided: ballistic, cruise, anti-tank guided
    ROCKET = "rocket"  # unguided rockets, rocket launchers
    ARTILLERY = "artillery"  # guns and shelling (ACLED "Shelling/artillery/missile attack")
    MORTAR = "mortar"
    IED = "ied"  # ACLED "Remote explosive/landmine/IED"
    SUICIDE_BOMB = "suicide_bomb"  # ACLED "Suicide bomb"
    GRENADE = "grenade"  # ACLED "Grenade"
    SMALL_ARMS = "small_arms"  # rifles, machine guns
    ARMED_CLASH = "armed_clash"  # ACLED "Armed clash": fighting, weapons not stated
    CHEMICAL = "chemical"  # ACLED "Chemical weapon"


WHOSE_GROUPS = frozenset(Whose)
MEANS_LISTED = ", ".join(m.value for m in Means)


def means_value(value: str) -> str:
    """One means as the vocabulary spells it, or a ValueError naming it and listing it
    (for query filters, whose errors pydantic's enum message would not name)."""
    if value in {m.value for m in Means}:
        return value
    raise ValueError(f"{value!r} is not a means; the vocabulary is: {MEANS_LISTED}")


class ActorCategory(StrEnum):
    """What kind of actor, as far as the escalation ladder cares."""

    STATE = "state"  # a state, its government or head of state
    STATE_FORCE = "state_force"  # a state's own forces (US forces, IRGC, Quds Force)
    STATE_BACKED = "state_backed"  # a non-state force backed by a state (Hachd al-Chaabi)
    ARMED_GROUP = "armed_group"  # other non-state armed group
    INSTITUTION = "institution"  # ministry, diplomacy, agency
    PERSON = "person"
    OTHER = "other"


class DatePrecision(StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class CoordinatePrecision(StrEnum):
    EXACT = "exact"  # the spot itself
    NEAR = "near"  # within a few kilometres
    LOCALITY = "locality"  # the town or district centroid
    REGION = "region"  # province or governorate centroid
    COUNTRY = "country"  # country centroid only


class FuzzyInterval(ValueObject):
    """When something happened, as precisely as the source allows and no more.

    Give either an EDTF string (`2024-02-02/2024-02-03`, `2024-01-21/2024-01-31`,
    `2023-10~`) or explicit `earliest`/`latest` days; a bare EDTF string is also
    accepted in place of the whole object. `wording` keeps the source's phrase.
    """

    earliest: date
    latest: date
    precision: DatePrecision = DatePrecision.DAY
    approximate: bool = False
    uncertain: bool = False
    edtf: Annotated[str, StringConstraints(max_length=100)] | None = None
    wording: Name | None = None

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "example": {
                "edtf": "2024-02-02/2024-02-03",
                "wording": "dans la nuit du 2 au 3 février",
            }
        },
    )

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        """As input, `when` is any of three forms; documented as the union the
        validator accepts, so that clients generated from the schema accept them."""
        schema = handler(core_schema)
        if handler.mode != "validation":
            return schema  # answers always carry earliest and latest
        described = handler.resolve_ref_schema(schema)
        days = {
            key: described.pop(key)
            for key in ("type", "properties", "required", "additionalProperties")
            if key in described
        }
        edtf = {
            "type": "string",
            "minLength": 1,
            "maxLength": 100,
            "description": "An EDTF date or interval: 2024-02-02, 2024-02-02/2024-02-03, 2023-10~",
        }
        by_edtf = {**days, "required": ["edtf"], "properties": {**days["properties"], "edtf": edtf}}
        described["anyOf"] = [
            {**edtf, "title": "EDTF string"},
            {**by_edtf, "title": "EDTF with details"},
            {**days, "title": "Explicit days"},
        ]
        return schema

    @model_validator(mode="before")
    @classmethod
    def _from_edtf(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {"edtf": data}
        if not isinstance(data, dict) or not data.get("edtf"):
            return data
        try:
            parsed = interval_from_edtf(data["edtf"])
        except EDTFError as error:
            raise ValueError(f"edtf: {error}") from None
        derived = {
            "earliest": parsed.earliest,
            "latest": parsed.latest,
            "precision": parsed.precision,
            "approximate": parsed.approximate,
            "uncertain": parsed.uncertain,
        }
        merged = dict(data)
        for field, value in derived.items():
            given = merged.get(field)
            if given is None:
                merged[field] = value
            elif field in ("earliest", "latest") and str(given) != value.isoformat():
                raise ValueError(
                    f"{field} {given} disagrees with edtf {data['edtf']!r} "
                    f"({value.isoformat()}); give one or make them agree"
                )
        return merged

    @field_validator("latest")
    @classmethod
    def _ordered(cls, latest: date, info: ValidationInfo) -> date:
        earliest = info.data.get("earliest")
        if earliest is not None and latest < earliest:
            raise ValueError(f"latest ({latest}) is before earliest ({earliest})")
        return latest


# Looked up once: pycountry's own lookup takes a lock and an index walk per call,
# which showed in the ingest profile (4%, one call per place).
_ALPHA_2 = frozenset(country.alpha_2 for country in pycountry.countries)


def iso_country(value: str) -> str:
    """The ISO 3166-1 alpha-2 code `value` is (any case), or a ValueError that says
    which code a country name or alpha-3 code stands for."""
    code = value.strip().upper()
    if len(code) == 2 and code in _ALPHA_2:
        return code
    known = _country_named(value.strip())
    fix = f"write {known.alpha_2}" if known is not None else "e.g. IQ"
    raise ValueError(
        f"{value!r} is not an ISO 3166-1 alpha-2 country code; "
        f"use the ISO 3166-1 alpha-2 code: {fix}"
    )


def _country_named(text: str) -> Any:
    try:
        return pycountry.countries.lookup(text) if text else None
    except LookupError:
        return None


class Place(ValueObject):
    name: Name = Field(description="Place name exactly as the source wrote it.")
    country: str | None = Field(
        default=None, description="ISO 3166-1 alpha-2 country code, e.g. IQ, SY, JO."
    )
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    coordinate_precision: CoordinatePrecision | None = None

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "example": {
                "name": "Al-Qaïm",
                "country": "IQ",
                "latitude": 34.37,
                "longitude": 41.09,
                "coordinate_precision": "locality",
            }
        },
    )

    @field_validator("country")
    @classmethod
    def _iso_country(cls, value: str | None) -> str | None:
        return None if value is None else iso_country(value)

    @model_validator(mode="after")
    def _coordinates_in_pairs(self) -> Place:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together: give both or neither")
        if self.coordinate_precision is not None and self.latitude is None:
            raise ValueError("coordinate_precision without coordinates")
        return self


class ActorMention(ValueObject):
    name: Name = Field(description="The actor as this source names it.")
    role: Role
    actor_id: UUID | None = Field(
        default=None,
        description="Optional: the registered actor, when the writer already knows it. "
        "Views resolve names through actor aliases either way.",
    )

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={"example": {"name": "Hachd al-Chaabi", "role": "target"}},
    )


CountValue = Annotated[int, Field(ge=0, le=10_000_000)]


class Count(ValueObject):
    value: CountValue
    qualifier: Qualifier = Qualifier.EXACT
    counted: Counted
    whose: Name | None = Field(
        default=None,
        description="Whose dead, wounded or casualties: civilians, combatants, unknown, "
        "or the name of one of the report's actor mentions (that side's losses).",
    )
    low: CountValue | None = Field(
        default=None, description="Lowest credible figure beside `value` (UCDP low)."
    )
    high: CountValue | None = Field(
        default=None, description="Highest credible figure beside `value` (UCDP high)."
    )
    wording: Text | None = None

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "example": {
                "value": 85,
                "qualifier": "at_least",
                "counted": "sites",
                "wording": "plus de 85 sites",
            }
        },
    )

    @field_validator("whose")
    @classmethod
    def _group_as_written(cls, whose: str | None) -> str | None:
        # "Civilians" is the group, not an actor named so: keep one spelling.
        if whose is not None and whose.casefold() in WHOSE_GROUPS:
            return whose.casefold()
        return whose

    @field_validator("low")
    @classmethod
    def _low_below_value(cls, low: int | None, info: ValidationInfo) -> int | None:
        value = info.data.get("value")
        if low is not None and value is not None and low > value:
            raise ValueError(f"low ({low}) is above value ({value}); low <= value <= high")
        return low

    @field_validator("high")
    @classmethod
    def _high_above_value(cls, high: int | None, info: ValidationInfo) -> int | None:
        value = info.data.get("value")
        if high is not None and value is not None and high < value:
            raise ValueError(f"high ({high}) is below value ({value}); low <= value <= high")
        return high


def whose_problem(count: Count, mentioned: set[str]) -> str | None:
    """Why a count's `whose` means nothing in its report (None: it is fine).

    `mentioned` holds the report's actor mentions, normalised."""
    if count.whose is None or count.whose in WHOSE_GROUPS:
        return None
    if normalise_name(count.whose) in mentioned:
        return None
    return (
        f"whose {count.whose!r} is neither civilians, combatants nor unknown, nor an actor "
        "this report mentions; name the actor in `actors` too, or use one of those groups"
    )


def day_or_instant(value: Any) -> Any:
    """A publication time as given: a bare day stays a day, since turning it
    into midnight would invent precision."""
    if isinstance(value, str) and len(value.strip()) == 10:
        return date.fromisoformat(value.strip())
    if isinstance(value, str):
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return value


def aware(value: datetime | date | None) -> datetime | date | None:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("an instant needs a UTC offset, e.g. 2024-02-02T23:40:00+00:00")
    return value


# When a source published something: a day (2024-02-02) or an instant with its offset.
PublishedAt = Annotated[datetime | date, BeforeValidator(day_or_instant), AfterValidator(aware)]


class Source(ValueObject):
    outlet: Name = Field(description="Who published it: AFP, Centcom, the White House.")
    speaker: Name | None = Field(
        default=None, description="Who is quoted, as described by the outlet."
    )
    anonymous: bool = Field(
        default=False, description="The speaker spoke on condition of anonymity."
    )
    channel: Name | None = Field(
        default=None, description="communiqué, interview, press conference, social media"
    )
    language: LanguageTag = Field(description="BCP 47 language tag of the source text.")
    url: Annotated[str, StringConstraints(max_length=2_000, pattern=r"^https?://\S+$")] | None = (
        None
    )
    published_at: datetime | date | None = Field(
        default=None,
        description="When the source published it: a day (2024-02-02) or an instant with "
        "its UTC offset.",
    )
    quote: Text | None = Field(default=None, description="The quoted wording, verbatim.")

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "example": {
                "outlet": "AFP",
                "speaker": "un responsable au ministère de l'Intérieur irakien",
                "anonymous": True,
                "language": "fr",
                "published_at": "2024-02-02T23:40:00+00:00",
                "quote": "Un QG des factions armées dans la zone d'Al-Qaïm a été ciblé",
            }
        },
    )

    @field_validator("published_at", mode="before")
    @classmethod
    def _day_or_instant(cls, value: Any) -> Any:
        return day_or_instant(value)

    @field_validator("published_at")
    @classmethod
    def _aware(cls, value: datetime | date | None) -> datetime | date | None:
        return aware(value)


class ReportContent(ValueObject):
    """One source's account of one thing that happened or was said."""

    kind: ReportKind
    when: FuzzyInterval
    summary: Text | None = None
    excerpt: Text | None = Field(
        default=None, description="The reporter's sentence this report encodes, verbatim."
    )
    places: tuple[Place, ...] = Field(default=(), max_length=20)
    actors: tuple[ActorMention, ...] = Field(default=(), max_length=50)
    counts: tuple[Count, ...] = Field(default=(), max_length=20)
    means: tuple[Means, ...] = Field(
        default=(),
        max_length=len(Means),
        description="What was used, from a fixed vocabulary (see the README's model).",
    )
    aggregate: bool = Field(
        default=False,
        description="The report sums several occurrences (a daily or regional total, "
        "UCDP event_clarity 2) instead of describing one.",
    )
    source: Source
    incident_key: Slug | None = Field(
        default=None, description="Groups reports of the same occurrence."
    )
    responds_to: Slug | None = Field(
        default=None, description="Incident key of the incident this one answers."
    )

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "example": {
                "kind": "strike",
                "when": {
                    "edtf": "2024-02-02/2024-02-03",
                    "wording": "dans la nuit du 2 au 3 février",
                },
                "excerpt": "Dans son communiqué, le Centcom assure que les frappes "
                "aériennes ont visé plus de 85 sites",
                "places": [{"name": "Irak", "country": "IQ"}, {"name": "Syrie", "country": "SY"}],
                "actors": [
                    {"name": "Centcom", "role": "perpetrator"},
                    {"name": "Hachd al-Chaabi", "role": "target"},
                    {"name": "force Quds", "role": "target"},
                ],
                "counts": [
                    {
                        "value": 85,
                        "qualifier": "at_least",
                        "counted": "sites",
                        "wording": "plus de 85 sites",
                    }
                ],
                "means": ["air_strike"],
                "source": {
                    "outlet": "AFP",
                    "speaker": "Centcom",
                    "channel": "communiqué",
                    "language": "fr",
                    "published_at": "2024-02-02T23:40:00+00:00",
                },
                "incident_key": "2024-02-02-us-strikes-iraq-syria",
                "responds_to": "2024-01-late-drone-attack-jordan",  # a seed incident
            }
        },
    )

    @field_validator("counts")
    @classmethod
    def _whose_is_mentioned(cls, counts: tuple[Count, ...], info: ValidationInfo) -> Any:
        mentioned = {normalise_name(m.name) for m in info.data.get("actors", ())}
        for index, count in enumerate(counts):
            problem = whose_problem(count, mentioned)
            if problem is not None:
                raise ValueError(f"counts.{index}.whose: {problem}")
        return counts

    @field_validator("means")
    @classmethod
    def _means_once(cls, means: tuple[Means, ...]) -> tuple[Means, ...]:
        if len(set(means)) != len(means):
            raise ValueError("lists a means twice; name each once")
        return means

    @model_validator(mode="after")
    def _not_its_own_answer(self) -> ReportContent:
        if self.responds_to is not None and self.responds_to == self.incident_key:
            raise ValueError("responds_to names the report's own incident_key")
        return self


CORRECTABLE_FIELDS = tuple(ReportContent.model_fields)


class Alias(ValueObject):
    name: Name
    language: LanguageTag | None = None

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={"example": {"name": "Popular Mobilization Forces", "language": "en"}},
    )


@lru_cache(maxsize=65_536)  # projections normalise every mention of every report
def normalise_name(name: str) -> str:
    """The form under which two spellings count as the same name.

    Case, accents, hyphens and spacing differ between outlets ("Hachd al-Chaabi",
    "Hachd Al Chaabi"); transliteration schemes do not collapse, so those stay
    separate aliases.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[-_'’.]", " ", stripped).casefold().split())
