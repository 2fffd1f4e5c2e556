"""A context's event store: the deterministic state machine of its replicated log.

The contract, in the words a Raft runtime needs (hashicorp's FSM, restated):

- `apply(index, command)` is deterministic: the same commands at the same indexes, on
  any node, produce byte-identical segment files. It validates aggregate sequences
  itself, so every replica reaches the same verdict on a transaction without asking
  the leader. A command at an index at or below `applied_index` is skipped, which
  makes re-applying after a restart idempotent.
- `apply` writes to the OS but does not fsync. The driver decides what durability
  means: a single node calls `sync()` before acknowledging (the segment files are then
  the only copy written on the acknowledgement path); a cluster node relies on its
  Raft log having been fsynced, and syncs the store before compacting that log.
- `publish()` makes applied records visible to readers. A single node publishes after
  `sync`; a cluster node right after applying committed entries.

Reads never see unpublished records. Everything but the segment files (indexes,
caches) is derived from them and rebuilt on open.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ranvier.errors import InvalidSequence, StorageCorrupted, StorageUnavailable, StorageWriteFailed

from .codec import MalformedEvent, checked_ranges, parse_key, sequence_keys
from .index import INDEX_FILE, Indexer, IndexDb, RecordEntries, SequenceCache, Tail
from .records import (
    HEADER_SIZE,
    KIND_EVENTS,
    KIND_SNAPSHOT,
    Command,
    RecordHeader,
    checksum_ok,
    decode_header,
    encode_body,
    encode_events_record,
    encode_record,
    split_body,
)
from .segments import Recovery, SegmentedLog

log = logging.getLogger(__name__)

NO_SEQUENCE = -1


@dataclass(frozen=True, slots=True)
class StoreOptions:
    segment_size: int = 256 * 1024 * 1024
    # Applied records the index may lag behind before writers wait (bounds Tail memory).
    max_unindexed: int = 20_000
    sequence_cache_size: int = 100_000
    index_cache_kib: int = 32 * 1024
    check_snapshot_sequence: bool = True


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where a committed transaction landed: tokens first_token .. first_token+count-1."""

    log_index: int
    first_token: int
    count: int


