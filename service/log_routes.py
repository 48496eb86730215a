"""The ordered log as NDJSON: the replay primitive for clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from domain.application import EVENT_TYPES
from service.errors import unprocessable
from service.eventlog import log_record
from service.responses import OrjsonResponse, dumps
from service.schemas import MAX_POSITION

router = APIRouter(tags=["log"])

_PAGE = 1_000


@router.get(
    "/events",
    response_class=StreamingResponse,
    response_model=None,
    responses={
        200: {
            "description": "One LoggedEvent JSON object a line, in log order.",
            "content": {
                "application/x-ndjson": {"schema": {"$ref": "#/components/schemas/LoggedEvent"}}
            },
        },
        422: {"description": "Unknown event type or bad parameter."},
    },
)
async def read_log(
    request: Request,
    after: Annotated[
        int, Query(ge=0, le=MAX_POSITION, description="Only events after this log position.")
    ] = 0,
    limit: Annotated[
        int | None,
        Query(ge=1, le=MAX_POSITION, description="At most this many (default: to the end)."),
    ] = None,
    type: Annotated[list[str], Query(description=f"Event types: {', '.join(EVENT_TYPES)}")] = [],  # noqa: B006
    report: Annotated[
        UUID | None, Query(description="Only this report's (or actor's) events.")
    ] = None,
) -> StreamingResponse | OrjsonResponse:
    unknown = [t for t in type if t not in EVENT_TYPES]
    if unknown:
        return unprocessable(
            [
                {
                    "field": "type",
                    "msg": f"unknown event type {unknown[0]!r}; one of {', '.join(EVENT_TYPES)}",
                    "type": "enum",
                }
            ]
        )
    timeline = request.app.state.timeline
    index = request.app.state.log_index
    topics = {EVENT_TYPES[t] for t in type}

    def page(cursor: int, wanted: int) -> tuple[int, bool, list[bytes]]:
        """Up to `wanted` matching events after `cursor`; (new cursor, at end, lines)."""
        if report is not None:
            found = index.notifications_of(report, after=cursor, limit=_PAGE)
        else:
            found = timeline.read_log(cursor, _PAGE, type)
        lines, last = [], cursor
        for notification in found:
            last = notification.id
            if not topics or notification.topic in topics:
                lines.append(dumps(log_record(notification, timeline.mapper.transcoder)) + b"\n")
                if len(lines) == wanted:
                    return last, False, lines
        return last, len(found) < _PAGE, lines

    async def lines() -> AsyncIterator[bytes]:
        cursor, remaining = after, limit
        while remaining is None or remaining > 0:
            wanted = _PAGE if remaining is None else remaining
            cursor, at_end, found = await run_in_threadpool(page, cursor, wanted)
            if found:
                yield b"".join(found)
            if remaining is not None:
                remaining -= len(found)
            if at_end:
                return

    return StreamingResponse(lines(), media_type="application/x-ndjson")
