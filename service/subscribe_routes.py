"""Live view updates over Server-Sent Events and WebSocket.

One message per log position that changed the view (after the subscriber's
filter), with the position as the SSE `id`. Resume with `Last-Event-ID` or
`?after=N`: missed changes first, then live ones, no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from uuid import UUID

import anyio
from fastapi import (
    APIRouter,
    Depends,
    Header,
    HTTPException,
    Query,
    Request,
    WebSocket,
    WebSocketDisconnect,
)
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from domain.errors import UnknownActorError
from domain.values import MEANS_LISTED, iso_country, means_value
from service.auth import access, check_key
from service.query_params import only_known_query_parameters
from service.responses import OrjsonResponse
from service.schemas import MAX_POSITION
from service.subscriptions import SHUTDOWN, Broker
from service.updates import OVERFLOW

router = APIRouter(tags=["subscriptions"])

ViewName = Literal["timeline", "tally", "actor_history"]
After = Annotated[
    int | None,
    Query(
        ge=0, le=MAX_POSITION, description="Resume after this log position (default: from now on)."
    ),
]
Actor = Annotated[str | None, Query(description="Only changes about this actor (id or name)")]
Country = Annotated[str | None, Query(description="Only changes in this ISO country (IQ)")]
Kind = Annotated[str | None, Query(description="timeline: only incidents with this kind")]
Rollup = Annotated[bool, Query(description="With `actor`: include actors within it")]
MeansFilter = Annotated[
    list[str] | None,
    Query(
        description="timeline and tally: only incidents or attacks a source says used one "
        f"of these means (repeat it). One of: {MEANS_LISTED}."
    ),
]


class FilterError(ValueError):
    """A filter that can match nothing: `problem` names the parameter."""

    def __init__(self, status: int, problem: dict[str, str]) -> None:
        super().__init__(problem["msg"])
        self.status, self.problem = status, problem


async def _filters(
    request: Request,
    actor: str | None,
    country: str | None,
    kind: str | None,
    rollup: bool,
    means: list[str] | None = None,
    view: str = "timeline",
) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if means:
        if view == "actor_history":
            msg = "an actor's history is not filtered by means; subscribe to timeline or tally"
            raise FilterError(422, _problem("means", msg, "value_error"))
        try:
            filters["means"] = frozenset(means_value(m) for m in means)
        except ValueError as error:
            raise FilterError(422, _problem("means", str(error), "value_error")) from None
    if country:
        try:
            filters["country"] = iso_country(country)
        except ValueError as error:
            raise FilterError(422, _problem("country", str(error), "value_error")) from None
    if kind:
        filters["kind"] = kind
    if actor:

        def resolve() -> str:
            with request.app.state.projections.read("timeline") as (view, cursor, _):
                registry = request.app.state.timeline  # never behind the view
                try:
                    actor_id: str | None = str(UUID(actor))
                except ValueError:
                    actor_id = view.resolve_name(cursor, actor, None)
                    if actor_id is None:
                        known = registry.resolve_actor(actor)
                        actor_id = None if known is None else str(known)
                    message = f"no actor is named {actor!r} (GET /actors lists them)"
                else:
                    try:
                        registry.get_actor(UUID(actor_id))
                    except UnknownActorError:
                        actor_id = None
                    message = f"no actor has the id {actor} (GET /actors lists them)"
                if actor_id is None:
                    raise FilterError(404, _problem("actor", message, "not_found"))
                return actor_id

        # Which actors that means is worked out as each message goes out, so that
        # actors placed within it later are followed (`subscriptions.actors_of`).
        filters["actor"] = await run_in_threadpool(resolve)
        filters["rollup"] = rollup
    return filters


def _problem(field: str, msg: str, kind: str) -> dict[str, str]:
    return {"field": field, "msg": msg, "type": kind}


def _close_reason(error: FilterError) -> str:
    reason = f"{error.problem['field']}: {error}"
    return reason.encode()[:120].decode(errors="ignore")  # a close frame has 123 bytes


def _start(broker: Broker, view: str, after: int | None, last_event_id: str | None) -> int:
    if after is not None:
        return after
    if last_event_id and last_event_id.strip().isdigit():
        return min(int(last_event_id.strip()), MAX_POSITION)
    return broker.projections.clock.position(view)


def _full(request: Request) -> OrjsonResponse | None:
    broker: Broker = request.app.state.broker
    if broker.count() >= broker.max_subscribers:
        return OrjsonResponse(
            {"detail": f"this process already serves {broker.max_subscribers} subscribers"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return None


@router.get(
    "/subscribe/{view}",
    summary="Server-Sent Events: one message per log position that changed the view",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}, 404: {}, 503: {}},
    dependencies=[Depends(access), Depends(only_known_query_parameters)],
)
async def subscribe_sse(
    view: ViewName,
    request: Request,
    after: After = None,
    last_event_id: Annotated[str | None, Header(description="Standard SSE resume")] = None,
    actor: Actor = None,
    country: Country = None,
    kind: Kind = None,
    rollup: Rollup = False,
    means: MeansFilter = None,
) -> Any:
    if (refusal := _full(request)) is not None:
        return refusal
    broker: Broker = request.app.state.broker
    settings = request.app.state.settings
    try:
        filters = await _filters(request, actor, country, kind, rollup, means, view)
    except FilterError as error:
        return OrjsonResponse({"detail": [error.problem]}, status_code=error.status)
    start = _start(broker, view, after, last_event_id)
    subscriber = broker.subscribe(view, filters)
    shutdown = anyio.Event()  # set by sse-starlette when the server begins to stop

    async def farewell() -> None:
        await shutdown.wait()
        subscriber.finish(SHUTDOWN)  # the stream says `end` and closes cleanly

    async def events() -> AsyncIterator[bytes]:
        # Already-framed SSE bytes, shared with every subscriber of the same filter
        # (sse-starlette sends bytes as they are); a burst goes out in one write.
        watcher = asyncio.ensure_future(farewell())
        try:
            async for batch in broker.batches(subscriber, start):
                yield b"".join(update.sse for update in batch)
        finally:
            watcher.cancel()

    return EventSourceResponse(
        events(),
        ping=settings.sse_heartbeat_seconds,
        send_timeout=settings.sse_send_timeout_seconds,
        shutdown_event=shutdown,
        shutdown_grace_period=2.0,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.websocket("/ws/{view}")
async def subscribe_ws(
    websocket: WebSocket,
    view: str,
    after: int | None = None,
    actor: str | None = None,
    country: str | None = None,
    kind: str | None = None,
    rollup: bool = False,
    means: Annotated[list[str] | None, Query()] = None,
) -> None:
    """The same messages as /subscribe/{view}, one JSON text frame each:
    `{"event": "change", "id": 57, "data": {...}}`, then `overflow` or `end`."""
    await websocket.accept()
    broker: Broker = websocket.app.state.broker
    authorization = websocket.headers.get("authorization", "")
    secret = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
    try:  # browsers cannot set headers on a WebSocket: `?key=` works too
        await check_key(
            websocket,
            secret or websocket.query_params.get("key"),
            websocket.app.state.settings.read_keys_required,
        )
    except HTTPException as refusal:
        await websocket.close(code=1008, reason=str(refusal.detail))
        return
    if after is not None and not 0 <= after <= MAX_POSITION:
        await websocket.close(code=1008, reason="after: not a log position")
        return
    if view not in ("timeline", "tally", "actor_history"):
        await websocket.close(code=1008, reason=f"unknown view {view!r}")
        return
    if broker.count() >= broker.max_subscribers:
        await websocket.close(code=1013, reason="too many subscribers; retry later")
        return
    try:
        filters = await _filters(websocket, actor, country, kind, rollup, means, view)  # type: ignore[arg-type]
    except FilterError as error:
        await websocket.close(code=1008, reason=_close_reason(error))
        return
    subscriber = broker.subscribe(view, filters)
    start = _start(broker, view, after, None)

    async def send() -> None:
        async for batch in broker.batches(subscriber, start):
            for update in batch:
                await websocket.send_text(update.websocket_text)  # encoded once, shared
                if update.final:
                    await websocket.close(code=1013 if update.event == OVERFLOW else 1001)
                    return

    async def receive() -> None:  # notices the client leaving while nothing is sent
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return

    tasks = [asyncio.ensure_future(send()), asyncio.ensure_future(receive())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except WebSocketDisconnect:
        pass
    finally:
        for task in tasks:
            task.cancel()
        broker.unsubscribe(subscriber)
