"""Hand-framed replies and varints against protobuf's own encoding."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ranvier._pb import common_pb2, event_pb2
from ranvier.eventstore.codec import encode_varint, frame_event_with_token

INT64 = st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)
EDGES = st.sampled_from([0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000, 0xFFFFFFF, 0x10000000, -1])


@given(st.one_of(INT64, EDGES))
def test_varint_is_protobufs(value: int) -> None:
    # An int64 field's encoding is its tag byte followed by the varint.
    expected = event_pb2.EventWithToken(token=value).SerializeToString()
    assert expected == (b"\x08" + encode_varint(value) if value else b"")


def _event(agg: str, seq: int, payload: bytes) -> bytes:
    return event_pb2.Event(message_identifier="m", aggregate_identifier=agg, aggregate_sequence_number=seq,
                           aggregate_type="A", payload=common_pb2.SerializedObject(type="T", data=payload)
                           ).SerializeToString()


EVENTS = st.builds(_event, st.text(max_size=40), st.integers(min_value=0, max_value=(1 << 63) - 1),
                   st.binary(max_size=20_000))


@given(st.integers(min_value=0, max_value=(1 << 63) - 1), EVENTS)
def test_event_with_token_frame_is_protobufs(token: int, raw_event: bytes) -> None:
    expected = event_pb2.EventWithToken(token=token, event=event_pb2.Event.FromString(raw_event))
    assert frame_event_with_token(token, raw_event) == expected.SerializeToString()
