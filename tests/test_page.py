"""The web page at `/`, driven in headless Chromium against a real server.

One `timeline serve --demo` process (the seed article loaded) and one Chromium
(Debian's, through playwright; nothing is downloaded) serve every test here. The
page must load nothing from anywhere but the service and log no error.

Set TIMELINE_PAGE_SCREENSHOTS=docs to refresh the screenshots the README shows.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI
from tests.servers import Process, auth, file, free_port, running

try:
    from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
except ImportError:  # reported by the fixture below
    sync_playwright = None

pytestmark = pytest.mark.timeout(120)

CHROMIUM = os.environ.get("TIMELINE_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = os.environ.get("TIMELINE_PAGE_SCREENSHOTS")
STRIKES = "2024-02-02-us-strikes-iraq-syria"
DRONE = "2024-01-late-drone-attack-jordan"
QUDS = "c7c3ad19-6bff-59d6-962c-0d2d3ebd34b2"  # from examples/actors.ndjson
IRGC = "9211664f-c65a-5431-9391-6d35c92ce4ff"
UNITED_STATES = "8cdeded3-3d6d-57ea-abe2-72af8956060e"


def need(ok: bool, why: str) -> None:
    """Skip locally when the browser is missing; fail in CI."""
    if ok:
        return
    if IN_CI:
        pytest.fail(why)
    pytest.skip(why)


def get(server: Process, path: str, **params: Any) -> Any:
    answer = httpx.get(f"{server.url}{path}", params=params, timeout=10)
    answer.raise_for_status()
    return answer.json()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Process]:
    folder = tmp_path_factory.mktemp("page")
    env = {
        "TIMELINE_DATABASE_URL": f"sqlite:///{folder}/timeline.sqlite3",
        "TIMELINE_SSE_HEARTBEAT_SECONDS": "1",
    }
    process = Process(["serve", "--demo"], env, free_port())
    with running(process):
        deadline = time.monotonic() + 30
        head = get(process, "/readyz")["position"]
        while get(process, "/timeline", limit=1)["position"] < head:  # views caught up
            assert time.monotonic() < deadline, process.output()
            time.sleep(0.1)
        yield process


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[BrowserContext]:
    need(sync_playwright is not None, "playwright is not installed (pip install playwright)")
    need(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install -y chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh user data dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 1000},
            locale="en-GB",
            timezone_id="UTC",
        )
        context.set_default_timeout(15_000)
        expect.set_options(timeout=15_000)
        try:
            yield context
        finally:
            context.close()


class Watched:
    """A page, with every request it makes and every error it logs."""

    def __init__(self, page: Page, origin: str) -> None:
        self.page, self.origin = page, origin
        self.errors: list[str] = []
        self.elsewhere: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        page.on("request", self._request)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _request(self, request: Any) -> None:
        if not request.url.startswith((self.origin, "data:")):
            self.elsewhere.append(request.url)

    def open(self, query: str = "") -> Page:
        self.page.goto(f"{self.origin}/{query}")
        expect(self.page.locator("body")).to_have_attribute("data-ready", "1")
        return self.page

    def check(self) -> None:
        assert self.elsewhere == [], "the page must load nothing from elsewhere"
        assert self.errors == []


@pytest.fixture
def watched(browser: BrowserContext, server: Process) -> Iterator[Watched]:
    page = browser.new_page()
    watched = Watched(page, server.url)
    try:
        yield watched
        watched.check()
    finally:
        page.close()


def shoot(page: Page, name: str, selector: str | None = None) -> None:
    """A screenshot: into TIMELINE_PAGE_SCREENSHOTS when set (docs/), else discarded."""
    target = Path(SHOTS) / name if SHOTS else None
    page.evaluate("document.fonts.ready")
    if selector:
        image = page.locator(selector).screenshot(path=target, animations="disabled")
    else:
        image = page.screenshot(path=target, animations="disabled")
    assert image[:8] == b"\x89PNG\r\n\x1a\n"


def rows(page: Page):
    return page.locator("#incident-list li.incident-row")


def test_the_page_and_its_files_are_served_from_the_package(server):
    page = httpx.get(f"{server.url}/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert re.findall(r'(?:src|href)="(https?:)?//', page.text) == []  # no CDN
    for path in (
        "/static/app.js",
        "/static/style.css",
        "/static/vendor/vis-timeline/vis-timeline-graph2d.min.js",
        "/static/vendor/chart.js/chart.umd.min.js",
        "/static/vendor/chartjs-plugin-annotation/chartjs-plugin-annotation.min.js",
        "/static/vendor/timeline-arrows/arrow.js",
    ):
        assert httpx.get(f"{server.url}{path}", timeout=10).status_code == 200, path
    # The vendored files are the ones VERSIONS.md records.
    vendor = Path(__file__).resolve().parent.parent / "service" / "static" / "vendor"
    recorded = re.findall(r"^([0-9a-f]{64})  (\S+)$", (vendor / "VERSIONS.md").read_text(), re.M)
    assert len(recorded) == 7  # the page's four libraries, and Swagger UI's three files (/docs)
    for digest, name in recorded:
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    for path in ("/static/../api.py", "/static/%2e%2e/page.py", "/static/nope.js"):
        assert httpx.get(f"{server.url}{path}", timeout=10).status_code == 404, path
    assert "/" not in get(server, "/openapi.json")["paths"]


def test_incidents_in_order_on_the_timeline_and_their_reports(watched, server):
    entries = get(server, "/timeline")["entries"]
    page = watched.open()
    expect(rows(page)).to_have_count(len(entries))
    shown = rows(page).evaluate_all(
        "rows => rows.map(r => [r.dataset.incident, r.dataset.earliest])"
    )
    assert [key for key, _ in shown] == [e["incident"] for e in entries]
    assert [day for _, day in shown] == sorted(day for _, day in shown)
    # On the time axis: one row per incident, a span coloured by its level.
    expect(page.locator("#timeline .vis-label")).to_have_count(len(entries))
    expect(page.locator("#timeline .vis-item.lvl-4")).to_have_count(1)
    expect(page.locator("#timeline .vis-item.lvl-2")).to_have_count(1)
    expect(page.locator("#timeline .vis-item.envelope")).to_have_count(1)  # "2 au 3 janvier"
    drone = page.locator("#timeline .vis-item.lvl-2").bounding_box()
    assert drone and drone["width"] > 20  # "fin janvier" is a span, not a point
    # The responds-to chain: an arrow drawn from the drone attack to the strikes.
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('#timeline svg path')]
             .filter(p => p.getAttribute('marker-end') && p.getAttribute('d') !== 'M 0 0')
             .map(p => p.style.stroke)"""
    )
    assert "rgb(31, 41, 55)" in drawn  # the dark arrow: an attack answering an attack
    shoot(page, "page-timeline.png")

    page.locator("#timeline .vis-item.lvl-4").click()
    expect(page).to_have_url(re.compile(rf"incident={STRIKES}"))
    detail = page.locator("#incident")
    expect(detail.locator("h2")).to_contain_text("Strike")
    expect(detail.locator(".source")).to_have_count(10)
    expect(detail).to_contain_text("anonymous source")
    expect(detail).to_contain_text("named source")
    expect(detail).to_contain_text("un responsable au ministère de l'Intérieur irakien")
    expect(detail).to_contain_text("Un QG des factions armées dans la zone d'Al-Qaïm a été ciblé")
    expect(detail).to_contain_text("dans la nuit du 2 au 3 janvier")
    expect(detail).to_contain_text("Dates disagree")
    expect(detail).to_contain_text("Response dated before its cause")
    expect(detail.locator(".source.flagged")).to_have_count(2)
    expect(detail.locator(".chain a")).to_have_attribute("href", re.compile(rf"incident={DRONE}"))
    expect(detail.locator("blockquote[lang=fr]").first).to_be_visible()
    shoot(page, "page-incident.png", "#incident")
    # Opening it zoomed the timeline on its chain: the drone attack, then the strikes.
    expect(page.locator("body")).to_have_attribute("data-window", f"chain:{STRIKES}")
    shoot(page, "page-chain.png", "section:has(#timeline) > .timeline")

    # The keyboard reaches every incident: on the timeline, Home then Enter.
    page.locator("#timeline").focus()
    page.keyboard.press("Home")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"incident={entries[0]['incident']}"))
    expect(page.locator("#incident-title")).to_be_focused()


