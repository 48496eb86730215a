"""The HTTP contract: request and response models, with examples from the seed.

Report content reuses the domain's value objects so there is one definition of
what a valid report is; this module only adds what is about HTTP (keys,
versions, positions).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, model_validator

from domain.values import ActorCategory, Alias, Name, PublishedAt, ReportContent, Text

IdempotencyKey = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$"
    ),
]

# Both stores keep positions and versions in signed 64-bit integers.
MAX_POSITION = 2**62
MAX_VERSION = 2**31

# The seed report that dates the strikes "dans la nuit du 2 au 3 janvier" (key
# seed-afp-2024-02-02-01): the interval corrected, the source's words kept.
JANVIER_CORRECTED = {"edtf": "2024-02-02/2024-02-03", "wording": "dans la nuit du 2 au 3 janvier"}
# Seed actors' ids (uuid5 of the normalised name, see domain/actors.py).
HACHD_ID = "6be5250a-1cc5-54e7-851e-5a1072fe5a0b"
IRGC_ID = "9211664f-c65a-5431-9391-6d35c92ce4ff"

SEED_EXAMPLE: dict[str, Any] = {
    **ReportContent.model_json_schema()["example"],
    "key": "afp-2024-02-02-centcom-85-sites",
}


class ReportIn(ReportContent):
    """A report to file. `key` (or the Idempotency-Key header) makes retries safe."""

    key: IdempotencyKey | None = Field(
        default=None, description="Client key: the same key always maps to one report."
    )

    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_extra={"example": SEED_EXAMPLE}
    )

    def content(self) -> ReportContent:
        # Already validated: copy the fields across without validating twice.
        return ReportContent.model_construct(
            _fields_set=self.model_fields_set - {"key"},
            **{name: getattr(self, name) for name in ReportContent.model_fields},
        )


class Problem(BaseModel):
    field: str = Field(description="Dotted path of the field at fault, or `body`.")
    msg: str
    type: str
    line: int | None = Field(default=None, description="NDJSON batches: the line number.")
    hint: str | None = Field(
        default=None, description="Where the input looks like a human slip: what to write."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "line": 4,
                "field": "when.latest",
                "type": "value_error",
                "msg": "latest (2024-01-02) is before earliest (2024-02-03)",
            }
        }
    )


class Problems(BaseModel):
    """Every 4xx/5xx body: a list of problems, or a message."""

    detail: list[Problem] | str

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "detail": [
                    {
                        "field": "counts.0.qualifier",
                        "type": "enum",
                        "msg": "Input should be 'exact', 'at_least', 'at_most' or 'about'",
                    }
                ]
            }
        }
    )


class Filed(BaseModel):
    id: UUID
    position: int | None = Field(description="Log position of the report's Filed event.")
    created: bool = Field(description="False when the key had already filed this report.")

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "9a29df81-d5a2-564a-8fda-044a6f671090",
                "position": 57,
                "created": True,
            }
        }
    )


class BatchItem(Filed):
    line: int

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "line": 1,
                "id": "9a29df81-d5a2-564a-8fda-044a6f671090",
                "position": 57,
                "created": True,
            }
        }
    )


class BatchFiled(BaseModel):
    created: int
    existing: int
    reports: list[BatchItem]

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "created": 1,
                "existing": 0,
                "reports": [
                    {
                        "line": 1,
                        "id": "9a29df81-d5a2-564a-8fda-044a6f671090",
                        "position": 57,
                        "created": True,
                    }
                ],
            }
        }
    )


# Every content field, optional: a correction names only what it changes.
ContentChanges = create_model(  # type: ignore[call-overload]
    "ContentChanges",
    __config__=ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={"example": {"when": JANVIER_CORRECTED}},
    ),
    **{
        name: (info.annotation | None, Field(default=None, description=info.description))
        for name, info in ReportContent.model_fields.items()
    },
)


def _change_published() -> Any:
    return Field(
        default=None,
        description="When the source published this change: a day (2024-02-03) or an "
        "instant with its UTC offset. Left out, the change counts from its recorded time.",
    )


def _change_key() -> Any:
    return Field(
        default=None,
        description="Client key (or the Idempotency-Key header): the same key on this report "
        "with the same request again is 200 with the change it made, nothing written; "
        "with another request, 409.",
    )


class CorrectionIn(BaseModel):
    changes: ContentChanges = Field(  # type: ignore[valid-type]
        description="The fields to replace, with their new values."
    )
    reason: Text
    corrected_by: Name | None = Field(default=None, description="On whose word.")
    expected_version: int | None = Field(
        default=None,
        ge=1,
        le=MAX_VERSION,
        description="Refuse (409) unless the report is at this version.",
    )
    key: IdempotencyKey | None = _change_key()
    published_at: PublishedAt | None = _change_published()

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "changes": {"when": JANVIER_CORRECTED},
                "reason": "Le texte dit « 2 au 3 janvier » mais le communiqué de Centcom "
                "date les frappes du 2 février.",
                "corrected_by": "AFP desk",
                "expected_version": 1,
                "key": "afp-desk-fix-janvier",
            }
        },
    )

    @model_validator(mode="after")
    def _changes_something(self) -> CorrectionIn:
        if not self.changes.model_fields_set:
            raise ValueError("changes: name at least one field to correct")
        return self

    def changed_fields(self) -> dict[str, Any]:
        return {name: getattr(self.changes, name) for name in self.changes.model_fields_set}


class RetractionIn(BaseModel):
    reason: Text
    retracted_by: Name | None = None
    expected_version: int | None = Field(default=None, ge=1, le=MAX_VERSION)
    key: IdempotencyKey | None = _change_key()
    published_at: PublishedAt | None = _change_published()

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "reason": "La source a démenti avoir fait cette déclaration.",
                "retracted_by": "AFP desk",
                "published_at": "2024-02-04",
            }
        },
    )


class Changed(BaseModel):
    id: UUID
    version: int
    position: int

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"id": "9a29df81-d5a2-564a-8fda-044a6f671090", "version": 2, "position": 58}
        }
    )


class LoggedEvent(BaseModel):
    """One event of the log, as `GET /events` streams it (one per NDJSON line)."""

    position: int
    type: str = Field(description="Report.Filed, Report.Corrected, Actor.AliasAdded, ...")
    recorded_at: datetime
    originator_id: UUID
    originator_version: int
    schema_version: int
    data: dict[str, Any]

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "position": 59,
                "type": "Report.Retracted",
                "recorded_at": "2024-02-03T08:12:00+00:00",
                "originator_id": "9a29df81-d5a2-564a-8fda-044a6f671090",
                "originator_version": 3,
                "schema_version": 2,
                "data": {
                    "reason": "La source a démenti avoir fait cette déclaration.",
                    "retracted_by": "AFP desk",
                    "written_by": "a3906d74-ca35-5d8f-b7cb-23b7f5f248fe",
                },
            }
        }
    )


class ReportOut(BaseModel):
    # Fields that can be null have a default: the OpenAPI document leaves nulls
    # out of its examples, which would otherwise make them invalid.
    id: UUID
    version: int
    key: str | None = None
    retracted: bool
    retraction_reason: str | None = None
    corrections: int
    content: ReportContent
    history: list[LoggedEvent]

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "9a29df81-d5a2-564a-8fda-044a6f671090",
                "version": 1,
                "key": "afp-2024-02-02-centcom-85-sites",
                "retracted": False,
                "retraction_reason": None,
                "corrections": 0,
                "content": ReportContent.model_json_schema()["example"],
                "history": [
                    {
                        "position": 57,
                        "type": "Report.Filed",
                        "recorded_at": "2024-02-02T23:41:00+00:00",
                        "originator_id": "9a29df81-d5a2-564a-8fda-044a6f671090",
                        "originator_version": 1,
                        "schema_version": 2,
                        "data": {"key": "afp-2024-02-02-centcom-85-sites"},
                    }
                ],
            }
        }
    )


class ActorIn(BaseModel):
    name: Name = Field(description="Canonical name.")
    aliases: list[Alias] = Field(default=[], max_length=100)
    parent_id: UUID | None = Field(default=None, description="Actor this one belongs to.")
    description: Text | None = None
    category: ActorCategory | None = Field(
        default=None, description="Used by the escalation ladder (state_force, state_backed, ...)."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {  # an actor the seed does not have, within one it has
                "name": "Kataeb Hezbollah",
                "category": "state_backed",
                "parent_id": HACHD_ID,
                "aliases": [
                    {"name": "Kata'ib Hezbollah", "language": "en"},
                    {"name": "Brigades du Hezbollah", "language": "fr"},
                ],
                "description": "faction armée irakienne pro-Iran, membre du Hachd al-Chaabi",
            }
        },
    )


class ParentIn(BaseModel):
    parent_id: UUID | None

    model_config = ConfigDict(
        extra="forbid",
        # The Quds Force within the IRGC, as the seed has it.
        json_schema_extra={"example": {"parent_id": IRGC_ID}},
    )


class ActorOut(BaseModel):
    id: UUID
    version: int
    name: str
    aliases: list[Alias]
    parent_id: UUID | None = None  # defaults: see ReportOut
    description: str | None = None
    category: ActorCategory | None = None
    position: int | None = Field(default=None, description="Log position of this change, if any.")

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": HACHD_ID,
                "version": 1,
                "name": "Hachd al-Chaabi",
                "aliases": [{"name": "PMF", "language": "en"}],
                "parent_id": None,
                "description": "coalition d'anciens paramilitaires pro-Iran",
                "category": "state_backed",
                "position": 12,
            }
        }
    )
