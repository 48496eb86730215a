"""The ceiling for single-report POST /reports: a bare FastAPI endpoint.

It reads the body, validates it with the service's own model
(`service.schemas.ReportIn`, EDTF parsing included) and answers 201 with a body
shaped like the service's, writing nothing. Run it with the service's uvicorn
settings (uvloop, httptools, one worker, log level info):

    python -m uvicorn bench.ceiling_app:app --loop uvloop --http httptools --workers 1
"""

from __future__ import annotations

import uuid

import orjson
from fastapi import FastAPI, Request
from pydantic import ValidationError

from service.responses import OrjsonResponse
from service.schemas import ReportIn

app = FastAPI(title="timeline bench ceiling", default_response_class=OrjsonResponse)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/reports", status_code=201)
async def file_report(request: Request) -> OrjsonResponse:
    body = await request.body()
    try:
        report = ReportIn.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError) as error:
        return OrjsonResponse({"detail": str(error)}, status_code=422)
    report_id = uuid.uuid5(uuid.NAMESPACE_URL, report.key) if report.key else uuid.uuid4()
    return OrjsonResponse(
        {"id": report_id, "position": None, "created": True},
        status_code=201,
        headers={"Location": f"/reports/{report_id}"},
    )
