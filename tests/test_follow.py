"""Following the log (`GET /events?follow=true`, `GET /subscribe/events`) through real
uvicorn processes on SQLite and PostgreSQL: under concurrent ingest, across a
restart, a slow consumer's overflow, and the CLI."""

from __future__ import annotations

import itertools
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import orjson
import pytest
from httpx_sse import connect_sse

from tests.servers import ROOT, TIMELINE, Process, auth, file, free_port, report, running

pytestmark = pytest.mark.timeout(240)

FAST = {"TIMELINE_SSE_HEARTBEAT_SECONDS": "1"}


class Server(Process):
    """A `timeline serve`, given time to start on a busy machine."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(["serve"], {**env, **FAST}, free_port())

    def wait_ready(self, timeout: float = 120) -> None:
        super().wait_ready(timeout)


def all_positions(url: str) -> list[int]:
    answer = httpx.get(f"{url}/events", timeout=30)
    assert answer.status_code == 200, answer.text
    return [orjson.loads(line)["position"] for line in answer.text.splitlines()]


class Writer:
    """Files reports through the API in a thread: single ones and small batches, each
    keyed, retried with the same keys while the service restarts."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.filed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def start(self) -> Writer:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for n in itertools.count():
                if self._stop.is_set():
                    return
                size = 1 if n % 2 else 5
                reports = [report(n * 10 + i, key=f"w-{n}-{i}") for i in range(size)]
                self._post(reports)
                self.filed += size
        except BaseException as error:  # reported by the test
            self.error = error

    def _post(self, reports: list[dict[str, Any]]) -> None:
        if len(reports) == 1:
            body, kind = orjson.dumps(reports[0]), "application/json"
        else:
            body, kind = b"\n".join(orjson.dumps(r) for r in reports), "application/x-ndjson"
        while True:
            try:
                answer = httpx.post(
                    f"{self.url}/reports",
                    content=body,
                    headers={"content-type": kind, **auth(self.url)},
                    timeout=30,
                )
            except httpx.TransportError:  # the service is restarting
                time.sleep(0.1)
                continue
            if answer.status_code in (200, 201):
                return
            assert answer.status_code in (401, 503), answer.text  # 401: the key of before
            time.sleep(0.1)

    def wait_for(self, count: int, timeout: float = 45) -> None:
        deadline = time.monotonic() + timeout
        while self.filed < count:
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"only {self.filed} filed"
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        assert self.error is None, self.error


class Follower:
    """A client following the log in a thread, reconnecting with its last position
    whenever the stream ends: over NDJSON (`after`) or SSE (`Last-Event-ID`)."""

    def __init__(self, url: str, mode: str, **params: Any) -> None:
        self.url, self.mode, self.params = url, mode, params
        self.positions: list[int] = []
        self.controls: list[dict[str, Any]] = []
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    @property
    def last(self) -> int:
        return self.positions[-1] if self.positions else 0

    def start(self) -> Follower:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with httpx.Client(timeout=httpx.Timeout(10, read=5)) as client:
                    (self._ndjson if self.mode == "ndjson" else self._sse)(client)
            except httpx.TransportError:  # the service is restarting
                time.sleep(0.1)
            except BaseException as error:  # reported by the test
                self.error = error
                return

    def _ndjson(self, client: httpx.Client) -> None:
        params = {**self.params, "follow": "true", "after": self.last}
        with client.stream("GET", f"{self.url}/events", params=params) as answer:
            assert answer.status_code == 200, answer.read()
            self.connections += 1
            for line in answer.iter_lines():
                item = orjson.loads(line)
                if "position" in item:
                    self.positions.append(item["position"])
                else:
                    self.controls.append(item)
                if self._stop.is_set():
                    return

    def _sse(self, client: httpx.Client) -> None:
        headers = {"Last-Event-ID": str(self.last)}
        url = f"{self.url}/subscribe/events"
        with connect_sse(client, "GET", url, params=self.params, headers=headers) as source:
            assert source.response.status_code == 200, source.response.read()
            self.connections += 1
            for event in source.iter_sse():
                if not event.data:  # a ping (an SSE comment)
                    continue
                data = orjson.loads(event.data)
                if event.event == "event":
                    assert int(event.id) == data["position"]
                    self.positions.append(data["position"])
                else:
                    self.controls.append(data)
                if self._stop.is_set():
                    return

    def wait_for(self, position: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.last < position:
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"at {self.last}, waiting for {position}"
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=20)
        assert self.error is None, self.error


