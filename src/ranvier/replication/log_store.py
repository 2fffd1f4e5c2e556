"""A Raft group's durable log: entries, hard state and snapshot metadata on disk.

Implements the read side the core needs (`ranvier.raft.Storage`) and the write side
the driver uses while handling a `Ready`: `append` + `set_hard_state`, then `sync`
(one fdatasync of the entry file, and an atomic replace of the hard-state file when
the term or vote changed), before any message that depends on them is sent.

Files in the group's directory:
- `entries.log`: records `magic u32 | crc u32 | len u32 | term u64 | index u64 |
  type u8 | data`, crc over everything after the crc field. A torn record at the end
  (crash mid-write) is cut off on open; a bad record followed by good ones is
  corruption and is reported.
- `hardstate`: term, vote, commit and a crc, replaced atomically (write, fsync,
  rename, fsync directory) whenever the term or vote changes. A vote must survive a
  crash; the commit index need not (etcd's MustSync rule): the commit it holds may
  be older than the node knew, and a restart raises it to what is known committed
  (the snapshot, the state machine's applied index) and learns the rest from the
  leader. Writing it on every commit would cost three fsyncs per round.
- `snapshot`: the latest snapshot's metadata and (small) data, replaced atomically.
  For a context the data only names a position of its event store; the store's own
  files carry the state (see `ranvier.replication.snapshots`).

Entries since the snapshot are kept in memory too; the driver compacts the log
after the state machine has made them durable, which bounds that by configuration.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from ranvier.errors import StorageCorrupted
from ranvier.files import replace_durably
from ranvier.raft import (
    Compacted,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Snapshot,
    SnapshotMetadata,
    Unavailable,
)
from ranvier.raft.storage import limit_size

_ENTRY_MAGIC = 0x47544C52  # "RLTG"
_ENTRY = struct.Struct("<IIIQQB")
_HARD = struct.Struct("<QQQ")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

ENTRIES_FILE = "entries.log"
HARDSTATE_FILE = "hardstate"
SNAPSHOT_FILE = "snapshot"
CONFSTATE_FILE = "confstate"


def encode_entry(entry: Entry) -> bytes:
    head = _ENTRY.pack(_ENTRY_MAGIC, 0, len(entry.data), entry.term, entry.index, int(entry.type))
    crc = zlib.crc32(entry.data, zlib.crc32(head[8:]))
    return head[:4] + _U32.pack(crc) + head[8:] + entry.data


def _decode_entries(data: bytes) -> tuple[list[tuple[int, Entry]], int, str | None]:
    """(offset, entry) pairs, the end of the last good one, and the problem found."""
    out: list[tuple[int, Entry]] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < _ENTRY.size:
            return out, pos, "truncated entry header"
        magic, crc, length, term, index, kind = _ENTRY.unpack_from(data, pos)
        end = pos + _ENTRY.size + length
        if magic != _ENTRY_MAGIC or end > len(data):
            return out, pos, "bad entry header or length"
        if zlib.crc32(data[pos + _ENTRY.size : end], zlib.crc32(data[pos + 8 : pos + _ENTRY.size])) != crc:
            return out, pos, "entry checksum mismatch"
        out.append((pos, Entry(term, index, data[pos + _ENTRY.size : end], EntryType(kind))))
        pos = end
    return out, pos, None


def _with_crc(body: bytes) -> bytes:
    return body + _U32.pack(zlib.crc32(body))


def _check_crc(path: Path, blob: bytes) -> bytes:
    body, crc = blob[:-4], blob[-4:]
    if len(blob) < 4 or _U32.pack(zlib.crc32(body)) != crc:
        raise StorageCorrupted(f"{path} fails its checksum")
    return body


def _encode_conf(conf: ConfState) -> bytes:
    voters, learners = sorted(conf.voters), sorted(conf.learners)
    return _U32.pack(len(voters)) + b"".join(map(_U64.pack, voters)) + _U32.pack(len(learners)) + b"".join(
        map(_U64.pack, learners)
    )


def _decode_conf(data: bytes, pos: int) -> tuple[ConfState, int]:
    groups = []
    for _ in range(2):
        (count,) = _U32.unpack_from(data, pos)
        pos += 4
        groups.append(frozenset(_U64.unpack_from(data, pos + 8 * i)[0] for i in range(count)))
        pos += 8 * count
    return ConfState(voters=groups[0], learners=groups[1]), pos


def encode_snapshot_meta(snapshot: Snapshot) -> bytes:
    meta = snapshot.metadata
    return _U64.pack(meta.index) + _U64.pack(meta.term) + _encode_conf(meta.conf_state) + snapshot.data


def decode_snapshot_meta(blob: bytes) -> Snapshot:
    index, term = _U64.unpack_from(blob, 0)[0], _U64.unpack_from(blob, 8)[0]
    conf, pos = _decode_conf(blob, 16)
    return Snapshot(SnapshotMetadata(index, term, conf), blob[pos:])


class DurableLog:
    """One group's Raft log on disk. Single-threaded, except `sync` (see there).

    Invariant: `_ents[0]` is a dummy entry at the snapshot's (index, term), and
    `_ents[k].index == _ents[0].index + k`; `_offsets[k]` is the file offset of
    `_ents[k]` for k >= 1.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.hard_state = HardState()
        self._snapshot = Snapshot()
        # The membership as of the last applied configuration change, and its index.
        # Invariant: at least as recent as the snapshot's; what a restart starts from.
        self._conf_index = 0
        self._conf_state = ConfState()
        self._ents: list[Entry] = [Entry(0, 0)]
        self._offsets: list[int] = [0]
        self._file_end = 0
        self._load()
        self._fd = os.open(directory / ENTRIES_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        # (term, vote) as the hard-state file holds them
        self._durable_vote = (self.hard_state.term, self.hard_state.vote)

    # -- opening -------------------------------------------------------------------

    def _load(self) -> None:
        snap_path = self.directory / SNAPSHOT_FILE
        if snap_path.exists():
            self._snapshot = decode_snapshot_meta(_check_crc(snap_path, snap_path.read_bytes()))
            meta = self._snapshot.metadata
            self._ents = [Entry(meta.term, meta.index)]
        conf_path = self.directory / CONFSTATE_FILE
        if conf_path.exists():
            blob = _check_crc(conf_path, conf_path.read_bytes())
            self._conf_index = _U64.unpack_from(blob, 0)[0]
            self._conf_state = _decode_conf(blob, 8)[0]
        hard_path = self.directory / HARDSTATE_FILE
        if hard_path.exists():
            term, vote, commit = _HARD.unpack(_check_crc(hard_path, hard_path.read_bytes()))
            self.hard_state = HardState(term, vote, commit)
        self._load_entries()
        # The file's commit may predate a snapshot taken later (it is not rewritten
        # for commit changes); everything up to the snapshot is committed.
        self.raise_commit(self._snapshot.metadata.index)

    def _load_entries(self) -> None:
        path = self.directory / ENTRIES_FILE
        data = path.read_bytes() if path.exists() else b""
        decoded, good_end, problem = _decode_entries(data)
        if problem is not None and self._valid_entry_after(data, good_end + 1):
            raise StorageCorrupted(f"{path} is corrupt at offset {good_end} ({problem})")
        if good_end < len(data):
            os.truncate(path, good_end)  # a torn write from a crash; it was never acknowledged
        self._file_end = good_end
        for offset, entry in decoded:
            self._place(entry, offset)

    @staticmethod
    def _valid_entry_after(data: bytes, start: int) -> bool:
        magic = _U32.pack(_ENTRY_MAGIC)
        at = data.find(magic, start)
        while at >= 0:
            decoded, _end, _problem = _decode_entries(data[at:])
            if decoded:
                return True
            at = data.find(magic, at + 1)
        return False

    def _place(self, entry: Entry, offset: int) -> None:
        """Put a stored entry in memory, replacing any suffix it conflicts with."""
        base = self._ents[0].index
        if entry.index <= base:
            return  # covered by the snapshot
        k = entry.index - base
        if k > len(self._ents):
            raise StorageCorrupted(f"{self.directory / ENTRIES_FILE}: gap before index {entry.index}")
        del self._ents[k:]
        del self._offsets[k:]
        self._ents.append(entry)
        self._offsets.append(offset)

    # -- raft.Storage ----------------------------------------------------------------

    def initial_state(self) -> tuple[HardState, ConfState]:
        """The hard state and the latest membership: from the last applied
        configuration change when that is newer than the snapshot. (Without it a
        restarted node would see only the founding members and could elect itself.)"""
        return self.hard_state, self.conf_state

    @property
    def conf_state(self) -> ConfState:
        if self._conf_index > self._snapshot.metadata.index:
            return self._conf_state
        return self._snapshot.metadata.conf_state

    def save_conf_state(self, index: int, conf_state: ConfState) -> None:
        """Durably record the membership after applying the change at `index`."""
        if index <= self._conf_index:
            return
        replace_durably(self.directory / CONFSTATE_FILE, _with_crc(_U64.pack(index) + _encode_conf(conf_state)))
        self._conf_index, self._conf_state = index, conf_state

    def first_index(self) -> int:
        return self._ents[0].index + 1

    def last_index(self) -> int:
        return self._ents[0].index + len(self._ents) - 1

    def term(self, index: int) -> int:
        base = self._ents[0].index
        if index < base:
            raise Compacted(index)
        if index - base >= len(self._ents):
            raise Unavailable(index)
        return self._ents[index - base].term

    def entries(self, lo: int, hi: int, max_size: int) -> list[Entry]:
        base = self._ents[0].index
        if lo <= base:
            raise Compacted(lo)
        if hi > self.last_index() + 1:
            raise Unavailable(hi)
        return limit_size(self._ents[lo - base : hi - base], max_size)

    def snapshot(self) -> Snapshot:
        return self._snapshot

    # -- writing (the driver, while handling a Ready) --------------------------------

    def append(self, entries: tuple[Entry, ...] | list[Entry]) -> None:
        """Write entries, cutting a conflicting suffix first (§5.3). Not durable
        until `sync`."""
        if not entries:
            return
        base = self._ents[0].index
        entries = [e for e in entries if e.index > base]
        if not entries:
            return
        k = entries[0].index - base
        if k > len(self._ents):
            raise AssertionError(f"missing log entry before index {entries[0].index}")
        if k < len(self._ents):
            self._file_end = self._offsets[k]
            os.ftruncate(self._fd, self._file_end)
            del self._ents[k:]
            del self._offsets[k:]
        blob = b"".join(encode_entry(e) for e in entries)
        offset = self._file_end
        os.pwrite(self._fd, blob, offset)
        for e in entries:
            self._ents.append(e)
            self._offsets.append(offset)
            offset += _ENTRY.size + len(e.data)
        self._file_end = offset

    def set_hard_state(self, hard_state: HardState) -> None:
        self.hard_state = hard_state

    def raise_commit(self, known_committed: int) -> None:
        """At start: `known_committed` is committed (a snapshot, or applied by the
        state machine), whatever the hard-state file's older commit says."""
        hs = self.hard_state
        commit = min(max(hs.commit, known_committed), self.last_index())
        if commit != hs.commit:
            self.hard_state = HardState(hs.term, hs.vote, commit)

    def sync(self) -> None:
        """Make appended entries durable (fdatasync), and the term and vote when they
        changed (atomic replace of the hard-state file, which carries the commit
        index of the moment too)."""
        os.fdatasync(self._fd)
        hs = self.hard_state
        if (hs.term, hs.vote) != self._durable_vote:
            replace_durably(self.directory / HARDSTATE_FILE, _with_crc(_HARD.pack(hs.term, hs.vote, hs.commit)))
            self._durable_vote = (hs.term, hs.vote)

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """A follower installed `snapshot`: the whole log is replaced by it (§7)."""
        if snapshot.metadata.index <= self._snapshot.metadata.index:
            return
        self._write_snapshot(snapshot)
        self._ents = [Entry(snapshot.metadata.term, snapshot.metadata.index)]
        self._offsets = [0]
        self._rewrite_entries()

    def create_snapshot(self, index: int, conf_state: ConfState, data: bytes) -> Snapshot:
        """Record that the state machine holds everything up to `index` (durably)."""
        if index <= self._snapshot.metadata.index:
            return self._snapshot
        snapshot = Snapshot(SnapshotMetadata(index, self.term(index), conf_state), data)
        self._write_snapshot(snapshot)
        return snapshot

    def _write_snapshot(self, snapshot: Snapshot) -> None:
        replace_durably(self.directory / SNAPSHOT_FILE, _with_crc(encode_snapshot_meta(snapshot)))
        self._snapshot = snapshot

    def compact(self, index: int) -> None:
        """Drop entries up to `index`, which a snapshot must cover; rewrite the file
        once most of it is dead weight."""
        base = self._ents[0].index
        if index <= base:
            return
        if index > self._snapshot.metadata.index:
            raise AssertionError("compact only behind a snapshot")
        k = index - base
        self._ents = [Entry(self._ents[k].term, index)] + self._ents[k + 1 :]
        self._offsets = [0] + self._offsets[k + 1 :]
        live = self._file_end - (self._offsets[1] if len(self._offsets) > 1 else self._file_end)
        if self._file_end > 4 * 1024 * 1024 and live * 2 < self._file_end:
            self._rewrite_entries()

    def _rewrite_entries(self) -> None:
        path = self.directory / ENTRIES_FILE
        blob = b"".join(encode_entry(e) for e in self._ents[1:])
        replace_durably(path, blob)
        os.close(self._fd)
        self._fd = os.open(path, os.O_RDWR)
        self._file_end = len(blob)
        offset = 0
        self._offsets = [0]
        for e in self._ents[1:]:
            self._offsets.append(offset)
            offset += _ENTRY.size + len(e.data)

    def close(self) -> None:
        os.close(self._fd)
