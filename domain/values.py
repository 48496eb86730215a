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


class Count(ValueObject):
    value: int = Field(ge=0, le=10_000_000)
    qualifier: Qualifier = Qualifier.EXACT
    counted: Counted
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
        # A bare day stays a day: turning it into midnight would invent precision.
        if isinstance(value, str) and len(value.strip()) == 10:
            return date.fromisoformat(value.strip())
        if isinstance(value, str):
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return value

    @field_validator("published_at")
    @classmethod
    def _aware(cls, value: datetime | date | None) -> datetime | date | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError("an instant needs a UTC offset, e.g. 2024-02-02T23:40:00+00:00")
        return value


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
