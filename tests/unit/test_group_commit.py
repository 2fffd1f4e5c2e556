"""`LocalCommitter`'s group commit: one fsync for the transactions that arrive while
other clients are still sending theirs; a lone writer never waits."""

from __future__ import annotations

import asyncio
from pathlib import Path

from axonclient.protos.common_pb2 import SerializedObject
from axonclient.protos.event_pb2 import Event

from ranvier.eventstore import ContextEventStore, ContextStore, LocalCommitter, StoreOptions


def event() -> bytes:
    return Event(message_identifier="m", payload=SerializedObject(type="T", data=b"x")).SerializeToString()


async def _service(path: Path, window_s: float) -> tuple[ContextEventStore, LocalCommitter]:
    store = ContextStore.open("default", path, StoreOptions(), asyncio.get_running_loop().call_soon_threadsafe)
    committer = LocalCommitter(store, commit_window_s=window_s)
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
