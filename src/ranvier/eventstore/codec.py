"""Reading the few fields of an Axon `Event` the store needs, and framing replies.

Events are stored as the exact bytes the client sent; the store only looks inside
them for the aggregate identity, sequence, type, timestamp and payload type. Replies
that wrap a stored event (`EventWithToken`) are framed by hand around those bytes, so
a replay never re-serializes an event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from ranvier._pb import event_pb2
from ranvier.errors import InvalidSequence

from .native import extension as _native

_Event = event_pb2.Event


class MalformedEvent(ValueError):
    """The bytes are not a protobuf `Event`."""


@dataclass(frozen=True, slots=True)
class EventKey:
    """The fields of an event that decide where it is indexed and how it is checked."""

    aggregate_id: str
    sequence: int
    aggregate_type: str
    timestamp: int
    payload_type: str
    payload_revision: str

    @property
    def is_domain_event(self) -> bool:
        """Axon checks and indexes by aggregate only events with an aggregate type."""
        return bool(self.aggregate_type)


def parse_key(raw: bytes) -> EventKey:
    try:
        event = _Event.FromString(raw)
    except DecodeError as exc:
        raise MalformedEvent(f"not a valid Event message: {exc}") from exc
    payload = event.payload
    return EventKey(
        event.aggregate_identifier,
        event.aggregate_sequence_number,
        event.aggregate_type,
        event.timestamp,
        payload.type,
        payload.revision,
    )


def sequence_keys(raws: tuple[bytes, ...] | list[bytes]) -> tuple[list[tuple[str, int] | None], int]:
    """For each event, (aggregate id, sequence) when it is a domain event, else None;
    and the largest timestamp. The append path's only look inside events, kept to
    one C-level parse and three field reads per event."""
    parse = _Event.FromString
    keys: list[tuple[str, int] | None] = []
    add = keys.append
    max_ts = 0
    try:
        for raw in raws:
            event = parse(raw)
            if event.timestamp > max_ts:
                max_ts = event.timestamp
            add((event.aggregate_identifier, event.aggregate_sequence_number) if event.aggregate_type else None)
    except DecodeError as exc:
        raise MalformedEvent(f"not a valid Event message: {exc}") from exc
    return keys, max_ts


def checked_ranges(
    raws: tuple[bytes, ...] | list[bytes], highest: Callable[[str], int]
) -> tuple[dict[str, tuple[int, int]], int]:
    """Check a transaction's aggregate sequences as Axon does and return, per
    aggregate, the (first, last) sequence it writes, and the largest timestamp.

    Domain events (non-empty aggregate type) of an aggregate must continue from
    `highest(aggregate)` (-1 for a new one) and follow one another without gaps;
    otherwise InvalidSequence. This runs for every appended event on the event
    loop: the C extension, where built, reads the events and hands back runs of
    one aggregate's consecutive events, so the check below is per run; it leaves
    any event it is not sure of to protobuf (`checked_ranges_reference`).
    """
    scanned = _native.scan(raws) if _native is not None else None
    if scanned is None:
        return checked_ranges_reference(raws, highest)
    runs, max_ts = scanned
    ranges: dict[str, tuple[int, int]] = {}
    for agg, first, last in runs:
        earlier = ranges.get(agg)
        expected = earlier[1] + 1 if earlier is not None else highest(agg) + 1
        if first != expected:
            raise _invalid(agg, first, expected)
        ranges[agg] = (earlier[0] if earlier is not None else first, last)
    return ranges, max_ts


def checked_ranges_reference(
    raws: tuple[bytes, ...] | list[bytes], highest: Callable[[str], int]
) -> tuple[dict[str, tuple[int, int]], int]:
    """`checked_ranges` in Python with protobuf's parser: the reference the C
    scan is tested against, and the path for events the scan leaves to protobuf.

    Written for the common transaction (one aggregate's consecutive events): a run
    of events of the same aggregate costs one C-level parse and a few compares per
    event, with no dictionary work until the aggregate changes.
    """
    parse = _Event.FromString
    ranges: dict[str, tuple[int, int]] = {}
    max_ts = 0
    run_agg: str | None = None  # aggregate of the current run, and its first and last sequence
    run_first = run_last = 0
    try:
        for raw in raws:
            event = parse(raw)
            if event.timestamp > max_ts:
                max_ts = event.timestamp
            if not event.aggregate_type:
                continue
            agg = event.aggregate_identifier
            seq = event.aggregate_sequence_number
            if agg == run_agg:
                if seq != run_last + 1:
                    raise _invalid(agg, seq, run_last + 1)
                run_last = seq
                continue
            if run_agg is not None:
                ranges[run_agg] = (run_first, run_last)
            earlier = ranges.get(agg)
            expected = earlier[1] + 1 if earlier is not None else highest(agg) + 1
            if seq != expected:
                raise _invalid(agg, seq, expected)
            run_agg, run_first, run_last = agg, (earlier[0] if earlier is not None else seq), seq
    except DecodeError as exc:
        raise MalformedEvent(f"not a valid Event message: {exc}") from exc
    if run_agg is not None:
        ranges[run_agg] = (run_first, run_last)
    return ranges, max_ts


def _invalid(aggregate_id: str, seq: int, expected: int) -> InvalidSequence:
    return InvalidSequence(f"Invalid sequence number {seq} for aggregate {aggregate_id}, expected {expected}")


_ONE_BYTE_VARINTS = tuple(bytes((value,)) for value in range(0x80))


def encode_varint(value: int) -> bytes:
    """Protobuf base-128 varint; negative int64 values take ten bytes.

    Replay frames every event with two of these (its token and its length), so
    values below 2**28 - every event length and tokens up to 268 million - take a
    branch each instead of the loop."""
    if 0 <= value < 0x80:
        return _ONE_BYTE_VARINTS[value]
    if 0 < value < 0x4000:
        return bytes((value & 0x7F | 0x80, value >> 7))
    if 0 < value < 0x200000:
        return bytes((value & 0x7F | 0x80, (value >> 7) & 0x7F | 0x80, value >> 14))
    if 0 < value < 0x10000000:
        return bytes((value & 0x7F | 0x80, (value >> 7) & 0x7F | 0x80, (value >> 14) & 0x7F | 0x80, value >> 21))
    if value < 0:
        value += 1 << 64  # int64 negatives are ten-byte varints
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def frame_event_with_token_reference(token: int, raw_event: bytes) -> bytes:
    """Serialized `EventWithToken{token=1, event=2}` around stored event bytes."""
    if token:
        return b"\x08" + encode_varint(token) + b"\x12" + encode_varint(len(raw_event)) + raw_event
    return b"\x12" + encode_varint(len(raw_event)) + raw_event


# A replay frames every event it sends: the C version where built (one copy, no
# intermediate bytes objects), bound directly so no Python frame sits in between.
frame_event_with_token: Callable[[int, bytes], bytes] = (
    _native.with_token if _native is not None else frame_event_with_token_reference
)
