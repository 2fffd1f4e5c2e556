"""The C extension (`ranvier.eventstore._native`) against protobuf and the Python
reference: whatever the scan accepts, protobuf (upb) accepts with the same field
values; whatever the Python path would answer, the dispatching path answers too;
record bodies and replay frames are byte for byte the reference's.

Events are generated with protobuf (every field and metadata value kind,
non-ASCII text), then mutated (bytes flipped, cut, inserted; unknown fields of
every wire type, groups among them, appended). Hypothesis prints the failing
example and a seed to replay (`--hypothesis-seed`).
"""

from __future__ import annotations

import shutil
import struct
import sysconfig
import zlib
from pathlib import Path

import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ranvier._pb import common_pb2, event_pb2
from ranvier.errors import InvalidSequence
from ranvier.eventstore import native
from ranvier.eventstore.codec import (
    MalformedEvent,
    checked_ranges,
    checked_ranges_reference,
    frame_event_with_token,
    frame_event_with_token_reference,
)
from ranvier.eventstore.records import (
    KIND_EVENTS,
    RecordError,
    encode_body,
    encode_events_record,
    encode_record,
    split_body,
    split_body_reference,
)

_native = native.load({"RANVIER_NATIVE": "auto"})
needs_native = pytest.mark.skipif(_native is None, reason="C extension not built")


def test_the_extension_is_built_where_it_can_be() -> None:
    # `make install` builds it wherever a C compiler and Python's headers exist; a
    # silent fallback to Python would make the benchmarks measure something else
    # than we think.
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if (shutil.which("cc") or shutil.which("gcc")) and headers.exists():
        assert _native is not None
        assert native.extension is _native


def test_the_choice_of_implementation() -> None:
    assert native.load({"RANVIER_NATIVE": "python"}) is None
    assert native.describe(None) == "Python"
    with pytest.raises(native.NativeChoiceError, match="RANVIER_NATIVE='fast'"):
        native.load({"RANVIER_NATIVE": "fast"})
    if _native is not None:
        assert native.load({"RANVIER_NATIVE": "native"}) is _native
        assert native.describe(_native) == "C"


# -- generating events ----------------------------------------------------------------

_text = st.text(max_size=12)
_serialized = st.builds(common_pb2.SerializedObject, type=_text, revision=_text, data=st.binary(max_size=24))
_meta_value = st.one_of(
    st.builds(common_pb2.MetaDataValue, text_value=_text),
    st.builds(common_pb2.MetaDataValue, number_value=st.integers(-(2**63), 2**63 - 1)),
    st.builds(common_pb2.MetaDataValue, boolean_value=st.booleans()),
    st.builds(common_pb2.MetaDataValue, double_value=st.floats(allow_nan=False)),
    st.builds(common_pb2.MetaDataValue, bytes_value=_serialized),
)


@st.composite
def _event(draw: st.DrawFn, aggregates: list[str]) -> bytes:
    event = event_pb2.Event(
        message_identifier=draw(_text),
        aggregate_identifier=draw(st.sampled_from(aggregates)),
        aggregate_sequence_number=draw(st.one_of(st.integers(0, 6), st.integers(-(2**63), 2**63 - 1))),
        aggregate_type=draw(st.sampled_from(["", "Order", "Bestellung-ü"])),
        timestamp=draw(st.one_of(st.integers(0, 10**13), st.integers(-(2**63), 2**63 - 1))),
        snapshot=draw(st.booleans()),
    )
    if draw(st.booleans()):
        event.payload.CopyFrom(draw(_serialized))
    for key, value in draw(st.dictionaries(_text, _meta_value, max_size=3)).items():
        event.meta_data[key].CopyFrom(value)
    return event.SerializeToString()


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        bits, value = value & 0x7F, value >> 7
        out.append(bits | (0x80 if value else 0))
        if not value:
            return bytes(out)


