"""The orjson transcoder round-trips exactly what events carry, and nothing else."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID, uuid4

import orjson
import pytest
from eventsourcing.persistence import TranscodingNotRegisteredError
from pydantic import BaseModel

from domain.values import (
    ActorMention,
    Alias,
    Count,
    FuzzyInterval,
    Place,
    Qualifier,
    ReportContent,
    ReportKind,
    Source,
)
from service.schemas import SEED_EXAMPLE
from service.transcoder import OrjsonTranscoder

transcoder = OrjsonTranscoder()


def round_trip(value: object) -> object:
    return transcoder.decode(transcoder.encode(value))


def seed_content() -> ReportContent:
    data = copy.deepcopy(SEED_EXAMPLE)
    data.pop("key")
    return ReportContent.model_validate(data)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2024, 2, 2, 23, 40, 5, 123456, tzinfo=UTC),
        datetime(2024, 2, 3, 1, 40, tzinfo=timezone(timedelta(hours=3))),
        datetime(2024, 2, 2, 18, 10, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        date(2024, 2, 2),
        UUID("9a29df81-d5a2-564a-8fda-044a6f671090"),
        Decimal("1.10"),
        Decimal("-0.000"),
        "Al-Qaïm « frappe » 🚀",
        0,
        -(2**53),
        3.25,
        True,
        None,
    ],
    ids=lambda v: type(v).__name__ + ":" + str(v),
)
def test_scalars_round_trip_with_their_types(value: object) -> None:
    decoded = round_trip(value)
    assert type(decoded) is type(value)
    assert decoded == value
    assert str(decoded) == str(value)  # Decimal("1.10") keeps its trailing zero
    if isinstance(value, datetime):
        assert decoded.utcoffset() == value.utcoffset()


def test_nested_containers_round_trip() -> None:
    when = datetime(2024, 1, 28, 6, 0, tzinfo=UTC)
    value = {
        "ids": [uuid4(), uuid4()],
        "nested": {"day": date(2024, 1, 28), "at": when, "amount": Decimal("1.10")},
        "mixed": [1, "deux", [3.0, {"quatre": None}], {"empty": {}, "list": []}],
        "flag": False,
    }
    decoded = round_trip(value)
    assert decoded == value
    assert type(decoded["nested"]["amount"]) is Decimal
    assert type(decoded["nested"]["day"]) is date
    assert all(type(i) is UUID for i in decoded["ids"])
    assert list(decoded) == list(value)  # key order kept


def test_tuples_come_back_as_lists() -> None:
    assert round_trip((1, date(2024, 2, 2))) == [1, date(2024, 2, 2)]


def test_encoding_is_compact_json_in_the_eventsourcing_wire_format() -> None:
    encoded = transcoder.encode({"id": UUID(int=1), "day": date(2024, 2, 2)})
    assert orjson.loads(encoded) == {
        "id": {"_type_": "uuid_hex", "_data_": "00000000000000000000000000000001"},
        "day": {"_type_": "date_iso", "_data_": "2024-02-02"},
    }


def test_report_content_round_trips_exactly() -> None:
    content = seed_content()
    decoded = round_trip(content)
    assert decoded == content
    assert type(decoded) is ReportContent
    assert type(decoded.when) is FuzzyInterval
    assert type(decoded.when.earliest) is date
    assert decoded.when.earliest == date(2024, 2, 2)
    assert isinstance(decoded.places, tuple)
    assert all(type(p) is Place for p in decoded.places)
    assert all(type(a) is ActorMention for a in decoded.actors)
    assert type(decoded.counts[0]) is Count
    assert decoded.counts[0].qualifier is Qualifier.AT_LEAST
    assert decoded.kind is ReportKind.STRIKE
    assert type(decoded.source) is Source
    assert type(decoded.source.published_at) is datetime
    assert decoded.source.published_at.utcoffset() == timedelta(0)
    # Encoding the decoded value again gives the same bytes.
    assert transcoder.encode(decoded) == transcoder.encode(content)


def test_report_content_with_every_optional_value_round_trips() -> None:
    data = copy.deepcopy(SEED_EXAMPLE)
    data.pop("key")
    data["when"] = {"edtf": "2023-10~", "wording": "en octobre"}
    data["summary"] = "frappes\nsur deux lignes"
    data["places"] = [
        {
            "name": "Al-Qaïm",
            "country": "iq",
            "latitude": 34.37,
            "longitude": 41.09,
            "coordinate_precision": "locality",
        }
    ]
    data["actors"][0]["actor_id"] = str(uuid4())
    data["source"] = {
        "outlet": "AFP",
        "anonymous": True,
        "language": "fr-FR",
        "url": "https://example.org/a?b=c",
        "published_at": "2024-02-02",
        "quote": "« plus de 85 sites »",
    }
    content = ReportContent.model_validate(data)
    decoded = round_trip(content)
    assert decoded == content
    assert decoded.when.approximate is True
    assert decoded.when.precision == "month"
    assert decoded.places[0].country == "IQ"
    assert type(decoded.actors[0].actor_id) is UUID
    assert type(decoded.source.published_at) is date  # a day stays a day


def test_value_objects_inside_event_state() -> None:
    state = {
        "originator_id": uuid4(),
        "originator_version": 2,
        "timestamp": datetime.now(UTC),
        "changes": {
            "when": FuzzyInterval.model_validate("2024-02-02/2024-02-03"),
            "counts": (Count(value=90, counted="sites"),),
            "kind": ReportKind.ATTACK,
        },
        "aliases": (Alias(name="PMF", language="en"),),
    }
    decoded = round_trip(state)
    assert decoded["changes"]["when"] == state["changes"]["when"]
    assert decoded["changes"]["counts"] == [Count(value=90, counted="sites")]
    assert decoded["changes"]["kind"] == "attack"  # enum members travel as values
    assert decoded["aliases"] == [Alias(name="PMF", language="en")]
    assert decoded["timestamp"] == state["timestamp"]


class Unregistered(BaseModel):
    x: int = 1


@pytest.mark.parametrize(
    "value",
    [object(), {1, 2}, b"bytes", Unregistered(), {"nested": [complex(1, 2)]}],
    ids=["object", "set", "bytes", "unregistered-model", "nested-complex"],
)
def test_unregistered_type_is_refused(value: object) -> None:
    with pytest.raises(TranscodingNotRegisteredError):
        transcoder.encode(value)


def test_lookalike_model_with_registered_name_is_refused() -> None:
    class Place(BaseModel):  # same name as the registered value object
        name: str = "x"

    with pytest.raises(TranscodingNotRegisteredError):
        transcoder.encode(Place())


@pytest.mark.parametrize(
    "stored",
    [
        b'{"_type_": "Unregistered", "_data_": {"x": 1}}',
        b'{"a": [{"_type_": "pickle", "_data_": "gASV"}]}',
        b'{"_type_": "BaseModel", "_data_": {}}',
    ],
)
def test_unregistered_stored_type_is_refused(stored: bytes) -> None:
    with pytest.raises(TranscodingNotRegisteredError):
        transcoder.decode(stored)


def test_dict_with_only_one_marker_is_plain_data() -> None:
    assert transcoder.decode(b'{"_type_": "uuid_hex"}') == {"_type_": "uuid_hex"}
    assert transcoder.decode(b'{"_type_": "x", "_data_": 1, "more": 2}') == {
        "_type_": "x",
        "_data_": 1,
        "more": 2,
    }
