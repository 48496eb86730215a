"""Group commit: concurrent filings share one transaction and stay independent.

Three levels, each on SQLite and PostgreSQL: `file_requests` itself; the real
app under real concurrency, with the writer held so that the requests are sure
to land in one group (a gate, not a timer); and real `timeline serve` processes
hammered by concurrent clients, then restarted, with nothing acknowledged lost.
No timing is asserted anywhere.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
import uuid
from typing import Any

import httpx
import orjson
import pytest

from domain.application import BatchConflictError, FilingRequest
from domain.errors import UnknownActorMentionError
from domain.reports import Report, report_id_for_key
from domain.values import ActorMention, ReportContent
from service.api import create_app
from service.schemas import SEED_EXAMPLE
from service.settings import Settings
from service.storage import open_application
from tests.conftest import require_postgres
from tests.servers import Process, auth, free_port, running

pytestmark = pytest.mark.timeout(240)

NDJSON = {"content-type": "application/x-ndjson"}


def body(key: str | None = None, **overrides: Any) -> dict[str, Any]:
    found = copy.deepcopy(SEED_EXAMPLE)
    found.pop("key")
    if key is not None:
        found["key"] = key
    found.update(overrides)
    return found


def content(**overrides: Any) -> ReportContent:
    return ReportContent.model_validate(body(**overrides))


# The domain: many requests, one transaction, one outcome each ------------------


def test_requests_in_one_transaction_behave_as_if_sequential(settings: Settings) -> None:
    app = open_application(settings)
    try:
        app.file_report(content(), key="stored")
        stranger = ActorMention(name="X", role="target", actor_id=uuid.uuid4())
        outcomes = app.file_requests(
            [
                FilingRequest([(content(), "k1")], "writer-a"),
                FilingRequest([(content(), "k1")]),  # same key, same payload
                FilingRequest([(content(summary="autre"), "k1")]),  # same key, other payload
                FilingRequest([(content(actors=(stranger,)), "k9")]),  # unknown actor
                FilingRequest([(content(), "stored")]),  # filed before: answered, not written
                FilingRequest([(content(summary="autre"), "stored")]),  # conflicts with the store
                # A batch conflicting within itself claims none of its keys ...
                FilingRequest(
                    [(content(), "k2"), (content(), "k3"), (content(summary="autre"), "k2")]
                ),
                # ... so a later request files them.
                FilingRequest([(content(), "k3"), (content(), None)]),
            ]
        )
    finally:
        app.close()
    first, same, other, unknown, stored, stored_other, conflicted, later = outcomes
    assert isinstance(first, list) and first[0].created
    assert first[0].report_id == report_id_for_key("k1")
    assert isinstance(same, list)
    assert (same[0].report_id, same[0].created, same[0].position) == (
        first[0].report_id,
        False,
        first[0].position,
    )
    assert isinstance(other, BatchConflictError)
    assert [i for i, _ in other.conflicts] == [0]
    assert isinstance(unknown, UnknownActorMentionError)
    assert unknown.mentions == [(0, 0, stranger.actor_id)]
    assert isinstance(stored, list) and not stored[0].created
    assert stored[0].report_id == report_id_for_key("stored")
    assert isinstance(stored_other, BatchConflictError)
    assert isinstance(conflicted, BatchConflictError)
    assert [i for i, _ in conflicted.conflicts] == [2]
    assert isinstance(later, list) and [f.created for f in later] == [True, True]
    assert later[0].report_id == report_id_for_key("k3")
    positions = [first[0].position, later[0].position, later[1].position]
    assert len(set(positions)) == 3  # one transaction, three new events


def test_a_request_that_breaks_the_transaction_fails_alone(settings: Settings) -> None:
    app = open_application(settings)
    real_append = app._append

    def append(events: list[Any]) -> Any:
        if any(e.content.summary == "poison" for e in events):
            raise ValueError("this request cannot be stored")
        return real_append(events)

    app._append = append  # type: ignore[method-assign]
    try:
        good, bad, also_good = app.file_requests(
            [
                FilingRequest([(content(), "a")]),
                FilingRequest([(content(summary="poison"), "b")]),
                FilingRequest([(content(), "c"), (content(), "d")]),
            ]
        )
        assert isinstance(good, list) and good[0].created
        assert isinstance(bad, ValueError)
        assert isinstance(also_good, list) and all(f.created for f in also_good)
        assert {e.originator_id for e in app.events.get(report_id_for_key("b"))} == set()
    finally:
        app.close()


def test_filed_event_is_the_event_file_records(settings: Settings) -> None:
    app = open_application(settings)
    try:
        made = Report.file(content(), key="via-aggregate", written_by="w")
        app.save(made)
        app.file_reports([(content(), "via-event")], written_by="w")
        by_aggregate = app.get_report(report_id_for_key("via-aggregate"))
        by_event = app.get_report(report_id_for_key("via-event"))
        assert type(by_event) is type(by_aggregate) is Report
        for name in ("content", "digest", "written_by", "version", "retracted", "corrections"):
            assert getattr(by_event, name) == getattr(by_aggregate, name), name
        (filed,) = app.report_events(by_event.id)
        (reference,) = app.report_events(by_aggregate.id)
        assert set(filed.__dict__) == set(reference.__dict__)
        assert type(filed) is type(reference)
    finally:
        app.close()


# The app: real concurrent HTTP requests, held so that they share one group ----


async def _grouped(
    settings: Settings, requests: list[tuple[str, Any]]
) -> tuple[list[httpx.Response], list[dict[str, Any]]]:
    """Send `requests` concurrently while the writer is busy, so that all of them
    are queued before it takes the next group; answers in the same order."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        _, secret = app.state.keyring.issue_key("tests")
        # The key stays verified throughout, so no request takes a thread hop to
        # check it and the requests queue in the order they were sent.
        app.state.keyring.cache_seconds = 3600
        committer = app.state.committer
        release = threading.Event()
        real_commit = committer.commit
        first_call = threading.Event()

        def held_commit(group: Any) -> Any:
            if not first_call.is_set():
                first_call.set()
                release.wait(60)
            return real_commit(group)

        committer.commit = held_commit
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://app", headers=headers, timeout=60
        ) as client:
            blocker = asyncio.create_task(client.post("/reports", json=body("blocker")))
            while not first_call.is_set():
                await asyncio.sleep(0.01)
            tasks = [
                asyncio.create_task(
                    client.post("/reports", content=payload, headers=NDJSON)
                    if kind == "ndjson"
                    else client.post("/reports", json=payload)
                )
                for kind, payload in requests
            ]
            while committer.queued < len(requests):  # every request waits in the queue
                await asyncio.sleep(0.01)
            release.set()
            answers = await asyncio.gather(*tasks)
            assert (await blocker).status_code == 201
            assert committer.stats.largest_group == len(requests)
            events = (await client.get("/events")).content.splitlines()
        return answers, [orjson.loads(line) for line in events]