class ContextStore:
    """One context's segments, indexes and caches. Owned by one thread (the event
    loop's); only the index writer runs elsewhere and reports back via `call_soon`."""

    def __init__(
        self,
        name: str,
        directory: Path,
        options: StoreOptions,
        call_soon: Callable[[Callable[[], None]], None],
    ) -> None:
        self.name = name
        self.directory = directory
        self.options = options
        self._call_soon = call_soon
        self.log: SegmentedLog
        self.index: IndexDb
        self.tail: Tail
        self.recovery: Recovery
        self.applied_index = 0  # Invariant: every command at index <= applied_index is reflected on disk
        self.next_token = 0  # token the next appended event gets
        self.visible_end = 0  # readers see records wholly before this position
        self.visible_next_token = 0  # and events with tokens below this one
        self.failed: str | None = None
        self._seq_cache = SequenceCache(options.sequence_cache_size)
        self._unsubmitted: list[RecordEntries] = []
        self._listeners: list[Callable[[], None]] = []
        self._indexed_listeners: list[Callable[[], None]] = []
        self._indexer: Indexer | None = None
        self._deferred: deque[Callable[[], None]] = deque()  # used when no loop owns us

    # -- lifecycle -----------------------------------------------------------------

    @classmethod
    def open(
        cls,
        name: str,
        directory: Path,
        options: StoreOptions,
        call_soon: Callable[[Callable[[], None]], None] | None = None,
    ) -> ContextStore:
        """Open or create the store, cut a torn tail, catch the index up.

        Raises StorageCorrupted when data before the tail fails its checksum.
        `call_soon` schedules a callback on the owning thread (the event loop's
        call_soon_threadsafe); without one (tools, tests), callbacks queue up and
        run at the owner's next `apply` or `flush_index`.
        """
        self = cls(name, directory, options, call_soon or (lambda fn: None))
        if call_soon is None:
            self._call_soon = self._deferred.append
        directory.mkdir(parents=True, exist_ok=True)
        self.index = IndexDb(directory / INDEX_FILE, options.index_cache_kib)
        indexed = self.index.indexed_through
        self.log, self.recovery = SegmentedLog.open(directory, options.segment_size, validate_from=indexed)
        if indexed > self.log.end:
            log.warning("%s: index is ahead of the log (%d > %d); rebuilding it", name, indexed, self.log.end)
            self.index.reset()
            indexed = 0
        self.tail = Tail(indexed)
        self._replay_from(indexed)
        self.log.sync_all()
        self.visible_end = self.log.end
        self.visible_next_token = self.next_token
        self._indexer = Indexer(directory / INDEX_FILE, self._indexed_from_thread)
        self.flush_index()
        return self

    def _replay_from(self, indexed: int) -> None:
        """Re-derive applied_index and next_token from the last record, and feed the
        tail every record the index does not hold."""
        written = [seg for seg in self.log.segments if seg.size] or self.log.segments
        start = min(indexed, written[-1].base)
        for position, header, body in self.log.records(start, self.log.end):
            self.applied_index = max(self.applied_index, header.log_index)
            # Snapshot records carry the next token too, so the last record tells it.
            self.next_token = header.first_token + (header.count if header.kind == KIND_EVENTS else 0)
            if position >= indexed:
                entries = self._entries_for(position, header, split_body(body, header.count))
                self.tail.add(entries)
                self._unsubmitted.append(entries)

    def close(self) -> None:
        if self._indexer is not None:
            self.flush_index()
            self._indexer.close()
            self._indexer = None
        self.log.close()
        self.index.close()

    # -- the state machine ---------------------------------------------------------

    def apply(self, index: int, command: Command) -> AppendResult | None:
        """Apply the command committed at log `index`; None if already applied.

        Raises InvalidSequence (the transaction is rejected, nothing written, the
        index still counts as applied), StorageWriteFailed (nothing written), or
        StorageUnavailable when the store failed before.
        """
        self._check_usable()
        self._run_deferred()
        if index <= self.applied_index:
            return None
        if command.kind == KIND_SNAPSHOT:
            return self._apply_snapshot(index, command.events)
        return self._apply_events(index, command.events, command.body)

    def _apply_events(self, index: int, events: tuple[bytes, ...], body: bytes | None = None) -> AppendResult:
        try:
            ranges, max_ts = checked_ranges(events, self._highest_for_append)
        except (InvalidSequence, MalformedEvent):
            self.applied_index = index
            raise
        first_token = self.next_token
        if body is None:
            record = encode_events_record(index, first_token, events)
        else:  # a command from the replicated log carries its body
            record = encode_record(KIND_EVENTS, index, first_token, body, len(events))
        position = self.log.append(record)
        entries = RecordEntries(position, position + len(record))
        entries.tx = (first_token, len(events), max_ts)
        entries.aggregates = [(agg, first, last) for agg, (first, last) in ranges.items()]
        self._added(entries)
        for agg, (_first, last) in ranges.items():
            self._seq_cache.put(agg, last)
        self.applied_index = index
        self.next_token = first_token + len(events)
        return AppendResult(index, first_token, len(events))

    def _highest_for_append(self, aggregate_id: str) -> int:
        return self.highest_sequence(aggregate_id, visible_only=False)

    def _apply_snapshot(self, index: int, events: tuple[bytes, ...]) -> AppendResult:
        try:
            if len(events) != 1:
                raise MalformedEvent("a snapshot command carries exactly one event")
            key = parse_key(events[0])
        except MalformedEvent:
            self.applied_index = index
            raise
        if self.options.check_snapshot_sequence:
            highest = self.highest_sequence(key.aggregate_id, visible_only=False)
            if highest < key.sequence:
                self.applied_index = index
                raise InvalidSequence(
                    "Invalid sequence number while storing snapshot. Highest aggregate "
                    f"{key.aggregate_id} sequence number: {max(highest, 0)}, snapshot sequence {key.sequence}."
                )
        record = encode_record(KIND_SNAPSHOT, index, self.next_token, encode_body(events), 1)
        position = self.log.append(record)
        entries = RecordEntries(position, position + len(record), snapshot=(key.aggregate_id, key.sequence))
        self._added(entries)
        self.applied_index = index
        return AppendResult(index, -1, 1)

    def _added(self, entries: RecordEntries) -> None:
        self.tail.add(entries)
        self._unsubmitted.append(entries)

    def _entries_for(self, position: int, header: RecordHeader, events: list[bytes]) -> RecordEntries:
        entries = RecordEntries(position, position + header.size)
        if header.kind == KIND_SNAPSHOT:
            key = parse_key(events[0])
            entries.snapshot = (key.aggregate_id, key.sequence)
            return entries
        seq_keys, max_ts = sequence_keys(events)
        entries.tx = (header.first_token, header.count, max_ts)
        ranges: dict[str, tuple[int, int]] = {}
        for key in seq_keys:
            if key is not None:
                agg, seq = key
                ranges[agg] = (ranges.get(agg, (seq, 0))[0], seq)
        entries.aggregates = [(agg, first, last) for agg, (first, last) in ranges.items()]
        return entries

    def install_records(self, data: bytes) -> int:
        """Append whole records copied from another replica's log (installing a
        snapshot: this store is a prefix of the sender's). Checksums are verified;
        returns the bytes consumed, so a partial trailing record can be resent with
        the next chunk. Not durable until `sync`."""
        view = memoryview(data)
        used = 0
        while len(view) - used >= HEADER_SIZE:
            header, crc = decode_header(view, used)
            if len(view) - used < header.size:
                break
            if not checksum_ok(view, used, header, crc):
                raise StorageCorrupted(f"context {self.name}: a copied record fails its checksum")
            record = bytes(view[used : used + header.size])
            position = self.log.append(record)
            body = record[HEADER_SIZE:]
            self._added(self._entries_for(position, header, split_body(body, header.count)))
            self.applied_index = max(self.applied_index, header.log_index)
            self.next_token = header.first_token + (header.count if header.kind == KIND_EVENTS else 0)
            used += header.size
        return used

    # -- durability and visibility ---------------------------------------------------

    def sync(self) -> None:
        """fsync everything applied so far. Blocking: run it in a worker thread."""
        self.log.sync()

    def take_sync_targets(self) -> tuple[list[int], Path | None]:
        """`sync` in two halves, for a caller that fsyncs elsewhere (the
        committer's `Syncer`): the fds to fdatasync and the directory to fsync
        (None when unchanged); on failure the caller raises `sync_failed(exc)`."""
        return self.log.take_sync_targets()

    def take_writes(self) -> list[tuple[int, bytes | bytearray, int]]:
        """Records applied but left for the syncer to write (`defer_writes`):
        (fd, record, offset), to write before syncing `take_sync_targets()`."""
        return self.log.take_writes()

    def defer_writes(self, enabled: bool) -> None:
        """Let `apply` leave writing a record to the syncer where that cannot fail
        for lack of space (see `SegmentedLog.append`). Only for a caller whose syncs
        take `take_writes()` with the targets (the committer's C fsync thread)."""
        self.log.defer_writes = enabled

    def sync_failed(self, exc: OSError) -> StorageWriteFailed:
        return self.log.sync_failed(exc)

    def publish(self) -> None:
        """Make every applied record visible to readers and wake those waiting."""
        self.visible_end = self.log.end
        self.visible_next_token = self.next_token
        for listener in list(self._listeners):
            listener()

    def fail(self, reason: str) -> None:
        """Stop serving after an unrecoverable write error; reopen to recover."""
        self.failed = reason
        for listener in list(self._listeners):
            listener()

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _check_usable(self) -> None:
        if self.failed:
            raise StorageUnavailable(f"context {self.name} is unavailable: {self.failed}")
        if self._indexer is not None and self._indexer.error is not None:
            raise StorageWriteFailed(
                f"context {self.name} refuses writes while its index cannot be written "
                f"({self._indexer.error}); events stored so far are safe"
            )

    # -- index maintenance -----------------------------------------------------------

    def _run_deferred(self) -> None:
        while self._deferred:
            self._deferred.popleft()()

    def flush_index(self) -> None:
        """Hand the records applied since the last call to the index writer."""
        self._run_deferred()
        if self._unsubmitted and self._indexer is not None:
            batch, self._unsubmitted = self._unsubmitted, []
            self._indexer.submit(batch)

    @property
    def unindexed(self) -> int:
        return len(self.tail)

    @property
    def index_error(self) -> str | None:
        error = self._indexer.error if self._indexer is not None else None
        return None if error is None else str(error)

    def on_indexed(self, listener: Callable[[], None]) -> None:
        self._indexed_listeners.append(listener)

    def _indexed_from_thread(self, position: int) -> None:
        self._call_soon(lambda: self._indexed(position))

    def _indexed(self, position: int) -> None:
        self.tail.prune(position)
        for listener in list(self._indexed_listeners):
            listener()

    # -- reads -----------------------------------------------------------------------

    def highest_sequence(self, aggregate_id: str, visible_only: bool = True) -> int:
        """The aggregate's highest event sequence number, or -1 when it has none."""
        seq = self.tail.highest_sequence(aggregate_id)
        if seq is None:
            seq = self._seq_cache.get(aggregate_id)
        if seq is None:
            seq = self.index.highest_sequence(aggregate_id, self.tail.floor)
            seq = NO_SEQUENCE if seq is None else seq
            if seq >= 0:
                self._seq_cache.put(aggregate_id, seq)
        if visible_only and seq >= 0 and self.visible_end < self.log.end:
            return self._visible_highest(aggregate_id, seq)
        return seq

    def _visible_highest(self, aggregate_id: str, seq: int) -> int:
        rows = self._aggregate_records(aggregate_id, 0, seq)
        visible = [r for r in rows if r[2] < self.visible_end]
        return visible[-1][1] if visible else NO_SEQUENCE

    def _aggregate_records(self, aggregate_id: str, from_seq: int, to_seq: int) -> list[tuple[int, int, int]]:
        floor = self.tail.floor
        rows = self.index.aggregate_records(aggregate_id, from_seq, to_seq, floor)
        rows.extend(self.tail.aggregate_records(aggregate_id, from_seq, to_seq))
        return [r for r in rows if r[2] < self.visible_end]

    def aggregate_events(self, aggregate_id: str, from_seq: int, to_seq: int, min_token: int = 0) -> Iterator[bytes]:
        """Raw events of the aggregate with sequence in [from_seq, to_seq] and token
        >= min_token (Axon's hint that older events are not wanted), in order."""
        for _first, _last, position in self._aggregate_records(aggregate_id, from_seq, to_seq):
            header, body = self.log.read_record(position)
            if header.first_token + header.count <= min_token:
                continue
            for offset, raw in enumerate(split_body(body, header.count)):
                if header.first_token + offset < min_token:
                    continue
                key = parse_key(raw)
                if key.aggregate_id == aggregate_id and key.is_domain_event and from_seq <= key.sequence <= to_seq:
                    yield raw

    def snapshots(self, aggregate_id: str, from_seq: int, to_seq: int) -> list[tuple[int, int]]:
        """(sequence, position) of the aggregate's visible snapshots, newest first."""
        floor = self.tail.floor
        rows = self.index.snapshots(aggregate_id, from_seq, to_seq, floor)
        rows.extend(self.tail.snapshots(aggregate_id, from_seq, to_seq))
        rows = [r for r in rows if r[1] < self.visible_end]
        rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
        # A later snapshot at the same sequence replaces the earlier one.
        seen: set[int] = set()
        return [r for r in rows if not (r[0] in seen or seen.add(r[0]))]

    def read_snapshot(self, position: int) -> bytes:
        header, body = self.log.read_record(position)
        return split_body(body, header.count)[0]

    def first_token(self) -> int:
        """Token of the oldest stored event; 0 for an empty store."""
        row = self.index.first_tx() if self.tail.floor > 0 else None
        row = row or self.tail.first_tx()
        return row[0] if row else 0

    def last_token(self) -> int:
        """Token of the newest visible event; -1 for an empty store."""
        return self.visible_next_token - 1

    def record_holding(self, token: int) -> tuple[int, int, int] | None:
        """(first_token, position, count) of the record that holds `token`."""
        if token >= self.visible_next_token or token < 0:
            return None
        row = self.tail.tx_at(token)
        if row is None:
            row = self.index.tx_at(token, self.tail.floor)
        return row

    def token_at(self, instant: int) -> int:
        """Token of the first event with a timestamp >= instant (ms); the next token
        when there is none. Timestamps are the clients' and need not be ordered."""
        row = self.index.tx_with_timestamp_at_least(instant, self.tail.floor) or self.tail.tx_with_timestamp_at_least(instant)
        if row is None or row[1] >= self.visible_end:
            return self.visible_next_token
        first_token, position, count = row
        header, body = self.log.read_record(position)
        for offset, raw in enumerate(split_body(body, header.count)):
            if parse_key(raw).timestamp >= instant:
                return first_token + offset
        return first_token + count

    def check_consistent(self) -> None:
        """Re-read every record, verifying checksums (used by tools and tests)."""
        for _ in self.log.records(0, self.log.end):
            pass


def load_error(exc: Exception) -> str:
    if isinstance(exc, StorageCorrupted):
        return exc.message
    return f"{type(exc).__name__}: {exc}"
