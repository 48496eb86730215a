"""An analyst's decisions about incidents: link a report into an incident, unlink
it, or mark two incidents as distinct ("not the same").

Each decision is its own small aggregate and one event, `Decision.Made`, that
records what was decided, why, on whose word (`decided_by`, as said) and with
which API key (`written_by`); its time is the event's. A decision sent with a
key gets an id derived from the key, so the event store's uniqueness of
(id, version 1) makes a retry safe, as for reports.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import orjson
from eventsourcing.domain import Aggregate, event

DECISION_KEY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:timeline:decision-key")
ACTIONS = ("link", "unlink", "distinct")


def decision_id_for_key(key: str) -> UUID:
    return uuid5(DECISION_KEY_NAMESPACE, key)


def decision_digest(request: dict[str, Any]) -> str:
    """Fingerprint of a decision as asked for, to tell a retry from another decision."""
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()


class Decision(Aggregate):
    class Made(Aggregate.Created):
        action: str  # link, unlink or distinct
        report: str | None  # link, unlink: the report moved
        incident: str | None  # link: the incident it joins
        incidents: tuple[str, ...] | None  # distinct: the two incidents, sorted
        reason: str
        decided_by: str | None
        written_by: str | None
        key: str | None
        digest: str

    @staticmethod
    def create_id(key: str | None = None, **_: Any) -> UUID:
        return decision_id_for_key(key) if key else uuid4()

    @event(Made)
    def __init__(
        self,
        action: str,
        report: str | None,
        incident: str | None,
        incidents: tuple[str, ...] | None,
        reason: str,
        decided_by: str | None,
        written_by: str | None,
        key: str | None,
        digest: str,
    ) -> None:
        self.action, self.report, self.incident = action, report, incident
        self.incidents = incidents
        self.reason, self.decided_by, self.written_by = reason, decided_by, written_by
        self.key, self.digest = key, digest
