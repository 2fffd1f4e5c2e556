"""The Raft log as the core sees it: persisted storage plus an unstable tail.

Entries and snapshots enter as *unstable* (not yet persisted), are handed to
the runtime in a Ready, and become stable on `advance`. Reads look at the
unstable tail first, then at storage.
"""

from __future__ import annotations

from ranvier.raft.errors import Compacted, Unavailable
from ranvier.raft.storage import Storage, limit_size
from ranvier.raft.types import Entry, Snapshot


class Unstable:
    """Entries and at most one snapshot not yet written to storage.

    Invariant: entries[k].index == offset + k; if snapshot is set,
    offset == snapshot.metadata.index + 1.
    """

    def __init__(self, offset: int) -> None:
        self.snapshot: Snapshot | None = None
        self.entries: list[Entry] = []
        self.offset = offset

    def maybe_first_index(self) -> int | None:
        if self.snapshot is not None:
            return self.snapshot.metadata.index + 1
        return None

    def maybe_last_index(self) -> int | None:
        if self.entries:
            return self.offset + len(self.entries) - 1
        if self.snapshot is not None:
            return self.snapshot.metadata.index
        return None

    def maybe_term(self, i: int) -> int | None:
        if i < self.offset:
            snap = self.snapshot
            if snap is not None and snap.metadata.index == i:
                return snap.metadata.term
            return None
        k = i - self.offset
        if k < len(self.entries):
            return self.entries[k].term
        return None

    def stable_to(self, index: int, term: int) -> None:
        """Entries up to index were persisted. Ignored if the entry at index was
        replaced meanwhile (a newer leader's entries arrived during the write)."""
        if self.maybe_term(index) != term or index < self.offset:
            return
        del self.entries[: index + 1 - self.offset]
        self.offset = index + 1

    def stable_snap_to(self, index: int) -> None:
        if self.snapshot is not None and self.snapshot.metadata.index == index:
            self.snapshot = None

    def restore(self, snap: Snapshot) -> None:
        self.offset = snap.metadata.index + 1
        self.entries = []
        self.snapshot = snap

    def truncate_and_append(self, ents: list[Entry]) -> None:
        first = ents[0].index
        if first == self.offset + len(self.entries):
            self.entries.extend(ents)
        elif first <= self.offset:
            # Replaces everything unstable; storage will be truncated on persist.
            self.offset = first
            self.entries = list(ents)
        else:
            del self.entries[first - self.offset :]
            self.entries.extend(ents)

    def slice(self, lo: int, hi: int) -> list[Entry]:
        return self.entries[lo - self.offset : hi - self.offset]


