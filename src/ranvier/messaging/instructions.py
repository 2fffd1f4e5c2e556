"""Reading Axon's processing instructions (routing key, priority, timeout, results)."""

from __future__ import annotations

from collections.abc import Iterable

from ranvier._pb import common_pb2

ROUTING_KEY = common_pb2.ROUTING_KEY
PRIORITY = common_pb2.PRIORITY
TIMEOUT = common_pb2.TIMEOUT
NR_OF_RESULTS = common_pb2.NR_OF_RESULTS
SERVER_SUPPORTS_STREAMING = common_pb2.SERVER_SUPPORTS_STREAMING
CLIENT_SUPPORTS_STREAMING = common_pb2.CLIENT_SUPPORTS_STREAMING


def _value(instructions: Iterable[common_pb2.ProcessingInstruction], key: int) -> common_pb2.MetaDataValue | None:
    for instruction in instructions:
        if instruction.key == key:
            return instruction.value
    return None


def text(instructions: Iterable[common_pb2.ProcessingInstruction], key: int) -> str:
    value = _value(instructions, key)
    if value is None:
        return ""
    kind = value.WhichOneof("data")
    return str(getattr(value, kind)) if kind and kind != "bytes_value" else ""


def number(instructions: Iterable[common_pb2.ProcessingInstruction], key: int, default: int) -> int:
    value = _value(instructions, key)
    if value is None:
        return default
    kind = value.WhichOneof("data")
    if kind == "number_value":
        return int(value.number_value)
    if kind == "double_value":
        return int(value.double_value)
    if kind == "text_value":
        try:
            return int(value.text_value)
        except ValueError:
            return default
    return default


def flag(instructions: Iterable[common_pb2.ProcessingInstruction], key: int) -> bool:
    value = _value(instructions, key)
    return value is not None and value.WhichOneof("data") == "boolean_value" and value.boolean_value


def boolean(key: int, value: bool) -> common_pb2.ProcessingInstruction:
    return common_pb2.ProcessingInstruction(key=key, value=common_pb2.MetaDataValue(boolean_value=value))


def error_message(message: str, code: str, location: str = "") -> common_pb2.ErrorMessage:
    return common_pb2.ErrorMessage(message=message, error_code=code, location=location)
