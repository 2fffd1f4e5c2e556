"""The context store as a state machine: validation, determinism, recovery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from axonclient.protos.common_pb2 import SerializedObject
from axonclient.protos.event_pb2 import Event

from ranvier.errors import InvalidSequence, StorageCorrupted
from ranvier.eventstore import (
    KIND_EVENTS,
    KIND_SNAPSHOT,
    Command,
    ContextStore,
    StoreOptions,
    decode_command,
    encode_command,
)
from ranvier.eventstore.cursor import EventCursor


def event(agg: str = "", seq: int = 0, kind: str = "Order", payload: bytes = b"x", ts: int = 1000, ptype: str = "T") -> bytes:
    return Event(
        message_identifier=f"{agg}-{seq}",
        aggregate_identifier=agg,
        aggregate_sequence_number=seq,
        aggregate_type=kind if agg else "",
        timestamp=ts,
        payload=SerializedObject(type=ptype, revision="1", data=payload),
    ).SerializeToString()


def events_cmd(*raws: bytes) -> Command:
    return Command(KIND_EVENTS, tuple(raws))


def open_store(path: Path, **options: object) -> ContextStore:
    return ContextStore.open("default", path, StoreOptions(**options))  # type: ignore[arg-type]


def commit(store: ContextStore, command: Command):  # type: ignore[no-untyped-def]
    result = store.apply(store.applied_index + 1, command)
    store.sync()
    store.publish()
    return result


def segment_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.glob("*.rlog")))


def test_tokens_are_contiguous_and_zero_based(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert store.last_token() == -1
    first = commit(store, events_cmd(event("a", 0), event("a", 1)))
    second = commit(store, events_cmd(event(), event("b", 0)))
    assert (first.first_token, first.count) == (0, 2)
    assert (second.first_token, second.count) == (2, 2)
    assert store.last_token() == 3
    assert store.first_token() == 0
    store.close()


def test_sequence_rules_follow_axon(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    with pytest.raises(InvalidSequence, match="Invalid sequence number 1 for aggregate a, expected 0"):
        commit(store, events_cmd(event("a", 1)))
    commit(store, events_cmd(event("a", 0), event("a", 1)))
    with pytest.raises(InvalidSequence, match="Invalid sequence number 3 for aggregate a, expected 2"):
        commit(store, events_cmd(event("a", 3)))
    with pytest.raises(InvalidSequence, match="expected 3"):
        commit(store, events_cmd(event("a", 2), event("a", 2)))
    # A rejected transaction stores nothing, not even its valid events.
    with pytest.raises(InvalidSequence):
        commit(store, events_cmd(event("b", 0), event("a", 7)))
    assert store.highest_sequence("b") == -1
    assert store.last_token() == 1
    # Events without an aggregate type are not checked.
    commit(store, events_cmd(event(), event()))
    assert store.last_token() == 3
    store.close()


def test_snapshot_sequence_check_message(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    commit(store, events_cmd(event("a", 0)))
    with pytest.raises(InvalidSequence) as info:
        commit(store, Command(KIND_SNAPSHOT, (event("a", 1),)))
    assert info.value.describe() == (
        "[AXONIQ-2000] Invalid sequence number while storing snapshot. "
        "Highest aggregate a sequence number: 0, snapshot sequence 1."
    )
    commit(store, Command(KIND_SNAPSHOT, (event("a", 0, payload=b"snap"),)))
    assert [seq for seq, _pos in store.snapshots("a", 0, 10)] == [0]
    store.close()


def test_reads_see_only_published_records(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.apply(1, events_cmd(event("a", 0)))
    assert store.last_token() == -1
    assert list(store.aggregate_events("a", 0, 10)) == []
    assert store.highest_sequence("a") == -1
    assert store.highest_sequence("a", visible_only=False) == 0
    store.sync()
    store.publish()
    assert store.last_token() == 0
    assert len(list(store.aggregate_events("a", 0, 10))) == 1
    store.close()


def test_apply_is_idempotent_and_replay_is_byte_identical(tmp_path: Path) -> None:
    commands = [events_cmd(event("a", i), event(), event("b", i)) for i in range(50)]
    commands.insert(10, Command(KIND_SNAPSHOT, (event("a", 5),)))
    commands.insert(20, events_cmd(event("a", 99)))  # rejected: bad sequence

    def replay(path: Path, segment_size: int) -> bytes:
        store = open_store(path, segment_size=segment_size)
        for index, command in enumerate(commands, start=1):
            try:
                store.apply(index, command)
            except InvalidSequence:
                pass
        store.sync()
        store.close()
        return segment_bytes(path)

    one = replay(tmp_path / "one", 4096)
    two = replay(tmp_path / "two", 4096)
    assert one == two
    assert len(list((tmp_path / "one").glob("*.rlog"))) > 1
    # Re-applying everything after a restart changes nothing.
    again = replay(tmp_path / "one", 4096)
    assert again == one


def test_restart_recovers_state_from_segments_and_index(tmp_path: Path) -> None:
    store = open_store(tmp_path, segment_size=2048)
    for i in range(40):
        commit(store, events_cmd(event("a", i), event(f"x{i}", 0)))
    commit(store, Command(KIND_SNAPSHOT, (event("a", 30, payload=b"s"),)))
    applied, next_token = store.applied_index, store.next_token
    store.close()

    for remove_index in (False, True):
        if remove_index:
            for p in tmp_path.glob("index.sqlite3*"):
                p.unlink()
        store = open_store(tmp_path, segment_size=2048)
        assert (store.applied_index, store.next_token) == (applied, next_token)
        assert store.highest_sequence("a") == 39
        assert store.highest_sequence("x17") == 0
        assert len(list(store.aggregate_events("a", 0, 1000))) == 40
        assert [s for s, _ in store.snapshots("a", 0, 100)] == [30]
        with pytest.raises(InvalidSequence):
            commit(store, events_cmd(event("a", 39)))
        store.close()


def test_torn_tail_is_cut_back_to_last_complete_record(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    for i in range(5):
        commit(store, events_cmd(event("a", i)))
    store.close()
    seg = sorted(tmp_path.glob("*.rlog"))[-1]
    size = seg.stat().st_size
    with open(seg, "r+b") as f:
        f.truncate(size - 7)
    store = open_store(tmp_path)
    assert store.recovery.truncated_bytes > 0
    assert store.last_token() == 3
    assert store.highest_sequence("a") == 3
    commit(store, events_cmd(event("a", 4)))
    assert store.last_token() == 4
    store.close()


def test_garbage_appended_after_the_tail_is_cut(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    commit(store, events_cmd(event("a", 0)))
    store.close()
    seg = sorted(tmp_path.glob("*.rlog"))[-1]
    with open(seg, "ab") as f:
        f.write(os.urandom(100))
    store = open_store(tmp_path)
    assert store.last_token() == 0
    store.close()


def test_bit_flip_before_the_tail_is_reported_not_dropped(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    for i in range(5):
        commit(store, events_cmd(event("a", i, payload=b"p" * 50)))
    store.close()
    seg = sorted(tmp_path.glob("*.rlog"))[-1]
    data = bytearray(seg.read_bytes())
    data[60] ^= 0x01  # inside the first record's body
    seg.write_bytes(bytes(data))
    before = seg.read_bytes()
    for p in tmp_path.glob("index.sqlite3*"):
        p.unlink()  # force a full validation
    with pytest.raises(StorageCorrupted, match="corrupt at offset 0"):
        open_store(tmp_path)
    assert seg.read_bytes() == before  # nothing was cut


def test_missing_middle_segment_is_reported(tmp_path: Path) -> None:
    store = open_store(tmp_path, segment_size=512)
    for i in range(20):
        commit(store, events_cmd(event("a", i, payload=b"p" * 100)))
    store.close()
    segments = sorted(tmp_path.glob("*.rlog"))
    assert len(segments) > 3
    segments[1].unlink()
    with pytest.raises(StorageCorrupted, match="missing"):
        open_store(tmp_path, segment_size=512)


def test_cursor_reads_across_records_and_segments(tmp_path: Path) -> None:
    store = open_store(tmp_path, segment_size=1024)
    for i in range(30):
        commit(store, events_cmd(*[event() for _ in range(3)]))
    cursor = EventCursor(store, 4)
    seen: list[int] = []
    while True:
        batch = cursor.read(7, max_bytes=300)
        if not batch:
            break
        seen.extend(token for token, _raw in batch)
    assert seen == list(range(4, 90))
    assert cursor.caught_up
    commit(store, events_cmd(event()))
    assert [t for t, _ in cursor.read(10)] == [90]
    store.close()


def test_token_at_finds_first_event_at_or_after_instant(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    commit(store, events_cmd(event(ts=100), event(ts=200)))
    commit(store, events_cmd(event(ts=300)))
    assert store.token_at(0) == 0
    assert store.token_at(150) == 1
    assert store.token_at(300) == 2
    assert store.token_at(301) == 3
    store.close()


def test_index_catches_up_in_the_background(tmp_path: Path) -> None:
    store = open_store(tmp_path, max_unindexed=10)
    for i in range(100):
        commit(store, events_cmd(event("a", i)))
    store.flush_index()
    store.close()  # waits for the indexer
    store = open_store(tmp_path)
    assert store.index.indexed_through == store.log.end
    assert store.unindexed == 0
    assert store.highest_sequence("a") == 99
    store.close()


def test_aggregate_read_honours_min_token(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    commit(store, events_cmd(event("a", 0), event("a", 1)))  # tokens 0, 1
    commit(store, events_cmd(event("b", 0)))  # token 2
    commit(store, events_cmd(event("a", 2)))  # token 3
    seqs = [parse(raw).aggregate_sequence_number for raw in store.aggregate_events("a", 0, 100, min_token=1)]
    assert seqs == [1, 2]
    store.close()


def parse(raw: bytes) -> Event:
    return Event.FromString(raw)


def test_a_command_off_the_wire_writes_the_same_bytes_as_the_original(tmp_path: Path) -> None:
    # A replica applies the decoded command (its body reused as it came); the
    # proposer's store may apply the original: both segment files must be identical.
    commands = [events_cmd(event("a", 0), event("a", 1), event("", 0)),
                events_cmd(event("b", 0, payload=b"y" * 300))]
    original, decoded = open_store(tmp_path / "original"), open_store(tmp_path / "decoded")
    for index, command in enumerate(commands, start=1):
        wire = decode_command(encode_command(command))
        assert wire == command and wire.body is not None
        assert original.apply(index, command) == decoded.apply(index, wire)
    original.sync()
    decoded.sync()
    segments = sorted(p.name for p in (tmp_path / "original").glob("*.rlog"))
    assert segments
    for name in segments:
        assert (tmp_path / "original" / name).read_bytes() == (tmp_path / "decoded" / name).read_bytes()
    original.close()
    decoded.close()
