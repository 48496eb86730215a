"""Waking view runners in another process on the same machine.

When the view runners live in their own process (`timeline serve` starts one,
so that projecting does not share the API's interpreter lock), the API tells
them of a commit with one datagram on a Linux abstract Unix socket named after
the store. It costs a system call, needs no file, and a lost datagram costs
only latency: runners still poll the log every half second.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
from collections.abc import Callable
from typing import Any


class WakeChannel:
    def __init__(self, store_identity: str) -> None:
        digest = hashlib.sha1(store_identity.encode()).hexdigest()[:24]
        self.address = f"\0timeline-wake-{digest}"
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)

    def send(self, *_: Any) -> None:
        """Wake whoever listens; nobody listening, or a full queue, is fine."""
        with contextlib.suppress(OSError):
            self._sender.sendto(b"w", self.address)

    def listen(self, stopping: threading.Event, on_wake: Callable[[], None]) -> None:
        """Call `on_wake` for every datagram until `stopping`, in a thread.

        One process at a time holds the address; a standby runner keeps trying
        to take it, and meanwhile relies on polling.
        """

        def receive() -> None:
            while not stopping.is_set():
                receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                try:
                    receiver.bind(self.address)
                except OSError:
                    receiver.close()
                    stopping.wait(1.0)
                    continue
                receiver.settimeout(0.5)
                with receiver:
                    while not stopping.is_set():
                        try:
                            receiver.recv(64)
                        except TimeoutError:
                            continue
                        on_wake()
                return

        threading.Thread(target=receive, name="views-wake", daemon=True).start()

    def close(self) -> None:
        self._sender.close()
