"""Indexes over a context's log: token -> record, aggregate -> records, snapshots.

Everything here is derived from the log and can be rebuilt from it; nothing here is
on the acknowledgement path's fsync. Two layers:

- `IndexDb`, a SQLite file beside the segments, written by a background thread
  (`Indexer`) in large transactions with `synchronous=OFF`. It records up to which
  log position it is complete (`indexed_through`); after a crash the store re-indexes
  the records past that position. SQLite keeps memory bounded by its page cache,
  whatever the number of events or aggregates.
- `Tail`, an in-memory index of the records the loop has applied but not yet seen
  the database take in. Its size is bounded by the indexer's lag, which the store
  caps (`max_unindexed`): writers wait when the indexer falls that far behind.

Readers ask the database for positions before `Tail.floor` (the loop's view of
`indexed_through`) and the tail for the rest, so each record is seen exactly once.
"""

from __future__ import annotations

import bisect
import logging
import queue
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ranvier.loop_cpu import free_this_thread

log = logging.getLogger(__name__)

INDEX_FILE = "index.sqlite3"
_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tx(
    first_token INTEGER PRIMARY KEY, pos INTEGER NOT NULL, count INTEGER NOT NULL,
    max_ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS agg(
    aggregate_id TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
    pos INTEGER NOT NULL, PRIMARY KEY(aggregate_id, first_seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snap(
    aggregate_id TEXT NOT NULL, seq INTEGER NOT NULL, pos INTEGER NOT NULL,
    PRIMARY KEY(aggregate_id, seq)) WITHOUT ROWID;
"""


@dataclass(slots=True)
class RecordEntries:
    """What one applied record adds to the indexes."""

    pos: int
    end: int  # position after the record
    tx: tuple[int, int, int] | None = None  # (first_token, count, max_ts) for events
    aggregates: list[tuple[str, int, int]] = field(default_factory=list)  # (id, first_seq, last_seq)
    snapshot: tuple[str, int] | None = None  # (aggregate id, seq)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    return db


class IndexDb:
    """Read side of the SQLite index, used from the event loop thread."""

    def __init__(self, path: Path, cache_kib: int) -> None:
        self.path = path
        self.db = _connect(path)
        self.db.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        self.db.executescript(_SCHEMA)
        version = self._meta("schema_version")
        if version is None:
            self._set_meta("schema_version", _SCHEMA_VERSION)
        elif version != _SCHEMA_VERSION:
            raise RuntimeError(f"{path}: index schema {version} is not {_SCHEMA_VERSION}")

    def _meta(self, key: str) -> int | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def _set_meta(self, key: str, value: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES(?,?)", (key, value))

    @property
    def indexed_through(self) -> int:
        return self._meta("indexed_through") or 0

    def reset(self) -> None:
        """Forget everything: the log no longer matches (it was cut below us)."""
        self.db.executescript("BEGIN; DELETE FROM tx; DELETE FROM agg; DELETE FROM snap; COMMIT;")
        self._set_meta("indexed_through", 0)

    def tx_at(self, token: int, below: int) -> tuple[int, int, int] | None:
        """(first_token, pos, count) of the record holding `token`, among records before `below`."""
        row = self.db.execute(
            "SELECT first_token, pos, count FROM tx WHERE first_token<=? AND pos<? ORDER BY first_token DESC LIMIT 1",
            (token, below),
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def first_tx(self) -> tuple[int, int, int] | None:
        row = self.db.execute("SELECT first_token, pos, count FROM tx ORDER BY first_token LIMIT 1").fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def tx_with_timestamp_at_least(self, instant: int, below: int) -> tuple[int, int, int] | None:
        row = self.db.execute(
            "SELECT first_token, pos, count FROM tx WHERE max_ts>=? AND pos<? ORDER BY first_token LIMIT 1",
            (instant, below),
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def highest_sequence(self, aggregate_id: str, below: int) -> int | None:
        row = self.db.execute(
            "SELECT last_seq FROM agg WHERE aggregate_id=? AND pos<? ORDER BY first_seq DESC LIMIT 1",
            (aggregate_id, below),
        ).fetchone()
        return None if row is None else int(row[0])

    def aggregate_records(self, aggregate_id: str, from_seq: int, to_seq: int, below: int) -> list[tuple[int, int, int]]:
        """(first_seq, last_seq, pos) of records holding events of the aggregate in [from_seq, to_seq]."""
        return self.db.execute(
            "SELECT first_seq, last_seq, pos FROM agg WHERE aggregate_id=? AND last_seq>=? AND first_seq<=? "
            "AND pos<? ORDER BY first_seq",
            (aggregate_id, from_seq, to_seq, below),
        ).fetchall()

    def snapshots(self, aggregate_id: str, from_seq: int, to_seq: int, below: int) -> list[tuple[int, int]]:
        """(seq, pos) of the aggregate's snapshots in [from_seq, to_seq], newest first."""
        return self.db.execute(
            "SELECT seq, pos FROM snap WHERE aggregate_id=? AND seq>=? AND seq<=? AND pos<? ORDER BY seq DESC",
            (aggregate_id, from_seq, to_seq, below),
        ).fetchall()

    def close(self) -> None:
        self.db.close()


class Indexer:
    """Background thread writing `RecordEntries` batches into the SQLite index.

    `submit` is called from the loop thread; `on_indexed(position)` is called from the
    indexer thread after a batch is committed (wrap it with call_soon_threadsafe).
    """

    def __init__(self, path: Path, on_indexed: Callable[[int], None]) -> None:
        self._path = path
        self._on_indexed = on_indexed
        self._queue: queue.SimpleQueue[list[RecordEntries] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"indexer:{path.parent.name}", daemon=True)
        self.error: Exception | None = None  # set while the last write attempt failed
        self._thread.start()

    def submit(self, batch: list[RecordEntries]) -> None:
        if batch:
            self._queue.put(batch)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        free_this_thread()
        db = _connect(self._path)
        try:
            while True:
                batches = [self._queue.get()]
                while not self._queue.empty() and len(batches) < 256:
                    batches.append(self._queue.get())
                stop = None in batches
                entries = [e for b in batches if b is not None for e in b]
                if entries:
                    self._write_until_done(db, entries, stop)
                    self._on_indexed(entries[-1].end)
                if stop:
                    return
        finally:
            db.close()

    def _write_until_done(self, db: sqlite3.Connection, entries: list[RecordEntries], stopping: bool) -> None:
        """Write a batch, retrying while the disk is full or the file is busy.

        The index is derived data, so a failure here never loses events; while it
        lasts, `error` says why and the store refuses new writes (the in-memory tail
        must not grow without bound)."""
        delay = 0.05
        while True:
            try:
                self._write(db, entries)
                self.error = None
                return
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.rollback()
                if self.error is None:
                    log.error("index %s: cannot write (%s); retrying", self._path, exc)
                self.error = exc
                if stopping:
                    return  # the next open re-indexes from the log
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    @staticmethod
    def _write(db: sqlite3.Connection, entries: list[RecordEntries]) -> None:
        tx_rows = [(e.tx[0], e.pos, e.tx[1], e.tx[2]) for e in entries if e.tx is not None]
        agg_rows = [(a[0], a[1], a[2], e.pos) for e in entries for a in e.aggregates]
        snap_rows = [(e.snapshot[0], e.snapshot[1], e.pos) for e in entries if e.snapshot is not None]
        db.execute("BEGIN")
        db.executemany("INSERT OR REPLACE INTO tx VALUES(?,?,?,?)", tx_rows)
        db.executemany("INSERT OR REPLACE INTO agg VALUES(?,?,?,?)", agg_rows)
        db.executemany("INSERT OR REPLACE INTO snap VALUES(?,?,?)", snap_rows)
        db.execute("INSERT OR REPLACE INTO meta VALUES('indexed_through', ?)", (entries[-1].end,))
        db.execute("COMMIT")


class Tail:
    """In-memory index of applied records at positions >= `floor`.

    Invariant: every applied record at a position >= floor is here, and every record
    below floor is in the database. Only the loop thread touches it.
    """

    def __init__(self, floor: int) -> None:
        self.floor = floor
        self._records: deque[RecordEntries] = deque()
        self._tx_tokens: list[int] = []  # first tokens of event records, ascending
        self._tx: list[tuple[int, int, int, int]] = []  # (first_token, pos, count, max_ts)
        self._agg: dict[str, list[tuple[int, int, int]]] = {}
        self._snap: dict[str, list[tuple[int, int]]] = {}
        self._dropped_tx = 0  # entries of _tx already pruned (lazy, to keep pruning O(1))

    def __len__(self) -> int:
        return len(self._records)

    def add(self, entries: RecordEntries) -> None:
        self._records.append(entries)
        if entries.tx is not None:
            first_token, count, max_ts = entries.tx
            self._tx_tokens.append(first_token)
            self._tx.append((first_token, entries.pos, count, max_ts))
        for aggregate_id, first_seq, last_seq in entries.aggregates:
            self._agg.setdefault(aggregate_id, []).append((first_seq, last_seq, entries.pos))
        if entries.snapshot is not None:
            aggregate_id, seq = entries.snapshot
            self._snap.setdefault(aggregate_id, []).append((seq, entries.pos))

    def prune(self, indexed_through: int) -> None:
        """Drop records the database now holds (everything ending at or before
        `indexed_through`) and move the floor up."""
        while self._records and self._records[0].end <= indexed_through:
            entries = self._records.popleft()
            if entries.tx is not None:
                self._dropped_tx += 1
            for aggregate_id, _first, _last in entries.aggregates:
                _pop_front(self._agg, aggregate_id)
            if entries.snapshot is not None:
                _pop_front(self._snap, entries.snapshot[0])
            self.floor = entries.end
        if self._dropped_tx > 1024 and self._dropped_tx * 2 > len(self._tx):
            del self._tx[: self._dropped_tx]
            del self._tx_tokens[: self._dropped_tx]
            self._dropped_tx = 0

    def tx_at(self, token: int) -> tuple[int, int, int] | None:
        i = bisect.bisect_right(self._tx_tokens, token, lo=self._dropped_tx) - 1
        if i < self._dropped_tx:
            return None
        first_token, pos, count, _ts = self._tx[i]
        return first_token, pos, count

    def first_tx(self) -> tuple[int, int, int] | None:
        if self._dropped_tx >= len(self._tx):
            return None
        first_token, pos, count, _ts = self._tx[self._dropped_tx]
        return first_token, pos, count

    def tx_with_timestamp_at_least(self, instant: int) -> tuple[int, int, int] | None:
        for first_token, pos, count, max_ts in self._tx[self._dropped_tx :]:
            if max_ts >= instant:
                return first_token, pos, count
        return None

    def highest_sequence(self, aggregate_id: str) -> int | None:
        rows = self._agg.get(aggregate_id)
        return rows[-1][1] if rows else None

    def aggregate_records(self, aggregate_id: str, from_seq: int, to_seq: int) -> list[tuple[int, int, int]]:
        return [r for r in self._agg.get(aggregate_id, ()) if r[1] >= from_seq and r[0] <= to_seq]

    def snapshots(self, aggregate_id: str, from_seq: int, to_seq: int) -> list[tuple[int, int]]:
        rows = [r for r in self._snap.get(aggregate_id, ()) if from_seq <= r[0] <= to_seq]
        return sorted(rows, reverse=True)


def _pop_front(table: dict[str, list], key: str) -> None:
    rows = table.get(key)
    if rows:
        rows.pop(0)
        if not rows:
            del table[key]


class SequenceCache:
    """Bounded LRU of aggregate -> highest sequence number, for validating appends
    without a database read per event. Its size is configuration, not data."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._entries: OrderedDict[str, int] = OrderedDict()

    def get(self, aggregate_id: str) -> int | None:
        value = self._entries.get(aggregate_id)
        if value is not None:
            self._entries.move_to_end(aggregate_id)
        return value

    def put(self, aggregate_id: str, seq: int) -> None:
        self._entries[aggregate_id] = seq
        self._entries.move_to_end(aggregate_id)
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
