"""The durable Raft log: what survives a restart, torn tails, conflicts, compaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from ranvier.errors import StorageCorrupted
from ranvier.raft import Compacted, ConfState, Entry, HardState, Unavailable
from ranvier.replication.log_store import ENTRIES_FILE, DurableLog


def entries(first: int, last: int, term: int = 1) -> list[Entry]:
    return [Entry(term, i, f"e{i}".encode()) for i in range(first, last + 1)]


def test_entries_and_hard_state_survive_reopen(tmp_path: Path) -> None:
    log = DurableLog(tmp_path)
    log.append(entries(1, 5))
    log.set_hard_state(HardState(term=1, vote=2, commit=3))
    log.sync()
    log.close()
    log = DurableLog(tmp_path)
    assert (log.first_index(), log.last_index()) == (1, 5)
    assert log.entries(2, 4, 1 << 20) == entries(2, 3)
    assert log.initial_state()[0] == HardState(1, 2, 3)
    assert log.term(0) == 0 and log.term(5) == 1
    with pytest.raises(Unavailable):
        log.term(6)


def test_conflicting_suffix_is_replaced_on_disk(tmp_path: Path) -> None:
    log = DurableLog(tmp_path)
    log.append(entries(1, 5, term=1))
    log.append(entries(3, 4, term=2))  # a new leader overwrites 3.. (§5.3)
    log.sync()
    log.close()
    log = DurableLog(tmp_path)
    assert [(e.index, e.term) for e in log.entries(1, 5, 1 << 20)] == [(1, 1), (2, 1), (3, 2), (4, 2)]


def test_torn_tail_is_cut(tmp_path: Path) -> None:
    log = DurableLog(tmp_path)
    log.append(entries(1, 3))
    log.sync()
    log.close()
    path = tmp_path / ENTRIES_FILE
    path.write_bytes(path.read_bytes()[:-3])
    log = DurableLog(tmp_path)
    assert log.last_index() == 2
    log.append(entries(3, 3))
    log.sync()
    assert DurableLog(tmp_path).last_index() == 3


def test_corruption_before_the_tail_is_reported(tmp_path: Path) -> None:
    log = DurableLog(tmp_path)
    log.append(entries(1, 3))
    log.sync()
    log.close()
    path = tmp_path / ENTRIES_FILE
    data = bytearray(path.read_bytes())
    data[30] ^= 0xFF  # inside the first entry
    path.write_bytes(bytes(data))
    with pytest.raises(StorageCorrupted):
        DurableLog(tmp_path)


def test_snapshot_and_compaction(tmp_path: Path) -> None:
    log = DurableLog(tmp_path)
    log.append(entries(1, 10))
    log.sync()
    conf = ConfState(voters=frozenset({1, 2, 3}))
    snap = log.create_snapshot(6, conf, b"store@6")
    log.compact(6)
    assert log.first_index() == 7
    with pytest.raises(Compacted):
        log.entries(6, 8, 1 << 20)
    log.close()
    log = DurableLog(tmp_path)
    assert log.snapshot() == snap
    assert log.initial_state()[1] == conf
    assert (log.first_index(), log.last_index()) == (7, 10)
    assert log.term(6) == 1


def test_installed_snapshot_replaces_the_log(tmp_path: Path) -> None:
    from ranvier.raft import Snapshot, SnapshotMetadata

    log = DurableLog(tmp_path)
    log.append(entries(1, 3))
    log.sync()
    log.apply_snapshot(Snapshot(SnapshotMetadata(100, 7, ConfState(voters=frozenset({1}))), b"x"))
    log.append([Entry(7, 101, b"after")])
    log.sync()
    log.close()
    log = DurableLog(tmp_path)
    assert (log.first_index(), log.last_index()) == (101, 101)
    assert log.term(100) == 7


def test_membership_survives_restart_beyond_the_snapshot(tmp_path: Path) -> None:
    log = DurableLog(tmp_path)
    from ranvier.raft import Snapshot, SnapshotMetadata

    log.apply_snapshot(Snapshot(SnapshotMetadata(1, 1, ConfState(voters=frozenset({1}))), b""))
    log.save_conf_state(5, ConfState(voters=frozenset({1, 2, 3})))
    log.close()
    log = DurableLog(tmp_path)
    assert log.initial_state()[1] == ConfState(voters=frozenset({1, 2, 3}))
    # A later snapshot that carries its own membership takes over.
    log.apply_snapshot(Snapshot(SnapshotMetadata(9, 2, ConfState(voters=frozenset({2, 3}))), b""))
    assert log.initial_state()[1] == ConfState(voters=frozenset({2, 3}))


def test_commit_alone_is_not_synced_and_a_restart_raises_it(tmp_path: Path) -> None:
    """A vote must be durable before it is sent; the commit index need not be
    (etcd's MustSync): only term/vote changes rewrite the hard-state file."""
    log = DurableLog(tmp_path)
    log.append(entries(1, 8))
    log.set_hard_state(HardState(term=2, vote=1, commit=3))
    log.sync()
    written = (tmp_path / "hardstate").read_bytes()
    log.set_hard_state(HardState(term=2, vote=1, commit=7))
    log.sync()
    assert (tmp_path / "hardstate").read_bytes() == written  # commit-only: not rewritten
    log.close()
    log = DurableLog(tmp_path)
    assert log.initial_state()[0] == HardState(2, 1, 3)  # older commit: safe, re-learned
    log.raise_commit(6)  # the state machine had applied 6: those were committed
    assert log.initial_state()[0] == HardState(2, 1, 6)
    log.raise_commit(99)  # never past what this log holds
    assert log.initial_state()[0].commit == 8
