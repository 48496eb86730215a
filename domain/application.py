"""The timeline application: commands and queries over reports and actors.

It is an `eventsourcing` Application, so where events are stored (SQLite file,
PostgreSQL) is chosen by its environment, not by this code. It is synchronous:
callers in an event loop run it in a thread pool.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Notification
from eventsourcing.utils import get_topic

from domain.actors import Actor, ActorName, actor_name_id
from domain.errors import (
    ActorConflictError,
    ContentionError,
    IdempotencyConflictError,
    NameTakenError,
    ParentCycleError,
    UnknownActorError,
    UnknownActorMentionError,
    UnknownReportError,
    VersionConflictError,
)
from domain.history import aggregates_created_by
from domain.reports import Report, content_digest, report_id_for_key
from domain.values import ActorCategory, Alias, ReportContent, normalise_name

# Events keep their short names ("Report.Filed") in the public log.
EVENT_TYPES = {
    "Report.Filed": get_topic(Report.Filed),
    "Report.Corrected": get_topic(Report.Corrected),
    "Report.Retracted": get_topic(Report.Retracted),
    "Actor.Registered": get_topic(Actor.Registered),
    "Actor.AliasAdded": get_topic(Actor.AliasAdded),
    "Actor.ParentSet": get_topic(Actor.ParentSet),
    "ActorName.Claimed": get_topic(ActorName.Claimed),
}
EVENT_TYPE_BY_TOPIC = {topic: name for name, topic in EVENT_TYPES.items()}

_SAVE_ATTEMPTS = 5
_CHANGE_ATTEMPTS = 10


@dataclass(frozen=True)
class Filing:
    report_id: UUID
    created: bool
    position: int | None = None  # log position of the Filed event, when just written


@dataclass(frozen=True)
class Change:
    version: int
    position: int


@dataclass
class BatchConflictError(Exception):
    """Some items of a batch reuse a key with a different payload."""

    conflicts: list[tuple[int, IdempotencyConflictError]] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"item {index}: {error}" for index, error in self.conflicts)


class TimelineApplication(Application[UUID]):
    name = "timeline"  # names the PostgreSQL tables: keep it stable

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        # Called with the last log position after every successful save, so
        # that views in this process can catch up at once instead of polling.
        self.listeners: list[Callable[[int], None]] = []

    def _notify(self, recordings: list[Any]) -> None:
        if recordings:
            position = max(r.notification.id for r in recordings)
            for listener in self.listeners:
                listener(position)

    # Reports -------------------------------------------------------------

    def file_report(
        self, content: ReportContent, key: str | None = None, written_by: str | None = None
    ) -> Filing:
        try:
            return self.file_reports([(content, key)], written_by)[0]
        except BatchConflictError as error:
            raise error.conflicts[0][1] from None

    def file_reports(
        self, items: Sequence[tuple[ReportContent, str | None]], written_by: str | None = None
    ) -> list[Filing]:
        """File many reports in one transaction: all are written or none.

        A key seen before with the same payload answers with the existing report
        and writes nothing for it; with a different payload the whole batch fails.
        """
        self._check_actor_ids(items)
        results: list[Filing | None] = [None] * len(items)
        pending: dict[int, Report] = {}
        first_index_by_key: dict[str, int] = {}
        conflicts: list[tuple[int, IdempotencyConflictError]] = []
        duplicates_in_batch: dict[int, int] = {}

        for index, (content, key) in enumerate(items):
            if key is not None and key in first_index_by_key:
                first = first_index_by_key[key]
                if pending[first].digest != content_digest(content):
                    conflicts.append((index, IdempotencyConflictError(key, pending[first].id)))
                duplicates_in_batch[index] = first
                continue
            if key is not None:
                first_index_by_key[key] = index
            pending[index] = Report.file(content, key=key, written_by=written_by)
        if conflicts:
            raise BatchConflictError(conflicts)

        for attempt in range(_SAVE_ATTEMPTS):
            # A failed save has already taken the events out of the aggregates:
            # retries start from fresh ones.
            to_save = {
                i: r if attempt == 0 else Report.file(*items[i], written_by=written_by)
                for i, r in pending.items()
                if results[i] is None
            }
            if not to_save:
                break
            try:
                recordings = self.save(*to_save.values())
            except IntegrityError:
                # Some keys were filed before (or concurrently): sort them out.
                self._settle_existing(to_save, results, conflicts)
                if conflicts:
                    raise BatchConflictError(conflicts) from None
                continue
            positions = {r.domain_event.originator_id: r.notification.id for r in recordings}
            for index, report in to_save.items():
                results[index] = Filing(report.id, created=True, position=positions[report.id])
            break
        else:  # pragma: no cover - only under pathological contention
            raise RuntimeError("could not file the batch after repeated conflicts")

        for index, first in duplicates_in_batch.items():
            original = results[first]
            assert original is not None
            results[index] = Filing(original.report_id, created=False, position=original.position)
        return [r for r in results if r is not None]

    def _check_actor_ids(self, items: Sequence[tuple[ReportContent, str | None]]) -> None:
        named = {m.actor_id for content, _ in items for m in content.actors if m.actor_id}
        unknown = {actor_id for actor_id in named if self._find_actor(actor_id) is None}
        if unknown:
            raise UnknownActorMentionError(
                [
                    (i, j, m.actor_id)
                    for i, (content, _) in enumerate(items)
                    for j, m in enumerate(content.actors)
                    if m.actor_id in unknown
                ]
            )

    def _settle_existing(
        self,
        to_save: dict[int, Report],
        results: list[Filing | None],
        conflicts: list[tuple[int, IdempotencyConflictError]],
    ) -> None:
        for index, report in to_save.items():
            if report.key is None:
                continue
            try:
                existing: Report = self.repository.get(report.id)
            except AggregateNotFoundError:
                continue
            if existing.digest == report.digest:
                results[index] = Filing(existing.id, created=False)
            else:
                conflicts.append((index, IdempotencyConflictError(report.key, existing.id)))

    def get_report(self, report_id: UUID, version: int | None = None) -> Report:
        try:
            found = self.repository.get(report_id, version=version)
        except AggregateNotFoundError:
            raise UnknownReportError(report_id) from None
        if not isinstance(found, Report):
            raise UnknownReportError(report_id)
        return found

    def report_id_for_key(self, key: str) -> UUID:
        return report_id_for_key(key)

    def report_events(self, report_id: UUID) -> list[Any]:
        return list(self.events.get(report_id))

    def correct_report(
        self,
        report_id: UUID,
        changes: dict[str, Any],
        reason: str,
        corrected_by: str | None = None,
        expected_version: int | None = None,
        written_by: str | None = None,
    ) -> Change:
        return self._change_report(
            report_id,
            expected_version,
            lambda report: report.correct(changes, reason, corrected_by, written_by),
        )

    def retract_report(
        self,
        report_id: UUID,
        reason: str,
        retracted_by: str | None = None,
        expected_version: int | None = None,
        written_by: str | None = None,
    ) -> Change:
        return self._change_report(
            report_id,
            expected_version,
            lambda report: report.retract(reason, retracted_by, written_by),
        )

    def _change_report(self, report_id: UUID, expected_version: int | None, command: Any) -> Change:
        # Optimistic concurrency: the store refuses a second event at the same
        # version. With an expected version the caller hears of it (409); without
        # one the command is re-run on the fresh state, never silently merged.
        for attempt in range(_CHANGE_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0.001, 0.01 * attempt))  # spread the contenders
            report = self.get_report(report_id)
            if expected_version is not None and report.version != expected_version:
                raise VersionConflictError(expected_version, report.version)
            command(report)
            try:
                recordings = self.save(report)
            except IntegrityError:
                if expected_version is not None:
                    current = self.repository.get(report_id).version
                    raise VersionConflictError(expected_version, current) from None
                continue
            return Change(version=report.version, position=recordings[-1].notification.id)
        raise ContentionError(report_id)

    # Actors ---------------------------------------------------------------

    def register_actor(
        self,
        name: str,
        aliases: Iterable[Alias] = (),
        parent_id: UUID | None = None,
        description: str | None = None,
        category: ActorCategory | None = None,
        written_by: str | None = None,
    ) -> tuple[Actor, bool, int | None]:
        """Register an actor with all its names; (actor, created, position)."""
        if parent_id is not None:
            self.get_actor(parent_id)
        unique_aliases: list[Alias] = []
        seen = {normalise_name(name)}
        for alias in aliases:
            if normalise_name(alias.name) not in seen:
                seen.add(normalise_name(alias.name))
                unique_aliases.append(alias)
        actor = Actor(
            name=name,
            aliases=tuple(unique_aliases),
            parent_id=parent_id,
            description=description,
            category=category,
            written_by=written_by,
        )
        claims = [ActorName(name=n, actor_id=actor.id) for n in actor.names()]
        try:
            recordings = self.save(actor, *claims)
        except IntegrityError:
            existing = self._find_actor(actor.id)
            if existing is not None and (
                existing.name,
                existing.aliases,
                existing.parent_id,
                existing.description,
                existing.category,
            ) == (actor.name, actor.aliases, actor.parent_id, actor.description, actor.category):
                return existing, False, None
            if existing is not None:
                raise ActorConflictError(existing.id) from None
            self._raise_taken(actor.names(), actor.id)
            raise
        return actor, True, recordings[0].notification.id

    def add_alias(
        self, actor_id: UUID, alias: Alias, written_by: str | None = None
    ) -> tuple[Actor, int | None]:
        actor = self.get_actor(actor_id)
        if actor.knows(alias.name):
            return actor, None
        actor.add_alias(alias, written_by=written_by)
        try:
            recordings = self.save(actor, ActorName(name=alias.name, actor_id=actor.id))
        except IntegrityError:
            self._raise_taken([alias.name], actor.id)
            return self.get_actor(actor_id), None  # the same alias, added concurrently
        return actor, recordings[0].notification.id

    def set_parent(
        self, actor_id: UUID, parent_id: UUID | None, written_by: str | None = None
    ) -> tuple[Actor, int | None]:
        actor = self.get_actor(actor_id)
        ancestor = parent_id
        while ancestor is not None:
            if ancestor == actor_id:
                raise ParentCycleError(f"actor {actor_id} cannot be its own ancestor")
            ancestor = self.get_actor(ancestor).parent_id
        if actor.parent_id == parent_id:
            return actor, None
        actor.set_parent(parent_id, written_by=written_by)
        recordings = self.save(actor)
        return actor, recordings[0].notification.id

    def get_actor(self, actor_id: UUID) -> Actor:
        actor = self._find_actor(actor_id)
        if actor is None:
            raise UnknownActorError(actor_id)
        return actor

    def resolve_actor(self, name: str) -> UUID | None:
        try:
            claim: ActorName = self.repository.get(actor_name_id(name))
        except AggregateNotFoundError:
            return None
        return claim.actor_id

    def list_actors(self) -> list[Actor]:
        return aggregates_created_by(self, EVENT_TYPES["Actor.Registered"])

    def _find_actor(self, actor_id: UUID) -> Actor | None:
        try:
            found = self.repository.get(actor_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Actor) else None

    def _raise_taken(self, names: Iterable[str], actor_id: UUID) -> None:
        for candidate in names:
            owner = self.resolve_actor(candidate)
            if owner is not None and owner != actor_id:
                raise NameTakenError(candidate, owner)

    # The log ----------------------------------------------------------------

    def read_log(
        self, after: int, limit: int, event_types: Sequence[str] = ()
    ) -> Sequence[Notification]:
        topics = [EVENT_TYPES[name] for name in event_types]
        return self.recorder.select_notifications(after + 1, limit, topics=topics)

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0
