"""Zeros written ahead of the active segment (`ranvier.eventstore.runway`): they
never count as records, survive a restart, and never hide a torn write or
corruption; a full disk stops them without harm."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from axonclient.protos.common_pb2 import SerializedObject
from axonclient.protos.event_pb2 import Event

from ranvier.errors import StorageCorrupted, StorageWriteFailed
from ranvier.eventstore import KIND_EVENTS, AppendResult, Command, ContextStore, StoreOptions, runway
from ranvier.eventstore.segments import records_size

PAYLOAD = b"r" * 1000


def event(agg: str, seq: int, payload: bytes = b"x") -> bytes:
    return Event(message_identifier=f"{agg}-{seq}", aggregate_identifier=agg, aggregate_sequence_number=seq,
                 aggregate_type="Order", payload=SerializedObject(type="T", data=payload)).SerializeToString()


def events_cmd(*raws: bytes) -> Command:
    return Command(KIND_EVENTS, raws)


def open_store(path: Path, **options: object) -> ContextStore:
    return ContextStore.open("default", path, StoreOptions(**options))  # type: ignore[arg-type]


def commit(store: ContextStore, command: Command) -> AppendResult:
    result = store.apply(store.applied_index + 1, command)
    assert result is not None
    store.sync()
    store.publish()
    return result


def fill_past_start(store: ContextStore, aggregate: str = "a", first: int = 0) -> int:
    """Commit 100-event transactions until the segment holds more than runway.START."""
    seq = first
    while store.log.segments[-1].size <= runway.START:
        commit(store, events_cmd(*(event(aggregate, seq + i, payload=PAYLOAD) for i in range(100))))
        seq += 100
    return seq


def wait_for_runway(store: ContextStore, timeout: float = 10.0) -> Path:
    seg = store.log.segments[-1]
    deadline = time.monotonic() + timeout
    while seg.path.stat().st_size <= seg.size:
        assert time.monotonic() < deadline, "no zeros were written ahead of the segment"
        time.sleep(0.01)
    store.log._settle_fill()  # the zeros are complete once the file stopped growing
    return seg.path


def test_zeros_are_written_ahead_and_a_restart_keeps_them(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    count = fill_past_start(store)
    path = wait_for_runway(store)
    end = store.log.end
    assert path.stat().st_size > end
    with open(path, "rb") as f:
        f.seek(end)
        assert not f.read().strip(b"\0"), "only zeros follow the last record"
    store.close()

    store = open_store(tmp_path)
    assert store.recovery.truncated_bytes == 0 and not store.recovery.notes
    assert store.log.end == end
    assert store.last_token() == count - 1
    assert path.stat().st_size > end  # the runway stayed
    commit(store, events_cmd(event("a", count)))
    assert store.highest_sequence("a") == count
    assert [e for e in store.aggregate_events("a", count - 2, count, 0)] == [
        event("a", count - 2, payload=PAYLOAD), event("a", count - 1, payload=PAYLOAD), event("a", count)]
    store.close()


def test_a_torn_record_inside_the_runway_is_cut(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    count = fill_past_start(store)
    path = wait_for_runway(store)
    end = store.log.end
    store.close()
    torn = path.read_bytes()[:200]  # a record's first 200 bytes: a valid header, a cut body
    with open(path, "r+b") as f:
        f.seek(end)
        f.write(torn)  # a crash left part of a record in the zeros

    store = open_store(tmp_path)
    assert store.recovery.truncated_bytes > 0
    assert store.log.end == end and path.stat().st_size == end
    assert store.last_token() == count - 1
    store.close()


def test_a_bit_flip_before_the_runway_is_reported(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    fill_past_start(store)
    path = wait_for_runway(store)
    store.close()
    with open(path, "r+b") as f:
        f.seek(60)
        byte = f.read(1)
        f.seek(60)
        f.write(bytes([byte[0] ^ 1]))
    for index in tmp_path.glob("index.sqlite3*"):
        index.unlink()  # force a full validation
    before = path.read_bytes()
    with pytest.raises(StorageCorrupted, match="corrupt at offset 0"):
        open_store(tmp_path)
    assert path.read_bytes() == before


def test_a_rolled_segment_loses_its_zeros(tmp_path: Path) -> None:
    size = runway.START + runway.MARGIN + (2 << 20)
    store = open_store(tmp_path, segment_size=size)
    count = fill_past_start(store)
    first = wait_for_runway(store)
    while len(store.log.segments) == 1:
        commit(store, events_cmd(*(event("a", count + i, payload=PAYLOAD) for i in range(100))))
        count += 100
    assert first.stat().st_size == store.log.segments[0].size  # cut to its records at the roll
    store.close()
    store = open_store(tmp_path, segment_size=size)
    assert store.last_token() == count - 1
    store.close()


def closed_small_segments(path: Path) -> list[Path]:
    """40 events over several 4 KiB segments (too small for a runway); the files."""
    store = open_store(path, segment_size=4096)
    for i in range(40):
        commit(store, events_cmd(event("a", i, payload=b"p" * 300)))
    store.close()
    segments = sorted(path.glob("*.rlog"))
    assert len(segments) > 2
    return segments


def test_zeros_after_a_closed_segment_left_by_a_crash_are_cut(tmp_path: Path) -> None:
    segments = closed_small_segments(tmp_path)
    records = segments[0].stat().st_size
    with open(segments[0], "ab") as f:
        f.write(bytes(10_000))  # the roll's cut never reached the disk
    store = open_store(tmp_path, segment_size=4096)
    assert segments[0].stat().st_size == records
    assert store.last_token() == 39
    assert len(list(store.aggregate_events("a", 0, 39, 0))) == 40
    store.close()


def test_anything_but_zeros_after_a_closed_segment_is_corruption(tmp_path: Path) -> None:
    segments = closed_small_segments(tmp_path)
    with open(segments[0], "ab") as f:
        f.write(bytes(100) + b"\x01" + bytes(100))
    with pytest.raises(StorageCorrupted, match="does not follow"):
        open_store(tmp_path, segment_size=4096)


def test_a_full_disk_stops_the_runway_and_loses_nothing(tmpfs: Callable[[str], Path]) -> None:
    small_disk = tmpfs("8m")
    store = ContextStore.open("default", small_disk / "default", StoreOptions(index_cache_kib=1024))
    acknowledged = 0
    with pytest.raises(StorageWriteFailed, match="disk is full"):
        for _ in range(1000):
            commit(store, events_cmd(*(event("a", acknowledged + i, payload=PAYLOAD) for i in range(100))))
            acknowledged += 100
    assert store.log.end > runway.START  # the runway had started (records with their headers, not payloads alone)
    assert store.last_token() == acknowledged - 1
    store.close()
    os.sync()
    store = ContextStore.open("default", small_disk / "default", StoreOptions(index_cache_kib=1024))
    assert store.last_token() == acknowledged - 1
    assert store.highest_sequence("a") == acknowledged - 1
    store.close()


def test_records_size_leaves_out_the_runway(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    fill_past_start(store)
    path = wait_for_runway(store)
    assert path.stat().st_size > store.log.end
    assert records_size(tmp_path) == store.log.end
    store.close()


def test_a_fill_is_planned_ahead_of_the_writer_and_inside_the_segment() -> None:
    mib = 1 << 20
    capacity = 256 * mib
    assert runway.plan(runway.START - 1, 0, capacity) is None  # too small for a runway
    assert runway.plan(10 * mib, 10 * mib + runway.CHUNK, capacity) is None  # runway long enough
    start, end = runway.plan(10 * mib, 10 * mib, capacity) or (0, 0)
    assert start >= 10 * mib + runway.MARGIN and end - start == runway.CHUNK
    start, end = runway.plan(10 * mib, 13 * mib, capacity) or (0, 0)
    assert start == 13 * mib  # continues the zeros already there
    start, end = runway.plan(capacity - 3 * mib, capacity - 3 * mib, capacity) or (0, 0)
    assert end == capacity  # never past the segment's size
    assert runway.plan(capacity - mib, capacity - mib, capacity) is None
