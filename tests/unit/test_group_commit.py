"""`LocalCommitter`'s group commit: one fsync for the transactions that arrive while
other clients are still sending theirs; a lone writer never waits, and its
transaction is made durable on the loop thread while fsyncs are short."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from axonclient.protos.common_pb2 import SerializedObject
from axonclient.protos.event_pb2 import Event

from ranvier.errors import StorageUnavailable, StorageWriteFailed
from ranvier.eventstore import ContextEventStore, ContextStore, LocalCommitter, StoreOptions
from ranvier.eventstore.committer import default_batch_worth_bytes


def event() -> bytes:
    return Event(message_identifier="m", payload=SerializedObject(type="T", data=b"x")).SerializeToString()


async def _service(
    path: Path, window_s: float, batch_worth_bytes: int | None = None
) -> tuple[ContextEventStore, LocalCommitter]:
    store = ContextStore.open("default", path, StoreOptions(), asyncio.get_running_loop().call_soon_threadsafe)
    committer = LocalCommitter(store, commit_window_s=window_s, batch_worth_bytes=batch_worth_bytes)
    return ContextEventStore(store, committer, 1 << 20), committer


def test_transactions_arriving_while_others_send_share_one_fsync(tmp_path: Path) -> None:
    async def scenario() -> None:
        service, committer = await _service(tmp_path, window_s=1.0)
        await service.append_events([event()])  # an fsync just happened: the window is open
        before = committer.batches
        with service.receiving():  # another client is mid-transaction
            first = asyncio.ensure_future(service.append_events([event()]))
            for _ in range(5):
                await asyncio.sleep(0)  # the committer picks `first` up and holds it
            rest = [asyncio.ensure_future(service.append_events([event()])) for _ in range(3)]
            results = await asyncio.gather(first, *rest)
        assert committer.batches == before + 1
        assert [r.first_token for r in results] == [1, 2, 3, 4]
        await service.close()

    asyncio.run(scenario())


def test_a_lone_writer_is_committed_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        service, committer = await _service(tmp_path, window_s=3600.0)  # a wait would time the test out
        for _ in range(3):
            await asyncio.wait_for(service.append_events([event()]), 30)
        assert committer.batches == 3
        await service.close()

    asyncio.run(scenario())


def test_a_held_batch_goes_as_soon_as_nothing_more_is_arriving(tmp_path: Path) -> None:
    async def scenario() -> None:
        service, committer = await _service(tmp_path, window_s=3600.0)  # holding to the end would time out
        await service.append_events([event()])  # the window is open from here
        before = committer.batches
        with service.receiving():  # two clients mid-transaction
            with service.receiving():
                first = asyncio.ensure_future(service.append_events([event()]))
                for _ in range(5):
                    await asyncio.sleep(0)  # held: another client is still sending
                assert not first.done()
            second = asyncio.ensure_future(service.append_events([event()]))
        # the last transaction has arrived: both go now, in one fsync
        results = await asyncio.wait_for(asyncio.gather(first, second), 30)
        assert [r.first_token for r in results] == [1, 2]
        assert committer.batches == before + 1
        await service.close()

    asyncio.run(scenario())


def test_a_batch_worth_its_fsync_goes_while_others_still_arrive(tmp_path: Path) -> None:
    async def scenario() -> None:
        worth = 3 * len(event())
        service, committer = await _service(tmp_path, window_s=3600.0, batch_worth_bytes=worth)
        await service.append_events([event()])  # the window is open from here
        before = committer.batches
        with service.receiving():  # another client is mid-transaction all along
            small = asyncio.ensure_future(service.append_events([event()]))
            for _ in range(5):
                await asyncio.sleep(0)
            assert not small.done()  # held: not worth an fsync yet
            more = asyncio.ensure_future(service.append_events([event(), event()]))  # now it is
            results = await asyncio.wait_for(asyncio.gather(small, more), 30)
            assert [r.first_token for r in results] == [1, 2]
            assert committer.batches == before + 1
            # Released once: the next small batch is held again.
            again = asyncio.ensure_future(service.append_events([event()]))
            for _ in range(5):
                await asyncio.sleep(0)
            assert not again.done()
        assert (await asyncio.wait_for(again, 30)).first_token == 4
        await service.close()

    asyncio.run(scenario())


def test_batches_are_held_whole_on_a_single_cpu() -> None:
    cpus = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(cpus)})  # this thread only, as a pinned node starts
        assert default_batch_worth_bytes() is None
    finally:
        os.sched_setaffinity(0, cpus)
    if len(cpus) > 1:
        assert default_batch_worth_bytes() == 128 * 1024


async def _until(condition, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_records_reach_the_index_within_the_interval_without_more_commits(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = ContextStore.open("default", tmp_path, StoreOptions(), asyncio.get_running_loop().call_soon_threadsafe)
        committer = LocalCommitter(store, commit_window_s=0.0, index_interval_s=0.2)
        service = ContextEventStore(store, committer, 1 << 20)
        await service.append_events([event()])  # the first hand-off goes at once
        await service.append_events([event()])  # this one waits for the interval's end
        assert store.unindexed >= 1
        await _until(lambda: store.unindexed == 0)  # no further commit needed
        assert store.index.tx_at(1, store.log.end) is not None  # the database has the second record
        await service.close()

    asyncio.run(scenario())


def test_a_writer_over_the_unindexed_limit_hands_over_what_waits(tmp_path: Path) -> None:
    async def scenario() -> None:
        options = StoreOptions(max_unindexed=2)
        store = ContextStore.open("default", tmp_path, options, asyncio.get_running_loop().call_soon_threadsafe)
        # An interval no test outlives: only the limit can make the committer hand over.
        committer = LocalCommitter(store, commit_window_s=0.0, index_interval_s=3600.0)
        service = ContextEventStore(store, committer, 1 << 20)
        for _ in range(8):
            await asyncio.wait_for(service.append_events([event()]), 30)
        assert store.unindexed <= 3
        await service.close()

    asyncio.run(scenario())


def _finished_without_waiting(coro):  # type: ignore[no-untyped-def]
    """Run `coro` one step: its result if it ended without suspending, else None
    (it is closed then)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    return None


