"""`timeline serve`'s view runners, in a process of their own.

Projecting is CPU work in Python: in the API's process it competes with request
handling for one interpreter lock. As a child process (`timeline project`) it
gets a core of its own; it dies with its parent (PR_SET_PDEATHSIG), and is
restarted if it stops on its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading

log = logging.getLogger("timeline.runners")

_PR_SET_PDEATHSIG = 1
PARENT_VARIABLE = "TIMELINE_RUNNERS_PARENT"


def die_with_parent() -> None:
    """In the child: get SIGTERM when `timeline serve` goes, even by SIGKILL."""
    parent = os.environ.get(PARENT_VARIABLE)
    if not parent:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(parent):  # it went before we could ask
        os.kill(os.getpid(), signal.SIGTERM)


class RunnerProcess:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**os.environ, **env, PARENT_VARIABLE: str(os.getpid())}
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="runners", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "project"],
            env=self.env,
        )

    def _supervise(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            assert self._proc is not None
            code = self._proc.wait()
            if self._stopping.is_set() or code == 0:  # 0: it was asked to stop (Ctrl-C)
                return
            log.error("view runner process exited with %s; restarting in %.1fs", code, backoff)
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, 10.0)
            if not self._stopping.is_set():
                self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
