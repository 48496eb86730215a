"""How failures look on the wire: one shape, naming the field and the problem.

    {"detail": [{"field": "when.latest", "msg": "...", "type": "value_error"}]}

Batch errors add the NDJSON `line` number. Conflicts and missing things carry a
plain message in `detail`.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import IntegrityError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain import errors
from service.hints import fields_at, hint
from service.responses import OrjsonResponse

_STATUS = {
    errors.UnknownReportError: 404,
    errors.UnknownActorError: 404,
    errors.IdempotencyConflictError: 409,
    errors.VersionConflictError: 409,
    errors.ChangeKeyConflictError: 409,
    errors.DecisionKeyConflictError: 409,
    errors.NameTakenError: 409,
    errors.ActorConflictError: 409,
    errors.ReportRetractedError: 409,
    errors.ParentCycleError: 422,
    errors.ContentionError: 409,
}

# Request parts that are noise in a field path.
_TRANSPORT = {"body", "query", "path", "header"}


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in _TRANSPORT]
    # pydantic puts a union or function tag into the path; keep real field names.
    parts = [p for p in parts if not p.startswith(("function-", "tagged-union"))]
    return ".".join(parts) or "body"


def problems(
    error: ValidationError | RequestValidationError, prefix: str = "", model: Any = None
) -> list[dict[str, Any]]:
    """Each problem with its field path; with a hint where a rule recognises a slip
    (`model`, the model validated, lets a hint name the fields an object takes)."""
    found = []
    for item in error.errors():
        path = field_path(item.get("loc", ()))
        if not item.get("hint"):
            item = {**item, "hint": _hint(item, model)}
        problem = {
            "field": f"{prefix}.{path}" if prefix and path != "body" else (prefix or path),
            "msg": item.get("msg", "invalid").removeprefix("Value error, "),
            "type": item.get("type", "value_error"),
        }
        if item.get("hint"):
            problem["hint"] = item["hint"]
        found.append(problem)
    return found


def _hint(item: Any, model: Any) -> str | None:
    loc = tuple(p for p in item.get("loc", ()) if p not in _TRANSPORT)
    if not loc:
        return None
    fields = fields_at(model, loc[:-1]) if model is not None else None
    return hint(loc, item.get("type", ""), item.get("input"), item.get("ctx"), fields)


def _body_model(request: Request) -> Any:
    """The model a route validates its JSON body into, if any."""
    body = getattr(request.scope.get("route"), "body_field", None)
    return getattr(getattr(body, "field_info", None), "annotation", None)


def unprocessable(detail: list[dict[str, Any]]) -> OrjsonResponse:
    return OrjsonResponse({"detail": detail}, status_code=422)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> OrjsonResponse:
        return unprocessable(problems(exc, model=_body_model(request)))

    @app.exception_handler(ValidationError)
    async def _domain_invalid(_: Request, exc: ValidationError) -> OrjsonResponse:
        return unprocessable(problems(exc))

    @app.exception_handler(errors.DomainError)
    async def _domain_error(_: Request, exc: errors.DomainError) -> OrjsonResponse:
        status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 422)
        kind = "conflict" if status == 409 else "value_error"
        fields = exc.fields()
        detail: Any = (
            [{"field": f, "msg": msg, "type": kind} for f, msg in fields] if fields else str(exc)
        )
        return OrjsonResponse({"detail": detail}, status_code=status)

    @app.exception_handler(IntegrityError)
    async def _conflict(_: Request, exc: IntegrityError) -> OrjsonResponse:
        return OrjsonResponse({"detail": "conflicting concurrent write; retry"}, status_code=409)

    @app.exception_handler(PersistenceError)
    async def _store_down(request: Request, exc: PersistenceError) -> OrjsonResponse:
        # Nothing was acknowledged; the client may safely retry (with its key).
        request.app.state.health.mark_down()
        return OrjsonResponse(
            {"detail": f"event store unavailable: {type(exc).__name__}"},
            status_code=503,
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> OrjsonResponse:
        return OrjsonResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )
