"""Issue 13 on the page, in headless Chromium against a real server: the duplicates
to review (listed, linked with a key, dropped), the tally's possibly-in-period and
possibly-double-counted figures, the reported series as stepped lines, counts that
say whose and when they are disputed, and means.

Its own `timeline serve --demo` (the seed plus the reports filed below), so the
figures here do not depend on what tests/test_page.py files. Tests run in order:
the tally is checked before the pair is linked.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.servers import Process, file, free_port, running
from tests.test_page import Watched, browser, get, shoot  # noqa: F401  (browser: a fixture)

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails in CI)
    expect = None

pytestmark = pytest.mark.timeout(120)


def _attack(outlet: str, when: Any, place: dict, summary: str, **more: Any) -> dict:
    return {
        "kind": "attack",
        "when": when,
        "summary": summary,
        "places": [place],
        "actors": [{"name": "US forces", "role": "target"}],
        "source": {"outlet": outlet, "language": "en", "published_at": "2024-01-21"},
        **more,
    }


def _tally(day: str, value: int) -> dict:
    return {
        "kind": "tally",
        "when": f"2023-10-17/{day}",
        "summary": "Pentagon count of attacks since 17 October",
        "actors": [{"name": "US forces", "role": "target"}],
        "counts": [
            {
                "value": value,
                "qualifier": "at_least",
                "counted": "attacks",
                "wording": f"at least {value} attacks",
            }
        ],
        "source": {"outlet": "Reuters", "language": "en", "published_at": day},
    }


AL_ASAD = {"name": "Al-Asad air base", "country": "IQ", "latitude": 33.79, "longitude": 42.44}
AL_ASAD_AS_WRITTEN = {"name": "Ain al-Asad", "country": "IQ", "latitude": 33.80, "longitude": 42.45}
SHADDADI = {"name": "Al-Shaddadi", "country": "SY"}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Process]:
    folder = tmp_path_factory.mktemp("page-review")
    env = {
        "TIMELINE_DATABASE_URL": f"sqlite:///{folder}/timeline.sqlite3",
        "TIMELINE_SSE_HEARTBEAT_SECONDS": "1",
    }
    process = Process(["serve", "--demo"], env, free_port())
    with running(process):
        deadline = time.monotonic() + 30
        head = get(process, "/readyz")["position"]
        while get(process, "/timeline", limit=1)["position"] < head:  # the seed is in the views
            assert time.monotonic() < deadline, process.output()
            time.sleep(0.1)
        positions = file(
            process.url,
            [
                # Two unkeyed reports of one strike on Al-Asad, 1.4 km apart as placed.
                _attack("AP", "2024-01-20", AL_ASAD, "Rockets hit Al-Asad air base"),
                _attack("Reuters", "2024-01-20", AL_ASAD_AS_WRITTEN, "Ain al-Asad attacked"),
                # Dated only "October 2023": it may fall before the tally's start.
                _attack("AFP", "2023-10", SHADDADI, "A drone attack on Al-Shaddadi in October"),
                # A second source's tallies, three weeks apart: a second reported series.
                _tally("2024-01-10", 120),
                _tally("2024-01-30", 160),
                # One incident, two sources whose killed figures cannot both be true.
                {
                    "incident_key": "test-review-casualties",
                    "kind": "casualties",
                    "when": "2023-12-05",
                    "places": [{"name": "Deir ez-Zor", "country": "SY"}],
                    "means": ["drone"],
                    "counts": [
                        {
                            "value": 3,
                            "qualifier": "exact",
                            "counted": "killed",
                            "whose": "civilians",
                            "wording": "three civilians",
                        },
                        {
                            "value": 5,
                            "low": 4,
                            "high": 7,
                            "qualifier": "about",
                            "counted": "wounded",
                            "wording": "some five wounded",
                        },
                    ],
                    "source": {"outlet": "SOHR", "language": "en", "published_at": "2023-12-05"},
                },
                {
                    "incident_key": "test-review-casualties",
                    "kind": "casualties",
                    "when": "2023-12-05",
                    "places": [{"name": "Deir ez-Zor", "country": "SY"}],
                    "counts": [
                        {
                            "value": 4,
                            "qualifier": "exact",
                            "counted": "killed",
                            "whose": "civilians",
                            "wording": "four civilians",
                        }
                    ],
                    "source": {"outlet": "AFP", "language": "en", "published_at": "2023-12-06"},
                },
            ],
        )
        while get(process, "/timeline", limit=1)["position"] < positions[-1]:
            assert time.monotonic() < deadline, process.output()
            time.sleep(0.1)
        yield process


@pytest.fixture
def watched(browser, server: Process) -> Iterator[Watched]:  # noqa: F811
    page = browser.new_page()
    watched = Watched(page, server.url)
    try:
        yield watched
        watched.check()
    finally:
        page.close()


def _pair(server: Process) -> list[str]:
    (pair,) = get(server, "/duplicates")["duplicates"]
    return pair["incidents"]


def test_the_tally_shows_possibly_in_period_double_counted_and_stepped_series(watched, server):
    page = watched.open()
    figures = page.locator("#tally-figures")
    # The seed's Jordan drone attack and the two Al-Asad incidents.
    expect(figures.locator("dd").nth(0)).to_have_text("3 certainly since 17 Oct 2023")
    expect(figures.locator("dd").nth(1)).to_have_text(
        "1 dated across the start: may or may not count"
    )
    expect(figures.locator("dd").nth(2)).to_have_text("1 likely duplicates not yet decided")
    headline = page.locator("#tally-headline")
    expect(headline).to_contain_text("(1 more possibly in the period; 1 possibly counted twice)")
    straddling = page.locator("#possibly-in-period li")
    expect(straddling).to_have_count(1)
    expect(straddling).to_contain_text("Al-Shaddadi")
    expect(straddling).to_contain_text("its dates run across 17 Oct 2023")
    expect(page.locator("#double-counted li")).to_have_count(1)
    expect(page.locator("#double-counted li")).to_contain_text("Al-Asad air base")

    # One stepped line per source that reported a tally, on the cumulative scale.
    lines = page.evaluate(
        """() => Chart.getChart(document.getElementById('tally-chart')).data.datasets
              .filter((d) => d.stepped === true).filter((d) => d.label.startsWith('Reported by'))
              .map((d) => ({label: d.label, stepped: d.stepped, axis: d.yAxisID,
                            values: d.data.filter((v) => v !== null)}))"""
    )
    assert sorted(lines, key=lambda d: d["label"]) == [
        {
            "label": "Reported by AFP (stepped)",
            "stepped": True,
            "axis": "total",
            "values": [165],  # the seed's "plus de 165", in the chart's last week
        },
        {
            "label": "Reported by Reuters (stepped)",
            "stepped": True,
            "axis": "total",
            "values": [120, 120, 120, 160],  # from the week of 8 Jan, carried, then up
        },
    ]
    page.add_style_tag(content=".controls { position: static !important; }")  # not over the shot
    shoot(page, "page-tally-possible.png", "section:has(#tally-heading)")


def test_duplicates_to_review_are_linked_with_a_key_and_leave_the_list(watched, server):
    pair = _pair(server)
    page = watched.open()
    rows_before = page.locator("#incident-list li.incident-row").count()
    items = page.locator("#review-list li.review-item")
    expect(items).to_have_count(1)
    item = items.first
    assert item.get_attribute("data-incidents") == " ".join(pair)
    expect(item.locator(".pair")).to_contain_text("Al-Asad air base")
    expect(item.locator(".pair")).to_contain_text("Ain al-Asad")
    expect(item.locator(".pair")).to_contain_text("both attacks")
    reasons = item.locator(".reasons li")
    expect(reasons).to_have_count(4)
    expect(reasons.nth(1)).to_have_text("when: intervals overlap 2024-01-20..2024-01-20")
    expect(item.locator(".reasons")).to_contain_text("km apart (IQ)")
    expect(page.locator("#review-count")).to_have_text("(1)")
    shoot(page, "page-duplicates.png", "#review")

    # Without a key nothing is sent, and the page says what is missing.
    item.locator(".reason").fill("AP and Reuters tell of the same rocket attack")
    item.get_by_role("button", name="Same occurrence (link)").click()
    expect(item.locator(".decide-status")).to_contain_text("enter an API key")
    assert get(server, "/duplicates")["duplicates"] != []

    # A wrong key: the service's 401 is said, and the pair stays.
    page.locator("#review-key").fill("not-a-key")
    item.get_by_role("button", name="Same occurrence (link)").click()
    expect(item.locator(".decide-status")).to_contain_text("Not recorded: unknown API key")
    watched.errors = [e for e in watched.errors if not re.search(r"status of 401", e)]

    page.locator("#review-key").fill(server.token)
    page.locator("#review-by").fill("page desk")
    item.get_by_role("button", name="Same occurrence (link)").click()
    expect(page.locator("#review-list li.review-item")).to_have_count(0)
    expect(page.locator("#review-count")).to_have_text("(0)")
    expect(page.locator("#review-status")).to_contain_text("Linked at log position")
    expect(page.locator("#incident-list li.incident-row")).to_have_count(rows_before - 1)
    expect(page.locator("#tally-headline")).to_contain_text("0 possibly counted twice")
    assert "not-a-key" not in page.url and server.token not in page.url
    # The key stays in this tab only.
    assert page.evaluate("sessionStorage.getItem('timeline-api-key')") == server.token

    # The API shows the link.
    assert get(server, "/duplicates")["duplicates"] == []
    events = [json.loads(line) for line in httpx.get(f"{server.url}/events").text.splitlines()]
    (decision,) = [e for e in events if e["type"] == "Decision.Made"]
    assert decision["data"]["action"] == "link"
    assert decision["data"]["reason"] == "AP and Reuters tell of the same rocket attack"
    assert decision["data"]["decided_by"] == "page desk"
    assert decision["data"]["incident"] == pair[0]
    assert f"report:{decision['data']['report']}" == pair[1]
    merged = get(server, f"/incidents/{pair[0]}")["entry"]
    assert sorted(s["outlet"] for s in merged["sources"]) == ["AP", "Reuters"]
    assert httpx.get(f"{server.url}/incidents/{pair[1]}").status_code == 404


def test_a_pair_marked_distinct_leaves_the_list(watched, server):
    # A second pair to decide: two reports of one mortar attack on Tower 22.
    tower = {"name": "Tower 22", "country": "JO", "latitude": 33.32, "longitude": 38.69}
    (_, position) = file(
        server.url,
        [
            _attack("AP", "2024-01-05", tower, "Mortar fire at Tower 22"),
            _attack("CNN", "2024-01-05", tower, "Tower 22 shelled"),
        ],
    )
    assert len(get(server, "/duplicates", min_position=position)["duplicates"]) == 1
    page = watched.open()
    item = page.locator("#review-list li.review-item")
    expect(item).to_have_count(1)
    item.locator(".reason").fill("two attacks the same day, hours apart")
    page.locator("#review-key").fill(server.token)
    item.get_by_role("button", name="Not the same").click()
    expect(page.locator("#review-list li.review-item")).to_have_count(0)
    expect(page.locator("#review-status")).to_contain_text("Marked distinct at log position")
    assert get(server, "/duplicates")["duplicates"] == []
    events = [json.loads(line) for line in httpx.get(f"{server.url}/events").text.splitlines()]
    assert [e["data"]["action"] for e in events if e["type"] == "Decision.Made"] == [
        "link",
        "distinct",
    ]


def test_counts_say_whose_bounds_and_disputed_and_means_filter(watched, server):
    page = watched.open("?incident=test-review-casualties")
    counts = page.locator("#incident .counts > li.count")
    expect(counts).to_have_count(2)
    killed = page.locator('#incident li.count[data-counted="killed"]')
    expect(killed).to_have_attribute("data-qualifier", "disputed")
    expect(killed.locator("> b")).to_have_text(
        "⚠ disputed: 3 to 4 killed (civilians), sources cannot all be right"
    )
    expect(killed).to_contain_text("their figures allow no common value")
    expect(killed.locator(".count-sources li")).to_have_count(2)
    expect(killed.locator(".count-sources")).to_contain_text("three civilians (3, SOHR)")
    expect(killed.locator(".count-sources")).to_contain_text("four civilians (4, AFP)")
    wounded = page.locator('#incident li.count[data-counted="wounded"]')
    expect(wounded.locator("> b")).to_have_text("4–7 wounded")
    expect(wounded).to_contain_text("(the sources do not say whose)")
    expect(wounded).to_contain_text("every source allows between 4 and 7")
    expect(wounded.locator(".count-sources")).to_contain_text("some five wounded (about 5 (4–7)")
    expect(page.locator("#incident dd.means")).to_have_text("drone")
    expect(page.locator("#contradictions")).to_contain_text("Counts disagree.")

    # The means filter: only the incident whose sources name a drone.
    page.locator("#f-means").select_option("drone")
    expect(page).to_have_url(f"{server.url}/?incident=test-review-casualties&means=drone")
    rows = page.locator("#incident-list li.incident-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-incident", "test-review-casualties")
    expect(rows.first.locator(".means")).to_have_text("by drone")
    page.locator("#f-means").select_option("mortar")
    expect(page.locator("#incident-list li.empty")).to_have_count(1)


def test_a_means_outside_the_vocabulary_is_refused_once(watched, server):
    page = watched.page
    page.goto(f"{server.url}/?means=drones")
    expect(page.locator("body")).to_have_attribute("data-ready", "refused")
    expect(page.locator("#error")).to_contain_text("drones")
    expect(page.locator("#f-means")).to_have_value("drones")
    expect(page.locator("#f-means option:checked")).to_have_text("drones (not a means)")
    # The browser logs each refused request; nothing else may be logged.
    watched.errors = [e for e in watched.errors if not re.search(r"status of 4\d\d", e)]


def test_the_review_rules_one_by_one(watched, server):
    """The pure functions in static/review.js, run in the browser that runs the page."""
    page = watched.open()
    got = page.evaluate(
        """async () => {
          const r = await import('/static/review.js');
          const c = (qualifier, value, more = {}) => ({counted: 'killed', whose: null, qualifier,
            value, low: value, high: value, bounds: {low: value, high: value}, ...more});
          const entries = [
            {incident: 'k', sources: [{report: 'r1'}, {report: 'r2'}]},
            {incident: 'report:r3', sources: [{report: 'r3'}]},
          ];
          return {
            figures: [
              r.countFigure(c('exact', 3, {whose: 'civilians'})),
              r.countFigure(c('at_least', 85, {counted: 'sites'})),
              r.countFigure(c('at_most', 3)),
              r.countFigure(c('about', 10, {whose: 'Kataeb Hezbollah'})),
              r.countFigure(c('range', 2, {low: 2, high: 6, bounds: {low: 3, high: 5}})),
              r.countFigure(c('range', 2, {low: 2, high: 6, bounds: {low: 2, high: null}})),
              r.countFigure(c('disputed', 3, {low: 3, high: 4})),
              r.countFigure(c('disputed', 50, {low: 50, high: 50})),
            ],
            bounds: [r.boundsText({low: 85, high: null}), r.boundsText({low: 3, high: 3}),
                     r.boundsText({low: 0, high: 3}), r.boundsText({low: 3, high: 5})],
            sources: [r.sourceFigure({value: 7, qualifier: 'at_least', low: null, high: null,
                                      parts: [{value: 5}, {value: 2}]}),
                      r.sourceFigure({value: 5, qualifier: 'about', low: 4, high: null})],
            steps: r.reportedSteps(
              [{day: '2024-01-30', value: 160}, {day: '2024-02-02', value: 165},
               {day: '2024-01-17', value: 120}, {day: '2024-01-19', value: 130}],
              ['2024-01-08', '2024-01-15', '2024-01-22', '2024-01-29', '2024-02-05']),
            plans: [r.linkPlan(['k', 'report:r3'], entries),
                    r.linkPlan(['report:r3', 'k'], entries),
                    r.linkPlan(['report:a', 'report:b'], [])],
            means: [r.meansLabel('ied'), r.meansLabel('air_strike'), r.meansLabel('new_one')],
            names: [r.seriesName({outlet: 'AFP', speaker: null}),
                    r.seriesName({outlet: 'Reuters', speaker: 'a US official'})],
          };
        }"""
    )
    assert got["figures"] == [
        "3 killed (civilians)",
        "at least 85 sites",
        "at most 3 killed",
        "about 10 killed (Kataeb Hezbollah)",
        "3–5 killed",
        "2–6 killed",
        "disputed: 3 to 4 killed, sources cannot all be right",
        "disputed: killed, sources cannot all be right",
    ]
    assert got["bounds"] == ["85 or more", "exactly 3", "at most 3", "between 3 and 5"]
    assert got["sources"] == ["at least 7 = 5 + 2", "about 5 (4–?)"]
    # Carried forward from the first week with a figure; the higher of a week's two.
    assert got["steps"] == [None, 130, 130, 165, 165]
    assert got["plans"] == [
        [{"report": "r3", "incident": "k"}],
        [{"report": "r3", "incident": "k"}],
        [{"report": "b", "incident": "report:a"}],
    ]
    assert got["means"] == ["IED", "air strike", "new_one"]
    assert got["names"] == ["AFP", "Reuters (quoting a US official)"]


def test_past_positions_show_candidates_without_buttons(watched, server):
    events = [json.loads(line) for line in httpx.get(f"{server.url}/events").text.splitlines()]
    linked = next(e["position"] for e in events if e["type"] == "Decision.Made")
    page = watched.open(f"?as_of={linked - 1}")
    items = page.locator("#review-list li.review-item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Decisions are made on the log as it is now")
    expect(items.first.get_by_role("button")).to_have_count(0)
    expect(page.locator("#review-count")).to_have_text("(1)")
    assert len(get(server, "/duplicates", as_of=linked - 1)["duplicates"]) == 1
