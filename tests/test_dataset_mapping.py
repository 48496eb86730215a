"""The ACLED and UCDP GED row mappings, as pure functions (no store)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from domain.datasets import acled, ucdp
from domain.datasets.common import RowError, country_code
from domain.datasets.revision import changed_fields, correction_reason
from domain.values import ActorCategory, Role

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"


def rows(name: str) -> list[dict[str, str]]:
    with (FIXTURES / name).open(newline="", encoding="utf-8") as text:
        return list(csv.DictReader(text))


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024-11-01", date(2024, 11, 1)),
        ("31-12-19", date(2019, 12, 31)),
        ("12-03-97", date(1997, 3, 12)),
        ("01 November 2024", date(2024, 11, 1)),
        ("29 February 2020", date(2020, 2, 29)),
    ],
)
def test_acled_dates_in_each_written_form(text: str, day: date) -> None:
    assert acled.event_day(text) == day


@pytest.mark.parametrize("text", ["2024/11/01", "31-02-19", "1 Novembre 2024", "yesterday"])
def test_acled_dates_that_are_not_dates_name_the_column(text: str) -> None:
    with pytest.raises(RowError) as raised:
        acled.event_day(text)
    assert raised.value.column == "event_date"
    assert repr(text) in raised.value.message


@pytest.mark.parametrize(
    ("coded", "precision", "earliest", "latest", "level"),
    [
        (date(2024, 1, 17), 1, date(2024, 1, 17), date(2024, 1, 17), "day"),
        (date(2024, 1, 17), 2, date(2024, 1, 14), date(2024, 1, 20), "day"),
        (date(2024, 1, 15), 3, date(2024, 1, 1), date(2024, 1, 31), "month"),
        (date(2024, 1, 1), 3, date(2024, 1, 1), date(2024, 1, 10), "month"),  # early January
        (date(2024, 2, 29), 3, date(2024, 2, 21), date(2024, 2, 29), "month"),  # late February
    ],
)
def test_acled_time_precision_gives_the_interval(coded, precision, earliest, latest, level) -> None:
    when = acled.interval(coded, precision)
    assert (when["earliest"], when["latest"], when.get("precision", "day")) == (
        earliest,
        latest,
        level,
    )


def test_acled_roles_follow_the_event_type() -> None:
    assert acled.roles("Violence against civilians", "Attack") == (
        "attack",
        (Role.PERPETRATOR,),
        (Role.TARGET,),
    )
    assert acled.roles("Battles", "Armed clash")[1:] == (
        (Role.PERPETRATOR, Role.TARGET),
        (Role.PERPETRATOR, Role.TARGET),
    )
    assert acled.roles("Explosions/Remote violence", "Air/drone strike")[0] == "strike"
    assert acled.roles("Protests", "Peaceful protest")[1] == (Role.SPEAKER,)
    with pytest.raises(RowError) as raised:
        acled.roles("Battle", "Armed clash")
    assert raised.value.column == "event_type"


def test_acled_current_row_field_by_field() -> None:
    mapped = acled.map_row(rows("acled_current.csv")[1])
    content = mapped.content
    assert mapped.key == "acled:KEN7181"
    assert mapped.revision == "1700000001"
    assert content.kind == "strike"
    assert (content.when.earliest, content.when.latest) == (date(2019, 12, 28), date(2020, 1, 3))
    assert content.when.approximate is True
    (place,) = content.places
    assert (place.name, place.country, place.latitude, place.longitude) == (
        "Nairobi, Westlands",
        "KE",
        -1.2864,
        36.8172,
    )
    assert place.coordinate_precision == "near"
    assert [(a.name, a.role) for a in content.actors] == [
        ("Military Forces of Somalia (2022-)", "perpetrator"),
        ("Hawiye Clan Militia (Somalia)", "perpetrator"),
        ("Marehan Clan Militia (Somalia)", "perpetrator"),
        ("Al Shabaab", "target"),
    ]
    assert mapped.actors[0] == ("Military Forces of Somalia (2022-)", ActorCategory.STATE_FORCE)
    assert mapped.actors[-1] == ("Al Shabaab", ActorCategory.ARMED_GROUP)
    (count,) = content.counts
    assert (count.value, count.qualifier, count.counted) == (3, "exact", "killed")
    assert (content.source.outlet, content.source.channel, content.source.language) == (
        "Daily Nation; Xinhua",
        "National-International",
        "en",
    )
    assert content.excerpt.startswith("On 2019-12-31, Military Forces of Somalia")
    assert content.incident_key == "acled:ken7181"


def test_acled_sub_event_types_name_the_means() -> None:
    means = {r["sub_event_type"]: acled.map_row(r).content.means for r in rows("acled_current.csv")}
    assert means["Armed clash"] == ("armed_clash",)
    assert means["Air/drone strike"] == ("air_strike",)
    assert means["Shelling/artillery/missile attack"] == ("artillery",)
    assert means["Remote explosive/landmine/IED"] == ("ied",)
    assert means["Peaceful protest"] == ()


def test_acled_pre_2023_row_reads_numeric_actor_types_and_iso3() -> None:
    pre = acled.map_row(rows("acled_pre2023.csv")[1])
    current = acled.map_row(rows("acled_current.csv")[1])
    assert pre.key == current.key
    assert pre.actors == current.actors  # inter1 "1" and "State forces" alike
    assert pre.content.places == current.content.places
    assert pre.content.when == current.content.when  # "31-12-19" is 2019-12-31


def test_acled_kosovo_has_no_iso_code_but_keeps_its_place() -> None:
    (kosovo,) = [r for r in rows("acled_pre2023.csv") if r["country"] == "Kosovo"][:1]
    (place,) = acled.map_row(kosovo).content.places
    assert (place.name, place.country) == ("Pristina", None)


def test_acled_bad_cells_name_their_column() -> None:
    good = rows("acled_current.csv")[0]
    for column, value in [
        ("time_precision", "4"),
        ("geo_precision", "x"),
        ("latitude", "123"),
        ("fatalities", "-2"),
        ("inter1", "Aliens"),
        ("event_id_cnty", "KEN-7"),
        ("country", "Atlantis"),
        ("source", ""),
    ]:
        with pytest.raises(RowError) as raised:
            acled.map_row({**good, column: value})
        assert raised.value.column == column, (column, raised.value.message)


def test_acled_whole_numbers_in_each_written_form() -> None:
    good = rows("acled_current.csv")[0]
    for written, value in [("7", 7), (" 12 ", 12), ("3.0", 3), ("0", 0)]:
        assert acled.map_row({**good, "fatalities": written}).content.counts[0].value == value
    for written in ["²", "3.5", "12 killed"]:  # str.isdigit takes "²"; int() does not
        with pytest.raises(RowError) as raised:
            acled.map_row({**good, "fatalities": written})
        assert raised.value.column == "fatalities"


def test_acled_text_is_normalised_and_control_characters_refused() -> None:
    good = rows("acled_current.csv")[0]
    decomposed = "Ku\u0308rt militia"  # u + combining diaeresis
    mapped = acled.map_row({**good, "actor1": decomposed})
    assert mapped.content.actors[0].name == "K\u00fcrt militia"
    with pytest.raises(RowError) as raised:
        acled.map_row({**good, "notes": "A clash\u202e near the town"})
    assert raised.value.column == "notes"
    assert "control or bidirectional-override" in raised.value.message


def test_ucdp_row_field_by_field() -> None:
    mapped = ucdp.map_row(rows("ucdp_ged.csv")[3])
    content = mapped.content
    assert mapped.key == "ucdp:244603"
    assert (content.when.earliest, content.when.latest, content.when.precision) == (
        date(2019, 2, 1),
        date(2019, 2, 28),
        "month",
    )
    (place,) = content.places
    assert (place.name, place.country, place.coordinate_precision) == ("Beni town", "CD", "region")
    assert [(a.name, a.role) for a in content.actors] == [
        ("Government of DR Congo (Zaire)", "perpetrator"),
        ("Government of DR Congo (Zaire)", "target"),
        ("ADF", "perpetrator"),
        ("ADF", "target"),
    ]
    assert [(c.value, c.qualifier, c.low, c.high, c.whose) for c in content.counts] == [
        (3, "about", 3, 5, None),
        (1, "exact", None, None, "Government of DR Congo (Zaire)"),
        (1, "exact", None, None, "ADF"),
        (1, "exact", None, None, "civilians"),
        (0, "exact", None, None, "unknown"),
    ]
    assert content.aggregate is False
    assert ucdp.map_row(rows("ucdp_ged.csv")[5]).content.aggregate is True  # event_clarity 2
    assert (content.source.outlet, content.source.published_at) == (
        "Reuters;BBC Monitoring",
        date(2019, 2, 1),
    )


def test_ucdp_every_where_and_date_precision() -> None:
    found = {(r["where_prec"], r["date_prec"]) for r in rows("ucdp_ged.csv")}
    assert {w for w, _ in found} == set("1234567")
    assert {d for _, d in found} == set("12345")
    mapped = [ucdp.map_row(r) for r in rows("ucdp_ged.csv")]
    at_sea = [
        m for m, r in zip(mapped, rows("ucdp_ged.csv"), strict=True) if r["where_prec"] == "7"
    ]
    assert at_sea and all(m.content.places[0].country is None for m in at_sea)
    one_sided = [m for m in mapped if m.content.actors[-1].name == "Civilians"]
    assert one_sided and all(
        [a.role for a in m.content.actors] == ["perpetrator", "target"] for m in one_sided
    )


def test_ucdp_bad_cells_name_their_column() -> None:
    good = rows("ucdp_ged.csv")[1]
    for column, value in [
        ("where_prec", "8"),
        ("date_prec", "0"),
        ("date_end", "2018-01-01"),
        ("best", "99"),
        ("deaths_a", "-1"),
        ("latitude", ""),
        ("event_clarity", "3"),
    ]:
        with pytest.raises(RowError) as raised:
            ucdp.map_row({**good, column: value})
        assert raised.value.column == column, (column, raised.value.message)


def test_country_names_of_both_datasets() -> None:
    assert [
        country_code(n, "country")
        for n in ("Syria", "DR Congo (Zaire)", "Yemen (North Yemen)", "Palestine", "Iraq")
    ] == ["SY", "CD", "YE", "PS", "IQ"]


def test_a_revision_changes_only_what_changed() -> None:
    before = acled.map_row(rows("acled_current.csv")[0])
    after = acled.map_row(rows("acled_current_revised.csv")[0])
    changes = changed_fields(before.content, after.content)
    assert sorted(changes) == ["counts", "excerpt"]
    assert changes["counts"][0]["value"] == 7
    assert changed_fields(before.content, before.content) == {}
    assert correction_reason(after) == (
        "ACLED revised event KEN7180 (row timestamp 1718000000 (2024-06-10T06:13:20Z))"
    )