class RaftLog:
    """Log bookkeeping for one node (§5.3).

    Invariant: applied <= committed <= last_index(); first_index()-1 is the
    snapshot index, whose term is still known.
    """

    def __init__(self, storage: Storage, max_applying_size: int, entry_overhead: int) -> None:
        self.storage = storage
        self.unstable = Unstable(storage.last_index() + 1)
        # Highest index known to be stored on a quorum. Invariant: never decreases.
        self.committed = storage.first_index() - 1
        # Highest index handed to the application and acknowledged by advance().
        self.applied = storage.first_index() - 1
        self.max_applying_size = max_applying_size
        self.entry_overhead = entry_overhead

    # ---- positions ----

    def first_index(self) -> int:
        i = self.unstable.maybe_first_index()
        return i if i is not None else self.storage.first_index()

    def last_index(self) -> int:
        i = self.unstable.maybe_last_index()
        return i if i is not None else self.storage.last_index()

    def last_term(self) -> int:
        return self.term(self.last_index())

    def term(self, i: int) -> int:
        """Term at i; raises Compacted below the snapshot, Unavailable past the end."""
        t = self.unstable.maybe_term(i)
        if t is not None:
            return t
        if i < self.first_index() - 1:
            raise Compacted(i)
        if i > self.last_index():
            raise Unavailable(i)
        return self.storage.term(i)

    def term_or_zero(self, i: int) -> int:
        try:
            return self.term(i)
        except (Compacted, Unavailable):
            return 0

    def match_term(self, i: int, t: int) -> bool:
        return self.term_or_zero(i) == t

    def is_up_to_date(self, last_index: int, term: int) -> bool:
        """Election restriction (§5.4.1): is (term, last_index) at least as recent as ours?"""
        last_term = self.last_term()
        return term > last_term or (term == last_term and last_index >= self.last_index())

    # ---- appending (§5.3) ----

    def maybe_append(
        self, index: int, log_term: int, committed: int, ents: tuple[Entry, ...]
    ) -> int | None:
        """Append ents after (index, log_term) if we have that entry; return the
        last index now known to match the leader, or None on a mismatch.

        Entries are truncated only on a real conflict, never because a stale or
        reordered message is shorter than our log (pitfall P3)."""
        if not self.match_term(index, log_term):
            return None
        last_new = index + len(ents)
        conflict = self.find_conflict(ents)
        if conflict:
            if conflict <= self.committed:
                raise AssertionError(
                    f"entry {conflict} conflicts with committed entry [committed({self.committed})]"
                )
            self.append(list(ents[conflict - index - 1 :]))
        # Only what we verified matches may be committed (Fig. 2, AppendEntries step 5).
        self.commit_to(min(committed, last_new))
        return last_new

    def append(self, ents: list[Entry]) -> int:
        if not ents:
            return self.last_index()
        if ents[0].index - 1 < self.committed:
            raise AssertionError(f"after({ents[0].index - 1}) is out of range [committed({self.committed})]")
        self.unstable.truncate_and_append(ents)
        return self.last_index()

    def find_conflict(self, ents: tuple[Entry, ...]) -> int:
        """Index of the first entry whose term differs from ours, or of the first
        new entry; 0 if all of ents are already in the log."""
        for e in ents:
            if not self.match_term(e.index, e.term):
                return e.index
        return 0

    def find_conflict_by_term(self, index: int, term: int) -> tuple[int, int]:
        """Largest (i, term(i)) with i <= index and term(i) <= term: the leader can
        skip every index above it in one round trip (fast back-off, §5.3 end)."""
        while index > 0:
            try:
                t = self.term(index)
            except (Compacted, Unavailable):
                return index, 0
            if t <= term:
                return index, t
            index -= 1
        return 0, 0

    # ---- commit and apply ----

    def commit_to(self, tocommit: int) -> None:
        if self.committed < tocommit:
            if self.last_index() < tocommit:
                raise AssertionError(
                    f"tocommit({tocommit}) is out of range [last_index({self.last_index()})]"
                )
            self.committed = tocommit

    def maybe_commit(self, max_index: int, term: int) -> bool:
        """Advance commit to max_index only if that entry is from `term` (§5.4.2)."""
        if max_index > self.committed and self.term_or_zero(max_index) == term:
            self.commit_to(max_index)
            return True
        return False

    def applied_to(self, i: int) -> None:
        if i == 0:
            return
        if i > self.committed or i < self.applied:
            raise AssertionError(f"applied({i}) out of range [prev {self.applied}, committed {self.committed}]")
        self.applied = i

    def has_next_committed_ents(self) -> bool:
        return self.committed > self.applied and self.unstable.snapshot is None

    def next_committed_ents(self) -> list[Entry]:
        if not self.has_next_committed_ents():
            return []
        return self.slice(self.applied + 1, self.committed + 1, self.max_applying_size)

    # ---- reading ----

    def slice(self, lo: int, hi: int, max_size: int) -> list[Entry]:
        """Entries in [lo, hi) within max_size bytes (at least one). Raises Compacted."""
        if lo >= hi:
            return []
        if lo < self.first_index():
            raise Compacted(lo)
        if hi > self.last_index() + 1:
            raise Unavailable(hi)
        offset = self.unstable.offset
        if lo >= offset:
            ents = self.unstable.slice(lo, hi)
        elif hi <= offset:
            ents = self.storage.entries(lo, hi, max_size)
        else:
            ents = self.storage.entries(lo, offset, max_size)
            if len(ents) < offset - lo:
                return ents  # size limit reached inside storage
            ents = ents + self.unstable.slice(offset, hi)
        return limit_size(ents, max_size, self.entry_overhead)

    def entries_from(self, i: int, max_size: int) -> list[Entry]:
        if i > self.last_index():
            return []
        return self.slice(i, self.last_index() + 1, max_size)

    def snapshot(self) -> Snapshot:
        if self.unstable.snapshot is not None:
            return self.unstable.snapshot
        return self.storage.snapshot()

    def restore(self, snap: Snapshot) -> None:
        """Discard the log in favour of snap (§7); committed jumps to its index."""
        self.committed = snap.metadata.index
        self.unstable.restore(snap)

    # ---- stabilisation, called from advance ----

    def stable_to(self, i: int, t: int) -> None:
        self.unstable.stable_to(i, t)

    def stable_snap_to(self, i: int) -> None:
        self.unstable.stable_snap_to(i)
