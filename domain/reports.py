"""The Report aggregate: one source's account, never edited in place.

A correction or a retraction is a new event on the same report, so the history
of what was said, and when it was changed and on whose word, stays readable.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import orjson
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic
from pydantic_core import to_jsonable_python

from domain.errors import ChangeKeyConflictError, ReportRetractedError
from domain.history import change_published_v4, no_change_key, no_writer, report_fields_v3
from domain.values import ReportContent

# Keys are the client's; the id derived from one is the same everywhere, so the
# event store's uniqueness of (id, version 1) is what makes filing idempotent.
REPORT_KEY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:timeline:report-key")


def report_id_for_key(key: str) -> UUID:
    return uuid5(REPORT_KEY_NAMESPACE, key)


def content_digest(content: ReportContent) -> str:
    """A stable fingerprint of a payload, to tell a retry from a different report."""
    canonical = orjson.dumps(content.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def change_digest(kind: str, request: dict[str, Any]) -> str:
    """Fingerprint of a correction or retraction as asked for (`kind` and its fields),
    to tell a retry from a different change sent with the same key."""
    canonical = orjson.dumps(
        {"kind": kind, **to_jsonable_python(request)}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


def default_key(digest: str) -> str:
    """The key of a report filed without one: its content is its identity."""
    return f"sha256:{digest}"


class Report(Aggregate):
    INITIAL_VERSION = 1

    # Version 2 of each event records `written_by`, the API key that wrote it.
    # Version 3 of `Filed`: content with `means`, `aggregate`, and counts with
    # `whose`, `low` and `high`.
    class Filed(Aggregate.Created):
        class_version = 3
        upcast_v1_v2 = staticmethod(no_writer)
        upcast_v2_v3 = staticmethod(report_fields_v3)
        content: ReportContent
        key: str | None
        digest: str
        written_by: str | None

    # Version 3 of a change records the client's idempotency `key` and the
    # `digest` of the request it came with; version 4, `published_at`, when the
    # source published the change (None: it counts from its recorded time).
    class Corrected(Aggregate.Event):
        class_version = 4
        upcast_v1_v2 = staticmethod(no_writer)
        upcast_v2_v3 = staticmethod(no_change_key)
        upcast_v3_v4 = staticmethod(change_published_v4)
        fields: tuple[str, ...]
        changes: dict[str, Any]
        reason: str
        corrected_by: str | None
        written_by: str | None
        key: str | None
        digest: str | None
        published_at: datetime | date | None

    class Retracted(Aggregate.Event):
        class_version = 4
        upcast_v1_v2 = staticmethod(no_writer)
        upcast_v2_v3 = staticmethod(no_change_key)
        upcast_v3_v4 = staticmethod(change_published_v4)
        reason: str
        retracted_by: str | None
        written_by: str | None
        key: str | None
        digest: str | None
        published_at: datetime | date | None

    @staticmethod
    def create_id(content: ReportContent, key: str | None = None, **_: Any) -> UUID:
        return report_id_for_key(key) if key else uuid4()

    @event(Filed)
    def __init__(
        self,
        content: ReportContent,
        key: str | None = None,
        digest: str = "",
        written_by: str | None = None,
    ) -> None:
        self.content = content
        self.key = key
        self.digest = digest
        self.written_by = written_by
        self.retracted = False
        self.retraction_reason: str | None = None
        self.corrections = 0
        self.change_keys: dict[str, tuple[int, str]] = {}  # key -> (version, digest)

    @classmethod
    def file(
        cls, content: ReportContent, key: str | None = None, written_by: str | None = None
    ) -> Report:
        return cls(content=content, key=key, digest=content_digest(content), written_by=written_by)

    @classmethod
    def filed(
        cls, content: ReportContent, key: str | None, digest: str, written_by: str | None
    ) -> Report.Filed:
        """The event `Report.file` records, without building the aggregate around
        it: when filing thousands of reports that costs more than storing them."""
        return cls.Filed(
            originator_topic=get_topic(cls),
            originator_id=cls.create_id(content, key),
            originator_version=cls.INITIAL_VERSION,
            timestamp=cls.Filed.create_timestamp(),
            content=content,
            key=key,
            digest=digest,
            written_by=written_by,
        )

    def earlier_change(self, key: str | None, digest: str | None) -> int | None:
        """The version that this key already made with this very request, if any;
        the same key with another request is a conflict."""
        if key is None or key not in self.change_keys:
            return None
        version, known = self.change_keys[key]
        if known != digest:
            raise ChangeKeyConflictError(key, self.id, version)
        return version

    def correct(
        self,
        changes: dict[str, Any],
        reason: str,
        corrected_by: str | None,
        written_by: str | None = None,
        key: str | None = None,
        digest: str | None = None,
        published_at: datetime | date | None = None,
    ) -> None:
        """Replace some fields; the whole report must still be valid afterwards."""
        if self.retracted:
            raise ReportRetractedError(self.id)
        # Validate the report as it would stand before recording anything.
        ReportContent.model_validate({**dict(self.content), **changes})
        self._corrected(
            fields=tuple(sorted(changes)),
            changes=changes,
            reason=reason,
            corrected_by=corrected_by,
            written_by=written_by,
            key=key,
            digest=digest,
            published_at=published_at,
        )

    @event(Corrected)
    def _corrected(
        self,
        fields: tuple[str, ...],
        changes: dict[str, Any],
        reason: str,
        corrected_by: str | None,
        written_by: str | None,
        key: str | None,
        digest: str | None,
        published_at: datetime | date | None,
    ) -> None:
        self.content = ReportContent.model_validate({**dict(self.content), **changes})
        self.corrections += 1
        self._remember(key, digest)

    def retract(
        self,
        reason: str,
        retracted_by: str | None,
        written_by: str | None = None,
        key: str | None = None,
        digest: str | None = None,
        published_at: datetime | date | None = None,
    ) -> None:
        if self.retracted:
            raise ReportRetractedError(self.id)
        self._retracted(
            reason=reason,
            retracted_by=retracted_by,
            written_by=written_by,
            key=key,
            digest=digest,
            published_at=published_at,
        )

    @event(Retracted)
    def _retracted(
        self,
        reason: str,
        retracted_by: str | None,
        written_by: str | None,
        key: str | None,
        digest: str | None,
        published_at: datetime | date | None,
    ) -> None:
        self.retracted = True
        self.retraction_reason = reason
        self._remember(key, digest)

    def _remember(self, key: str | None, digest: str | None) -> None:
        if key is not None and digest is not None:
            # Mutators run before the version is bumped: this event's is the next.
            self.change_keys[key] = (self.version + 1, digest)
