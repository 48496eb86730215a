"""`timeline serve` runs its view runners in a child process: it is woken by
writes, followed by the API, dies with its parent and is restarted if it dies alone."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import Process, auth, free_port, report, running

pytestmark = pytest.mark.timeout(180)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def _wait(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _file_and_read(url: str, key: str) -> dict:
    with httpx.Client(timeout=10, headers=auth(url)) as client:
        filed = client.post(f"{url}/reports", json=report(1, key=key))
        assert filed.status_code == 201, filed.text
        position = filed.json()["position"]
        # min_position waits for the runner process to apply it (or answers 503).
        answer = client.get(f"{url}/timeline", params={"min_position": position})
        assert answer.status_code == 200, answer.text
        assert answer.json()["position"] >= position
        return answer.json()


def test_runners_in_a_child_process_follow_writes_and_restart(store_env):
    server = Process(["serve"], store_env, free_port())
    with running(server):
        assert server.proc is not None
        _wait(lambda: len(_children(server.proc.pid)) == 1)
        child = _children(server.proc.pid)[0]
        assert "project" in Path(f"/proc/{child}/cmdline").read_text()
        _file_and_read(server.url, "first")

        os.kill(child, signal.SIGKILL)  # it dies alone: the service restarts it
        _wait(lambda: [c for c in _children(server.proc.pid) if c != child and _alive(c)] != [])
        timeline = _file_and_read(server.url, "second")
        assert len(timeline["entries"]) == 2


def test_the_child_dies_with_its_parent_even_on_sigkill(store_env):
    server = Process(["serve"], store_env, free_port())
    with running(server):
        assert server.proc is not None
        _wait(lambda: len(_children(server.proc.pid)) == 1)
        child = _children(server.proc.pid)[0]
        server.kill()
        _wait(lambda: not _alive(child))
    # A new service over the same store takes the views over and catches up.
    again = Process(["serve"], store_env, free_port())
    with running(again):
        _file_and_read(again.url, "after-restart")


def test_runners_can_stay_in_the_api_process(store_env):
    server = Process(["serve", "--runners", "thread"], store_env, free_port())
    with running(server):
        assert server.proc is not None
        _file_and_read(server.url, "threaded")
        assert _children(server.proc.pid) == []
