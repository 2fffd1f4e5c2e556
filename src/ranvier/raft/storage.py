"""The read side of durable Raft state, and an in-memory implementation.

The core only reads storage. The runtime writes it while handling a `Ready`:
entries and hard state first, then (after the messages are sent and the
committed entries applied) `RawNode.advance`. A crash may lose anything the
runtime did not yet write; the core copes because it never assumes more than
what `Storage` returns after a restart.
"""

from __future__ import annotations

from typing import Protocol

from ranvier.raft.errors import Compacted, SnapshotTemporarilyUnavailable, Unavailable
from ranvier.raft.types import (
    ConfState,
    Entry,
    HardState,
    Snapshot,
    SnapshotMetadata,
)


class Storage(Protocol):
    """What the core reads. All methods see only persisted state."""

    def initial_state(self) -> tuple[HardState, ConfState]:
        """The saved hard state and the membership of the latest snapshot or
        applied configuration."""
        ...

    def entries(self, lo: int, hi: int, max_size: int) -> list[Entry]:
        """Entries in [lo, hi), as many as fit in max_size bytes but at least
        one. Raises Compacted if lo <= the snapshot index, Unavailable if hi is
        past last_index() + 1. The caller must not mutate the returned list."""
        ...

    def term(self, index: int) -> int:
        """Term of the entry at index, for first_index()-1 <= index <= last_index()
        (first_index()-1 answers from the snapshot). Raises Compacted/Unavailable."""
        ...

    def first_index(self) -> int:
        """Index of the first entry that may be read (snapshot index + 1)."""
        ...

    def last_index(self) -> int:
        """Index of the last entry (the snapshot index when the log is empty)."""
        ...

    def snapshot(self) -> Snapshot:
        """The most recent snapshot, data included; the leader streams it to
        followers in chunks. May raise SnapshotTemporarilyUnavailable."""
        ...


def entry_size(e: Entry, overhead: int) -> int:
    return len(e.data) + overhead


def limit_size(ents: list[Entry], max_size: int, overhead: int = 16) -> list[Entry]:
    """The longest prefix of ents within max_size bytes, never fewer than one."""
    total = 0
    for i, e in enumerate(ents):
        total += len(e.data) + overhead
        if total > max_size and i > 0:
            return ents[:i]
    return ents


class MemoryStorage:
    """Storage in memory, written by the runtime (and the simulator).

    Invariant: `_ents[0]` is a dummy entry at the snapshot (index, term), so
    `_ents[k].index == _ents[0].index + k`.
    """

    def __init__(self) -> None:
        self.hard_state = HardState()
        self._snapshot = Snapshot()
        self._ents: list[Entry] = [Entry(0, 0)]

    # ---- read side (Storage protocol) ----

    def initial_state(self) -> tuple[HardState, ConfState]:
        return self.hard_state, self._snapshot.metadata.conf_state

    def first_index(self) -> int:
        return self._ents[0].index + 1

    def last_index(self) -> int:
        return self._ents[0].index + len(self._ents) - 1

    def term(self, index: int) -> int:
        offset = self._ents[0].index
        if index < offset:
            raise Compacted(index)
        if index - offset >= len(self._ents):
            raise Unavailable(index)
        return self._ents[index - offset].term

    def entries(self, lo: int, hi: int, max_size: int) -> list[Entry]:
        offset = self._ents[0].index
        if lo <= offset:
            raise Compacted(lo)
        if hi > self.last_index() + 1:
            raise Unavailable(hi)
        return limit_size(self._ents[lo - offset : hi - offset], max_size)

    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise SnapshotTemporarilyUnavailable()
        return self._snapshot

    # ---- write side (the runtime's job) ----

    def set_hard_state(self, hs: HardState) -> None:
        self.hard_state = hs

    def apply_snapshot(self, snap: Snapshot) -> None:
        """Replace the whole log by snap (a follower installing it, §7)."""
        if snap.metadata.index <= self._snapshot.metadata.index:
            return  # stale: never move backwards (pitfall P6)
        self._snapshot = snap
        self._ents = [Entry(snap.metadata.term, snap.metadata.index)]

    def create_snapshot(self, index: int, conf_state: ConfState, data: bytes) -> Snapshot:
        """Record the application's state-machine image at applied index `index`."""
        if index <= self._snapshot.metadata.index:
            return self._snapshot
        if index > self.last_index():
            raise Unavailable(index)
        meta = SnapshotMetadata(index, self.term(index), conf_state)
        self._snapshot = Snapshot(meta, data)
        return self._snapshot

    def compact(self, compact_index: int) -> None:
        """Drop entries before compact_index; it becomes the dummy entry.

        The caller must have a snapshot at or after compact_index - it is the
        only copy of what the discarded entries did."""
        offset = self._ents[0].index
        if compact_index <= offset:
            return
        if compact_index > self.last_index():
            raise Unavailable(compact_index)
        i = compact_index - offset
        self._ents = [Entry(self._ents[i].term, compact_index)] + self._ents[i + 1 :]

    def append(self, entries: list[Entry] | tuple[Entry, ...]) -> None:
        """Persist entries, truncating any conflicting suffix first (§5.3)."""
        if not entries:
            return
        first = self.first_index()
        if entries[-1].index < first:
            return  # wholly compacted already
        if entries[0].index < first:
            entries = entries[first - entries[0].index :]
        offset = entries[0].index - self._ents[0].index
        if offset > len(self._ents):
            raise AssertionError(f"missing log entry before index {entries[0].index}")
        del self._ents[offset:]
        self._ents.extend(entries)
