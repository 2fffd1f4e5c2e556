"""The on-disk record: one committed transaction (or one snapshot) of a context.

A context's log is a sequence of records. Each record is what one committed command
wrote, stamped with the log index of that command, so the store can be driven by a
replicated log and skip what it has already applied.

Layout, little-endian::

    magic      u32   RECORD_MAGIC
    crc        u32   zlib.crc32 of every byte after this field (header rest + body)
    body_len   u32   bytes of body
    kind       u8    KIND_EVENTS or KIND_SNAPSHOT
    reserved   3 bytes, zero
    log_index  u64   index of the command that wrote this record; strictly increasing
    first_tok  u64   token of the first event (KIND_EVENTS); for a snapshot, the token
                     the next event will get (so the last record always tells it)
    count      u32   number of events in the body
    body       count x (u32 length, serialized Axon `Event` bytes exactly as received)

The body without the header is also the wire form of a command (`encode_command`),
so a replicated log entry and a record carry the same bytes.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import NamedTuple

from .native import extension as _native

RECORD_MAGIC = 0x314E5652  # "RVN1" read as little-endian bytes
KIND_EVENTS = 1
KIND_SNAPSHOT = 2

_HEADER = struct.Struct("<IIIB3xQQI")
HEADER_SIZE = _HEADER.size  # 36
_LEN = struct.Struct("<I")
_CRC_FROM = 8  # the crc covers the header from body_len on, then the body

# A body may not exceed this, whatever the configuration says; a length field above
# it can only be garbage, which keeps a corrupt header from making us read gigabytes.
MAX_BODY = 1 << 30


class RecordError(Exception):
    """A byte range is not a valid record (bad magic, checksum, or bounds)."""


@dataclass(frozen=True, slots=True)
class Command:
    """What a client asked the store to do: append events, or store one snapshot.

    `events` are serialized Axon `Event` messages, kept byte for byte. `body`, when
    set, is `encode_body(events)` already at hand (a command decoded from the wire):
    a store writes it as it is instead of joining the events again.
    """

    kind: int
    events: tuple[bytes, ...]
    body: bytes | None = field(default=None, compare=False, repr=False)


class RecordHeader(NamedTuple):
    """A decoded header. A named tuple with the record's size stored, not derived:
    a reader decodes one per record, and on a log of one-event transactions (the
    common Axon case) a frozen dataclass and a `size` property were a quarter of
    a replay's per-record cost."""

    kind: int
    body_len: int
    log_index: int
    first_token: int
    count: int
    size: int  # HEADER_SIZE + body_len: the whole record


def encode_body(events: tuple[bytes, ...] | list[bytes]) -> bytes:
    pack = _LEN.pack
    return b"".join([part for e in events for part in (pack(len(e)), e)])


def encode_command(command: Command) -> bytes:
    """The wire form of a command: kind byte, count, then the body."""
    return bytes([command.kind]) + _LEN.pack(len(command.events)) + encode_body(command.events)


def decode_command(data: bytes) -> Command:
    if len(data) < 5:
        raise RecordError("command shorter than its header")
    count = _LEN.unpack_from(data, 1)[0]
    body = data[5:]
    # split_body checks that the events fill the body exactly, so body is their encoding.
    return Command(data[0], tuple(split_body(body, count)), body)


def encode_record(kind: int, log_index: int, first_token: int, body: bytes, count: int) -> bytes:
    head = _HEADER.pack(RECORD_MAGIC, 0, len(body), kind, log_index, first_token, count)
    crc = zlib.crc32(body, zlib.crc32(head[_CRC_FROM:]))
    return head[:4] + _LEN.pack(crc) + head[_CRC_FROM:] + body


def encode_events_record(log_index: int, first_token: int, events: tuple[bytes, ...] | list[bytes]) -> bytes | bytearray:
    """`encode_record(KIND_EVENTS, log_index, first_token, encode_body(events), n)`;
    with the C extension, built in one buffer: the body is framed behind room for
    the header, which is filled in once the checksum is known."""
    if _native is None:
        return encode_record(KIND_EVENTS, log_index, first_token, encode_body(events), len(events))
    record = _native.frame(events, HEADER_SIZE)
    _HEADER.pack_into(record, 0, RECORD_MAGIC, 0, len(record) - HEADER_SIZE, KIND_EVENTS, log_index, first_token, len(events))
    with memoryview(record) as view:
        _LEN.pack_into(record, 4, zlib.crc32(view[_CRC_FROM:]))
    return record


def decode_header(buf: bytes | memoryview, offset: int = 0) -> tuple[RecordHeader, int]:
    """Parse a header at `offset`; returns it and its stored checksum.

    Raises RecordError when the magic or the kind is wrong, or the length is absurd.
    """
    if len(buf) - offset < HEADER_SIZE:
        raise RecordError("truncated header")
    magic, crc, body_len, kind, log_index, first_token, count = _HEADER.unpack_from(buf, offset)
    if magic != RECORD_MAGIC:
        raise RecordError(f"bad magic {magic:#x}")
    if kind not in (KIND_EVENTS, KIND_SNAPSHOT) or body_len > MAX_BODY:
        raise RecordError(f"bad header kind={kind} body_len={body_len}")
    return RecordHeader(kind, body_len, log_index, first_token, count, HEADER_SIZE + body_len), crc


def checksum_ok(buf: bytes | memoryview, offset: int, header: RecordHeader, crc: int) -> bool:
    end = offset + header.size
    if len(buf) < end:
        return False
    # The checksummed bytes (header from body_len on, then the body) are contiguous.
    return zlib.crc32(memoryview(buf)[offset + _CRC_FROM : end]) == crc


def split_body(body: bytes | memoryview, count: int) -> list[bytes]:
    """The serialized events of a body, in order; RecordError when the lengths
    do not fill the body exactly."""
    if _native is not None:
        events = _native.split(body, count)
        if events is not None:
            return events  # type: ignore[no-any-return]
    return split_body_reference(body, count)


def split_body_reference(body: bytes | memoryview, count: int) -> list[bytes]:
    """`split_body` in Python: the fallback, and what the C code is tested against."""
    out: list[bytes] = []
    pos = 0
    unpack = _LEN.unpack_from
    end = len(body)
    for _ in range(count):
        if pos + 4 > end:
            raise RecordError("body shorter than its event count")
        n = unpack(body, pos)[0]
        pos += 4
        if pos + n > end:
            raise RecordError("event extends past the body")
        out.append(bytes(body[pos : pos + n]))
        pos += n
    if pos != end:
        raise RecordError("body longer than its events")
    return out
