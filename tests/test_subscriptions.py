"""Live subscriptions end to end: real uvicorn processes, real SSE and WebSocket clients."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid

import httpx
import psycopg
import pytest
from websockets.sync.client import connect as ws_connect

from tests.conftest import POSTGRES_URL, require_postgres
from tests.servers import (
    TIMELINE,
    Collector,
    Process,
    auth,
    file,
    free_port,
    report,
    running,
)

pytestmark = pytest.mark.timeout(180)

FAST = {
    "TIMELINE_SSE_HEARTBEAT_SECONDS": "0.5",
    "TIMELINE_SSE_SEND_TIMEOUT_SECONDS": "2",
}


def sqlite_env(tmp_path, **extra: str) -> dict[str, str]:
    return {"TIMELINE_DATABASE_URL": f"sqlite:///{tmp_path}/timeline.sqlite3", **FAST, **extra}


def test_updates_arrive_and_resume_without_gap_or_duplicate_across_restart(tmp_path):
    env = sqlite_env(tmp_path)
    server = Process(["serve"], env, free_port())
    with running(server):
        live = Collector(server.url, after=0).start()
        first = file(server.url, [report(day) for day in range(5)])
        assert live.wait_for(set(first)), (live.ids, live.error)
        live.stop()
        assert live.events.count("change") == len(live.ids) == len(set(live.ids))
        last_seen = max(live.ids)
        missed = file(server.url, [report(day) for day in range(5, 8)])
    # The server restarts; the subscriber comes back with its last id.
    server = Process(["serve"], env, free_port())
    with running(server):
        resumed = Collector(server.url).start(last_event_id=last_seen)
        assert resumed.wait_for(set(missed)), (resumed.ids, resumed.error)
        later = file(server.url, [report(day) for day in range(8, 10)])
        assert resumed.wait_for(set(later)), (resumed.ids, resumed.error)
        resumed.stop()
    # Nothing twice, nothing missing: the messages cover each position after the resume once.
    assert resumed.covered() == list(range(last_seen + 1, max(later) + 1))
    keys = [c["key"] for m in resumed.messages for c in m["changes"]]
    assert len(keys) == len(set(keys)) == len(missed + later)
    assert all(m["changes"][0]["table"] == "incidents" for m in resumed.messages)


def test_filter_by_country_and_by_actor_name(tmp_path):
    server = Process(["serve"], sqlite_env(tmp_path), free_port())
    with running(server):
        jordan = Collector(server.url, after=0, country="JO").start()
        httpx.post(
            f"{server.url}/actors",
            json={"name": "US forces", "aliases": [{"name": "soldats américains"}]},
            headers=auth(server.url),
        )
        by_actor = Collector(server.url, after=0, actor="US forces").start()
        positions = file(server.url, [report(1, "IQ"), report(2, "JO"), report(3, "SY")])
        assert jordan.wait_for({positions[1]})
        assert by_actor.wait_for(set(positions))
        time.sleep(0.5)
        jordan.stop()
        by_actor.stop()
    assert [c["doc"]["countries"] for m in jordan.messages for c in m["changes"]] == [["JO"]]
    assert jordan.covers(positions[1])
    assert all("JO" in c["doc"]["countries"] for m in jordan.messages for c in m["changes"])


def test_a_stuck_subscriber_does_not_delay_another(tmp_path):
    # Changes are coalesced per commit: 30 filings make about 30 messages, more than
    # a buffer of 10 holds.
    env = sqlite_env(tmp_path, TIMELINE_SUBSCRIBER_BUFFER="10")
    server = Process(["serve"], env, free_port())
    with running(server):
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", server.port))
        stuck.sendall(b"GET /subscribe/timeline?after=0 HTTP/1.1\r\nHost: x\r\n\r\n")
        reader = Collector(server.url, after=0).start()
        filed: list[int] = []
        started = time.monotonic()
        # ~7 MB in all: more than the kernel (up to 4 MB) and the server buffer hold.
        bulky = "x" * 4_000
        for batch in range(30):
            filed += file(server.url, [report(batch * 50 + n, excerpt=bulky) for n in range(50)])
        assert reader.wait_for(set(filed), timeout=60), (len(reader.ids), reader.events[-3:])
        elapsed = time.monotonic() - started
        reader.stop()
        covered = reader.covered()
        assert len(covered) == len(set(covered)) and set(filed) <= set(covered)
        keys = [c["key"] for m in reader.messages for c in m["changes"]]
        assert len(keys) == len(set(keys)) == len(filed)
        assert elapsed < 60
        # The stuck one was dropped (told so, if it ever reads): its stream ends short.
        stuck.settimeout(5)
        received, ended, deadline = b"", False, time.monotonic() + 30
        while time.monotonic() < deadline:
            chunk = stuck.recv(1 << 20)
            if not chunk:
                ended = True
                break
            received += chunk
        stuck.close()
        assert ended, "the stuck subscriber was never dropped"
        assert received.startswith(b"HTTP/1.1 200")
        # It got the changes in order, without a gap, and not all of them; if it was
        # told (rather than dropped by the send timeout), that was the last word and
        # named the last position it was sent.
        events = sse_events(received)
        changes = [e for e in events if e["event"] == "change"]
        ids = [int(e["id"]) for e in changes]
        covered = [
            p for e in changes for p in range(json.loads(e["data"])["after"] + 1, int(e["id"]) + 1)
        ]
        assert covered == filed[: len(covered)]
        assert len(covered) < len(filed)
        names = [e["event"] for e in events]
        assert set(names) <= {"change", "overflow"}
        if "overflow" in names:
            assert names.index("overflow") == len(names) - 1
            assert json.loads(events[-1]["data"])["after"] == ids[-1]
        assert httpx.get(f"{server.url}/readyz").status_code == 200


def sse_events(raw: bytes) -> list[dict[str, str]]:
    """The complete SSE events of a raw HTTP/1.1 response (chunked, maybe cut short)."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    body = b""
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        body += rest[:size]  # a chunk cut short by the drop keeps what arrived
        rest = rest[size + 2 :]
    text = body.decode("utf-8", errors="replace").replace("\r\n", "\n")
    events = []
    for block in text.split("\n\n")[:-1]:  # the last one may be cut short
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            if name in ("id", "event", "data"):
                fields[name] = value.removeprefix(" ")
        if "event" in fields:  # not a ping comment
            events.append(fields)
    return events


