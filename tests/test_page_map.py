"""The page's map, driven in headless Chromium against `timeline serve --demo`.

The seed names its places without coordinates; the demo's filer adds them through
keyed corrections (examples/seed-geocoding.ndjson). What the map must show is
computed here from the API, never written down: the located incidents, their
places and precisions, the count without a located place, at any `as_of`.

Set TIMELINE_PAGE_SCREENSHOTS=docs to refresh docs/page-map.png.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests import test_page
from tests.test_page import DRONE, STRIKES, get, shoot

# The page tests' fixtures (a demo server, a Chromium, a watched page), for this module too.
server, browser, watched = test_page.server, test_page.browser, test_page.watched

with contextlib.suppress(ImportError):  # else the browser fixture skips or fails with the reason
    from playwright.sync_api import Page, expect

pytestmark = pytest.mark.timeout(120)
DAY_MS = 86_400_000


def located(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """incident -> its places that have coordinates, from the API's answer."""
    found = {}
    for entry in entries:
        places = [p for p in entry["places"] if p["latitude"] is not None]
        if places:
            found[entry["incident"]] = places
    return found


def marks(page: Page) -> list[dict[str, str]]:
    return page.locator("#map path.map-mark").evaluate_all(
        "ps => ps.map(p => ({incident: p.dataset.incident, place: p.dataset.place,"
        " precision: p.dataset.precision, cls: p.getAttribute('class'),"
        " fill: p.getAttribute('fill')}))"
    )


def without_text(count: int) -> str:
    return f"{count} incident{'' if count == 1 else 's'} without a located place"


def test_the_map_shows_the_located_incidents_at_their_places(watched, server):
    entries = get(server, "/timeline")["entries"]
    where = located(entries)
    assert len(where) >= 2 and len(where) < len(entries)  # the seed has both kinds
    page = watched.open()
    expect(page.locator("#map path.map-mark")).to_have_count(sum(map(len, where.values())))
    drawn = marks(page)
    assert {m["incident"] for m in drawn} == set(where)
    assert sorted((m["incident"], m["place"], m["precision"]) for m in drawn) == sorted(
        (key, p["name"], p["coordinate_precision"]) for key, places in where.items() for p in places
    )
    expect(page.locator("#map-count")).to_contain_text(
        f"{len(where)} incidents on the map · {without_text(len(entries) - len(where))}"
    )
    # A locality is a disc, a region or a country a wider and lighter one; the
    # colour is the incident's level, as on the timeline.
    levels = {e["incident"]: e["level"] for e in entries}
    colours = page.evaluate(
        "() => [0,1,2,3,4].map(n => getComputedStyle(document.documentElement)"
        ".getPropertyValue(`--lvl-${n}`).trim())"
    )
    for mark in drawn:
        assert mark["fill"] == colours[levels[mark["incident"]]], mark
    size = {}
    for precision in ("locality", "region", "country"):
        found = page.locator(f"#map path.map-mark.precision-{precision}")
        if found.count():
            box = found.first.bounding_box()
            opacity = float(found.first.get_attribute("fill-opacity"))
            size[precision] = (box["width"], opacity)
    assert size["locality"][0] < size["region"][0] < size["country"][0], size
    assert size["locality"][1] > size["region"][1] > size["country"][1], size
    # The base layer ships with the service: Natural Earth's countries, no tiles.
    assert int(page.locator("#map").get_attribute("data-outlines")) > 200
    expect(page.locator("#map img")).to_have_count(0)
    # The responds-to chain: an arrow from the drone attack's place to the strikes'.
    arrow = page.locator(f"#map path.map-arrow[data-from='{DRONE}'][data-to='{STRIKES}']")
    expect(arrow).to_have_count(1)
    assert arrow.get_attribute("marker-end") == "url(#map-arrowhead)"
    assert "deed" in arrow.get_attribute("class")  # dark: an attack answering an attack
    shoot(page, "page-map.png", "#map-box")


def test_clicking_a_mark_opens_the_incident_and_the_timeline_selects_it(watched, server):
    page = watched.open()
    drone = page.locator(f"#map path.map-mark[data-incident='{DRONE}']")
    expect(drone).to_have_count(1)
    drone.click()
    expect(page).to_have_url(re.compile(rf"incident={DRONE}"))
    expect(page.locator("#incident h2")).to_contain_text("Attack")
    expect(page.locator("#incident-title")).to_be_focused()
    # The other side follows: the timeline's bar is selected, the mark marked.
    expect(page.locator("#timeline .vis-item.vis-selected.lvl-2")).to_have_count(1)
    expect(page.locator(f"#map path.map-mark.selected[data-incident='{DRONE}']")).to_have_count(1)
    # And from the timeline to the map: the strikes' bar selects the strikes' marks.
    strikes = len(located([get(server, f"/incidents/{STRIKES}")["entry"]])[STRIKES])
    page.locator("#timeline .vis-item.lvl-4").click()
    expect(page).to_have_url(re.compile(rf"incident={STRIKES}"))
    expect(page.locator("#map path.map-mark.selected")).to_have_count(strikes)
    expect(page.locator(f"#map path.map-mark.selected[data-incident='{STRIKES}']")).to_have_count(
        strikes
    )


