"""The FastAPI application: wires the domain application, storage and routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from projections.runner import Projections
from service import (
    actors_routes,
    docs,
    errors,
    export_routes,
    imports_routes,
    log_routes,
    page,
    reports_routes,
    subscribe_routes,
    views_routes,
)
from service.auth import access
from service.group_commit import GroupCommitter
from service.health import StoreHealth, store_available
from service.limits import BodySizeLimit
from service.responses import OrjsonResponse
from service.schemas import BatchFiled, Filed, LoggedEvent, Problems, ReportIn
from service.settings import Settings, get_settings
from service.storage import LogIndex, open_application, open_keyring, open_views, store_probe
from service.subscriptions import Broker

log = logging.getLogger("uvicorn.error")  # uvicorn prints it, at its level

DESCRIPTION = """Every report about an armed conflict becomes an immutable event: who said
what, when, and how sure they were. Corrections and retractions are new events;
nothing is updated in place. `GET /events` replays the ordered log."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeline = await run_in_threadpool(open_application, settings)
        app.state.keyring = await run_in_threadpool(open_keyring, settings)
        app.state.health = StoreHealth(store_probe(settings, timeline))
        views = await run_in_threadpool(open_views, settings)
        projections = Projections(timeline, views, run=settings.run_projections)
        timeline.listeners.append(projections.notify)
        app.state.timeline = timeline
        committer = GroupCommitter(timeline.file_requests, settings.group_commit_max_reports)
        committer.start()
        app.state.committer = committer
        app.state.log_index = LogIndex(timeline)
        app.state.projections = projections
        projections.start()
        broker = Broker(projections, settings.subscriber_buffer, settings.max_subscribers)
        broker.start()
        app.state.broker = broker
        try:
            yield
        finally:
            await committer.close()
            stats = committer.stats
            log.info(
                "group commit: %d requests in %d commits, at most %d in one",
                stats.requests,
                stats.commits,
                stats.largest_group,
            )
            broker.close()
            projections.stop()
            views.close()
            timeline.close()
            app.state.keyring.close()

    app = FastAPI(
        title="timeline",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
        docs_url=None,  # served from the package instead (service/docs.py): no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        by_path={"/imports": settings.max_import_bytes},
    )
    errors.install(app)
    guarded = [Depends(store_available), Depends(access)]
    app.include_router(reports_routes.router, dependencies=guarded)
    app.include_router(actors_routes.router, dependencies=guarded)
    app.include_router(imports_routes.router, dependencies=guarded)
    app.include_router(log_routes.router, dependencies=guarded)
    app.include_router(views_routes.router, dependencies=guarded)
    app.include_router(export_routes.router, dependencies=guarded)
    app.include_router(subscribe_routes.router)  # checks keys itself (SSE and WebSocket)
    app.include_router(page.router)  # the web page and its files: public, no key check
    app.include_router(docs.router_for(app))  # Swagger UI, from static/vendor/swagger-ui

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses={503: {"description": "Store unreachable."}})
    async def readyz(request: Request) -> OrjsonResponse:
        """The event store answers; reports the last log position."""
        try:
            if not await run_in_threadpool(request.app.state.health.probe):
                raise ConnectionError("the store does not answer")
            position = await run_in_threadpool(request.app.state.timeline.max_position)
        except Exception as error:  # any store failure means not ready
            return OrjsonResponse(
                {"status": "unavailable", "detail": f"{type(error).__name__}: {error}"},
                status_code=503,
                headers={"Retry-After": "2"},
            )
        return OrjsonResponse({"status": "ready", "position": position})

    _finish_openapi(app, settings)
    return app


_PROBLEMS = {"application/json": {"schema": {"$ref": "#/components/schemas/Problems"}}}
_COMMON_ERRORS = {
    "401": "No API key, or an unknown one.",
    "403": "The API key has been revoked.",
    "422": "Invalid input: each problem names its field.",
    "503": "The store is unavailable or a view has not caught up: retry after Retry-After.",
}
_WRITE_ERRORS = {
    "400": "The body is not valid JSON.",
    "404": "No such report or actor.",
    "409": "Conflicts with what is already recorded.",
    "413": "Body too large.",
}


def _document_errors(path: str, method: str, operation: dict[str, Any]) -> None:
    """Every error the service can answer, in one documented shape."""
    if path in ("/healthz", "/readyz"):
        return
    responses = operation.setdefault("responses", {})
    extra = dict(_COMMON_ERRORS)
    if method != "get" or "{" in path:
        extra |= _WRITE_ERRORS
    for status, description in extra.items():
        entry = responses.setdefault(status, {"description": description})
        entry["content"] = _PROBLEMS


def _finish_openapi(app: FastAPI, settings: Settings) -> None:
    """POST /reports reads its body itself (JSON or NDJSON); list its models."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (ReportIn, BatchFiled, LoggedEvent, Filed, Problems):
            generated = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(generated.pop("$defs", {}))
            components.setdefault(model.__name__, generated)
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        filed = {
            "oneOf": [
                {"$ref": "#/components/schemas/Filed"},
                {"$ref": "#/components/schemas/BatchFiled"},
            ]
        }
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                _document_errors(path, method, operation)
                if method == "get" and "security" in operation and not settings.read_keys_required:
                    operation["security"] = [{}, *operation["security"]]  # a key is optional
                if (path, method) == ("/reports", "post"):
                    for status in ("200", "201"):
                        operation["responses"][status]["content"] = {
                            "application/json": {"schema": filed}
                        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
