"""Axon's REST JSON for events, to and from the protobuf `Event`.

The JSON is Axon Server's `JsonEvent`: `messageIdentifier`, `aggregateIdentifier`,
`aggregateSequenceNumber`, `aggregateType`, `timestamp` (ms since the epoch),
`payload {type, revision, data}` with `data` a string whose UTF-8 bytes are the
payload, and `metaData` mapping names to strings, numbers or booleans. Reads add
`token` (tracking reads) and `snapshot` when set. Missing optional fields get Axon's
defaults: a random message id, the current time, sequence 0.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping

from ranvier._pb import common_pb2, event_pb2

from ._request import bad_request

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def event_from_json(value: object, where: str, snapshot: bool = False) -> bytes:
    """The serialized `Event` for one JSON message; `where` names it in errors."""
    if not isinstance(value, Mapping):
        raise bad_request(f"{where} must be a JSON object")
    event = event_pb2.Event(
        message_identifier=_str(value, "messageIdentifier", where) or str(uuid.uuid4()),
        aggregate_identifier=_str(value, "aggregateIdentifier", where),
        aggregate_sequence_number=_int(value, "aggregateSequenceNumber", where, 0),
        aggregate_type=_str(value, "aggregateType", where),
        timestamp=_int(value, "timestamp", where, int(time.time() * 1000)),
        snapshot=snapshot,
    )
    payload = value.get("payload")
    if payload is not None:
        event.payload.CopyFrom(_serialized_object(payload, f"{where}.payload"))
    meta = value.get("metaData")
    if meta is not None:
        if not isinstance(meta, Mapping):
            raise bad_request(f"{where}.metaData must be a JSON object")
        for key, item in meta.items():
            event.meta_data[key].CopyFrom(_meta_value(item, f"{where}.metaData.{key}"))
    return event.SerializeToString(deterministic=True)


def events_from_json(body: object) -> list[bytes]:
    """The events of a `POST /v1/events` body `{messages: [...]}`, in order."""
    if not isinstance(body, Mapping) or "messages" not in body:
        raise bad_request("the body must be a JSON object with a list of messages: {\"messages\": [...]}")
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise bad_request("messages must be a non-empty list of events")
    return [event_from_json(m, f"messages[{i}]") for i, m in enumerate(messages)]


def event_to_json(raw: bytes, token: int | None = None) -> dict[str, object]:
    event = event_pb2.Event.FromString(raw)
    out: dict[str, object] = {}
    if token is not None:
        out["token"] = token
    out.update(
        messageIdentifier=event.message_identifier,
        aggregateIdentifier=event.aggregate_identifier,
        aggregateSequenceNumber=event.aggregate_sequence_number,
        aggregateType=event.aggregate_type,
        timestamp=event.timestamp,
        payload=_object_json(event.payload),
        metaData={key: _meta_json(value) for key, value in sorted(event.meta_data.items())},
    )
    if event.snapshot:
        out["snapshot"] = True
    return out


def _str(value: Mapping[str, object], name: str, where: str) -> str:
    item = value.get(name)
    if item is None:
        return ""
    if not isinstance(item, str):
        raise bad_request(f"{where}.{name} must be a string")
    return item


def _int(value: Mapping[str, object], name: str, where: str, default: int) -> int:
    item = value.get(name)
    if item is None:
        return default
    if isinstance(item, bool) or not isinstance(item, int) or not _INT64_MIN <= item <= _INT64_MAX:
        raise bad_request(f"{where}.{name} must be a 64-bit integer")
    return item


def _serialized_object(value: object, where: str) -> common_pb2.SerializedObject:
    if not isinstance(value, Mapping):
        raise bad_request(f"{where} must be a JSON object {{type, revision, data}}")
    data = value.get("data")
    if data is not None and not isinstance(data, str):
        raise bad_request(f"{where}.data must be a string")
    return common_pb2.SerializedObject(
        type=_str(value, "type", where), revision=_str(value, "revision", where), data=(data or "").encode()
    )


def _meta_value(item: object, where: str) -> common_pb2.MetaDataValue:
    if isinstance(item, str):
        return common_pb2.MetaDataValue(text_value=item)
    if isinstance(item, bool):
        return common_pb2.MetaDataValue(boolean_value=item)
    if isinstance(item, int):
        if not _INT64_MIN <= item <= _INT64_MAX:
            raise bad_request(f"{where} does not fit in a 64-bit integer")
        return common_pb2.MetaDataValue(number_value=item)
    if isinstance(item, float):
        if not math.isfinite(item):
            raise bad_request(f"{where} must be a finite number")
        return common_pb2.MetaDataValue(double_value=item)
    raise bad_request(f"{where} must be a string, number or boolean")


def _object_json(obj: common_pb2.SerializedObject) -> dict[str, object]:
    # Axon turns payload bytes into a string the same lossy way (new String(bytes)).
    return {"type": obj.type, "revision": obj.revision, "data": obj.data.decode("utf-8", errors="replace")}


def _meta_json(value: common_pb2.MetaDataValue) -> object:
    kind = value.WhichOneof("data")
    if kind == "bytes_value":
        return _object_json(value.bytes_value)
    if kind is None:
        return None
    return getattr(value, kind)
