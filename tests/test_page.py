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
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
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
        "/static/rules.js",
        "/static/style.css",
        "/static/vendor/vis-timeline/vis-timeline-graph2d.min.js",
        "/static/vendor/chart.js/chart.umd.min.js",
        "/static/vendor/chartjs-plugin-annotation/chartjs-plugin-annotation.min.js",
        "/static/vendor/timeline-arrows/arrow.js",
        "/static/map.js",
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/vendor/topojson-client/topojson-client.min.js",
        "/static/vendor/world-atlas/countries-50m.json",
    ):
        assert httpx.get(f"{server.url}{path}", timeout=10).status_code == 200, path
    # The vendored files are the ones VERSIONS.md records.
    vendor = Path(__file__).resolve().parent.parent / "service" / "static" / "vendor"
    recorded = re.findall(r"^([0-9a-f]{64})  (\S+)$", (vendor / "VERSIONS.md").read_text(), re.M)
    # The page's libraries (Leaflet's script and style, the outlines too) and Swagger UI's files.
    assert len(recorded) == 11
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
    expect(page.locator("#map")).to_have_attribute("data-outlines", re.compile(r"^[1-9]"))
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


# ---------------------------------------------------------------- the first hour (issue 12)


def test_an_incident_hidden_by_a_filter_says_so(watched, server):
    page = watched.open("?kind=strike")
    strikes = get(server, "/timeline", kind="strike")["entries"]
    expect(rows(page)).to_have_count(len(strikes))
    # The strikes answer the drone attack: in the log, but not a strike.
    cause = page.locator(f"#incident-list li[data-incident='{STRIKES}'] .responds")
    expect(cause).to_contain_text("hidden by the current filters")
    expect(page.locator("#attacks")).to_contain_text("hidden by the current filters")
    expect(page.locator("#main")).not_to_contain_text("not in the log")
    cause.locator("a.clear-filters").click()
    expect(page).not_to_have_url(re.compile("kind="))
    expect(rows(page)).to_have_count(len(get(server, "/timeline")["entries"]))
    expect(cause).not_to_contain_text("hidden by")


def test_a_refused_view_is_said_once_and_offers_to_clear_the_filters(watched, server):
    page = watched.page
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/timeline?" in r.url else None)
    page.goto(f"{server.url}/?level=9")  # min_level=9: the API answers 422
    box = page.locator("#error")
    expect(box).to_contain_text("min_level: Input should be less than or equal to 4")
    expect(box).not_to_contain_text("Retrying")
    expect(page.locator("body")).to_have_attribute("data-ready", "refused")
    before = len(asked)
    page.wait_for_timeout(4_000)  # the old page asked again every 3 s
    assert len(asked) == before, asked[before:]
    box.get_by_role("link", name="Clear filters").click()
    expect(page).not_to_have_url(re.compile("level="))
    expect(box).to_be_hidden()
    expect(rows(page)).to_have_count(len(get(server, "/timeline")["entries"]))

    # A country name where a code belongs: whatever the API says, said once.
    page.goto(f"{server.url}/?country=Iraq")
    answer = httpx.get(f"{server.url}/timeline", params={"country": "Iraq"}, timeout=10)
    if answer.is_client_error:
        detail = answer.json()["detail"]
        expect(box).to_contain_text(detail if isinstance(detail, str) else detail[0]["msg"])
        expect(box.get_by_role("link", name="Clear filters")).to_be_visible()
    else:
        expect(page.locator("body")).to_have_attribute("data-ready", "1")
        expect(rows(page)).to_have_count(len(answer.json()["entries"]))
    page.wait_for_timeout(3_500)
    expect(box).not_to_contain_text("invalid_argument")
    expect(box).not_to_contain_text("Retrying")

    # An unknown actor: any 4xx the views answer, 404 included, is said the same way.
    nobody = "no actor is known by the name 'Nobody'"
    page.route(
        re.compile(r"/timeline\?.*actor=Nobody"),
        lambda route: route.fulfill(status=404, json={"detail": nobody}),
    )
    page.goto(f"{server.url}/?actor=Nobody")
    expect(box).to_contain_text(nobody)
    expect(page.locator("body")).to_have_attribute("data-ready", "refused")
    page.unroute(re.compile(r"/timeline\?.*actor=Nobody"))
    # The browser logs each refused request; nothing else may be logged.
    watched.errors = [e for e in watched.errors if not re.search(r"status of 4\d\d", e)]