def test_sse_events_reads_chunks_and_ignores_a_cut_event():
    def chunk(data: bytes) -> bytes:
        return f"{len(data):x}\r\n".encode() + data + b"\r\n"

    cut = b'event: overflow\r\ndata: {"after": 5}\r\n\r\nid: 6\r\nevent: change\r\n'
    raw = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        + chunk(b"id: 5\r\nevent: change\r\ndata: {}\r\n\r\n")
        + chunk(b": ping\r\n\r\n")
        + chunk(cut + b"data: {}\r\n\r\n")[: -len(b"data: {}\r\n\r\n\r\n")]
    )
    assert sse_events(raw) == [
        {"id": "5", "event": "change", "data": "{}"},
        {"event": "overflow", "data": '{"after": 5}'},
    ]


def test_websocket_gets_the_same_messages(tmp_path):
    server = Process(["serve"], sqlite_env(tmp_path), free_port())
    with running(server):
        positions = file(server.url, [report(1), report(2)])
        with ws_connect(f"ws://127.0.0.1:{server.port}/ws/timeline?after=0") as ws:
            frames = [json.loads(ws.recv(timeout=10))]
            while frames[-1]["id"] < positions[-1]:
                frames.append(json.loads(ws.recv(timeout=10)))
            more = file(server.url, [report(3)])
            frames.append(json.loads(ws.recv(timeout=10)))
    covered = [p for f in frames for p in range(f["data"]["after"] + 1, f["id"] + 1)]
    assert covered == list(range(1, more[0] + 1))
    assert len([c for f in frames for c in f["data"]["changes"]]) == 3
    assert all(f["event"] == "change" and f["data"]["view"] == "timeline" for f in frames)


def test_cli_subscribe_prints_updates(tmp_path):
    server = Process(["serve"], sqlite_env(tmp_path), free_port())
    with running(server):
        positions = file(server.url, [report(1), report(2)])
        printed = subprocess.run(
            [
                *TIMELINE,
                "subscribe",
                "timeline",
                "--after",
                "0",
                "--count",
                "1",
                "--api",
                server.url,
            ],
            capture_output=True,
            timeout=30,
            check=True,
        )
    lines = [json.loads(line) for line in printed.stdout.splitlines()]
    # Filed together, the two reports come coalesced in one message.
    assert [(line["after"], line["position"]) for line in lines] == [(0, positions[-1])]
    assert len(lines[0]["changes"]) == 2


