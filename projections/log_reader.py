"""Reading the stored log as plain JSON, without rebuilding domain objects.

The content of every event was validated when it was written. Projecting it
again through the domain classes (pydantic models, datetimes, UUIDs) costs
ten times more than parsing it, so the read side takes the stored state as
orjson parses it and unwraps the transcoder's typed values into their JSON
form: a UUID as its canonical text, a datetime as its ISO text, a value
object as the dict its model would dump. Versioned events are upcast on that
dict with the event class's own `upcast_vN_vN+1` methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.utils import resolve_topic


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One event of the log as the read side sees it."""

    position: int
    type: str  # "Report.Filed", "Actor.AliasAdded", ...
    originator_id: str
    originator_version: int
    state: dict[str, Any]  # plain JSON values, upcast to the class's current version

    @property
    def recorded_at(self) -> str:
        return self.state["timestamp"]


def plain(value: Any) -> Any:
    """A stored value with the transcoder's `{"_type_", "_data_"}` wrappers unwrapped."""
    kind = type(value)
    if kind is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            data = value["_data_"]
            if value["_type_"] == "uuid_hex":
                return str(UUID(data))
            # datetime_iso, date_iso, decimal_str, or a value object's own JSON,
            # which pydantic wrote and which holds no wrappers.
            return data
        return {key: plain(item) for key, item in value.items()}
    if kind is list:
        return [plain(item) for item in value]
    return value


@lru_cache(maxsize=64)
def _event_class(topic: str) -> tuple[str, type[Any]]:
    cls = resolve_topic(topic)
    return cls.__qualname__, cls


def upcast(cls: type[Any], state: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored state to the event class's current version, on the dict."""
    version = state.pop("class_version", 1)
    current = getattr(cls, "class_version", 1)
    while version < current:
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
    return state


def decode(notification: Any) -> LoggedEvent:
    name, cls = _event_class(notification.topic)
    state = upcast(cls, plain(orjson.loads(notification.state)))
    return LoggedEvent(
        position=notification.id,
        type=name,
        originator_id=str(notification.originator_id),
        originator_version=notification.originator_version,
        state=state,
    )


def read(app: Any, start: int, limit: int, stop: int | None = None) -> list[LoggedEvent]:
    """Events from position `start` on, at most `limit`, positions up to `stop`."""
    return [decode(n) for n in app.recorder.select_notifications(start, limit, stop=stop)]
