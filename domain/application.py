"""The timeline application: commands and queries over reports and actors.

It is an `eventsourcing` Application, so where events are stored (SQLite file,
PostgreSQL) is chosen by its environment, not by this code. It is synchronous:
callers in an event loop run it in a thread pool.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    Recording,
)
from eventsourcing.utils import get_topic

from domain.actors import Actor, ActorName, actor_name_id, registration_conflicts
from domain.errors import (
    ActorConflictError,
    ContentionError,
    NameTakenError,
    ParentCycleError,
    UnknownActorError,
    UnknownActorMentionError,
    UnknownReportError,
    VersionConflictError,
)
from domain.filing import BatchConflictError, Filing, FilingRequest, Item, plan
from domain.hierarchy import HIERARCHY_ID, Hierarchy, cycle_problem
from domain.history import aggregates_created_by
from domain.reports import (
    Report,
    change_digest,
    content_digest,
    default_key,
    report_id_for_key,
)
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
    "Hierarchy.Created": get_topic(Hierarchy.Created),
    "Hierarchy.ParentChanged": get_topic(Hierarchy.ParentChanged),
}
EVENT_TYPE_BY_TOPIC = {topic: name for name, topic in EVENT_TYPES.items()}

_SAVE_ATTEMPTS = 5
_CHANGE_ATTEMPTS = 10


@dataclass(frozen=True)
class Change:
    version: int
    position: int | None  # None when a key had already made this change: nothing written
    created: bool = True


def _published(published_at: datetime | date | None) -> dict[str, Any]:
    """`published_at` for a change's digest, only when given: a retry of a change
    made before the field existed keeps the digest it was recorded with."""
    return {} if published_at is None else {"published_at": published_at}


def _items(request: FilingRequest) -> list[Item]:
    # A report without a key is keyed by its content: a retry finds it filed.
    items = []
    for content, key in request.items:
        digest = content_digest(content)
        items.append(Item(content, key if key is not None else default_key(digest), digest))
    return items


class TimelineApplication(Application[UUID]):
    name = "timeline"  # names the PostgreSQL tables: keep it stable

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        # Called with the last log position after every successful save, so
        # that views in this process can catch up at once instead of polling.
        self.listeners: list[Callable[[int], None]] = []
        self._known_actor_ids: set[UUID] = set()

    def _notify(self, recordings: list[Any]) -> None:
        if recordings:
            position = max(r.notification.id for r in recordings)
            for listener in self.listeners:
                listener(position)

    # Reports -------------------------------------------------------------

    def file_report(
        self, content: ReportContent, key: str | None = None, written_by: str | None = None
    ) -> Filing:
        (outcome,) = self.file_requests([FilingRequest([(content, key)], written_by)])
        if isinstance(outcome, BatchConflictError):
            raise outcome.conflicts[0][1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome[0]

    def file_reports(
        self, items: Sequence[tuple[ReportContent, str | None]], written_by: str | None = None
    ) -> list[Filing]:
        """File many reports in one transaction: all are written or none.

        A key seen before with the same payload answers with the existing report
        and writes nothing for it; with a different payload the whole batch fails.
        """
        (outcome,) = self.file_requests([FilingRequest(items, written_by)])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def file_requests(self, requests: Sequence[FilingRequest]) -> list[list[Filing] | Exception]:
        """File independent requests in one transaction (group commit): one outcome each.

        Each request is written whole or not at all, exactly as `file_reports`
        would write it alone; a request that cannot be filed (unknown actors, a
        key conflict) gets its error as its outcome and the others go ahead.
        Nothing is returned before the transaction has committed.
        """
        outcomes: list[list[Filing] | Exception | None] = [None] * len(requests)
        self._refuse_unknown_mentions(requests, outcomes)
        pending = {r: _items(request) for r, request in enumerate(requests) if outcomes[r] is None}
        stored: dict[str, tuple[UUID, str]] = {}
        for _ in range(_SAVE_ATTEMPTS):
            todo = plan(pending, stored)
            for r, conflict in todo.conflicts.items():
                outcomes[r] = conflict
                del pending[r]
            filed = {
                slot: Report.filed(
                    item.content, item.key, item.digest, requests[slot[0]].written_by
                )
                for slot in todo.new
                for item in (pending[slot[0]][slot[1]],)
            }
            try:
                recordings = self._append(list(filed.values()))
            except IntegrityError:
                # Some keys were filed before (or concurrently): learn which, re-plan.
                stored.update(self._stored_keys(e for e in filed.values() if e.key))
                continue
            except (OperationalError, InterfaceError):
                raise  # the store, not a request, is at fault: nobody was filed
            except Exception as error:
                if len(pending) == 1:
                    (r,) = pending
                    outcomes[r] = error
                    break
                # Something in one request broke the shared transaction: file
                # each request alone so that only that one fails.
                for r in pending:
                    outcomes[r] = self.file_requests([requests[r]])[0]
                break
            positions = {rec.domain_event.originator_id: rec.notification.id for rec in recordings}
            done = {
                slot: Filing(e.originator_id, created=True, position=positions[e.originator_id])
                for slot, e in filed.items()
            }
            done.update({slot: Filing(rid, created=False) for slot, rid in todo.existing.items()})
            for slot, first in todo.copies.items():
                original = done[first]
                done[slot] = Filing(original.report_id, created=False, position=original.position)
            for r, items in pending.items():
                outcomes[r] = [done[(r, i)] for i in range(len(items))]
            break
        else:  # pragma: no cover - only under pathological contention
            raise RuntimeError("could not file the reports after repeated conflicts")
        return [o if o is not None else RuntimeError("not filed") for o in outcomes]

    def _refuse_unknown_mentions(
        self, requests: Sequence[FilingRequest], outcomes: list[Any]
    ) -> None:
        named = {
            m.actor_id
            for request in requests
            for content, _ in request.items
            for m in content.actors
            if m.actor_id
        }
        unknown = set()
        for actor_id in named - self._known_actor_ids:
            if self._find_actor(actor_id) is None:
                unknown.add(actor_id)
            else:
                # Actors are never removed: once seen, an id stays valid.
                self._known_actor_ids.add(actor_id)
        if not unknown:
            return
        for r, request in enumerate(requests):
            mentions = [
                (i, j, m.actor_id)
                for i, (content, _) in enumerate(request.items)
                for j, m in enumerate(content.actors)
                if m.actor_id in unknown
            ]
            if mentions:
                outcomes[r] = UnknownActorMentionError(mentions)

    def _append(self, events: list[Report.Filed]) -> list[Recording]:
        """Store new events in one transaction, then tell the listeners.

        What `save` does for aggregates, minus checking every object against
        runtime protocols, which costs more than storing it."""
        if not events:
            return []
        recordings = self.events.put(events)
        self._notify(recordings)
        return recordings

    def _stored_keys(self, events: Iterable[Report.Filed]) -> dict[str, tuple[UUID, str]]:
        """key -> (id, digest) of the keyed reports that the store already holds."""
        found = {}
        for filed in events:
            try:
                existing: Report = self.repository.get(filed.originator_id)
            except AggregateNotFoundError:
                continue
            assert filed.key is not None
            found[filed.key] = (existing.id, existing.digest)
        return found

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
        key: str | None = None,
        published_at: datetime | date | None = None,
    ) -> Change:
        asked = {"changes": changes, "reason": reason, "corrected_by": corrected_by}
        asked |= _published(published_at)
        digest = change_digest("correction", {**asked, "expected_version": expected_version})
        return self._change_report(
            report_id,
            expected_version,
            key,
            digest,
            lambda report: report.correct(
                changes,
                reason,
                corrected_by,
                written_by,
                key,
                digest if key else None,
                published_at,
            ),
        )

    def retract_report(
        self,
        report_id: UUID,
        reason: str,
        retracted_by: str | None = None,
        expected_version: int | None = None,
        written_by: str | None = None,
        key: str | None = None,
        published_at: datetime | date | None = None,
    ) -> Change:
        asked = {"reason": reason, "retracted_by": retracted_by}
        asked |= _published(published_at)
        digest = change_digest("retraction", {**asked, "expected_version": expected_version})
        return self._change_report(
            report_id,
            expected_version,
            key,
            digest,
            lambda report: report.retract(
                reason, retracted_by, written_by, key, digest if key else None, published_at
            ),
        )

    def _change_report(
        self,
        report_id: UUID,
        expected_version: int | None,
        key: str | None,
        digest: str,
        command: Any,
    ) -> Change:
        # Optimistic concurrency: the store refuses a second event at the same
        # version, so every change is decided on the report's latest state. That
        # is also what makes a key safe: of two retries racing, one writes, the
        # other finds the key in the report on its next round (200, no write).
        for attempt in range(_CHANGE_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0.001, 0.01 * attempt))  # spread the contenders
            report = self.get_report(report_id)
            earlier = report.earlier_change(key, digest)
            if earlier is not None:
                return Change(version=earlier, position=None, created=False)
            if expected_version is not None and report.version != expected_version:
                raise VersionConflictError(expected_version, report.version)
            command(report)
            try:
                recordings = self.save(report)
            except IntegrityError:
                continue  # with an expected version, the next round says 409
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
        """Register an actor with all its names; (actor, created, position).

        Registering again with a subset of what is known is a no-op (see
        `registration_conflicts`); anything else names the fields at odds."""
        aliases = list(aliases)
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
            if existing is None:
                named = [("name", name)] + [
                    (f"aliases.{i}.name", a.name) for i, a in enumerate(aliases)
                ]
                self._raise_taken(named, actor.id)
                raise
            conflicts = registration_conflicts(
                existing, name, aliases, parent_id, description, category, self.resolve_actor
            )
            if conflicts:
                raise ActorConflictError(existing.id, conflicts) from None
            return existing, False, None
        return actor, True, recordings[0].notification.id

    def register_new_actors(
        self, actors: Sequence[tuple[str, ActorCategory | None]], written_by: str | None = None
    ) -> int:
        """Register actors by name alone, in one transaction; how many were new.

        For importers, which meet hundreds of names nobody registered yet: one
        commit instead of one a name. If any name is taken meanwhile, each is
        registered on its own (`register_actor`'s rules)."""
        fresh, seen = [], set()
        for name, category in actors:
            if normalise_name(name) not in seen:
                seen.add(normalise_name(name))
                fresh.append(Actor(name=name, category=category, written_by=written_by))
        if not fresh:
            return 0
        claims = [ActorName(name=actor.name, actor_id=actor.id) for actor in fresh]
        try:
            self.save(*fresh, *claims)
        except IntegrityError:
            created = 0
            for name, category in actors:
                if self.resolve_actor(name) is None:
                    created += self.register_actor(name, category=category, written_by=written_by)[
                        1
                    ]
            return created
        return len(fresh)

    def add_alias(
        self, actor_id: UUID, alias: Alias, written_by: str | None = None
    ) -> tuple[Actor, int | None]:
        for attempt in range(_CHANGE_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0.001, 0.01 * attempt))
            actor = self.get_actor(actor_id)
            if actor.knows(alias.name):
                return actor, None
            actor.add_alias(alias, written_by=written_by)
            try:
                recordings = self.save(actor, ActorName(name=alias.name, actor_id=actor.id))
            except IntegrityError:
                self._raise_taken([("name", alias.name)], actor.id)
                # The actor changed meanwhile (another name, a parent, or this
                # very name): try again on its new state, never drop the name.
                continue
            return actor, recordings[0].notification.id
        raise ContentionError(actor_id, "actor")

    def set_parent(
        self, actor_id: UUID, parent_id: UUID | None, written_by: str | None = None
    ) -> tuple[Actor, int | None]:
        for attempt in range(_CHANGE_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0.001, 0.01 * attempt))
            # Read the hierarchy's version before any parent: a change committed
            # after this read makes our save conflict, and we check again.
            hierarchy = self._hierarchy()
            actor = self.get_actor(actor_id)
            if parent_id is not None:
                self.get_actor(parent_id)
                problem = cycle_problem(actor_id, parent_id, self._parent_of)
                if problem:
                    raise ParentCycleError(problem)
            if actor.parent_id == parent_id:
                return actor, None
            hierarchy.record(actor_id=actor_id, parent_id=parent_id)
            actor.set_parent(parent_id, written_by=written_by)
            try:
                recordings = self.save(hierarchy, actor)
            except IntegrityError:
                continue
            return actor, recordings[-1].notification.id
        raise ContentionError(actor_id, "actor")

    def _hierarchy(self) -> Hierarchy:
        try:
            return self.repository.get(HIERARCHY_ID)
        except AggregateNotFoundError:
            return Hierarchy()  # two first writers: one commits, the other retries

    def _parent_of(self, actor_id: UUID) -> UUID | None:
        return self.get_actor(actor_id).parent_id

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

    def find_actor(self, actor_id: UUID) -> Actor | None:
        return self._find_actor(actor_id)

    def _find_actor(self, actor_id: UUID) -> Actor | None:
        try:
            found = self.repository.get(actor_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Actor) else None

    def _raise_taken(self, names: Iterable[tuple[str, str]], actor_id: UUID) -> None:
        """Raise for the first (field, name) that another actor owns."""
        for field, candidate in names:
            owner = self.resolve_actor(candidate)
            if owner is not None and owner != actor_id:
                raise NameTakenError(candidate, owner, field)

    # The log ----------------------------------------------------------------

    def read_log(
        self, after: int, limit: int, event_types: Sequence[str] = ()
    ) -> Sequence[Notification]:
        topics = [EVENT_TYPES[name] for name in event_types]
        return self.recorder.select_notifications(after + 1, limit, topics=topics)

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0