def test_one_group_of_concurrent_requests_through_the_api(settings: Settings) -> None:
    stranger = str(uuid.uuid4())
    requests: list[tuple[str, Any]] = [
        ("json", body("race")),
        ("json", body("race")),
        ("json", body("race")),
        ("json", body("race", summary="autre")),
        ("json", body("lonely", actors=[{"name": "X", "role": "target", "actor_id": stranger}])),
        ("ndjson", b"\n".join(orjson.dumps(body(f"batch-{i}")) for i in range(5))),
        ("ndjson", b"\n".join([orjson.dumps(body("half")), orjson.dumps(body("race"))])),
        ("ndjson", b"\n".join([orjson.dumps(body("x")), orjson.dumps(body("x", summary="y"))])),
        *[("json", body(f"single-{i}")) for i in range(8)],
        ("json", body(None)),
    ]
    answers, events = asyncio.run(_grouped(settings, requests))
    codes = [a.status_code for a in answers]
    assert codes[:8] == [201, 200, 200, 409, 422, 201, 201, 409]
    assert codes[8:] == [201] * 9
    race = [a.json() for a in answers[:3]]
    assert race[0]["id"] == race[1]["id"] == race[2]["id"] == str(report_id_for_key("race"))
    assert race[0]["position"] == race[1]["position"] == race[2]["position"]
    assert [r["created"] for r in race] == [True, False, False]
    assert answers[4].json()["detail"][0]["field"] == "actors.0.actor_id"
    half = answers[6].json()
    assert (half["created"], half["existing"]) == (1, 1)
    assert half["reports"][1]["position"] == race[0]["position"]
    assert [(d["line"], d["field"]) for d in answers[7].json()["detail"]] == [(2, "key")]
    # Exactly what was acknowledged as created is in the log, once.
    created = [a.json() for a in answers if a.status_code == 201]
    ids = [c["id"] for c in created if "id" in c] + [
        r["id"] for c in created if "reports" in c for r in c["reports"] if r["created"]
    ]
    logged = [e["originator_id"] for e in events if e["type"] == "Report.Filed"]
    assert sorted(logged) == sorted({*ids, str(report_id_for_key("blocker"))})


# Real processes: concurrent clients, then a restart ---------------------------


