"""An analyst's decisions about incidents: link a report into one, unlink it, or mark
two incidents as distinct. Each is an event (`Decision.Made`) written with the
API key that authorised it; the views follow it (`projections/projector.py`)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool

from domain.decisions import decision_id_for_key
from service.auth import writer
from service.errors import unprocessable
from service.idempotency import request_key
from service.responses import OrjsonResponse
from service.schemas import Decided, DistinctIn, LinkIn, UnlinkIn

router = APIRouter(tags=["decisions"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The key had already made this very decision: nothing written."},
    404: {"description": "No such report."},
    409: {"description": "The key made another decision, or the decision contradicts the log."},
    422: {"description": "Invalid request: each problem names its field."},
}
_KEY_HEADER: dict[str, Any] = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
            "description": "Same as the `key` field.",
        }
    ]
}


def _problem(field: str, msg: str, kind: str = "value_error", status: int = 422) -> OrjsonResponse:
    return OrjsonResponse({"detail": [{"field": field, "msg": msg, "type": kind}]}, status)


async def _caught_up(request: Request) -> Any:
    """The timeline's view of the log's head, to check a decision against (None: lagging)."""
    projections = request.app.state.projections
    head = await run_in_threadpool(request.app.state.timeline.max_position)
    timeout = request.app.state.settings.read_your_writes_timeout
    return await run_in_threadpool(projections.wait_for, "timeline", head, timeout)


def _known(request: Request, incidents: list[str], report: UUID | None) -> tuple[set[str], Any]:
    """Which of `incidents` the timeline has now, and `report`'s current link."""
    with request.app.state.projections.read("timeline") as (view, cursor, _):
        found = view.known_incidents(cursor, incidents) if incidents else set()
        link = view.link_of(cursor, str(report)) if report is not None else None
        return found, link


async def _decide(
    request: Request, action: str, key: str | None, check: Any, **fields: Any
) -> OrjsonResponse:
    timeline = request.app.state.timeline
    # A retry of a decision already made is answered from it, whatever the log says now.
    retry = key is not None and await run_in_threadpool(
        lambda: _exists(timeline, decision_id_for_key(key))
    )
    if not retry:
        if not await _caught_up(request):
            return OrjsonResponse(
                {"detail": "the views have not reached the log's head yet; retry"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
        refusal = await run_in_threadpool(check)
        if refusal is not None:
            return refusal
    decision_id, position, created = await run_in_threadpool(
        lambda: timeline.decide(action, written_by=writer(request), key=key, **fields)
    )
    if position is None:
        position = await run_in_threadpool(request.app.state.log_index.position_of, decision_id, 1)
    return OrjsonResponse(
        {"id": decision_id, "action": action, "position": position, "created": created},
        status_code=201 if created else 200,
    )


def _exists(timeline: Any, decision_id: UUID) -> bool:
    return bool(list(timeline.events.get(decision_id)))


@router.post(
    "/decisions/link",
    status_code=201,
    response_model=Decided,
    responses=_RESPONSES,
    openapi_extra=_KEY_HEADER,
    summary="Link a report into an incident (they describe one occurrence)",
)
async def link(
    body: LinkIn,
    request: Request,
    idempotency_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> OrjsonResponse:
    key, wrong = request_key(body.key, idempotency_key)
    if wrong:
        return unprocessable(wrong)
    timeline = request.app.state.timeline

    def check() -> OrjsonResponse | None:
        timeline.get_report(body.report)  # 404 if there is none
        found, _ = _known(request, [body.incident], body.report)
        if body.incident not in found:
            return _problem(
                "incident",
                f"no incident {body.incident!r} in the timeline "
                "(GET /timeline or GET /duplicates lists them)",
                "not_found",
            )
        return None

    return await _decide(
        request, "link", key, check,
        report=body.report, incident=body.incident, reason=body.reason,
        decided_by=body.decided_by,
    )  # fmt: skip


@router.post(
    "/decisions/unlink",
    status_code=201,
    response_model=Decided,
    responses=_RESPONSES,
    openapi_extra=_KEY_HEADER,
    summary="Unlink a report: it returns to its own incident",
)
async def unlink(
    body: UnlinkIn,
    request: Request,
    idempotency_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> OrjsonResponse:
    key, wrong = request_key(body.key, idempotency_key)
    if wrong:
        return unprocessable(wrong)
    timeline = request.app.state.timeline

    def check() -> OrjsonResponse | None:
        timeline.get_report(body.report)
        _, link_now = _known(request, [], body.report)
        if not link_now:
            return _problem(
                "report",
                f"report {body.report} is not linked into any incident; "
                "only a linked report can be unlinked",
                "conflict",
                409,
            )
        return None

    return await _decide(
        request, "unlink", key, check,
        report=body.report, reason=body.reason, decided_by=body.decided_by,
    )  # fmt: skip


@router.post(
    "/decisions/distinct",
    status_code=201,
    response_model=Decided,
    responses=_RESPONSES,
    openapi_extra=_KEY_HEADER,
    summary="Mark two incidents as distinct: not the same occurrence",
)
async def distinct(
    body: DistinctIn,
    request: Request,
    idempotency_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> OrjsonResponse:
    key, wrong = request_key(body.key, idempotency_key)
    if wrong:
        return unprocessable(wrong)
    first, second = body.incidents
    if first == second:
        return _problem("incidents", "names one incident twice; give two different incidents")

    def check() -> OrjsonResponse | None:
        found, _ = _known(request, [first, second], None)
        for index, incident in enumerate(body.incidents):
            if incident not in found:
                return _problem(
                    f"incidents.{index}", f"no incident {incident!r} in the timeline", "not_found"
                )
        return None

    return await _decide(
        request, "distinct", key, check,
        incidents=(first, second), reason=body.reason, decided_by=body.decided_by,
    )  # fmt: skip
