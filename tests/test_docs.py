"""`/docs` works offline: Swagger UI comes from the package, and it renders."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.servers import Process, free_port, running

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # reported by the test
    sync_playwright = None

VENDOR = Path(__file__).resolve().parent.parent / "service" / "static" / "vendor" / "swagger-ui"
CHROMIUM = os.environ.get("TIMELINE_TEST_CHROMIUM", "/usr/bin/chromium")
TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def test_docs_load_only_files_of_this_origin_and_they_are_served(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    linked = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(linked) == [
        "/static/vendor/swagger-ui/favicon-32x32.png",
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
    ]
    assert "url: '/openapi.json'" in page.text and "//" not in "".join(linked)
    for path in linked:
        asset = client.get(path)
        assert asset.status_code == 200, path
        assert TYPES[Path(path).suffix] in asset.headers["content-type"], path
        shipped = (VENDOR / Path(path).name).read_bytes()
        assert hashlib.sha256(asset.content).digest() == hashlib.sha256(shipped).digest()
    # Only this origin, and the one inline setup script by its hash.
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self' 'sha256-" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN


def test_vendored_files_match_the_hashes_in_versions_md():
    listed = (VENDOR.parent / "VERSIONS.md").read_text()
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert f"{digest}  swagger-ui/{name}" in listed, name


@pytest.mark.timeout(120)
def test_docs_render_every_operation_with_no_network(tmp_path):
    def need(ok: bool, why: str) -> None:
        if not ok:
            pytest.fail(why) if IN_CI else pytest.skip(why)

    need(sync_playwright is not None, "playwright is not installed")
    need(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install -y chromium)")
    server = Process(
        ["serve"], {"TIMELINE_DATABASE_URL": f"sqlite:///{tmp_path}/t.sqlite3"}, free_port()
    )
    with running(server), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context()
            elsewhere: list[str] = []

            def only_here(route) -> None:  # the network is this server, nothing else
                if route.request.url.startswith((server.url, "data:")):
                    route.continue_()
                else:
                    elsewhere.append(route.request.url)
                    route.abort()

            context.route("**/*", only_here)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{server.url}/docs")
            operations = page.locator(".opblock")
            expect(operations.first).to_be_visible(timeout=20_000)
            assert operations.count() >= 20
            expect(
                page.locator(".opblock-summary-path", has_text="/timeline").first
            ).to_be_visible()
            assert elsewhere == [] and errors == []
        finally:
            browser.close()
