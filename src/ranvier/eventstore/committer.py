"""The single-node write path: order transactions, apply them, fsync once per batch.

With no replicated log, the store's segment files are the log. `LocalCommitter`
numbers commands itself, applies a whole batch of waiting transactions, makes them
durable with one fsync, publishes them and only then answers their clients: group
commit, so a loaded node does one fsync per batch rather than one per transaction.

A batch is whatever waits when the previous fsync ends. An fsync is quick (~0.2 ms
here) next to the time a client takes to send a 100-event transaction, so under
load most batches held one transaction, and the per-fsync cost (the kernel's
journal commit, the worker-thread hop, one index transaction) dominated: a node
with 64 clients did ~300 fsyncs/s. So while other clients' transactions are still
arriving (`receiving_started`/`receiving_ended` around reading one), a batch is
held until they have all arrived or `commit_window_s` has passed since the last
fsync, whichever comes first, and one fsync covers them all: at most
1/commit_window_s fsyncs a second under steady concurrency, at the price of up
to that much latency. A lone writer never waits, and neither does a batch once
nothing more is on its way (16 clients sending one event each are committed
together as soon as the last one has arrived).

The window stays 10 ms. The fsync runs on a C thread (`syncer.py`) and applied
records go to the index thread at most every 50 ms (`_index_soon`): both were GIL
hand-offs that cost the loop thread ~300 us per batch. Shorter windows were
measured and not taken: with none, 1-event transactions at 16-64 clients paid
an fsync for every one or two of them (66-69 % of the bare server against
86-98 %); 4 ms against 10 ms showed no consistent difference, except 64 x 100
on a CPU of its own, where fewer fsyncs won every time.

But a hold keeps the loop thread idle when the clients it waits for are the
ones holding: 16 clients x 100 events on 2 shared vCPUs left the loop ~15 %
idle. So a batch that already carries `batch_worth_bytes` goes at once; what a
batch's fsync costs is then small next to the batch. That helps where the
fsync's kernel work runs on another CPU than the loop: with two CPUs 16 / 64 x
100 went from 70 / 69 % to 79 / 74 % of the bare server with 16 KiB (half of
one 100-event transaction of 256-byte payloads; with the records written by
the fsync thread, `defer_writes`; 4 rounds), while with the whole node on one
CPU every extra fsync is taken from the loop (64 x 100: 82 against 90 %). So
`AUTO` sizes it from the CPUs the process may use when the committer starts:
none (hold for the whole window) on one. 128 KiB (three to four such
transactions) rather than 16: at 16 / 64 clients the node did 0.89 / 0.85
fsyncs per transaction with 16 KiB, each waking the fsync thread on the other
CPU; with the loop on a CPU of its own (RANVIER_LOOP_CPU) 128 KiB took 16 / 64
x 100 from 72 / 67 % to 79 / 77 % of the bare server (4 rounds), and without
it 85 / 69 % to 87 / 71 % (docs/BENCHMARKS.md, "2026-12-01 04:25").

A lone transaction (nothing queued, no batch's fsync in flight, no other
client's transaction arriving) skips all of that: `submit` applies it, and
writes and fsyncs it on the loop thread itself with the GIL released
(`Syncer.sync_now`), then answers. The loop would only wait for that fsync
anyway, and the hand-off to the fsync thread and back costs two cross-CPU
wake-ups plus the committer task's turn: one transaction at a time took ~200
instead of ~270 us (p50, `commit_path`-style, 100 events), and a lone client
appending 100-event transactions gained 0, 3 and 8 points of the bare ceiling
in three interleaved A/B runs (docs/BENCHMARKS.md, "2026-12-01 07:30"). Since the
loop is blocked meanwhile, it is taken only while fsyncs are short: a moving
average of the fsyncs seen (either path) at most `alone_sync_max_s` (0.5 ms);
on a slow disk every fsync goes to the thread.

Failure handling:
- a rejected transaction (bad sequence) fails alone; the rest of the batch goes on;
- a failed write (disk full) fails that transaction; the segment was cut back;
- a failed fsync fails the whole batch and stops the store (fail-stop): the page
  cache may have dropped the data, so only a reopen knows what is on disk.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque

from ranvier.aio import wait_for_event
from ranvier.errors import RanvierError, StorageUnavailable, StorageWriteFailed
from ranvier.loop_cpu import process_cpus

from .arrivals import Arrivals
from .records import Command
from .store import AppendResult, ContextStore
from .syncer import Syncer, load as load_syncer

log = logging.getLogger(__name__)


AUTO = -1  # batch_worth_bytes from the CPUs this process may run on, when the committer starts


def default_batch_worth_bytes() -> int | None:
    """128 KiB when this process may run on more than one CPU, else None (hold
    every batch for the whole window); see `LocalCommitter`. The process's CPUs,
    not the loop thread's: under RANVIER_LOOP_CPU that one has a single CPU while
    the fsync thread has the others."""
    try:
        cpus = len(process_cpus()) or os.cpu_count() or 1  # empty where affinity is not Linux's
    except OSError:
        cpus = os.cpu_count() or 1
    return 128 * 1024 if cpus > 1 else None


class LocalCommitter:
    """Group-commit writer for one context on one node (`submit` is the Writer API)."""

    def __init__(
        self,
        store: ContextStore,
        max_batch_bytes: int = 8 * 1024 * 1024,
        commit_window_s: float = 0.01,
        index_interval_s: float = 0.05,
        batch_worth_bytes: int | None = AUTO,
        alone_sync_max_s: float = 0.0005,
    ) -> None:
        self.store = store
        self.max_batch_bytes = max_batch_bytes
        self.batch_worth_bytes = default_batch_worth_bytes() if batch_worth_bytes == AUTO else batch_worth_bytes
        self._queued_bytes = 0
        self.index_interval_s = index_interval_s
        self._arrivals = Arrivals(commit_window_s)
        self._last_sync = 0.0
        self._last_index = 0.0
        self._index_timer: asyncio.TimerHandle | None = None
        self._queue: deque[tuple[Command, int, asyncio.Future[AppendResult]]] = deque()
        self._wakeup = asyncio.Event()
        self._indexed = asyncio.Event()
        store.on_indexed(self._indexed.set)
        self._syncer = Syncer(load_syncer())
        self.alone_sync_max_s = alone_sync_max_s
        self._sync_s = 0.0  # a moving average of how long an fsync took, seen from the loop
        self._syncing = False  # a batch's fsync is in flight
        # Records in the runway are written by the C thread, without the GIL;
        # asyncio's worker thread would need the GIL for them, so with that
        # fallback the loop thread writes them itself, as before.
        store.defer_writes(self._syncer.native)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"committer:{store.name}")
        self.batches = 0  # fsyncs done, for metrics
        self.transactions = 0

    async def submit(self, command: Command, size: int) -> AppendResult:
        if self._task.done():
            raise StorageUnavailable(f"context {self.store.name} is not accepting writes")
        if self._alone():
            return self._commit_alone(command)
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._queue.append((command, size, future))
        self._queued_bytes += size
        if self.batch_worth_bytes is not None and self._queued_bytes >= self.batch_worth_bytes:
            self._arrivals.release()
        self._wakeup.set()
        return await future

    def _alone(self) -> bool:
        """True when this transaction is the only one in sight and an fsync is
        short enough to wait for on the loop thread (see `_commit_alone`)."""
        return (
            not self._queue
            and not self._syncing
            and not self._arrivals.count
            and self._sync_s <= self.alone_sync_max_s
            and self._syncer.native
            and self.store.unindexed <= self.store.options.max_unindexed
        )

    def _commit_alone(self, command: Command) -> AppendResult:
        """Apply, write and fsync one transaction on the loop thread, the fsync
        with the GIL released: no queue, no committer task, no hand-off to the
        fsync thread and back. For a lone writer, whose loop would only wait
        for that fsync, this shortens every transaction's round; the loop is
        blocked meanwhile, which `alone_sync_max_s` bounds (a slow disk's
        fsyncs go to the thread, as batches do). Nothing else is queued, being
        synced or arriving, so the log's order is kept."""
        result = self.store.apply(self.store.applied_index + 1, command)  # a rejection raises to its client
        assert result is not None
        started = time.perf_counter()  # not loop.time(): uvloop's stands still within a callback
        try:
            self._syncer.sync_now(self.store)
        except StorageWriteFailed as exc:
            self._fail_stop(exc, [])
            raise
        self._synced(time.perf_counter() - started, 1)
        return result

    def _synced(self, took_s: float, transactions: int) -> None:
        self._sync_s += (took_s - self._sync_s) / 8
        self._last_sync = asyncio.get_running_loop().time()
        self.store.publish()
        self._index_soon()
        self.batches += 1
        self.transactions += transactions

    def receiving_started(self) -> None:
        self._arrivals.started()

    def receiving_ended(self) -> None:
        self._arrivals.ended()

    async def close(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._syncer.close()
        if self._index_timer is not None:
            self._index_timer.cancel()
            self._index_timer = None
        for _command, _size, future in self._queue:
            if not future.done():
                future.set_exception(StorageUnavailable(f"context {self.store.name} is closing"))
        self._queue.clear()
        self._queued_bytes = 0

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                # Before every batch, not only the first after a wake-up: what
                # queued during the last fsync would otherwise go at once, in
                # small batches back to back (~170 fsyncs/s at 64 clients, not
                # the <= 1/window this promises), and each batch has its cost.
                await self._arrivals.hold(self._last_sync)
                await self._wait_for_indexer()
                await self._commit(self._take_batch())

    def _take_batch(self) -> list[tuple[Command, asyncio.Future[AppendResult]]]:
        batch = []
        total = 0
        while self._queue and (not batch or total + self._queue[0][1] <= self.max_batch_bytes):
            command, size, future = self._queue.popleft()
            total += size
            if not future.cancelled():
                batch.append((command, future))
        self._queued_bytes -= total
        if self.batch_worth_bytes is None or self._queued_bytes < self.batch_worth_bytes:
            self._arrivals.rearm()
        return batch

    async def _wait_for_indexer(self) -> None:
        # The tail index lives in memory until the indexer thread catches up; bound it.
        # If the indexer is failing (disk full), apply() refuses the batch with a clear
        # error instead, so waiting here cannot hang.
        while self.store.unindexed > self.store.options.max_unindexed and self.store.index_error is None:
            self._flush_index()  # what waits for its interval counts towards the limit too
            self._indexed.clear()
            await wait_for_event(self._indexed, 1.0)

    async def _commit(self, batch: list[tuple[Command, asyncio.Future[AppendResult]]]) -> None:
        done: list[tuple[asyncio.Future[AppendResult], AppendResult]] = []
        for command, future in batch:
            try:
                result = self.store.apply(self.store.applied_index + 1, command)
            except RanvierError as exc:
                future.set_exception(exc)
                continue
            except Exception as exc:  # malformed input found late; nothing was written
                future.set_exception(exc)
                continue
            assert result is not None
            done.append((future, result))
        if not done:
            return
        started = time.perf_counter()
        self._syncing = True
        try:
            await self._syncer.sync(self.store)
        except StorageWriteFailed as exc:
            self._fail_stop(exc, done)
            return
        finally:
            self._syncing = False
        self._synced(time.perf_counter() - started, len(done))
        for future, result in done:
            if not future.done():
                future.set_result(result)

    def _index_soon(self) -> None:
        """Hand the applied records to the index thread now, or at the end of the
        current `index_interval_s`. Each hand-off wakes that thread, and its Python
        and SQLite work takes the GIL from the loop: with one per batch at ~500
        batches/s (16 clients x 100 events, 2 vCPUs) the loop's CPU per event was
        ~1 us higher. Readers see the records meanwhile through the store's
        in-memory tail; its size stays bounded by `max_unindexed`."""
        loop = asyncio.get_running_loop()
        due = self._last_index + self.index_interval_s
        if loop.time() >= due:
            self._flush_index()
        elif self._index_timer is None:
            self._index_timer = loop.call_at(due, self._flush_index)

    def _flush_index(self) -> None:
        if self._index_timer is not None:
            self._index_timer.cancel()
            self._index_timer = None
        self._last_index = asyncio.get_running_loop().time()
        self.store.flush_index()

    def _fail_stop(self, exc: StorageWriteFailed, done: list[tuple[asyncio.Future[AppendResult], AppendResult]]) -> None:
        log.critical("context %s: %s; refusing further writes until restart", self.store.name, exc.message)
        self.store.fail(exc.message)
        for future, _result in done:
            if not future.done():
                future.set_exception(exc)
        self._queued_bytes = 0
        while self._queue:
            _command, _size, future = self._queue.popleft()
            if not future.done():
                future.set_exception(StorageUnavailable(f"context {self.store.name} stopped after: {exc.message}"))
