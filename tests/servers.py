"""Real service processes and real SSE clients for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
from httpx_sse import connect_sse

ROOT = Path(__file__).resolve().parent.parent
TIMELINE = [sys.executable, "-m", "service.cli"]
TOKENS: dict[str, str] = {}  # service URL -> an API key for writes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A `timeline` command in its own process (serve or project)."""

    def __init__(self, args: list[str], env: dict[str, str], port: int | None = None) -> None:
        self.args, self.env, self.port = args, env, port
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"timeline-{os.getpid()}-{id(self)}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Process:
        if self.port is not None:  # a service: give the tests a key to write with
            issued = subprocess.run(
                [*TIMELINE, "keys", "create", "tests"],
                cwd=ROOT,
                env={**os.environ, **self.env},
                capture_output=True,
            )
            assert issued.returncode == 0, issued.stderr.decode(errors="replace")[-3000:]
            self.token = issued.stdout.decode().strip()
            TOKENS[self.url] = self.token
        command = [*TIMELINE, *self.args]
        if self.port is not None:
            command += ["--port", str(self.port)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env={**os.environ, **self.env}, stdout=log, stderr=log
            )
        if self.port is not None:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.output()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{self.args} did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def running(*processes: Process) -> Iterator[tuple[Process, ...]]:
    try:
        for process in processes:
            process.start()
        yield processes
    finally:
        for process in processes:
            process.stop()
        for process in processes:
            with contextlib.suppress(OSError):
                process.log.unlink()


class Collector:
    """An SSE client in a thread, keeping every message it receives."""

    def __init__(self, url: str, view: str = "timeline", **params: Any) -> None:
        self.url, self.view = url, view
        self.params = {k: str(v) for k, v in params.items() if v is not None}
        self.headers: dict[str, str] = {}
        self.messages: list[dict[str, Any]] = []
        self.ids: list[int] = []
        # The positions (after, id] each message covers: changes are coalesced,
        # so one message can stand for several positions.
        self.ranges: list[tuple[int, int]] = []
        self.events: list[str] = []
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self, last_event_id: int | None = None) -> Collector:
        self.headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10, read=2)) as client,
                connect_sse(
                    client,
                    "GET",
                    f"{self.url}/subscribe/{self.view}",
                    params=self.params,
                    headers=self.headers,
                ) as source,
            ):
                source.response.raise_for_status()
                iterator = source.iter_sse()
                while not self._stop.is_set():
                    try:
                        event = next(iterator)
                    except httpx.ReadTimeout:
                        return
                    except StopIteration:
                        return
                    with self._changed:
                        self.events.append(event.event)
                        if event.event == "change":
                            self.ids.append(int(event.id))
                            self.messages.append(orjson.loads(event.data))
                            self.ranges.append((self.messages[-1]["after"], int(event.id)))
                        self._changed.notify_all()
        except BaseException as error:  # reported by the test
            self.error = error

    def covers(self, position: int) -> bool:
        return any(after < position <= upto for after, upto in self.ranges)

    def covered(self) -> list[int]:
        """Every position the messages received cover, in order (a repeat shows twice)."""
        return [p for after, upto in self.ranges for p in range(after + 1, upto + 1)]

    def wait_for(self, positions: set[int], timeout: float = 20) -> bool:
        """Until messages covering every one of `positions` have come."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not all(self.covers(p) for p in positions):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def report(
    day: int, country: str = "IQ", key: str | None = None, excerpt: str | None = None
) -> dict[str, Any]:
    """A report that is its own incident, so each one changes the timeline.

    Its summary names `day`, so that reports for different days are different
    reports even without a key (an unkeyed report is keyed by its content)."""
    body: dict[str, Any] = {
        "kind": "attack",
        "summary": f"report {day}",
        "excerpt": excerpt,
        "when": f"2024-01-{day % 28 + 1:02d}",
        "places": [{"name": "somewhere", "country": country}],
        "actors": [{"name": "soldats américains", "role": "target"}],
        "source": {"outlet": "AFP", "language": "fr"},
    }
    if key:
        body["key"] = key
    return body


def auth(url: str) -> dict[str, str]:
    """The Authorization header for writes to the service at `url`."""
    return {"Authorization": f"Bearer {TOKENS[url]}"}


def file(url: str, reports: list[dict[str, Any]]) -> list[int]:
    """File reports through the API in one NDJSON batch; their log positions."""
    answer = httpx.post(
        f"{url}/reports",
        content=b"\n".join(orjson.dumps(r) for r in reports),
        headers={"content-type": "application/x-ndjson", **auth(url)},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return [item["position"] for item in answer.json()["reports"]]
