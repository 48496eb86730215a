"""The event log over Server-Sent Events: `GET /subscribe/events`.

The same events as `GET /events?follow=true`, one SSE message each (`event:
event`, the position as `id`, the LoggedEvent as `data`), so a client resumes
with the standard `Last-Event-ID`. Declared before `/subscribe/{view}`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request
from sse_starlette.sse import EventSourceResponse

from service.auth import access
from service.errors import unprocessable
from service.follow import LogFeed
from service.log_query import LogQuery, unknown_type_problem
from service.log_routes import ReportFilter, Types, too_many
from service.query_params import only_known_query_parameters
from service.schemas import MAX_POSITION

router = APIRouter(tags=["log"])

After = Annotated[
    int | None,
    Query(ge=0, le=MAX_POSITION, description="Resume after this log position (default: 0)."),
]


def start_after(after: int | None, last_event_id: str | None) -> int:
    """`after`, else the `Last-Event-ID` a reconnecting EventSource sends, else 0."""
    if after is not None:
        return after
    if last_event_id and last_event_id.strip().isdigit():
        return min(int(last_event_id.strip()), MAX_POSITION)
    return 0


@router.get(
    "/subscribe/events",
    summary="Server-Sent Events: the event log, then live events as they commit",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}, 503: {}},
    dependencies=[Depends(access), Depends(only_known_query_parameters)],
)
async def follow_log(
    request: Request,
    after: After = None,
    type: Types = [],  # noqa: B006
    report: ReportFilter = None,
    last_event_id: Annotated[str | None, Header(description="Standard SSE resume")] = None,
) -> Any:
    """Every event after `after` (or `Last-Event-ID`; default: from the start),
    then live ones; `heartbeat` events while idle; `overflow` or `end` if cut.
    Those three carry `{"type", "after"}` (and `detail`) as data, and no id."""
    problem = unknown_type_problem(type)
    if problem is not None:
        return unprocessable([problem])
    feed: LogFeed = request.app.state.log_feed
    if (refusal := too_many(feed)) is not None:
        return refusal
    settings = request.app.state.settings
    query = LogQuery(tuple(type), report)
    start = start_after(after, last_event_id)

    async def frames() -> AsyncIterator[bytes]:
        heartbeat = settings.sse_heartbeat_seconds
        async for batch in feed.follow(query, start, heartbeat):
            yield b"".join(line.sse for line in batch)

    return EventSourceResponse(
        frames(),
        ping=settings.sse_heartbeat_seconds,
        send_timeout=settings.sse_send_timeout_seconds,
        shutdown_event=anyio.Event(),  # the feed itself says `end` on shutdown
        shutdown_grace_period=2.0,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
