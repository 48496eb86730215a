"""`/docs`: Swagger UI from the package's own files, so it works offline.

FastAPI's default page loads Swagger UI from a CDN (a blank page without a
network) and ReDoc likewise; ReDoc is off, and this page loads the vendored
`swagger-ui-dist` (static/vendor/swagger-ui/, see VERSIONS.md). Its one inline
script, the Swagger UI setup, is allowed by its hash and nothing else is.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse

VENDOR = "/static/vendor/swagger-ui"


def _inline_script_hashes(html: str) -> list[str]:
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts
    ]


def docs_csp(html: str) -> str:
    """Only this origin, and the page's own setup script by its hash. Swagger UI
    sets inline styles and draws icons from data: URIs."""
    scripts = " ".join(["'self'", *_inline_script_hashes(html)])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def router_for(app: FastAPI) -> APIRouter:
    router = APIRouter()
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title}: API",
        swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui.css",
        swagger_favicon_url=f"{VENDOR}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # no call to swagger.io
    )
    html = page.body.decode()
    headers = {
        "Content-Security-Policy": docs_csp(html),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }

    @router.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """The API's documentation, drawn by Swagger UI."""
        return HTMLResponse(html, headers=headers)

    return router