def test_tally_chart_shows_documented_attacks_and_the_reported_165(watched, server):
    tally = get(server, "/tally", group_by="week")
    page = watched.open()
    expect(page.locator("#tally-headline")).to_have_text(tally["headline"]["text"])
    chart = page.evaluate(
        """() => {
          const chart = Chart.getChart('tally-chart');
          return {
            datasets: chart.data.datasets.map(d => [d.label, d.data]),
            labels: Object.values(chart.options.plugins.annotation.annotations)
              .map(a => [].concat(a.label ? a.label.content : a.content).join(' ')),
          };
        }"""
    )
    series = dict(chart["datasets"])
    assert sum(series["Documented attacks per week"]) == tally["documented_attacks"] == 1
    assert max(series["Documented, cumulative"]) == 1
    assert [v for v in series["Reported by sources (lower bound)"] if v] == [165]
    marker = next(text for text in chart["labels"] if "165" in text and "AFP" in text)
    assert "at least 165" in marker and "plus de 165" in marker
    assert any("gap: 164+" in text for text in chart["labels"])
    # The same data as text, for those who do not see the chart.
    canvas = page.locator("#tally-chart")
    expect(canvas).to_have_attribute("role", "img")
    expect(canvas).to_have_attribute("aria-label", re.compile("at least 165"))
    expect(page.locator("#tally-table")).to_contain_text("plus de 165", use_inner_text=False)
    expect(page.locator("#reported")).to_contain_text("AFP")
    shoot(page, "page-tally.png", "section:has(#tally-chart)")


