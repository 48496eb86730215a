"""JSON and NDJSON responses encoded with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

from service.transcoder import to_plain_json


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, default=to_plain_json)


class OrjsonResponse(JSONResponse):
    """A JSONResponse (so OpenAPI documents its body) rendered by orjson."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