def test_a_lone_transaction_is_made_durable_on_the_loop_thread_without_waiting(tmp_path: Path) -> None:
    async def scenario() -> None:
        service, committer = await _service(tmp_path, window_s=3600.0)
        results = [_finished_without_waiting(service.append_events([event(), event()])) for _ in range(3)]
        assert [r.first_token for r in results] == [0, 2, 4]  # each ended in the call: no queue, no fsync thread
        assert committer.batches == 3 and committer.transactions == 3
        await service.close()
        reopened = ContextStore.open("default", tmp_path, StoreOptions(), asyncio.get_running_loop().call_soon_threadsafe)
        assert reopened.next_token == 6
        reopened.close()

    asyncio.run(scenario())


def test_a_transaction_goes_through_the_queue_when_others_arrive_or_fsyncs_are_slow(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = ContextStore.open("default", tmp_path, StoreOptions(), asyncio.get_running_loop().call_soon_threadsafe)
        # Any fsync counts as slow: only the first transaction (nothing measured yet) goes alone.
        committer = LocalCommitter(store, commit_window_s=0.0, alone_sync_max_s=0.0)
        service = ContextEventStore(store, committer, 1 << 20)
        assert _finished_without_waiting(service.append_events([event()])) is not None
        pending = asyncio.ensure_future(service.append_events([event()]))
        await asyncio.sleep(0)
        assert not pending.done()  # handed to the fsync thread, as a batch
        assert (await asyncio.wait_for(pending, 30)).first_token == 1
        await service.close()

    asyncio.run(scenario())

    async def arriving() -> None:  # another client mid-transaction: this one may be held for it
        service, committer = await _service(tmp_path / "b", window_s=3600.0)
        await service.append_events([event()])  # the window is open from here
        with service.receiving():
            pending = asyncio.ensure_future(service.append_events([event()]))
            await asyncio.sleep(0)
            assert not pending.done()
        assert (await asyncio.wait_for(pending, 30)).first_token == 1
        assert committer.batches == 2
        await service.close()

    (tmp_path / "b").mkdir()
    asyncio.run(arriving())


def test_a_failed_fsync_of_a_lone_transaction_fails_it_and_stops_the_store(tmp_path: Path) -> None:
    async def scenario() -> None:
        service, _committer = await _service(tmp_path, window_s=0.0)
        await service.append_events([event()])
        read_end, write_end = os.pipe()  # fdatasync on a pipe fails with EINVAL
        service.store.log.take_sync_targets = lambda: ([read_end], None)  # type: ignore[method-assign]
        with pytest.raises(StorageWriteFailed, match="Invalid argument"):
            _finished_without_waiting(service.append_events([event()]))
        with pytest.raises((StorageUnavailable, StorageWriteFailed)):
            await service.append_events([event()])
        os.close(read_end)
        os.close(write_end)
        await service.close()

    asyncio.run(scenario())