async def _hammer(url: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Every key posted by two clients at once; one NDJSON batch per ten keys."""
    async with httpx.AsyncClient(base_url=url, headers=auth(url), timeout=60) as client:

        async def single(key: str) -> tuple[str, httpx.Response]:
            return key, await client.post("/reports", json=body(key))

        async def batch(chunk: list[str]) -> tuple[str, httpx.Response]:
            lines = b"\n".join(orjson.dumps(body(k)) for k in chunk)
            return "batch", await client.post("/reports", content=lines, headers=NDJSON)

        work = [single(k) for k in keys for _ in range(2)]
        work += [batch(keys[i : i + 10]) for i in range(0, len(keys), 10)]
        work.append(single_bad(client))
        results = await asyncio.gather(*work)
    acked: dict[str, dict[str, Any]] = {}
    for key, answer in results:
        if key == "bad":
            assert answer.status_code == 422
            continue
        assert answer.status_code in (200, 201), answer.text
        if key == "batch":
            for item in answer.json()["reports"]:
                acked.setdefault(item["id"], item)
        else:
            acked.setdefault(answer.json()["id"], answer.json())
    return acked


async def single_bad(client: httpx.AsyncClient) -> tuple[str, httpx.Response]:
    stranger = str(uuid.uuid4())
    actors = [{"name": "X", "role": "target", "actor_id": stranger}]
    return "bad", await client.post("/reports", json=body("bad-one", actors=actors))


def _check_after_restart(url: str, acked: dict[str, dict[str, Any]], keys: list[str]) -> None:
    events = [orjson.loads(line) for line in httpx.get(f"{url}/events").content.splitlines()]
    filed = [e for e in events if e["type"] == "Report.Filed"]
    filed_ids = [e["originator_id"] for e in filed]
    assert len(filed_ids) == len(set(filed_ids)), "a report was written twice"
    assert set(acked) == set(filed_ids) == {str(report_id_for_key(k)) for k in keys}
    positions = {e["originator_id"]: e["position"] for e in filed}
    assert all(positions[i] == item["position"] for i, item in acked.items())


@pytest.fixture(params=["sqlite", "postgres"])
def server_env(request, tmp_path) -> Any:
    if request.param == "sqlite":
        yield {"TIMELINE_DATABASE_URL": f"sqlite:///{tmp_path}/timeline.sqlite3"}
        return
    settings = request.getfixturevalue("postgres_settings")
    yield {
        "TIMELINE_DATABASE_URL": settings.database_url,
        "TIMELINE_POSTGRES_SCHEMA": settings.postgres_schema,
    }


def test_concurrent_clients_then_restart_lose_nothing(server_env: dict[str, str]) -> None:
    keys = [f"k-{i}" for i in range(60)]
    with running(Process(["serve"], server_env, free_port())) as (server,):
        acked = asyncio.run(_hammer(server.url, keys))
    with running(Process(["serve"], server_env, free_port())) as (server,):
        _check_after_restart(server.url, acked, keys)


def test_two_processes_racing_on_one_postgres(postgres_settings: Settings) -> None:
    require_postgres()
    env = {
        "TIMELINE_DATABASE_URL": postgres_settings.database_url,
        "TIMELINE_POSTGRES_SCHEMA": postgres_settings.postgres_schema,
    }
    keys = [f"p-{i}" for i in range(40)]
    with running(
        Process(["serve"], env, free_port()), Process(["serve"], env, free_port())
    ) as servers:

        async def both() -> list[dict[str, dict[str, Any]]]:
            return await asyncio.gather(*(_hammer(s.url, keys) for s in servers))

        first, second = asyncio.run(both())
        # Both processes acknowledge every key with the same report and position.
        assert {i: a["position"] for i, a in first.items()} == {
            i: a["position"] for i, a in second.items()
        }
        deadline = time.monotonic() + 30
        while httpx.get(f"{servers[0].url}/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        _check_after_restart(servers[0].url, first, keys)


# The writer itself: no request ever waits forever -------------------------------


def test_a_broken_writer_or_a_store_failure_answers_everyone() -> None:
    from eventsourcing.persistence import OperationalError

    from service.group_commit import GroupCommitter

    async def scenario(commit: Any) -> list[Any]:
        committer = GroupCommitter(commit)
        committer.start()
        requests = [FilingRequest([(content(), f"w{i}")]) for i in range(5)]
        answers = await asyncio.gather(
            *(committer.file(r) for r in requests), return_exceptions=True
        )
        return answers

    def store_down(_: Any) -> Any:
        raise OperationalError("the store is down")

    def wrong_count(group: Any) -> Any:
        return []  # a bug: fewer outcomes than requests

    assert all(isinstance(a, OperationalError) for a in asyncio.run(scenario(store_down)))
    assert all(isinstance(a, RuntimeError) for a in asyncio.run(scenario(wrong_count)))