def test_actor_pages_are_reached_from_actor_names(watched, server):
    page = watched.open(f"?incident={STRIKES}")
    page.locator("#incident .actors-list a", has_text="Quds Force").click()
    expect(page).to_have_url(re.compile(rf"who={QUDS}"))
    actor = page.locator("#actor-view")
    expect(actor.locator("h2")).to_have_text("Quds Force")
    expect(actor).to_contain_text("force iranienne Quds")  # as the source wrote it
    history = get(server, f"/actors/{QUDS}/history", rollup="true")
    expect(actor.locator("tbody tr")).to_have_count(len(history["appearances"]))
    expect(actor.locator("tbody tr").first).to_contain_text("target")
    expect(page.locator("#home-view")).to_be_hidden()

    actor.locator("a", has_text="Islamic Revolutionary Guard Corps").click()
    expect(actor.locator("h2")).to_have_text("Islamic Revolutionary Guard Corps")
    rolled = get(server, f"/actors/{IRGC}/history", rollup="true")["appearances"]
    own = get(server, f"/actors/{IRGC}/history", rollup="false")["appearances"]
    expect(actor.locator("tbody tr")).to_have_count(len(rolled))
    expect(actor).to_contain_text("Gardiens de la révolution")
    actor.locator("#rollup").uncheck()
    expect(page).to_have_url(re.compile("rollup=0"))
    expect(actor.locator("tbody tr")).to_have_count(len(own))

    # The United States: perpetrator, speaker, and (through US forces) target.
    page.goto(f"{server.url}/?incident={STRIKES}")
    page.locator("#incident .actors-list a", has_text="United States").click()
    expect(actor.locator("h2")).to_have_text("United States")
    us = get(server, f"/actors/{UNITED_STATES}/history", rollup="true")["appearances"]
    expect(actor.locator("tbody tr")).to_have_count(len(us))
    for role in ("perpetrator", "speaker", "target"):
        expect(actor.locator(".roles-line")).to_contain_text(role)
    expect(actor).to_contain_text("Etats-Unis")
    shoot(page, "page-actor.png")

    # Every actor name in the incident list leads to its page too.
    page.go_back()
    expect(page.locator("#home-view")).to_be_visible()
    links = page.locator("#incident-list a.actor-link")
    assert links.count() >= len(get(server, "/timeline")["entries"])


def test_filters_are_kept_in_the_url(watched, server):
    page = watched.open()
    page.select_option("#f-country", "JO")
    expect(page).to_have_url(re.compile(r"country=JO"))
    jordan = get(server, "/timeline", country="JO")["entries"]
    expect(rows(page)).to_have_count(len(jordan))
    page.select_option("#f-level", "2")
    expect(page).to_have_url(re.compile(r"country=JO.*level=2|level=2.*country=JO"))
    both = get(server, "/timeline", country="JO", min_level=2)["entries"]
    expect(rows(page)).to_have_count(len(both))

    shared = page.url  # open the shared link afresh
    page.goto(shared)
    expect(page.locator("#f-country")).to_have_value("JO")
    expect(page.locator("#f-level")).to_have_value("2")
    expect(rows(page)).to_have_count(len(both))

    page.locator("#f-reset").click()
    expect(page).not_to_have_url(re.compile(r"country=|level=|actor="))
    expect(rows(page)).to_have_count(len(get(server, "/timeline")["entries"]))
    iran = get(server, "/actors/resolve", name="Téhéran")["id"]  # by any of its names
    page.select_option("#f-actor", iran)
    expect(page).to_have_url(re.compile(rf"actor={iran}"))
    expect(rows(page)).to_have_count(len(get(server, "/timeline", actor=iran)["entries"]))


