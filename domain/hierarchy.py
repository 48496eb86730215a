"""Which actor is within which, kept free of cycles even under concurrent writes.

Each parent lives on its actor (`Actor.ParentSet`). A cycle check reads many
actors but writes one, and the store's optimistic concurrency only guards what
is written: two changes A→B and B→A, each checked on what it read, would both
commit. So every parent change also appends an event to the one `Hierarchy`
aggregate in the same transaction: of two changes that read the same
hierarchy version, one commits, the other is re-checked on the new state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

HIERARCHY_ID = uuid5(NAMESPACE_URL, "urn:timeline:actor-hierarchy")


class Hierarchy(Aggregate):
    """Orders parent changes; the parents themselves stay on the actors."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return HIERARCHY_ID

    @event("Created")
    def __init__(self) -> None:
        pass

    @event("ParentChanged")
    def record(self, actor_id: UUID, parent_id: UUID | None) -> None:
        pass


def chain_above(start: UUID, parent_of: Callable[[UUID], UUID | None]) -> tuple[list[UUID], bool]:
    """`start` and its ancestors, nearest first, and whether the chain loops.

    A loop can only come from a log written before the hierarchy was guarded:
    the walk stops at the first actor it meets twice instead of going round."""
    chain: list[UUID] = []
    seen: set[UUID] = set()
    current: UUID | None = start
    while current is not None:
        if current in seen:
            return chain, True
        seen.add(current)
        chain.append(current)
        current = parent_of(current)
    return chain, False


def cycle_problem(
    actor_id: UUID, parent_id: UUID, parent_of: Callable[[UUID], UUID | None]
) -> str | None:
    """Why `actor_id` cannot be placed within `parent_id`, or None if it can."""
    chain, loops = chain_above(parent_id, parent_of)
    if actor_id in chain:
        return f"actor {actor_id} cannot be its own ancestor: it is {parent_id} or above it"
    if loops:
        back = parent_of(chain[-1])
        listed = " → ".join(str(a) for a in chain[chain.index(back) :]) if back else ""
        return (
            f"the actors above {parent_id} already form a cycle ({listed} → {back}); "
            "detach one of them first (PUT /actors/{id}/parent with parent_id null)"
        )
    return None