def test_server_shutdown_ends_streams_cleanly(tmp_path):
    server = Process(["serve"], sqlite_env(tmp_path), free_port())
    with running(server):
        subscriber = Collector(server.url, after=0).start()
        positions = file(server.url, [report(1)])
        assert subscriber.wait_for(set(positions))
        server.stop()  # SIGTERM
        subscriber.stop()
    assert subscriber.events[-1] == "end", subscriber.events
    # uvicorn exits by re-raising SIGTERM once shut down; -9 would mean it hung.
    assert server.proc is not None and server.proc.returncode in (0, -15)


def test_subscribers_beyond_the_limit_get_503(tmp_path):
    server = Process(["serve"], sqlite_env(tmp_path, TIMELINE_MAX_SUBSCRIBERS="1"), free_port())
    with running(server):
        first = Collector(server.url, after=0).start()
        positions = file(server.url, [report(1)])
        assert first.wait_for(set(positions))
        refused = httpx.get(f"{server.url}/subscribe/timeline")
        assert refused.status_code == 503 and "retry-after" in refused.headers
        with (
            pytest.raises(Exception, match=r"1013|too many"),
            ws_connect(f"ws://127.0.0.1:{server.port}/ws/timeline") as ws,
        ):
            ws.recv(timeout=5)
        first.stop()


def test_unknown_view_is_refused(tmp_path):
    server = Process(["serve"], sqlite_env(tmp_path), free_port())
    with running(server):
        assert httpx.get(f"{server.url}/subscribe/nope").status_code == 422


@pytest.fixture
def postgres_schema():
    require_postgres()
    schema = f"subs_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_postgres_runner_failover_delivers_every_update_exactly_once(postgres_schema):
    env = {
        "TIMELINE_DATABASE_URL": POSTGRES_URL,
        "TIMELINE_POSTGRES_SCHEMA": postgres_schema,
        "TIMELINE_POSTGRES_POOL_SIZE": "4",
        "TIMELINE_VIEWS_POOL_SIZE": "5",
        **FAST,
    }
    api_env = {**env, "TIMELINE_RUN_PROJECTIONS": "false"}
    runner, standby = Process(["project"], env), Process(["project"], env)
    one, two = Process(["serve"], api_env, free_port()), Process(["serve"], api_env, free_port())
    with running(runner):
        time.sleep(2)  # the first runner takes every view's lock
        with running(standby, one, two):
            subscribers = [Collector(api.url, after=0).start() for api in (one, two)]
            filed = file(one.url, [report(n) for n in range(10)])
            filed += file(two.url, [report(n) for n in range(10, 20)])
            for subscriber in subscribers:
                assert subscriber.wait_for(set(filed)), (subscriber.ids, subscriber.error)
            runner.kill()  # SIGKILL: no goodbye, its locks go with its connections
            killed_at = time.monotonic()
            after_kill = file(one.url, [report(n) for n in range(20, 30)])
            after_kill += file(two.url, [report(n) for n in range(30, 40)])
            for subscriber in subscribers:
                assert subscriber.wait_for(set(after_kill), timeout=30), (
                    subscriber.ids,
                    subscriber.error,
                    standby.output(),
                )
            takeover = time.monotonic() - killed_at
            for subscriber in subscribers:
                subscriber.stop()
    everything = sorted(filed + after_kill)
    for subscriber in subscribers:  # each position exactly once, in order
        covered = subscriber.covered()
        assert covered == sorted(covered) and len(covered) == len(set(covered))
        assert set(everything) <= set(covered)
    assert takeover < 15


