"""Crashes and outages: nothing acknowledged is lost, nothing half-written appears.

Real uvicorn processes, killed with SIGKILL mid-stream; a PostgreSQL made
unreachable (through a TCP proxy this test controls) while the service runs.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
import uuid

import httpx
import orjson
import psycopg
import pytest

from domain.reports import report_id_for_key
from tests.conftest import POSTGRES_URL, require_postgres
from tests.servers import TIMELINE, Process, auth, free_port, report, running

pytestmark = pytest.mark.timeout(240)

CLIENTS = 6
BATCH = 10


def _ingest_until(
    url: str,
    stop: threading.Event,
    client_no: int,
    acked: dict[str, str],
    batches: dict[str, list[str]],
) -> None:
    headers = auth(url)
    with httpx.Client(timeout=5, headers=headers) as client:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if n % 4 == 0:
                    keys = [f"c{client_no}-b{n}-{j}" for j in range(BATCH)]
                    batches[keys[0]] = keys
                    answer = client.post(
                        f"{url}/reports",
                        content=b"\n".join(
                            orjson.dumps(report(n + j, key=k)) for j, k in enumerate(keys)
                        ),
                        headers={"content-type": "application/x-ndjson"},
                    )
                    if answer.status_code in (200, 201):
                        for item, key in zip(answer.json()["reports"], keys, strict=True):
                            acked[key] = item["id"]
                else:
                    key = f"c{client_no}-s{n}"
                    answer = client.post(f"{url}/reports", json=report(n, key=key))
                    if answer.status_code in (200, 201):
                        acked[key] = answer.json()["id"]
            except httpx.HTTPError:
                time.sleep(0.01)  # the server is gone: keep trying until told to stop


def test_sigkill_mid_stream_loses_no_acknowledged_report(store_env):
    env = {**store_env, "TIMELINE_SSE_HEARTBEAT_SECONDS": "1"}
    server = Process(["serve"], env, free_port())
    acked: dict[str, str] = {}
    batches: dict[str, list[str]] = {}
    stop = threading.Event()
    with running(server):
        token = server.token
        threads = [
            threading.Thread(target=_ingest_until, args=(server.url, stop, n, acked, batches))
            for n in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acked) < 40 and time.monotonic() < deadline:  # load under way
            time.sleep(0.1)
        time.sleep(0.3)
        server.kill()  # SIGKILL mid-stream: no shutdown, no flush
        stop.set()
        for thread in threads:
            thread.join()
    assert len(acked) > 20, "the load never got going"

    server = Process(["serve"], env, free_port())
    with running(server):
        log = [
            orjson.loads(line) for line in httpx.get(f"{server.url}/events").content.splitlines()
        ]
        filed = [e for e in log if e["type"] == "Report.Filed"]
        keys = [e["data"]["key"] for e in filed]
        assert len(keys) == len(set(keys)), "a report was written twice"
        present = set(keys)
        # Every acknowledged report is there, with the id it was acknowledged with.
        missing = [k for k in acked if k not in present]
        assert not missing, f"acknowledged but lost: {missing[:5]}"
        assert all(str(report_id_for_key(k)) == acked[k] for k in acked)
        by_id = {e["originator_id"]: e for e in filed}
        assert all(by_id[acked[k]]["data"]["key"] == k for k in acked)
        # A batch is all there or not at all, acknowledged or not.
        for keys_of_batch in batches.values():
            count = sum(k in present for k in keys_of_batch)
            assert count in (0, BATCH), f"half a batch: {count} of {BATCH}"
        # The views catch up and equal a rebuild from the log.
        head = log[-1]["position"]
        deadline = time.monotonic() + 90
        while True:  # read-your-writes: 503 + Retry-After until the views have caught up
            caught_up = httpx.get(
                f"{server.url}/timeline", params={"min_position": head, "limit": 1000}
            )
            if caught_up.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(float(caught_up.headers["retry-after"]) / 4)
        assert caught_up.status_code == 200, caught_up.text
        served = caught_up.json()["entries"]
        assert len(served) == len(present)  # each report is its own incident
        rebuilt = subprocess.run(
            [*TIMELINE, "replay", "--projection", "timeline"],
            env={**os.environ, **env},
            capture_output=True,
            check=True,
            timeout=120,
        )
        assert b"rebuilt" in rebuilt.stdout
        after = httpx.get(f"{server.url}/timeline", params={"limit": 1000}).json()["entries"]
        assert after == served
    assert token  # the key survived the crash too (it was used after restart)


class Proxy:
    """A TCP forwarder we can cut: the store becomes unreachable, then comes back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._links: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                inbound, _ = listener.accept()
            except OSError:
                return
            try:
                outbound = socket.create_connection(self.target)
            except OSError:
                inbound.close()
                continue
            with self._lock:
                self._links += [inbound, outbound]
            for a, b in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone does not.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for link in self._links:
                with contextlib.suppress(OSError):
                    link.shutdown(socket.SHUT_RDWR)
                link.close()
            self._links.clear()


def test_postgres_outage_answers_503_writes_nothing_and_recovers():
    require_postgres()
    schema = f"outage_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    proxy = Proxy(("127.0.0.1", 5432))
    proxy.start()
    env = {
        "TIMELINE_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{proxy.port}/test",
        "TIMELINE_POSTGRES_SCHEMA": schema,
    }
    server = Process(["serve"], env, free_port())
    try:
        with running(server):
            first = httpx.post(
                f"{server.url}/reports", json=report(1, key="before"), headers=auth(server.url)
            )
            assert first.status_code == 201
            proxy.cut()
            ready = httpx.get(f"{server.url}/readyz", timeout=30)
            assert ready.status_code == 503 and "retry-after" in ready.headers
            during = httpx.post(
                f"{server.url}/reports",
                json=report(2, key="during"),
                headers=auth(server.url),
                timeout=30,
            )
            assert during.status_code == 503, during.text
            assert "retry-after" in during.headers
            proxy.start()  # the store is back: no restart of the service
            deadline = time.monotonic() + 30
            while httpx.get(f"{server.url}/readyz", timeout=30).status_code != 200:
                assert time.monotonic() < deadline, "never recovered"
                time.sleep(0.5)
            after = httpx.post(
                f"{server.url}/reports",
                json=report(3, key="after"),
                headers=auth(server.url),
                timeout=30,
            )
            assert after.status_code == 201, after.text
            log = [
                orjson.loads(line)
                for line in httpx.get(f"{server.url}/events").content.splitlines()
            ]
            assert [e["data"]["key"] for e in log] == ["before", "after"]  # nothing from "during"
            views = httpx.get(
                f"{server.url}/timeline", params={"min_position": log[-1]["position"]}, timeout=30
            )
            assert views.status_code == 200 and len(views.json()["entries"]) == 2
    finally:
        proxy.cut()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
