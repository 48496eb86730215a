"""JSON and NDJSON responses encoded with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from service.transcoder import to_plain_json


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, default=to_plain_json)


class OrjsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