def test_the_slider_changes_the_marks(watched, server):
    corrected = httpx.get(
        f"{server.url}/events", params={"type": "Report.Corrected", "limit": 1000}, timeout=10
    ).text.splitlines()
    geocoded = [
        httpx.Response(200, content=line).json()["position"]
        for line in corrected
        if '"key":"seed-geocoding-' in line
    ]
    assert len(geocoded) >= 2
    page = watched.open()
    slider = page.locator("#asof")
    # Before the filer added coordinates, then part-way through, then the end.
    for position in (geocoded[0] - 1, geocoded[len(geocoded) // 2], geocoded[-1]):
        slider.evaluate(
            "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }",
            position,
        )
        expect(page.locator("#map")).to_have_attribute("data-drawn", str(position))
        then = get(server, "/timeline", as_of=position)["entries"]
        where = located(then)
        expect(page.locator("#map path.map-mark")).to_have_count(sum(map(len, where.values())))
        assert {m["incident"] for m in marks(page)} == set(where)
        expect(page.locator("#map-count")).to_contain_text(without_text(len(then) - len(where)))
    expect(page.locator("#map path.map-mark")).not_to_have_count(0)
    slider.evaluate(
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        geocoded[0] - 1,
    )
    expect(page.locator("#map path.map-mark")).to_have_count(0)  # none located yet


def test_filters_and_the_time_window_apply_to_the_map(watched, server):
    jordan = get(server, "/timeline", country="JO")["entries"]
    page = watched.open("?country=JO")
    where = located(jordan)
    assert where  # the drone attack, in the Jordanian desert
    expect(page.locator("#map path.map-mark")).to_have_count(sum(map(len, where.values())))
    assert {m["incident"] for m in marks(page)} == set(where)

    # Opening the strikes zooms the timeline on their chain: the map shows what
    # that window shows, and counts what it leaves out.
    entries = get(server, "/timeline")["entries"]
    page = watched.open(f"?incident={STRIKES}")
    expect(page.locator("body")).to_have_attribute("data-window", f"chain:{STRIKES}")
    box = page.locator("#map")
    start, end = (int(float(box.get_attribute(f"data-window-{e}"))) for e in ("start", "end"))
    epoch = date(1970, 1, 1)

    def meets(entry: dict[str, Any]) -> bool:
        first = (date.fromisoformat(entry["when"]["earliest"]) - epoch).days * DAY_MS
        last = (date.fromisoformat(entry["when"]["latest"]) + timedelta(days=1) - epoch).days
        return first < end and last * DAY_MS > start

    shown = [e for e in entries if meets(e)]
    assert len(shown) < len(entries)  # the window leaves some out
    where = located(shown)
    expect(page.locator("#map path.map-mark")).to_have_count(sum(map(len, where.values())))
    assert {m["incident"] for m in marks(page)} == set(where)
    expect(page.locator("#map-count")).to_contain_text(
        f"{without_text(len(shown) - len(where))} · "
        f"{len(entries) - len(shown)} outside the timeline's time window"
    )


def test_the_maps_rules_one_by_one(watched, server):
    """mapContent and its helpers in static/rules.js, run in the page's browser."""
    page = watched.open()
    got = page.evaluate(
        """async () => {
          const r = await import('/static/rules.js');
          const d = (s) => Date.parse(s + 'T00:00:00Z');
          const place = (name, lat, precision) => ({name, country: 'IQ', latitude: lat,
            longitude: lat === null ? null : 40, coordinate_precision: precision});
          const entry = (incident, earliest, latest, level, places, responds_to = []) =>
            ({incident, when: {earliest, latest}, level, places, responds_to});
          const entries = [
            entry('a', '2024-01-25', '2024-01-31', 2, [place('A', 32, 'region')]),
            entry('b', '2024-02-02', '2024-02-03', 4,
                  [place('B1', 33, 'country'), place('B2', 34, 'exact'), place('B3', null, null)],
                  ['a']),
            entry('c', '2024-02-02', '2024-02-02', 0, [place('C', 35, null)], ['a']),
            entry('d', '2023-10-07', '2023-10-07', 1, []),
          ];
          const summary = (c) => ({
            marks: c.marks.map(m => [m.incident, m.place.name, m.precision, m.shape]),
            links: c.links.map(l => [l.from, l.to, l.deed, l.start.name, l.end.name]),
            located: c.located, unlocated: c.unlocated, outside: c.outside,
          });
          return {
            all: summary(r.mapContent(entries)),
            window: summary(r.mapContent(entries, {start: d('2024-02-01'), end: d('2024-02-03')})),
            edges: [r.inWindow(entries[0], {start: d('2024-02-01'), end: d('2024-02-02')}),
                    r.inWindow(entries[0], {start: d('2024-01-31'), end: d('2024-02-01')}),
                    r.inWindow(entries[3], null)],
            finest: r.locatedPlaces(entries[1]).map(p => p.name),
          };
        }"""
    )
    assert got["all"] == {
        "marks": [
            ["a", "A", "region", "disc"],
            ["b", "B2", "exact", "point"],
            ["b", "B1", "country", "disc"],
            ["c", "C", "locality", "disc"],  # no precision given: not drawn as exact
        ],
        "links": [["a", "b", True, "A", "B2"], ["a", "c", False, "A", "C"]],
        "located": 3,
        "unlocated": 1,
        "outside": 0,
    }
    # 1-3 Feb: the January attack and the October one are outside; no link to a cause off the map.
    assert got["window"] == {
        "marks": [
            ["b", "B2", "exact", "point"],
            ["b", "B1", "country", "disc"],
            ["c", "C", "locality", "disc"],
        ],
        "links": [],
        "located": 2,
        "unlocated": 0,
        "outside": 2,
    }
    assert got["edges"] == [False, True, True]  # a span's last day runs to its end
    assert got["finest"] == ["B2", "B1"]
