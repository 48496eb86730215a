"""One live message, encoded at most once per wire format, whoever receives it.

The broker hands the same `Update` to every subscriber of a view whose filter
keeps the same changes, so with 100 subscribers a change is serialised to JSON
and framed as SSE once, not 100 times. Encoding is lazy: a message nobody
receives over WebSocket is never framed for it.
"""

from __future__ import annotations

from typing import Any

from sse_starlette.sse import ServerSentEvent

from service.responses import dumps

CHANGE = "change"
OVERFLOW = "overflow"
END = "end"


class Update:
    __slots__ = ("_sse", "_websocket", "event", "payload", "position")

    def __init__(self, event: str, payload: dict[str, Any], position: int | None) -> None:
        self.event = event
        self.payload = payload
        self.position = position  # the SSE id; None for the closing messages
        self._sse: bytes | None = None
        self._websocket: str | None = None

    @classmethod
    def change(cls, message: dict[str, Any]) -> Update:
        return cls(CHANGE, message, message["position"])

    @classmethod
    def overflow(cls, after: int) -> Update:
        return cls(OVERFLOW, {"detail": "subscriber fell behind; resume", "after": after}, None)

    @classmethod
    def end(cls, after: int) -> Update:
        return cls(END, {"detail": "server shutting down; resume", "after": after}, None)

    @property
    def final(self) -> bool:
        return self.event != CHANGE

    @property
    def sse(self) -> bytes:
        """The SSE frame (`id`, `event`, `data`), framed by sse-starlette itself."""
        if self._sse is None:
            self._sse = ServerSentEvent(
                data=dumps(self.payload).decode(),
                event=self.event,
                id=None if self.position is None else str(self.position),
            ).encode()
        return self._sse

    @property
    def websocket_text(self) -> str:
        """One JSON text frame: `{"event": ..., "data": ..., "id": position}`."""
        if self._websocket is None:
            frame: dict[str, Any] = {"event": self.event, "data": self.payload}
            if self.position is not None:
                frame["id"] = self.position
            self._websocket = dumps(frame).decode()
        return self._websocket