@pytest.mark.parametrize("mode", ["ndjson", "sse"])
def test_a_follower_started_mid_ingest_gets_every_event_once_across_a_restart(store_env, mode):
    server = Server(store_env)
    with running(server):
        writer = Writer(server.url).start()
        writer.wait_for(20)
        follower = Follower(server.url, mode).start()  # mid-ingest, from the start
        writer.wait_for(writer.filed + 20)
        follower.wait_for(20, timeout=60)
        stopping = time.monotonic()
        server.stop()  # SIGTERM: the stream ends with `end`, the follower reconnects
        assert time.monotonic() - stopping < 10  # it did not wait for the stream
        assert server.proc is not None and server.proc.returncode in (0, -15)
        server.start()
        writer.wait_for(writer.filed + 20, timeout=60)
        writer.stop()
        positions = all_positions(server.url)
        follower.wait_for(positions[-1], timeout=60)
        time.sleep(0.5)  # anything sent twice would arrive now
        follower.stop()
    assert follower.positions == positions  # every event once, in log order
    assert len(positions) >= 60
    assert follower.connections >= 2
    ends = [c for c in follower.controls if c["type"] == "end"]
    assert len(ends) == 1 and 20 <= ends[0]["after"] < positions[-1], follower.controls
    assert "after=" in ends[0]["detail"]


def test_filters_apply_to_the_live_stream(store_env):
    server = Server(store_env)
    with running(server):
        file(server.url, [report(1), report(2)])
        events = [
            orjson.loads(line) for line in httpx.get(f"{server.url}/events").text.splitlines()
        ]
        target = events[-1]["originator_id"]
        by_report = Follower(server.url, "ndjson", report=target).start()
        by_type = Follower(server.url, "sse", type="Report.Corrected").start()
        correction = httpx.post(
            f"{server.url}/reports/{target}/corrections",
            json={"changes": {"summary": "corrected"}, "reason": "a test"},
            headers=auth(server.url),
        )
        assert correction.status_code == 201, correction.text
        file(server.url, [report(3)])
        corrected_at = correction.json()["position"]
        by_report.wait_for(corrected_at)
        by_type.wait_for(corrected_at)
        time.sleep(1.5)  # a heartbeat comes, and nothing else
        by_report.stop()
        by_type.stop()
    assert by_report.positions == [events[-1]["position"], corrected_at]
    assert by_type.positions == [corrected_at]
    # A heartbeat says how far the filtered stream has looked, past the last event.
    assert by_report.controls[-1]["type"] == "heartbeat"
    assert by_report.controls[-1]["after"] > corrected_at


