"""Actors: canonical names, aliases in several languages and spellings, parents."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from domain.actors import Actor
from domain.application import TimelineApplication
from domain.values import Alias
from service.auth import writer
from service.responses import OrjsonResponse
from service.schemas import ActorIn, ActorOut, ParentIn

router = APIRouter(tags=["actors"])


def _timeline(request: Request) -> TimelineApplication:
    return request.app.state.timeline


def actor_json(actor: Actor, position: int | None = None) -> dict[str, Any]:
    return {
        "id": actor.id,
        "version": actor.version,
        "name": actor.name,
        "aliases": list(actor.aliases),
        "parent_id": actor.parent_id,
        "description": actor.description,
        "category": actor.category,
        "position": position,
    }


@router.post(
    "/actors",
    status_code=201,
    response_model=ActorOut,
    responses={
        200: {"description": "Already registered exactly so."},
        404: {"description": "Unknown parent."},
        409: {"description": "A name already belongs to another actor."},
    },
)
async def register_actor(body: ActorIn, request: Request) -> OrjsonResponse:
    """Register an actor under its canonical name and aliases (idempotent by name)."""
    actor, created, position = await run_in_threadpool(
        _timeline(request).register_actor,
        body.name,
        body.aliases,
        body.parent_id,
        body.description,
        body.category,
        writer(request),
    )
    return OrjsonResponse(
        actor_json(actor, position),
        status_code=201 if created else 200,
        headers={"Location": f"/actors/{actor.id}"},
    )


@router.post(
    "/actors/{actor_id}/aliases",
    status_code=201,
    response_model=ActorOut,
    responses={
        200: {"description": "The actor already had this name."},
        404: {},
        409: {"description": "The name belongs to another actor."},
    },
)
async def add_alias(actor_id: UUID, alias: Alias, request: Request) -> OrjsonResponse:
    """Add a name. Views follow it, including for reports filed before it was added."""
    actor, position = await run_in_threadpool(
        _timeline(request).add_alias, actor_id, alias, writer(request)
    )
    return OrjsonResponse(actor_json(actor, position), status_code=201 if position else 200)


@router.put("/actors/{actor_id}/parent", response_model=ActorOut, responses={404: {}, 422: {}})
async def set_parent(actor_id: UUID, body: ParentIn, request: Request) -> OrjsonResponse:
    """Place an actor within another (Quds Force within the IRGC), or detach it (null)."""
    actor, position = await run_in_threadpool(
        _timeline(request).set_parent, actor_id, body.parent_id, writer(request)
    )
    return OrjsonResponse(actor_json(actor, position))


@router.get("/actors", response_model=list[ActorOut])
async def list_actors(request: Request) -> OrjsonResponse:
    actors = await run_in_threadpool(_timeline(request).list_actors)
    return OrjsonResponse([actor_json(a) for a in actors])


@router.get("/actors/resolve", response_model=ActorOut, responses={404: {}})
async def resolve_actor(name: str, request: Request) -> OrjsonResponse:
    """Which actor a name (any alias, any case or accents) refers to."""
    timeline = _timeline(request)

    def resolve() -> Actor | None:
        actor_id = timeline.resolve_actor(name)
        return None if actor_id is None else timeline.get_actor(actor_id)

    actor = await run_in_threadpool(resolve)
    if actor is None:
        return OrjsonResponse({"detail": f"no actor is named {name!r}"}, status_code=404)
    return OrjsonResponse(actor_json(actor))


@router.get("/actors/{actor_id}", response_model=ActorOut, responses={404: {}})
async def get_actor(actor_id: UUID, request: Request) -> OrjsonResponse:
    actor = await run_in_threadpool(_timeline(request).get_actor, actor_id)
    return OrjsonResponse(actor_json(actor))