def test_a_filter_from_the_url_adds_no_duplicate_actor(watched, server):
    actors = get(server, "/actors")
    iran = get(server, "/actors/resolve", name="Téhéran")["id"]
    for name in ("Téhéran", "teheran"):  # any of its names, spelt as the API matches them
        page = watched.open(f"?actor={name}")
        options = page.locator("#f-actor option")
        expect(options).to_have_count(1 + len(actors))
        expect(page.locator("#f-actor")).to_have_value(iran)
        expect(rows(page)).to_have_count(len(get(server, "/timeline", actor=iran)["entries"]))


def test_plurals_are_right(watched, server):
    hamas = get(server, "/actors/resolve", name="Hamas")["id"]
    summary = get(server, f"/actors/{hamas}/history")["summary"]
    assert summary["reports"] == summary["incidents"] == 1  # the seed's one report
    page = watched.open(f"?who={hamas}")
    stats = page.locator("#actor-view .stats")
    expect(stats).to_contain_text("1 report")
    expect(stats).to_contain_text("1 incident")
    expect(stats).not_to_contain_text("1 reports")
    expect(stats).not_to_contain_text("1 incidents")
    page = watched.open()
    attack = get(server, "/tally", attacks=True)["attacks"][0]
    expect(page.locator("#attacks li").first).to_contain_text(f"{attack['reports']} reports")
    expect(page.locator("#main")).not_to_contain_text("(s)")
    one = page.locator("#incident-list a.incident-link[aria-label$=', 1 report']")
    assert one.count() >= 1
    expect(page.locator("#incident-list a.incident-link[aria-label*='(s)']")).to_have_count(0)


def test_a_seed_note_is_never_shown_as_the_sources_words(watched, server):
    sources = get(server, f"/incidents/{STRIKES}")["entry"]["sources"]
    notes = [s["summary"] for s in sources if s["summary"]]
    assert len(notes) == 10  # every seed report carries a note (`summary`)
    page = watched.open(f"?incident={STRIKES}")
    shown = page.locator("#incident .source .summary")
    expect(shown).to_have_count(len(notes))
    for n in range(len(notes)):
        expect(shown.nth(n)).to_have_text(re.compile(r"^Filer's note, not the source's words: "))
    quoted = page.locator("#incident q, #incident blockquote").all_inner_texts()
    assert not any(note[:40] in text for note in notes for text in quoted)
    assert shown.evaluate_all("els => els.filter(e => e.closest('[lang=fr]')).length") == 0
    # A seed remark written into a date's wording is not quoted with the source's words.
    remark = "date de la confirmation telle qu'écrite"
    expect(page.locator("#incident")).to_contain_text("ce 2 janvier")
    expect(page.locator("#incident")).to_contain_text(f"filer's note: {remark}")
    quoted = page.locator("#incident q, #incident blockquote").all_inner_texts()
    assert "ce 2 janvier" in quoted
    assert not any(remark in text for text in quoted)
    everywhere = page.locator("q, blockquote").all_inner_texts()
    assert not any(remark in text for text in everywhere)  # contradictions list too
    # The bar's tooltip says so too.
    page.locator("#timeline .vis-item.lvl-4").hover()
    expect(page.locator(".vis-tooltip")).to_contain_text("Filer's note, not the source's words")
    # An actor's description comes from the registry (the seed), not from a source.
    page = watched.open(f"?who={UNITED_STATES}")
    expect(page.locator("#actor-view .description")).to_have_text(
        re.compile(r"^Registry description \(not a source's words\): Les Etats-Unis")
    )


def test_the_slider_marks_reports_and_starts_at_the_first(watched, server):
    lines = httpx.get(f"{server.url}/events", params={"limit": 10_000}, timeout=10).text
    events = [httpx.Response(200, content=line).json() for line in lines.splitlines()]
    reports = [e["position"] for e in events if e["type"].startswith("Report.")]
    first = min(e["position"] for e in events if e["type"] == "Report.Filed")
    assert first > 1  # the seed registers its actors first
    page = watched.open()
    slider = page.locator("#asof")
    expect(slider).to_have_attribute("min", str(first))
    marks = page.locator("#asof-marks .mark")
    expect(marks).to_have_count(len(reports))
    assert marks.evaluate_all("ms => ms.map(m => Number(m.dataset.position))") == reports
    head = int(slider.get_attribute("max"))
    # Each mark sits where the slider's thumb stands for its position.
    box = slider.bounding_box()
    for position in (first, head):
        x = page.locator(f"#asof-marks .mark[data-position='{position}']").bounding_box()["x"] + 1
        thumb = box["x"] + 8 + (box["width"] - 16) * (position - first) / (head - first)
        assert abs(x - thumb) <= 2, (position, x, thumb)
    expect(page.locator("#asof-help")).to_contain_text(f"position {first}")


