"""Concurrent actor writes through a real server (SQLite and PostgreSQL).

Each round releases its requests together from a barrier, each on its own
connection, so the server's worker threads really do read and write at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import httpx
import pytest

from domain.application import TimelineApplication
from domain.hierarchy import chain_above
from service.storage import open_application
from tests.conftest import keyed_client
from tests.servers import Process, auth, free_port, running

ROUNDS = 25


@pytest.fixture
def server(store_env: dict[str, str]) -> Iterator[Process]:
    with running(Process(["serve", "--runners", "none"], store_env, free_port())) as (proc,):
        yield proc


@pytest.fixture
def clients(server: Process) -> Iterator[list[httpx.Client]]:
    opened = [
        httpx.Client(base_url=server.url, headers=auth(server.url), timeout=30) for _ in range(4)
    ]
    for client in opened:
        assert client.get("/healthz").status_code == 200  # connect before the race
    yield opened
    for client in opened:
        client.close()


def race(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(calls))

    def go(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def register(client: httpx.Client, name: str) -> str:
    answer = client.post("/actors", json={"name": name})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def put_parent(client: httpx.Client, actor: str, parent: str) -> Callable[[], httpx.Response]:
    return lambda: client.put(f"/actors/{actor}/parent", json={"parent_id": parent})


def post_alias(client: httpx.Client, actor: str, name: str) -> Callable[[], httpx.Response]:
    return lambda: client.post(f"/actors/{actor}/aliases", json={"name": name})


def no_cycle(client: httpx.Client) -> None:
    parents = {a["id"]: a["parent_id"] for a in client.get("/actors").json()}
    for actor in parents:
        _, loops = chain_above(actor, parents.get)
        assert not loops, f"a parent cycle through {actor}"


def test_crossed_parents_never_both_pass(clients: list[httpx.Client]) -> None:
    first = clients[0]
    for n in range(ROUNDS):
        a, b = register(first, f"A{n}"), register(first, f"B{n}")
        answers = race([put_parent(clients[0], a, b), put_parent(clients[1], b, a)])
        assert sorted(r.status_code for r in answers) == [200, 422], [r.text for r in answers]
        refused = next(r for r in answers if r.status_code == 422)
        assert "cannot be its own ancestor" in refused.json()["detail"]

        # Three actors, three edges closing a ring: at most two of them can pass.
        x, y, z = (register(first, f"{c}{n}") for c in "XYZ")
        answers = race(
            [
                put_parent(clients[0], x, y),
                put_parent(clients[1], y, z),
                put_parent(clients[2], z, x),
            ]
        )
        assert sorted(r.status_code for r in answers) == [200, 200, 422], [r.text for r in answers]
    no_cycle(first)


def test_concurrent_aliases_are_all_written(clients: list[httpx.Client]) -> None:
    first = clients[0]
    for n in range(ROUNDS):
        actor = register(first, f"Faction {n}")
        names = [f"faction {n} name {i}" for i in range(len(clients))]
        answers = race([post_alias(c, actor, name) for c, name in zip(clients, names, strict=True)])
        assert [r.status_code for r in answers] == [201] * len(names), [r.text for r in answers]
        aliases = first.get(f"/actors/{actor}").json()["aliases"]
        assert sorted(a["name"] for a in aliases) == names
        events = first.get("/events", params={"type": "Actor.AliasAdded"}).text.splitlines()
        assert len(events) == (n + 1) * len(names)


def test_alias_and_parent_at_once_both_land(clients: list[httpx.Client]) -> None:
    first = clients[0]
    iran = register(first, "Iran")
    for n in range(ROUNDS):
        actor = register(first, f"Groupe {n}")
        answers = race(
            [
                post_alias(clients[0], actor, f"G{n}"),
                put_parent(clients[1], actor, iran),
            ]
        )
        assert [r.status_code for r in answers] == [201, 200], [r.text for r in answers]
        stored = first.get(f"/actors/{actor}").json()
        assert stored["parent_id"] == iran
        assert stored["aliases"] == [{"name": f"G{n}", "language": None}]


def _cycle_in_an_old_log(timeline: TimelineApplication) -> tuple[UUID, UUID, UUID]:
    """A ↔ B, as the unguarded check let two crossed requests write it."""
    (a, _, _), (b, _, _), (x, _, _) = (timeline.register_actor(n) for n in ("A", "B", "X"))
    for child, parent in ((a, b), (b, a)):
        actor = timeline.get_actor(child.id)
        actor.set_parent(parent.id)
        timeline.save(actor)
    return a.id, b.id, x.id


@pytest.mark.timeout(60)  # the unguarded walk never returned
def test_a_cycle_in_an_old_log_is_refused_not_walked_forever(settings: Any) -> None:
    timeline = open_application(settings)
    try:
        a, b, x = _cycle_in_an_old_log(timeline)
    finally:
        timeline.close()
    with keyed_client(settings) as client:
        answer = client.put(f"/actors/{x}/parent", json={"parent_id": str(a)})
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"] == (
            f"the actors above {a} already form a cycle ({a} → {b} → {a}); "
            "detach one of them first (PUT /actors/{id}/parent with parent_id null)"
        )
        assert client.get(f"/actors/{x}").json()["parent_id"] is None
        # The way out works, and then the hierarchy is usable again.
        assert client.put(f"/actors/{b}/parent", json={"parent_id": None}).status_code == 200
        answer = client.put(f"/actors/{x}/parent", json={"parent_id": str(a)})
        assert answer.status_code == 200, answer.text
        assert answer.json()["parent_id"] == str(a)


def test_crossed_parents_through_two_servers_on_one_postgres(postgres_settings: Any) -> None:
    env = {
        "TIMELINE_DATABASE_URL": postgres_settings.database_url,
        "TIMELINE_POSTGRES_SCHEMA": postgres_settings.postgres_schema,
    }
    serve = ["serve", "--runners", "none"]
    with running(Process(serve, env, free_port()), Process(serve, env, free_port())) as servers:
        one, two = (httpx.Client(base_url=s.url, headers=auth(s.url), timeout=30) for s in servers)
        for n in range(ROUNDS):
            a, b = register(one, f"A{n}"), register(one, f"B{n}")
            answers = race([put_parent(one, a, b), put_parent(two, b, a)])
            assert sorted(r.status_code for r in answers) == [200, 422], [r.text for r in answers]
        no_cycle(one)
        one.close()
        two.close()
