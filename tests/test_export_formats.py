"""The export writers, pure: entries merged by the real merge rules, then written."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import pytest

from projections.exports import fields
from projections.exports.geojson import incident_feature
from projections.exports.stream import csv_stream, geojson_stream, paged, timelinejs_stream
from projections.exports.table import HEADER, HXL_TAGS, incident_row
from projections.exports.timelinejs import date_object, incident_slide
from projections.merge import merge_incident

ACTORS = {
    "Kataeb Hezbollah": ("kh", "state_backed"),
    "US forces": ("us", "state_force"),
    "Iran": ("ir", "state"),
}


def resolve(name: str, _: str | None) -> dict[str, Any]:
    actor_id, category = ACTORS.get(name, (None, None))
    key = actor_id or f"name:{name}"
    return {"key": key, "id": actor_id, "name": name if actor_id else None, "category": category}


def report(position: int, **content: Any) -> dict[str, Any]:
    retracted = content.pop("retracted", False)
    base = {
        "kind": "attack",
        "when": {"earliest": "2024-01-28", "latest": "2024-01-28", "wording": "dimanche"},
        "source": {"outlet": "AFP", "language": "fr"},
    }
    return {
        "id": f"r{position}",
        "content": {**base, **content},
        "retracted": retracted,
        "retraction": {"reason": "wrong", "by": "desk"} if retracted else None,
        "corrections": [],
        "filed_position": position,
    }


TOWER_22 = [
    report(
        1,
        places=[
            {
                "name": "Jordanie",
                "country": "JO",
                "latitude": 31.2,
                "longitude": 36.5,
                "coordinate_precision": "country",
            },
            {
                "name": "Tower 22",
                "country": "JO",
                "latitude": 33.3186,
                "longitude": 38.6928,
                "coordinate_precision": "exact",
            },
        ],
        actors=[
            {"name": "Kataeb Hezbollah", "role": "perpetrator"},
            {"name": "US forces", "role": "target"},
            {"name": "Islamic Resistance in Iraq", "role": "claimant"},
            {"name": "Iran", "role": "denier"},
        ],
        counts=[
            {"value": 3, "qualifier": "exact", "counted": "killed", "wording": "trois"},
            {"value": 40, "qualifier": "at_least", "counted": "wounded"},
        ],
        summary="A drone struck Tower 22 & killed three <US> soldiers.",
        excerpt="une attaque de drone",
    ),
    report(
        2,
        source={
            "outlet": "Reuters",
            "language": "en",
            "speaker": "an official",
            "anonymous": True,
            "url": "https://example.org/a?b=1&c=2",
        },
        counts=[{"value": 4, "qualifier": "exact", "counted": "killed"}],
        when={"earliest": "2024-01-28", "latest": "2024-01-28", "wording": "on Sunday"},
    ),
    report(
        3,
        retracted=True,
        places=[
            {
                "name": "Rukban",
                "country": "SY",
                "latitude": 33.3,
                "longitude": 38.7,
                "coordinate_precision": "exact",
            }
        ],
    ),
]


def entry_of(reports: list[dict[str, Any]], key: str = "tower-22") -> dict[str, Any]:
    """What `TimelineView.entries` gives the exports: the merged entry."""
    return merge_incident(key, reports, resolve)


def month_entry() -> dict[str, Any]:
    when = {"earliest": "2023-10-01", "latest": "2023-10-31", "wording": "en octobre"}
    return entry_of([report(5, kind="statement", when=when)], "october")


# --- fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earliest", "latest", "unit", "single", "precision", "text"),
    [
        ("2024-02-02", "2024-02-02", "day", True, 1, "2 February 2024"),
        ("2024-02-02", "2024-02-03", "day", False, 2, "2 February 2024 – 3 February 2024"),
        ("2024-01-21", "2024-01-31", "day", False, 3, "21 January 2024 – 31 January 2024"),
        ("2024-02-01", "2024-02-29", "month", True, 3, "February 2024"),
        ("2023-10-01", "2024-02-29", "month", False, 3, "October 2023 – February 2024"),
        ("2023-01-01", "2023-12-31", "year", True, 3, "2023"),
        ("2022-01-01", "2023-12-31", "year", False, 3, "2022 – 2023"),
    ],
)
def test_dates_are_as_precise_as_their_bounds(earliest, latest, unit, single, precision, text):
    assert fields.date_unit(earliest, latest) == unit
    assert fields.is_single(earliest, latest, unit) is single
    assert fields.time_precision(earliest, latest) == precision
    assert fields.interval_text(earliest, latest) == text


def test_located_places_skip_retracted_reports_and_duplicates():
    located = fields.located(entry_of([*TOWER_22, TOWER_22[0]]))
    assert [p["name"] for p in located] == ["Jordanie", "Tower 22"]
    assert fields.best_place(located)["name"] == "Tower 22"  # exact beats country
    assert fields.best_place([]) is None


@pytest.mark.parametrize(
    ("count", "text", "floor"),
    [
        (
            {"counted": "killed", "qualifier": "exact", "value": 3, "low": 3, "high": 3},
            "3 killed",
            3,
        ),
        (
            {"counted": "sites", "qualifier": "at_least", "value": 85, "low": 80, "high": 85},
            "at least 85 sites",
            85,
        ),
        (
            {"counted": "killed", "qualifier": "range", "value": 3, "low": 3, "high": 5},
            "3 to 5 killed",
            3,
        ),
        (
            {
                "counted": "killed",
                "whose": "civilians",
                "qualifier": "range",
                "value": 2,
                "low": 3,
                "high": 4,
                "bounds": {"low": 2, "high": 6},
            },
            "2 to 6 killed (civilians)",
            2,
        ),
        (
            {"counted": "sites", "qualifier": "disputed", "value": 50, "low": 50, "high": 85},
            "disputed: 50 to 85 sites",
            50,
        ),
        (
            {"counted": "killed", "qualifier": "at_most", "value": 12, "low": 12, "high": 12},
            "at most 12 killed",
            None,
        ),
        (
            {"counted": "killed", "qualifier": "about", "value": 40, "low": 40, "high": 40},
            "about 40 killed",
            40,
        ),
    ],
)
def test_figures_are_never_more_certain_than_their_qualifier(count, text, floor):
    assert fields.count_text(count) == text
    assert fields.fatalities(count) == floor


def test_sides_follow_roles_not_order():
    one, two, rest = fields.sides(entry_of(TOWER_22))
    assert one == ["Islamic Resistance in Iraq", "Kataeb Hezbollah"]
    assert two == ["US forces"]
    assert rest == ["Iran"]


# --- CSV and HXL ----------------------------------------------------------------------


def test_csv_row_has_acled_columns_then_ours():
    row = dict(zip(HEADER, incident_row(entry_of(TOWER_22)), strict=True))
    assert row["event_id_cnty"] == "tower-22"
    assert (row["event_date"], row["year"], row["time_precision"]) == ("2024-01-28", "2024", "1")
    assert row["event_type"] == "attack"
    assert row["actor1"] == "Islamic Resistance in Iraq"
    assert row["assoc_actor_1"] == "Kataeb Hezbollah"
    assert row["actor2"] == "US forces"
    assert (row["country"], row["iso2"]) == ("Jordan", "JO")
    assert (row["location"], row["latitude"], row["longitude"]) == (
        "Tower 22",
        "33.3186",
        "38.6928",
    )
    assert (row["geo_precision"], row["coordinate_precision"]) == ("1", "exact")
    assert row["places"] == "Jordanie; Tower 22"  # the retracted report's Rukban is not
    assert row["source"] == "AFP; Reuters"
    # exactly 3 and exactly 4 killed cannot both be true: disputed, whose floor is
    # ACLED's conservative figure
    assert (row["fatalities"], row["fatalities_qualifier"], row["fatalities_high"]) == (
        "3",
        "disputed",
        "4",
    )
    assert row["counts"] == "disputed: 3 to 4 killed; at least 40 wounded"
    assert row["date_wording"] == "dimanche | on Sunday"
    assert row["dates_agreed"] == "true"
    assert row["source_count"] == "2" and row["retracted_reports"] == "1"
    assert row["level_name"] == "attack_with_casualties"
    assert row["source_urls"] == "https://example.org/a?b=1&c=2"


def test_csv_stream_reads_back_with_the_csv_module_and_hxl_adds_its_row():
    entries = [entry_of(TOWER_22), month_entry()]
    text = b"".join(csv_stream([entries[:1], [], entries[1:]])).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(HEADER)
    assert [r[0] for r in rows[1:]] == ["tower-22", "october"]
    assert rows[1][HEADER.index("notes")].startswith("A drone struck Tower 22 & killed")
    hxl = list(csv.reader(io.StringIO(b"".join(csv_stream([entries], hxl=True)).decode())))
    assert hxl[1] == list(HXL_TAGS) and hxl[2:] == rows[1:]
    assert all(tag.startswith("#") and tag == tag.lower() for tag in HXL_TAGS)


# --- GeoJSON ---------------------------------------------------------------------------


def test_feature_is_a_point_at_the_most_precise_place_lon_first():
    feature = incident_feature(entry_of(TOWER_22))
    assert feature["geometry"] == {"type": "Point", "coordinates": [38.6928, 33.3186]}
    properties = feature["properties"]
    assert properties["coordinate_precision"] == "exact"
    assert (properties["level"], properties["level_name"]) == (2, "attack_with_casualties")
    assert properties["display_date"] == "dimanche / on Sunday (28 January 2024)"
    assert incident_feature(month_entry()) is None  # nothing locates it


def test_geojson_stream_counts_what_it_leaves_out():
    pages = [[entry_of(TOWER_22)], [month_entry(), entry_of(TOWER_22, "again")]]
    collection = orjson.loads(b"".join(geojson_stream(pages)))
    assert collection["type"] == "FeatureCollection" and "crs" not in collection
    assert [f["id"] for f in collection["features"]] == ["tower-22", "again"]
    assert collection["unlocated"] == 1
    assert orjson.loads(b"".join(geojson_stream([]))) == {
        "type": "FeatureCollection",
        "features": [],
        "unlocated": 0,
    }


# --- TimelineJS -----------------------------------------------------------------------


def test_a_month_level_date_has_no_day_and_a_range_an_end():
    slide = incident_slide(month_entry())
    assert slide["start_date"] == {"year": 2023, "month": 10}
    assert "end_date" not in slide
    assert slide["display_date"] == "en octobre (October 2023)"
    fuzzy = entry_of(
        [
            report(
                6, when={"earliest": "2024-01-21", "latest": "2024-01-31", "wording": "fin janvier"}
            )
        ]
    )
    slide = incident_slide(fuzzy)
    assert slide["start_date"] == {"year": 2024, "month": 1, "day": 21}
    assert slide["end_date"] == {"year": 2024, "month": 1, "day": 31}
    assert slide["display_date"] == "fin janvier (21 January 2024 – 31 January 2024)"
    assert date_object("2023-01-01", "year") == {"year": 2023}


def test_disagreeing_sources_are_said_in_the_display_date():
    reports = [
        report(1, when={"earliest": "2024-02-02", "latest": "2024-02-03", "wording": "février"}),
        report(2, when={"earliest": "2024-02-02", "latest": "2024-02-03", "wording": "février"}),
        report(3, when={"earliest": "2024-01-02", "latest": "2024-01-03", "wording": "janvier"}),
    ]
    slide = incident_slide(entry_of(reports))
    assert slide["display_date"] == (
        "février / janvier (2 February 2024 – 3 February 2024); sources disagree, "
        "between 2 January 2024 – 3 February 2024"
    )
    assert "date disagreement" in slide["text"]["text"]


def test_slide_text_names_every_source_escaped():
    slide = incident_slide(entry_of(TOWER_22))
    text = slide["text"]["text"]
    assert "killed three &lt;US&gt; soldiers" in text and "<US>" not in text
    assert "<li>AFP: «une attaque de drone»</li>" in text
    assert (
        '<a href="https://example.org/a?b=1&amp;c=2">Reuters, quoting an official (anonymous)'
        in text
    )
    assert slide["text"]["headline"] == "Attack — Jordanie, Tower 22"
    assert slide["group"] == "attack with casualties"
    assert slide["unique_id"] == "tower-22"


def test_timelinejs_stream_is_one_json_document_over_pages():
    pages = [[entry_of(TOWER_22)], [], [month_entry()]]
    title = {"text": {"headline": "t", "text": "x"}}
    document = orjson.loads(b"".join(timelinejs_stream(pages, title)))
    assert document["title"] == title
    assert [e["unique_id"] for e in document["events"]] == ["tower-22", "october"]


def test_paged_follows_the_cursor_to_the_end():
    book = {None: ([1, 2], "a"), "a": ([3], "b"), "b": ([], None)}
    assert list(paged(lambda after: book[after])) == [[1, 2], [3], []]
