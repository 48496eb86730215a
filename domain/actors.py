"""Actors and the names they go by.

An actor is named many ways (Hachd al-Chaabi / Hashd al-Shaabi / Popular
Mobilization Forces / PMF). Each name is claimed by a small `ActorName`
aggregate whose id derives from the normalised name, so the event store itself
guarantees that one name never points at two actors, even under races.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.history import no_writer
from domain.values import ActorCategory, Alias, normalise_name

ACTOR_NAMESPACE = uuid5(NAMESPACE_URL, "urn:timeline:actor")
ACTOR_NAME_NAMESPACE = uuid5(NAMESPACE_URL, "urn:timeline:actor-name")


def actor_id_for(name: str) -> UUID:
    return uuid5(ACTOR_NAMESPACE, normalise_name(name))


def actor_name_id(name: str) -> UUID:
    return uuid5(ACTOR_NAME_NAMESPACE, normalise_name(name))


class Actor(Aggregate):
    # Version 2 of each event records `written_by`, the API key that wrote it.
    class Registered(Aggregate.Created):
        class_version = 2
        upcast_v1_v2 = staticmethod(no_writer)
        name: str
        aliases: tuple[Alias, ...]
        parent_id: UUID | None
        description: str | None
        category: ActorCategory | None
        written_by: str | None

    class AliasAdded(Aggregate.Event):
        class_version = 2
        upcast_v1_v2 = staticmethod(no_writer)
        alias: Alias
        written_by: str | None

    class ParentSet(Aggregate.Event):
        class_version = 2
        upcast_v1_v2 = staticmethod(no_writer)
        parent_id: UUID | None
        written_by: str | None

    @staticmethod
    def create_id(name: str, **_: Any) -> UUID:
        return actor_id_for(name)

    @event(Registered)
    def __init__(
        self,
        name: str,
        aliases: tuple[Alias, ...] = (),
        parent_id: UUID | None = None,
        description: str | None = None,
        category: ActorCategory | None = None,
        written_by: str | None = None,
    ) -> None:
        self.name = name
        self.category = category
        self.aliases = tuple(aliases)
        self.parent_id = parent_id
        self.description = description

    def names(self) -> list[str]:
        return [self.name, *(alias.name for alias in self.aliases)]

    def knows(self, name: str) -> bool:
        wanted = normalise_name(name)
        return any(normalise_name(known) == wanted for known in self.names())

    @event(AliasAdded)
    def add_alias(self, alias: Alias, written_by: str | None = None) -> None:
        self.aliases = (*self.aliases, alias)

    @event(ParentSet)
    def set_parent(self, parent_id: UUID | None, written_by: str | None = None) -> None:
        self.parent_id = parent_id


class ActorName(Aggregate):
    """Claims one normalised name for one actor (a uniqueness index)."""

    @staticmethod
    def create_id(name: str, **_: Any) -> UUID:
        return actor_name_id(name)

    @event("Claimed")
    def __init__(self, name: str, actor_id: UUID) -> None:
        self.name = name
        self.actor_id = actor_id


def registration_conflicts(
    existing: Actor,
    name: str,
    aliases: Sequence[Alias],
    parent_id: UUID | None,
    description: str | None,
    category: ActorCategory | None,
    owner_of: Callable[[str], UUID | None],
) -> list[tuple[str, str]]:
    """(field, problem) for each detail of a registration that the registered actor lacks.

    Registering again is idempotent when it states a subset of what is known:
    the same canonical name, aliases the actor already has (with the same
    language, if one is given), and a parent, description and category that are
    either left out or equal. Names added and parents set since registration
    keep an older registration valid."""
    where = f"/actors/{existing.id}"
    found: list[tuple[str, str]] = []
    if name != existing.name:
        found.append(("name", f"actor {existing.id} is registered as {existing.name!r}; use it"))
    known = {normalise_name(a.name): a for a in existing.aliases}
    canonical = normalise_name(existing.name)
    for i, alias in enumerate(aliases):
        norm = normalise_name(alias.name)
        if norm == canonical:
            continue
        if norm not in known:
            owner = owner_of(alias.name)
            found.append(
                (f"aliases.{i}.name", f"name {alias.name!r} already belongs to actor {owner}")
                if owner is not None and owner != existing.id
                else (
                    f"aliases.{i}.name",
                    f"{alias.name!r} is not a name of actor {existing.id}; "
                    f"add it with POST {where}/aliases",
                )
            )
        elif alias.language is not None and alias.language != known[norm].language:
            found.append(
                (
                    f"aliases.{i}.language",
                    f"{alias.name!r} is registered with language {known[norm].language!r}",
                )
            )
    if parent_id is not None and parent_id != existing.parent_id:
        now = f"is {existing.parent_id}" if existing.parent_id else "is not set"
        found.append(("parent_id", f"{now}; change it with PUT {where}/parent"))
    if description is not None and description != existing.description:
        found.append(("description", f"is registered as {existing.description!r}"))
    if category is not None and category != existing.category:
        now = f"is registered as {existing.category!s}" if existing.category else "is not set"
        found.append(("category", now))
    return found
