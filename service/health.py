"""Is the store reachable? Fast answers during an outage.

eventsourcing retries a failed PostgreSQL call ten times, each waiting for the
pool: during an outage a request could hang for most of a minute. Once any
call has failed, requests are instead answered 503 at once, with Retry-After,
until a direct probe (a fresh connection and `SELECT 1`, at most once a
second) finds the store back. Nothing is written while it is down.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

PROBE_INTERVAL = 1.0


class StoreHealth:
    def __init__(self, probe: Any) -> None:
        self._probe = probe
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self._checked = 0.0

    def mark_down(self) -> None:
        with self._lock:
            if self.down_since is None:
                self.down_since = time.monotonic()

    def probe(self) -> bool:
        """Probe now; records the answer."""
        try:
            self._probe()
        except Exception:
            self.mark_down()
            return False
        with self._lock:
            self.down_since = None
        return True

    def available(self) -> bool:
        """True unless known down; re-probes a down store at most once a second."""
        with self._lock:
            if self.down_since is None:
                return True
            if time.monotonic() - self._checked < PROBE_INTERVAL:
                return False
            self._checked = time.monotonic()
        return self.probe()


async def store_available(connection: HTTPConnection) -> None:
    """Router dependency: 503 at once while the store is known to be down."""
    health: StoreHealth = connection.app.state.health
    if health.down_since is not None and not await run_in_threadpool(health.available):
        raise HTTPException(
            503,
            "event store unavailable; nothing was written, retry later",
            headers={"Retry-After": "2"},
        )