def test_an_entry_that_leaves_the_filter_is_withdrawn(tmp_path):
    server = Process(["serve"], sqlite_env(tmp_path), free_port())
    with running(server):
        iraq = Collector(server.url, after=0, country="IQ").start()
        (filed,) = file(server.url, [report(1, "IQ", key="moves-to-syria")])
        assert iraq.wait_for({filed})
        report_id = httpx.get(f"{server.url}/events?after=0").text.splitlines()[0]
        report_id = json.loads(report_id)["originator_id"]
        corrected = httpx.post(
            f"{server.url}/reports/{report_id}/corrections",
            json={
                "changes": {"places": [{"name": "Deir ez-Zor", "country": "SY"}]},
                "reason": "it was in Syria",
                "corrected_by": "AFP desk",
            },
            headers=auth(server.url),
        )
        assert corrected.status_code == 201, corrected.text
        assert iraq.wait_for({corrected.json()["position"]})
        iraq.stop()
    ops = [(c["op"], c.get("left_filter", False)) for m in iraq.messages for c in m["changes"]]
    assert ops == [("upsert", False), ("remove", True)]
    assert iraq.messages[-1]["changes"][0]["doc"]["countries"] == ["SY"]


def test_a_rollup_subscription_follows_actors_placed_within_later(tmp_path):
    server = Process(["serve"], sqlite_env(tmp_path), free_port())
    with running(server):
        ids = {}
        for name in ("Parent Corps", "Late Unit"):
            answer = httpx.post(
                f"{server.url}/actors", json={"name": name}, headers=auth(server.url)
            )
            assert answer.status_code == 201, answer.text
            ids[name] = answer.json()["id"]
        corps = Collector(server.url, actor="Parent Corps", rollup="true").start()
        time.sleep(0.5)  # subscribed before the unit is placed within the corps
        placed = httpx.put(
            f"{server.url}/actors/{ids['Late Unit']}/parent",
            json={"parent_id": ids["Parent Corps"]},
            headers=auth(server.url),
        )
        assert placed.status_code == 200, placed.text
        body = report(4)
        body["actors"] = [{"name": "Late Unit", "role": "perpetrator"}]
        (filed,) = file(server.url, [body])
        assert corps.wait_for({filed}), (corps.ids, corps.error)
        corps.stop()
    actors = [a["name"] for m in corps.messages for c in m["changes"] for a in c["doc"]["actors"]]
    assert "Late Unit" in actors


def test_live_entries_carry_their_likely_duplicates_and_drop_them_when_decided(tmp_path):
    server = Process(["serve"], sqlite_env(tmp_path), free_port())
    with running(server):
        headers = auth(server.url)
        for name in ("United States", "Kataeb Hezbollah"):
            made = httpx.post(f"{server.url}/actors", json={"name": name}, headers=headers)
            assert made.status_code == 201, made.text
        live = Collector(server.url, after=0).start()

        def attack(outlet: str, place: dict) -> dict:
            return {
                "kind": "attack",
                "when": "2024-01-28",
                "places": [place],
                "actors": [
                    {"name": "United States", "role": "target"},
                    {"name": "Kataeb Hezbollah", "role": "claimant"},
                ],
                "source": {"outlet": outlet, "language": "en"},
            }

        tower = {"name": "Tower 22", "country": "JO", "latitude": 33.32, "longitude": 38.69}
        rukban = {"name": "Rukban", "country": "JO", "latitude": 33.3, "longitude": 38.75}
        filed = [
            httpx.post(f"{server.url}/reports", json=attack(outlet, place), headers=headers)
            for outlet, place in (("AFP", tower), ("CENTCOM", rukban))
        ]
        wire, communique = (f"report:{answer.json()['id']}" for answer in filed)
        assert live.wait_for({filed[-1].json()["position"]})
        latest: dict[str, dict] = {}
        for message in live.messages:
            latest.update({c["key"]: c["doc"] for c in message["changes"]})
        # The second report made the pair: both entries say so, live.
        assert [d["incident"] for d in latest[wire]["possible_duplicates"]] == [communique]
        assert [d["incident"] for d in latest[communique]["possible_duplicates"]] == [wire]

        distinct = httpx.post(
            f"{server.url}/decisions/distinct",
            json={"incidents": [wire, communique], "reason": "two attacks, two bases"},
            headers=headers,
        )
        assert distinct.status_code == 201, distinct.text
        assert live.wait_for({distinct.json()["position"]})
        live.stop()
    last = live.messages[-1]
    assert sorted(c["key"] for c in last["changes"]) == sorted([wire, communique])
    assert all(c["doc"]["possible_duplicates"] == [] for c in last["changes"])