@st.composite
def _unknown_field(draw: st.DrawFn) -> bytes:
    number = draw(st.one_of(st.integers(1, 12), st.integers(9, 2**29 - 1)))
    wire_type = draw(st.integers(0, 7))
    tag = _varint(number << 3 | wire_type)
    if wire_type == 0:
        return tag + _varint(draw(st.integers(0, 2**64 - 1)))
    if wire_type == 1:
        return tag + draw(st.binary(min_size=8, max_size=8))
    if wire_type == 2:
        body = draw(st.binary(max_size=12))
        return tag + _varint(len(body)) + body
    if wire_type == 3:  # a group, usually closed
        end = _varint(number << 3 | 4) if draw(st.booleans()) else b""
        return tag + draw(st.binary(max_size=4)) + end
    if wire_type == 5:
        return tag + draw(st.binary(min_size=4, max_size=4))
    return tag + draw(st.binary(max_size=4))


@st.composite
def _mutated(draw: st.DrawFn, raw: bytes) -> bytes:
    how = draw(st.sampled_from(["none", "flip", "cut", "insert", "append"]))
    if how == "none" or not raw and how in ("flip", "cut"):
        return raw
    if how == "flip":
        at = draw(st.integers(0, len(raw) - 1))
        return raw[:at] + bytes([raw[at] ^ draw(st.integers(1, 255))]) + raw[at + 1 :]
    if how == "cut":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if how == "insert":
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at:]
    return raw + draw(_unknown_field())


@st.composite
def _transaction(draw: st.DrawFn) -> list[bytes]:
    aggregates = draw(st.lists(st.sampled_from(["a", "b", "", "é"]), min_size=1, max_size=3, unique=True))
    raws = draw(st.lists(_event(aggregates), max_size=6))
    return [draw(_mutated(raw)) for raw in raws]


def _parsed(raw: bytes) -> event_pb2.Event | None:
    try:
        return event_pb2.Event.FromString(raw)
    except DecodeError:
        return None


def _runs_of(events: list[event_pb2.Event]) -> tuple[list[tuple[str, int, int]], int]:
    """What scan() must return, from protobuf's reading of the events."""
    runs: list[list] = []
    max_ts = 0
    for event in events:
        max_ts = max(max_ts, event.timestamp)
        if not event.aggregate_type:
            continue
        agg, seq = event.aggregate_identifier, event.aggregate_sequence_number
        if runs and runs[-1][0] == agg and seq == runs[-1][2] + 1:
            runs[-1][2] = seq
        else:
            runs.append([agg, seq, seq])
    return [tuple(run) for run in runs], max_ts


# -- the properties ---------------------------------------------------------------------


@needs_native
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_transaction())
def test_scan_accepts_only_what_protobuf_accepts_and_reads_the_same(raws: list[bytes]) -> None:
    scanned = _native.scan(raws)
    parsed = [_parsed(raw) for raw in raws]
    if scanned is None:
        return
    assert all(event is not None for event in parsed), "scan accepted an event protobuf rejects"
    assert scanned == _runs_of(parsed)  # type: ignore[arg-type]


@needs_native
@settings(max_examples=500, deadline=None)
@given(st.lists(_event(["a", "b", "agg-ü"]), max_size=8))
def test_scan_takes_every_well_formed_event(raws: list[bytes]) -> None:
    # The fast path must be the common path: no event a client builds with
    # protobuf is left to the slow one.
    assert _native.scan(raws) is not None


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_transaction(), st.dictionaries(st.sampled_from(["a", "b", "", "é"]), st.integers(-1, 6)))
def test_checked_ranges_answers_as_the_reference(raws: list[bytes], stored: dict[str, int]) -> None:
    def outcome(check):  # type: ignore[no-untyped-def]
        try:
            return check(raws, lambda agg: stored.get(agg, -1))
        except (InvalidSequence, MalformedEvent) as exc:
            return type(exc), str(exc)

    assert outcome(checked_ranges) == outcome(checked_ranges_reference)


