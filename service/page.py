"""The service's own web page: `/` and its files under `/static/`.

Everything the page needs ships in `service/static/` (the vendored libraries and
their licences are listed in `static/vendor/VERSIONS.md`), so it works offline and
loads nothing from elsewhere; the Content-Security-Policy says so to the browser.
The page reads the same public endpoints as any client (views, `as_of`, SSE).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"

# The page and its libraries come from this origin only. vis-timeline and
# Chart.js set inline styles on the elements they draw, hence 'unsafe-inline'
# for styles (never for scripts).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate (ETag): files change with the package
}

router = APIRouter(tags=["page"])
_files = StaticFiles(directory=STATIC)


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def page() -> FileResponse:
    """The timeline page (a single HTML file; its state lives in the URL)."""
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=HEADERS)


@router.api_route("/static/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def static(path: str, request: Request) -> Response:
    """A file from `service/static/`: scripts, styles, vendored libraries."""
    try:
        response = await _files.get_response(path, request.scope)
    except StarletteHTTPException as error:  # unknown file, or a path outside the folder
        raise HTTPException(error.status_code, "no such file") from None
    response.headers.update(HEADERS)
    return response
