"""An orjson transcoder for the event store.

eventsourcing's default JSONTranscoder uses the stdlib json module; this one
keeps its wire format (`{"_type_": ..., "_data_": ...}` for typed values) but
encodes and decodes with orjson. Value objects are pydantic models, stored as
their JSON form and rebuilt by validation, so nested values round-trip exactly.
Only registered model types are ever rebuilt from stored data.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Transcoder, TranscodingNotRegisteredError
from pydantic import BaseModel

from domain import values

_VALUE_TYPES: dict[str, type[BaseModel]] = {
    cls.__name__: cls
    for cls in (
        values.ReportContent,
        values.FuzzyInterval,
        values.Place,
        values.ActorMention,
        values.Count,
        values.Source,
        values.Alias,
    )
}


def _encode(obj: Any) -> Any:
    kind = type(obj)
    if kind is str or kind is int or kind is bool or kind is float or obj is None:
        return obj
    if kind is dict:
        return {key: _encode(value) for key, value in obj.items()}
    if kind is list or kind is tuple:
        return [_encode(value) for value in obj]
    if kind is UUID:
        return {"_type_": "uuid_hex", "_data_": obj.hex}
    if kind is datetime:
        return {"_type_": "datetime_iso", "_data_": obj.isoformat()}
    if kind is date:
        return {"_type_": "date_iso", "_data_": obj.isoformat()}
    if kind is Decimal:
        return {"_type_": "decimal_str", "_data_": str(obj)}
    if isinstance(obj, BaseModel) and _VALUE_TYPES.get(kind.__name__) is kind:
        # pydantic writes the JSON itself; orjson embeds it as it is, which
        # saves building (and walking) a dict of every report's content.
        return {"_type_": kind.__name__, "_data_": orjson.Fragment(obj.model_dump_json())}
    if isinstance(obj, str):  # StrEnum members travel as their value
        return str(obj)
    msg = f"Object of type {kind} is not serializable: register it in {__name__}"
    raise TranscodingNotRegisteredError(msg)


def _decode_typed(name: str, data: Any) -> Any:
    if name == "uuid_hex":
        return UUID(data)
    if name == "datetime_iso":
        return datetime.fromisoformat(data)
    if name == "date_iso":
        return date.fromisoformat(data)
    if name == "decimal_str":
        return Decimal(data)
    try:
        model = _VALUE_TYPES[name]
    except KeyError:
        msg = f"Stored data of type {name!r} is not registered in {__name__}"
        raise TranscodingNotRegisteredError(msg) from None
    return model.model_validate(data)


def _decode(obj: Any) -> Any:
    kind = type(obj)
    if kind is dict:
        if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
            return _decode_typed(obj["_type_"], obj["_data_"])
        return {key: _decode(value) for key, value in obj.items()}
    if kind is list:
        return [_decode(value) for value in obj]
    return obj


class OrjsonTranscoder(Transcoder):
    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(_encode(obj))

    def decode(self, data: bytes) -> Any:
        return _decode(orjson.loads(data))


def to_plain_json(obj: Any) -> Any:
    """Default hook for orjson when writing decoded events to clients."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj)}")