def bar(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(f"#timeline .vis-item{selector}").bounding_box()
    assert found is not None, selector
    return found


def test_the_default_zoom_spreads_the_incidents(watched, server):
    page = watched.open()
    expect(page.locator("body")).to_have_attribute("data-window", "all")
    drone, strikes = bar(page, ".lvl-2"), bar(page, ".lvl-4")
    hamas = bar(page, ".lvl-1")
    area = page.locator("#timeline .vis-panel.vis-center").bounding_box()
    # Late January to February takes a good part of the width, not slivers...
    assert drone["width"] >= 0.2 * area["width"], (drone, area)
    assert strikes["width"] >= 20
    assert strikes["x"] - (drone["x"] + drone["width"]) >= 20  # a visible day apart
    # ...and October is still on screen, the months between left out and marked.
    assert area["x"] <= hamas["x"] and hamas["x"] + hamas["width"] <= area["x"] + area["width"]
    expect(page.locator("#timeline .vis-custom-time-marker")).to_contain_text("days")
    page.locator("#compress").uncheck()  # the true scale, on request
    expect(page.locator("#timeline .vis-custom-time-marker")).to_have_count(0)
    page.wait_for_timeout(800)
    assert bar(page, ".lvl-2")["width"] < drone["width"] / 2


LABELS_UNDER_BARS = """() => {
  const clash = [];
  for (const label of document.querySelectorAll('#timeline .vis-item-content > span')) {
    if (label.hidden || !label.textContent.trim()) continue;
    const a = label.getBoundingClientRect();
    const own = label.closest('.vis-item');
    for (const item of document.querySelectorAll('#timeline .vis-item')) {
      if (item === own) continue;
      const b = item.getBoundingClientRect();
      const apart = a.right <= b.left || b.right <= a.left
        || a.bottom <= b.top || b.bottom <= a.top;
      if (!apart) clash.push(label.textContent);
    }
  }
  return clash;
}"""


def test_labels_do_not_run_under_bars(watched, server):
    watched.page.set_viewport_size({"width": 1100, "height": 900})  # a laptop: less room
    page = watched.open()
    expect(page.locator("body")).to_have_attribute("data-window", "all")
    expect(page.locator("#timeline .envelope-label")).to_have_count(1)

    def clear() -> None:
        try:
            page.wait_for_function(f"({LABELS_UNDER_BARS})().length === 0", timeout=3_000)
        except PlaywrightTimeout:
            raise AssertionError(page.evaluate(LABELS_UNDER_BARS)) from None

    clear()
    page.locator("#compress").uncheck()  # the envelope's label now meets the bar
    clear()
    page.locator("#compress").check()
    page.goto(f"{server.url}/?incident={STRIKES}")
    expect(page.locator("body")).to_have_attribute("data-window", f"chain:{STRIKES}")
    clear()


def test_the_weekly_bars_stand_next_to_the_reported_165(watched, server):
    page = watched.open()
    chart = page.evaluate(
        """() => {
          const chart = Chart.getChart('tally-chart');
          const bars = chart.getDatasetMeta(0), marks = chart.getDatasetMeta(2);
          const one = bars.data.findIndex((_, i) => chart.data.datasets[0].data[i] > 0);
          const mark = marks.data.find((_, i) => chart.data.datasets[2].data[i]);
          return {
            axes: [bars.yAxisID, marks.yAxisID],
            height: bars.data[one].height, top: chart.chartArea.top, mark: mark.y,
          };
        }"""
    )
    assert chart["axes"][0] != chart["axes"][1]  # a scale of its own
    assert chart["height"] >= 40, chart  # one attack in a week, visible
    assert chart["mark"] >= chart["top"]  # and the 165 on the same chart


def test_the_pages_rules_one_by_one(watched, server):
    """The pure functions in static/rules.js, run in the browser that runs the page."""
    page = watched.open()
    got = page.evaluate(
        """async () => {
          const r = await import('/static/rules.js');
          const DAY = 86400000, d = (s) => Date.parse(s + 'T00:00:00Z');
          const actors = [
            {id: 'a1', name: 'Iran', aliases: [{name: 'Téhéran'}, {name: "L'Iran"}]},
            {id: 'a2', name: 'United States', aliases: [{name: 'Washington'}]},
          ];
          return {
            plural: [r.plural(0, 'incident'), r.plural(1, 'incident'), r.plural(2, 'incident'),
                     r.plural(1, 'attack carried out', 'attacks carried out'),
                     r.plural(3, 'attack carried out', 'attacks carried out')],
            errors: [
              r.errorText({detail: [{field: 'country', msg: 'not a code', type: 'x'},
                                    {loc: ['query', 'min_level'], msg: 'at most 4'}]}, 422),
              r.errorText({detail: 'no such actor'}, 404),
              r.errorText(null, 400),
            ],
            actors: [r.resolveActor(actors, 'téhéran')?.id, r.resolveActor(actors, 'A2')?.id,
                     r.resolveActor(actors, 'Nobody'), r.resolveActor(actors, ''),
                     r.resolveActor(actors, 'l iran')?.id],
            folded: [r.foldName("Hachd al-Chaabi"), r.foldName(" Hachd  Al Chaabi"),
                     r.foldName("Téhéran"), r.foldName("L’Iran")],
            presence: [r.incidentPresence('x', new Set(['x']), new Set(['x'])),
                       r.incidentPresence('x', new Set(), new Set(['x'])),
                       r.incidentPresence('x', new Set(), new Set())],
            quiet: r.quietStretches([[d('2023-10-07'), d('2023-10-08')],
                                     [d('2023-10-11'), d('2024-02-03')],
                                     [d('2024-01-21'), d('2024-02-01')]])
              .map(({start, end}) => [new Date(start).toISOString().slice(0, 10),
                                      new Date(end).toISOString().slice(0, 10)]),
            notQuiet: r.quietStretches([[d('2024-01-01'), d('2024-01-15')],
                                        [d('2024-01-30'), d('2024-02-01')]]),
            marks: r.reportMarks([{position: 3, type: 'Report.Corrected'},
                                  {position: 1, type: 'Actor.Registered'},
                                  {position: 2, type: 'Report.Filed'}]),
            start: [r.sliderStart([{position: 5, type: 'Report.Corrected'},
                                   {position: 7, type: 'Report.Filed'}], 9),
                    r.sliderStart([], 9)],
            wording: [r.splitWording("fin janvier"),
                      r.splitWording("«ce 2 janvier» : date de la confirmation ; contredit"),
                      r.splitWording('le "2 février", selon la dépêche')],
            steps: [r.axisStep(DAY / 100), r.axisStep(DAY / 20), r.axisStep(DAY / 3),
                    r.axisStep(10 * DAY)],
          };
        }"""
    )
    assert got["plural"] == [
        "0 incidents",
        "1 incident",
        "2 incidents",
        "1 attack carried out",
        "3 attacks carried out",
    ]
    assert got["errors"] == [
        "country: not a code; min_level: at most 4",
        "no such actor",
        "the service answered 400",
    ]
    assert got["actors"] == ["a1", "a2", None, None, "a1"]
    assert got["folded"] == ["hachd al chaabi", "hachd al chaabi", "teheran", "l iran"]
    assert got["presence"] == ["shown", "filtered", "absent"]
    # 11 Oct to 21 Jan: nothing starts or ends (the 11 Oct–3 Feb span runs through).
    assert got["quiet"] == [["2023-10-15", "2024-01-17"]]
    assert got["notQuiet"] == []  # 15 days apart: kept
    assert got["marks"] == [
        {"position": 2, "type": "Report.Filed"},
        {"position": 3, "type": "Report.Corrected"},
    ]
    assert got["start"] == [7, 9]
    assert got["wording"] == [
        {"words": "fin janvier", "note": ""},
        {"words": "ce 2 janvier", "note": "date de la confirmation ; contredit"},
        {"words": "2 février", "note": "le …, selon la dépêche"},
    ]
    assert got["steps"] == [
        {"scale": "day", "step": 1},
        {"scale": "day", "step": 5},
        {"scale": "month", "step": 1},
        {"scale": "year", "step": 1},
    ]


def test_a_note_is_not_quoted_on_the_slider_line(watched, server):
    """A report with only a `summary` (no excerpt, no quote): the line names it a note."""
    note = "The filer's own words about a statement, for the slider test."
    (position,) = file(
        server.url,
        [
            {
                "key": "test-page-note-only",
                "kind": "statement",
                "when": "2024-02-05",
                "summary": note,
                "actors": [{"name": "Washington", "role": "speaker"}],
                "source": {"outlet": "AFP", "language": "fr", "published_at": "2024-02-05"},
            }
        ],
    )
    page = watched.open(f"?as_of={position}")
    line = page.locator("#asof-event")
    expect(line).to_contain_text(f"Position {position}: Report.Filed")
    expect(line).to_contain_text(f"Filer's note, not the source's words: {note}")
    expect(line.locator("q, [lang=fr]")).to_have_count(0)


def test_the_reported_by_day_changes_what_is_shown(watched, server):
    """The second time axis: a report published after the day is left out."""
    (position,) = file(
        server.url,
        [
            {
                "key": "test-page-published-later",
                "kind": "attack",
                "when": "2024-02-04",
                "incident_key": "test-page-published-later",
                "actors": [{"name": "US forces", "role": "target"}],
                "source": {"outlet": "AFP", "language": "fr", "published_at": "2024-02-05"},
            }
        ],
    )
    get(server, "/timeline", min_position=position)  # the views have it
    page = watched.open()
    now = get(server, "/timeline")["entries"]
    expect(rows(page)).to_have_count(len(now))
    later = page.locator('#incident-list li[data-incident="test-page-published-later"]')
    expect(later).to_have_count(1)
    expect(page.locator("#reported-by-clear")).to_be_disabled()

    page.locator("#reported-by").fill("2024-02-03")
    expect(page).to_have_url(re.compile(r"reported_by=2024-02-03\b"))
    then = get(server, "/timeline", reported_by="2024-02-03")["entries"]
    assert "test-page-published-later" not in [e["incident"] for e in then]
    assert 0 < len(then) < len(now)
    expect(rows(page)).to_have_count(len(then))
    expect(later).to_have_count(0)
    expect(page.locator("#reported-by-note")).to_contain_text("Published by 3 Feb 2024.")
    expect(page.locator("#reported")).to_contain_text("plus de 165")  # published 2 Feb

    page.locator("#reported-by").fill("2024-02-01")  # before the seed's sources
    expect(rows(page)).to_have_count(0)
    expect(page.locator("#reported")).to_contain_text("No source has reported a tally")

    page.reload()  # the day is in the URL
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    expect(page.locator("#reported-by")).to_have_value("2024-02-01")
    page.locator("#reported-by-clear").click()
    expect(page).not_to_have_url(re.compile("reported_by="))
    expect(rows(page)).to_have_count(len(now))


def test_a_search_without_the_diacritic_finds_the_interior_ministry_sentence(watched, server):
    # What the API finds is what the page must show: computed, not written down here.
    found = get(server, "/search", q="Al-Qaim")["results"]
    # The Interior Ministry official's sentence ("un responsable au ministère de
    # l'Intérieur irakien", quoted by AFP).
    sentence = next(r for r in found if "Intérieur" in (r["source"]["speaker"] or ""))
    quote = next(s["text"] for s in sentence["snippets"] if s["field"] == "quote")
    page = watched.open()
    page.locator("#search-q").fill("Al-Qaim")
    page.locator("#search-form button[type=submit]").click()
    results = page.locator("#search-results li.search-result")
    expect(results).to_have_count(len(found))
    expect(page.locator("#search-status")).to_contain_text(f"{len(found)} report")
    # The accented word is marked in the source's own spelling.
    marks = page.locator("#search-results mark").all_inner_texts()
    assert marks and all(m.casefold().replace("ï", "i") == "al-qaim" for m in marks), marks
    first = results.nth([r["report"] for r in found].index(sentence["report"]))
    expect(first).to_contain_text(quote)
    expect(first).to_contain_text("ministère de l'Intérieur")
    first.locator("a").click()
    expect(page).to_have_url(re.compile(f"incident={re.escape(sentence['incident'])}"))
    expect(page.locator("#incident")).to_be_visible()
    shoot(page, "page-search.png", "#search")


def test_a_search_the_service_refuses_says_why(watched, server):
    page = watched.open()
    page.locator("#search-q").fill('"*"')
    page.locator("#search-form button[type=submit]").click()
    refusal = httpx.get(f"{server.url}/search", params={"q": '"*"'}, timeout=10)
    assert refusal.status_code == 422
    (detail,) = refusal.json()["detail"]
    assert detail["field"] == "q"
    expect(page.locator("#search-status")).to_have_text(f"q: {detail['msg']}")
    expect(page.locator("#search-results li")).to_have_count(0)
    # The browser logs the refused request itself; the page raised nothing else.
    watched.errors = [e for e in watched.errors if not re.search(r"status of 422", e)]