def raw_follow(port: int, path: str) -> socket.socket:
    """A follower that reads nothing: a tiny receive window, so the server backs up."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return sock


def read_all(sock: socket.socket) -> bytes:
    sock.settimeout(20)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks)


def body_of(response: bytes) -> bytes:
    """The body of a raw HTTP response, de-chunked if it came in chunks."""
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    if b"transfer-encoding: chunked" not in head.lower():
        return body
    parts = []
    while body:
        size, _, body = body.partition(b"\r\n")
        length = int(size, 16)
        if length == 0:
            break
        parts.append(body[:length])
        body = body[length + 2 :]
    return b"".join(parts)


def test_a_slow_consumer_gets_overflow_and_resumes(store_env):
    server = Server({**store_env, "TIMELINE_SUBSCRIBER_BUFFER": "10"})
    with running(server):
        file(server.url, [report(0)])
        slow = raw_follow(server.port, "/events?follow=true&after=0")
        time.sleep(0.5)  # it has caught up and joined the live feed
        for start in range(0, 2_000, 500):
            file(server.url, [report(n, key=f"slow-{n}") for n in range(start, start + 500)])
        lines = [orjson.loads(line) for line in body_of(read_all(slow)).splitlines()]
        last = lines[-1]
        assert last["type"] == "overflow", last
        events = [line["position"] for line in lines if "position" in line]
        assert events == list(range(1, last["after"] + 1))  # nothing lost before it
        assert last["after"] < 2_001  # it fell behind
        rest = httpx.get(f"{server.url}/events", params={"after": last["after"]}).text.splitlines()
        resumed = [orjson.loads(line)["position"] for line in rest]
    assert events + resumed == list(range(1, 2_002))


def test_cli_subscribe_events_prints_the_log(tmp_path):
    server = Server({"TIMELINE_DATABASE_URL": f"sqlite:///{tmp_path}/timeline.sqlite3"})
    with running(server):
        positions = file(server.url, [report(1), report(2), report(3)])
        command = [*TIMELINE, "subscribe", "events", "--url", server.url]
        printed = subprocess.run(
            [*command, "--after", "1", "--type", "Report.Filed", "--count", "2"],
            capture_output=True,
            timeout=30,
            check=True,
        )
        misplaced = subprocess.run([*command, "--country", "IQ"], capture_output=True, timeout=30)
    lines = [orjson.loads(line) for line in printed.stdout.splitlines()]
    assert [(line["position"], line["type"]) for line in lines] == [
        (positions[1], "Report.Filed"),
        (positions[2], "Report.Filed"),
    ]
    assert misplaced.returncode == 2
    assert b"--type and --report" in misplaced.stderr


def readme_consumer(url: str) -> str:
    """The README's Python consumer, pointed at `url`."""
    section = (ROOT / "README.md").read_text().split("\n## Following the log\n", 1)[1]
    found = re.search(r"^```python\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)
    assert found is not None, "no ```python block under Following the log"
    code = found.group(1)
    assert "http://127.0.0.1:8000" in code
    return code.replace("http://127.0.0.1:8000", url)


def test_the_readme_consumer_resumes_after_restarts(tmp_path):
    server = Server({"TIMELINE_DATABASE_URL": f"sqlite:///{tmp_path}/timeline.sqlite3"})
    script = tmp_path / "consumer.py"
    saved = tmp_path / "last-position"

    def run(output: str) -> subprocess.Popen[bytes]:
        with (tmp_path / output).open("wb") as out:
            return subprocess.Popen(
                [sys.executable, str(script)], cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
            )

    def reaches(position: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not (saved.exists() and saved.read_text() == str(position)):
            assert time.monotonic() < deadline, saved.read_text() if saved.exists() else None
            time.sleep(0.05)

    with running(server):
        script.write_text(readme_consumer(server.url))
        first = file(server.url, [report(1), report(2), report(3)])
        consumer = run("first.out")
        reaches(first[-1])
        consumer.send_signal(signal.SIGKILL)  # the consumer dies
        consumer.wait(10)
        while_down = file(server.url, [report(4), report(5)])
        consumer = run("second.out")
        try:
            reaches(while_down[-1])
            server.stop()  # and the service restarts under it
            server.start()
            after_restart = file(server.url, [report(6)])
            reaches(after_restart[-1])
        finally:
            consumer.send_signal(signal.SIGKILL)
            consumer.wait(10)
    printed = [
        int(line.split()[0])
        for name in ("first.out", "second.out")
        for line in (tmp_path / name).read_text().splitlines()
    ]
    assert printed == first + while_down + after_restart  # each event once, in order
