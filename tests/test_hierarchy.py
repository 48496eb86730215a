"""The pure rules of the actor hierarchy: walking up, and when a parent would make a cycle."""

from __future__ import annotations

from uuid import UUID, uuid5

from domain.hierarchy import HIERARCHY_ID, chain_above, cycle_problem


def ids(*names: str) -> list[UUID]:
    return [uuid5(HIERARCHY_ID, n) for n in names]


def test_chain_above_walks_to_the_root() -> None:
    quds, irgc, iran = ids("quds", "irgc", "iran")
    parents = {quds: irgc, irgc: iran}
    assert chain_above(quds, parents.get) == ([quds, irgc, iran], False)
    assert chain_above(iran, parents.get) == ([iran], False)


def test_chain_above_stops_on_a_loop() -> None:
    x, a, b = ids("x", "a", "b")
    parents = {x: a, a: b, b: a}
    assert chain_above(x, parents.get) == ([x, a, b], True)
    assert chain_above(a, {a: a}.get) == ([a], True)


def test_cycle_problem() -> None:
    quds, irgc, iran, x, a, b = ids("quds", "irgc", "iran", "x", "a", "b")
    parents = {quds: irgc, irgc: iran, a: b, b: a}
    assert cycle_problem(x, iran, parents.get) is None
    assert cycle_problem(iran, quds, parents.get) == (
        f"actor {iran} cannot be its own ancestor: it is {quds} or above it"
    )
    assert cycle_problem(quds, quds, parents.get) == (
        f"actor {quds} cannot be its own ancestor: it is {quds} or above it"
    )
    assert cycle_problem(x, a, parents.get) == (
        f"the actors above {a} already form a cycle ({a} → {b} → {a}); "
        "detach one of them first (PUT /actors/{id}/parent with parent_id null)"
    )