def test_the_slider_shows_what_was_known_at_a_past_position(watched, server):
    filed = httpx.get(
        f"{server.url}/events", params={"type": "Report.Filed", "limit": 1000}, timeout=10
    ).text.splitlines()
    tally_at = next(
        httpx.Response(200, content=line).json()["position"]
        for line in filed
        if '"kind":"tally"' in line
    )
    before = tally_at - 1
    page = watched.open()
    now = len(get(server, "/timeline")["entries"])
    expect(rows(page)).to_have_count(now)
    slider = page.locator("#asof")
    slider.evaluate(  # as a drag ends: the value changes, then `input` fires
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        before,
    )
    expect(page).to_have_url(re.compile(rf"as_of={before}\b"))
    expect(page.locator("body")).to_have_attribute("data-position", str(before))
    then = get(server, "/timeline", as_of=before)["entries"]
    assert len(then) < now
    expect(rows(page)).to_have_count(len(then))
    expect(page.locator("#live")).to_have_attribute("data-state", "past")
    expect(page.locator("#live-text")).to_contain_text(f"position {before} of")
    expect(page.locator("#reported")).to_contain_text("No source has reported a tally")
    markers = page.evaluate("() => Chart.getChart('tally-chart').data.datasets[2].data")
    assert not any(markers)  # the 165 was not in the log yet
    expect(page.locator("#asof-event")).to_contain_text(f"Position {before}:")

    slider.focus()  # the keyboard moves it too
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(re.compile(rf"as_of={before - 1}\b"))
    expect(page.locator("body")).to_have_attribute("data-position", str(before - 1))
    shoot(page, "page-past.png")

    page.locator("#to-live").click()
    expect(page).not_to_have_url(re.compile("as_of="))
    expect(rows(page)).to_have_count(now)
    expect(page.locator("#reported")).to_contain_text("plus de 165")


def test_a_report_filed_through_the_api_appears_live(watched, server):
    page = watched.open()
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    count = rows(page).count()
    page.evaluate("window.notReloaded = true")
    excerpt = "Une base abritant des soldats américains à Al-Tanf a été visée par un drone."
    (position,) = file(
        server.url,
        [
            {
                "key": "test-page-live-al-tanf",
                "kind": "attack",
                "when": {"edtf": "2024-02-04", "wording": "dimanche"},
                "places": [{"name": "Al-Tanf", "country": "SY"}],
                "actors": [{"name": "soldats américains", "role": "target"}],
                "source": {
                    "outlet": "AFP",
                    "language": "fr",
                    "published_at": "2024-02-04",
                    "speaker": "un responsable américain",
                    "anonymous": True,
                    "quote": "Un drone a visé la base d'Al-Tanf",
                },
                "excerpt": excerpt,
            }
        ],
    )
    expect(rows(page)).to_have_count(count + 1)
    fresh = page.locator("#incident-list li.incident-row", has_text="Al-Tanf")
    expect(fresh).to_contain_text("new")
    expect(page.locator("#timeline .vis-label", has_text="Al-Tanf")).to_have_count(1)
    expect(page.locator("body")).to_have_attribute("data-position", str(position))
    expect(page.locator("#live-text")).to_contain_text(f"Live · log position {position}")
    assert page.evaluate("window.notReloaded") is True  # no reload
    expect(page.locator("#tally-headline")).to_contain_text("2 attacks documented")
    shoot(page, "page-live.png")

    # Open it; a correction, then a retraction, arrive live as well.
    fresh.locator("a.incident-link").first.click()
    detail = page.locator("#incident")
    expect(detail.locator(".source")).to_contain_text("un responsable américain")
    report = fresh.get_attribute("data-incident").removeprefix("report:")
    corrected = httpx.post(
        f"{server.url}/reports/{report}/corrections",
        json={
            "changes": {"when": "2024-02-03"},
            "reason": "the attack was on Saturday",
            "corrected_by": "AFP desk",
            "expected_version": 1,
        },
        headers=auth(server.url),
        timeout=10,
    )
    assert corrected.status_code == 201, corrected.text
    expect(detail.locator(".corrections")).to_contain_text("the attack was on Saturday")
    expect(detail.locator(".corrections")).to_contain_text("AFP desk")
    expect(detail).to_contain_text("3 Feb 2024")
    retracted = httpx.post(
        f"{server.url}/reports/{report}/retraction",
        json={"reason": "the official withdrew the statement", "retracted_by": "AFP desk"},
        headers=auth(server.url),
        timeout=10,
    )
    assert retracted.status_code == 201, retracted.text
    expect(detail.locator(".retraction")).to_contain_text("the official withdrew the statement")
    expect(detail).to_contain_text("every report retracted")
    expect(page.locator("#tally-headline")).to_contain_text("1 attack documented")
    assert page.evaluate("window.notReloaded") is True