@needs_native
def test_scan_edge_cases() -> None:
    ok = event_pb2.Event(aggregate_identifier="a", aggregate_type="T", aggregate_sequence_number=0).SerializeToString()
    assert _native.scan([]) == ([], 0)
    assert _native.scan((ok,)) == ([("a", 0, 0)], 0)
    assert _native.scan([ok, bytearray(ok)]) is None  # only bytes are read
    assert _native.scan([ok + b"\x0b\x0c"]) is None  # a group: left to protobuf
    assert _native.scan([b"\x12\x01\xff"]) is None  # bad UTF-8
    assert _native.scan([b"\x18" + b"\xff" * 9 + b"\x01"]) == ([], 0)  # -1, not a domain event
    assert _native.scan([b"\x18" + b"\xff" * 9 + b"\x02"]) is None  # bits past 64
    max_seq = event_pb2.Event(aggregate_identifier="a", aggregate_type="T", aggregate_sequence_number=2**63 - 1)
    min_seq = event_pb2.Event(aggregate_identifier="a", aggregate_type="T", aggregate_sequence_number=-(2**63))
    raws = [max_seq.SerializeToString(), min_seq.SerializeToString()]
    assert _native.scan(raws) == ([("a", 2**63 - 1, 2**63 - 1), ("a", -(2**63), -(2**63))], 0)
    assert _native.scan(ok) is None  # a bytes object is a sequence of ints, not events
    with pytest.raises(TypeError):
        _native.scan(5)  # type: ignore[arg-type]


@needs_native
@given(st.lists(st.binary(max_size=40), max_size=10), st.integers(0, 64))
def test_frame_is_the_record_body(events: list[bytes], reserve: int) -> None:
    framed = _native.frame(events, reserve)
    assert isinstance(framed, bytearray)
    assert framed == bytes(reserve) + encode_body(events)


@given(st.lists(st.binary(max_size=40), max_size=10), st.integers(0, 2**40), st.integers(0, 2**40))
def test_events_record_is_the_generic_record(events: list[bytes], log_index: int, first_token: int) -> None:
    record = encode_events_record(log_index, first_token, events)
    assert bytes(record) == encode_record(KIND_EVENTS, log_index, first_token, encode_body(events), len(events))
    assert struct.unpack_from("<I", record, 4)[0] == zlib.crc32(bytes(record[8:]))


@needs_native
def test_frame_rejects_what_is_not_bytes() -> None:
    with pytest.raises(TypeError):
        _native.frame(["text"], 0)  # type: ignore[list-item]
    with pytest.raises(ValueError):
        _native.frame([], -1)


@needs_native
@given(st.lists(st.binary(max_size=40), max_size=10), st.integers(-2, 12), st.binary(max_size=6), st.booleans())
def test_split_is_the_reference(events: list[bytes], count: int, noise: bytes, cut: bool) -> None:
    body = encode_body(events)
    if cut and body:
        body = body[: len(body) // 2]
    body += noise
    try:
        expected = split_body_reference(body, count)
    except RecordError:
        expected = None
    assert _native.split(body, count) == expected
    assert _native.split(memoryview(body), count) == expected
    if expected is not None:
        assert split_body(body, count) == expected
    else:
        with pytest.raises(RecordError):
            split_body(body, count)


@needs_native
@given(st.one_of(st.integers(0, 300), st.integers(-(2**63), 2**63 - 1)), st.binary(max_size=300))
def test_with_token_is_the_reference(token: int, raw: bytes) -> None:
    framed = _native.with_token(token, raw)
    assert framed == frame_event_with_token_reference(token, raw)
    assert frame_event_with_token(token, raw) == framed


@needs_native
def test_with_token_parses_as_event_with_token() -> None:
    raw = event_pb2.Event(message_identifier="m", aggregate_identifier="a").SerializeToString()
    for token in (0, 1, 127, 128, 2**40, -1):
        message = event_pb2.EventWithToken.FromString(_native.with_token(token, raw))
        assert message.token == token
        assert message.event.SerializeToString() == raw
    with pytest.raises(TypeError):
        _native.with_token(1, "text")  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        _native.with_token(2**64, raw)
