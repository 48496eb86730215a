"""Turns stored notifications into the public log record (one NDJSON line each)."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Notification, Transcoder

from domain.application import EVENT_TYPE_BY_TOPIC

_HIDDEN = ("timestamp", "originator_topic", "class_version")


def event_type(topic: str) -> str:
    return EVENT_TYPE_BY_TOPIC.get(topic) or topic.partition(":")[2]


def log_record(notification: Notification, transcoder: Transcoder) -> dict[str, Any]:
    state = transcoder.decode(notification.state)
    return {
        "position": notification.id,
        "type": event_type(notification.topic),
        "recorded_at": state.get("timestamp"),
        "originator_id": notification.originator_id,
        "originator_version": notification.originator_version,
        "schema_version": state.get("class_version", 1),
        "data": {k: v for k, v in state.items() if k not in _HIDDEN},
    }
