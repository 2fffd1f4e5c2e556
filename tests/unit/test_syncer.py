"""The committer's fsyncs on a C thread (`_syncer.c`) and the asyncio wrapper around
it (`eventstore.syncer`): requests run, failures come back as the errno of the real
failing call, one request at a time, and a failed fsync stops the store."""

from __future__ import annotations

import asyncio
import errno
import os
import select
from pathlib import Path

import pytest

from ranvier.errors import StorageUnavailable, StorageWriteFailed
from ranvier.eventstore import ContextStore, StoreOptions
from ranvier.eventstore.records import KIND_EVENTS, Command
from ranvier.eventstore.syncer import Syncer, load

from axonclient.protos.common_pb2 import SerializedObject
from axonclient.protos.event_pb2 import Event

_syncer = pytest.importorskip("ranvier.eventstore._syncer")


def event() -> bytes:
    return Event(message_identifier="m", payload=SerializedObject(type="T", data=b"x")).SerializeToString()


def _collect(syncer: object) -> int:
    """Wait (bounded) until the eventfd is readable, then take the result."""
    readable, _, _ = select.select([syncer.fileno()], [], [], 30)  # type: ignore[attr-defined]
    assert readable, "the sync thread did not report within 30 s"
    result = syncer.result()  # type: ignore[attr-defined]
    assert result is not None
    return int(result)


def test_a_request_runs_and_is_reported_through_the_eventfd(tmp_path: Path) -> None:
    syncer = _syncer.Syncer()
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    dir_fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(3):  # collecting a result allows the next request
            os.write(fd, b"x" * 4096)
            syncer.submit([fd], [dir_fd])
            assert _collect(syncer) == 0
        assert syncer.result() is None  # nothing more to collect
        names = [(Path("/proc/self/task") / t / "comm").read_text().strip() for t in os.listdir("/proc/self/task")]
        assert "ranvier-fsync" in names  # named for top -H (it set its name before the first request)
    finally:
        syncer.close()
        os.close(fd)
        os.close(dir_fd)


def test_a_failed_call_reports_its_errno_and_stops_the_request(tmp_path: Path) -> None:
    syncer = _syncer.Syncer()
    read_end, write_end = os.pipe()  # fdatasync on a pipe fails with EINVAL
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        syncer.submit([read_end, fd], [])
        assert _collect(syncer) == errno.EINVAL
        closed = os.dup(fd)
        os.close(closed)
        syncer.submit([], [closed])
        assert _collect(syncer) == errno.EBADF
    finally:
        syncer.close()
        for f in (read_end, write_end, fd):
            os.close(f)


def test_one_request_at_a_time_and_bad_arguments(tmp_path: Path) -> None:
    syncer = _syncer.Syncer()
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        syncer.submit([fd], [])
        with pytest.raises(RuntimeError, match="already in progress"):
            syncer.submit([fd], [])  # not collected yet, whether or not it finished
        assert _collect(syncer) == 0
        with pytest.raises(ValueError):
            syncer.submit([-1], [])
        with pytest.raises(ValueError, match="at most"):
            syncer.submit([fd] * 65, [])
        with pytest.raises(TypeError):
            syncer.submit(["3"], [])
    finally:
        syncer.close()
        syncer.close()  # idempotent
        os.close(fd)
    with pytest.raises(ValueError, match="closed"):
        syncer.submit([fd], [])


def _store(path: Path, segment_size: int = 1 << 20) -> ContextStore:
    options = StoreOptions(segment_size=segment_size)
    return ContextStore.open("default", path, options, asyncio.get_running_loop().call_soon_threadsafe)


@pytest.mark.parametrize("native", [True, False], ids=["c-thread", "worker-thread"])
def test_the_wrapper_syncs_what_the_store_took(tmp_path: Path, native: bool) -> None:
    async def scenario() -> None:
        store = _store(tmp_path, segment_size=4096)  # every append below starts a segment
        syncer = Syncer(load() if native else None)
        assert syncer.native is native
        big = Event(message_identifier="m", payload=SerializedObject(type="T", data=b"x" * 3000)).SerializeToString()
        fds = []
        for index in range(1, 5):
            segments = len(store.log.segments)
            store.apply(index, Command(KIND_EVENTS, (big,)))
            assert index == 1 or len(store.log.segments) == segments + 1  # a new file: the directory is synced
            await syncer.sync(store)
            assert store.take_sync_targets() == ([], None)  # nothing left dirty
            store.flush_index()
            fds.append(len(os.listdir("/proc/self/fd")) - len(store.log.segments))
        await syncer.sync(store)  # nothing to do is fine too
        assert fds[2:] == fds[1:2] * 2  # no fd left behind by the directory fsyncs
        syncer.close()
        store.close()

    asyncio.run(scenario())


def test_a_failed_fsync_stops_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        store = _store(tmp_path)
        syncer = Syncer(load())
        store.apply(1, Command(KIND_EVENTS, (event(),)))
        read_end, write_end = os.pipe()
        # Fault injection: the log hands over a descriptor whose fdatasync really fails.
        monkeypatch.setattr(store.log, "take_sync_targets", lambda: ([read_end], None))
        with pytest.raises(StorageWriteFailed, match="Invalid argument"):
            await syncer.sync(store)
        with pytest.raises((StorageUnavailable, StorageWriteFailed)):
            store.apply(2, Command(KIND_EVENTS, (event(),)))
        syncer.close()
        os.close(read_end)
        os.close(write_end)
        monkeypatch.undo()
        store.close()

    asyncio.run(scenario())


def test_closing_while_a_request_runs_lets_it_finish(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = _store(tmp_path)
        syncer = Syncer(load())
        store.apply(1, Command(KIND_EVENTS, (event(),)))
        task = asyncio.ensure_future(syncer.sync(store))
        await asyncio.sleep(0)  # submitted
        syncer.close()  # joins the thread once the request is done, and reports it
        await asyncio.wait_for(task, 30)  # completed, not failed
        assert store.take_sync_targets() == ([], None)
        store.apply(2, Command(KIND_EVENTS, (event(),)))  # the store still takes writes
        store.close()

    asyncio.run(scenario())


def test_writes_go_out_whole_and_in_order_before_the_sync(tmp_path: Path) -> None:
    syncer = _syncer.Syncer()
    a = os.open(tmp_path / "a", os.O_RDWR | os.O_CREAT)
    b = os.open(tmp_path / "b", os.O_RDWR | os.O_CREAT)
    try:
        held = bytearray(b"h" * 100)
        small = [bytes([i % 251]) * 7 for i in range(3000)]  # contiguous: more than one pwritev's worth
        writes = [(a, b"0" * 1000, 0), (a, b"1" * 1001, 1000), (b, b"2" * 10, 50), (a, held, 2001),
                  (a, b"3" * 5, 5000)]
        writes += [(b, chunk, 100 + 7 * i) for i, chunk in enumerate(small)]
        syncer.submit([a, b], [], writes)
        with pytest.raises(BufferError):
            held.extend(b"x")  # the thread may be reading it: held until the result is collected
        assert _collect(syncer) == 0
        held.extend(b"x")  # released
        data_a = Path(tmp_path / "a").read_bytes()
        assert data_a[:2001] == b"0" * 1000 + b"1" * 1001
        assert data_a[2001:2101] == b"h" * 100
        assert data_a[5000:] == b"3" * 5
        data_b = Path(tmp_path / "b").read_bytes()
        assert data_b[50:60] == b"2" * 10 and data_b[100:] == b"".join(small)
    finally:
        syncer.close()
        os.close(a)
        os.close(b)


def test_a_failed_write_is_reported_and_bad_writes_are_refused(tmp_path: Path) -> None:
    syncer = _syncer.Syncer()
    path = tmp_path / "f"
    path.write_bytes(b"")
    read_only = os.open(path, os.O_RDONLY)
    fd = os.open(path, os.O_RDWR)
    try:
        syncer.submit([fd], [], [(read_only, b"x", 0)])
        assert _collect(syncer) == errno.EBADF
        assert path.read_bytes() == b""
        for bad, error in ([(fd, "text", 0)], TypeError), ([(fd, b"x", -1)], ValueError), \
                ([(fd, b"x")], TypeError), ([[fd, b"x", 0]], TypeError), (5, TypeError):
            with pytest.raises(error):
                syncer.submit([fd], [], bad)
        syncer.submit([fd], [], [(fd, b"ok", 3)])  # nothing was left queued or held by the refusals
        assert _collect(syncer) == 0
        assert path.read_bytes() == b"\0\0\0ok"
    finally:
        syncer.close()
        os.close(read_only)
        os.close(fd)


async def _fill_until_runway(store: ContextStore, syncer: Syncer) -> int:
    """Commit 100-event transactions until zeros are written ahead of the segment
    (at least 1 MiB of them); returns the next sequence of aggregate "a"."""
    from ranvier.eventstore import runway

    seq = 0
    log = store.log
    while True:
        seg = log.segments[-1]
        if log._fill is not None:
            while log._fill.running:
                await asyncio.sleep(0.01)
            log._settle_fill()
        if seg.size > runway.START and seg.allocated >= seg.size + (1 << 20):
            return seq
        raws = tuple(_agg_event("a", seq + i, b"r" * 1000) for i in range(100))
        store.apply(store.applied_index + 1, Command(KIND_EVENTS, raws))
        seq += 100
        await syncer.sync(store)
        store.publish()


def _agg_event(agg: str, seq: int, payload: bytes = b"x") -> bytes:
    return Event(message_identifier=f"{agg}-{seq}", aggregate_identifier=agg, aggregate_sequence_number=seq,
                 aggregate_type="Order", payload=SerializedObject(type="T", data=payload)).SerializeToString()


def test_records_inside_the_runway_are_written_by_the_fsync_thread(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = _store(tmp_path, segment_size=64 << 20)
        store.defer_writes(True)
        syncer = Syncer(load())
        seq = await _fill_until_runway(store, syncer)
        raws = tuple(_agg_event("a", seq + i) for i in range(10))
        store.apply(store.applied_index + 1, Command(KIND_EVENTS, raws))
        staged = store.log._staged
        assert len(staged) == 1 and staged[0][2] == store.log.segments[-1].size - len(staged[0][1])
        await syncer.sync(store)  # the C thread writes it, then fdatasyncs
        assert store.log._staged == [] and store.take_writes() == []
        store.publish()
        last = store.last_token()
        syncer.close()
        store.close()
        reopened = _store(tmp_path, segment_size=64 << 20)
        assert reopened.last_token() == last
        assert reopened.highest_sequence("a") == seq + 9
        assert list(reopened.aggregate_events("a", seq, seq + 9)) == list(raws)
        reopened.close()

    asyncio.run(scenario())


def test_a_deferred_record_read_before_its_sync_is_written_first_and_one_never_synced_is_gone(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        store = _store(tmp_path, segment_size=64 << 20)
        store.defer_writes(True)
        syncer = Syncer(load())
        seq = await _fill_until_runway(store, syncer)
        position = store.log.end
        store.apply(store.applied_index + 1, Command(KIND_EVENTS, (_agg_event("a", seq),)))
        assert store.log._staged
        header, _body = store.log.read_record(position)  # written here, checksum verified
        assert header.count == 1 and store.log._staged == []
        await syncer.sync(store)
        store.publish()
        store.apply(store.applied_index + 1, Command(KIND_EVENTS, (_agg_event("a", seq + 1),)))
        assert store.log._staged  # applied, never synced: like a crash before the write
        syncer.close()
        store.close()
        reopened = _store(tmp_path, segment_size=64 << 20)
        assert reopened.highest_sequence("a") == seq  # the unsynced one is not there, and no corruption
        reopened.close()

    asyncio.run(scenario())


def test_without_the_c_thread_the_store_writes_itself(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = _store(tmp_path, segment_size=64 << 20)
        syncer = Syncer(None)
        store.defer_writes(syncer.native)
        await _fill_until_runway(store, syncer)
        store.apply(store.applied_index + 1, Command(KIND_EVENTS, (event(),)))
        assert store.log._staged == []
        await syncer.sync(store)
        store.close()

    asyncio.run(scenario())


def test_a_record_past_the_runway_is_written_after_the_staged_ones_before_it(tmp_path: Path) -> None:
    """Never a valid record in the file after a gap: a crash there would read as corruption."""
    async def scenario() -> None:
        store = _store(tmp_path, segment_size=64 << 20)
        store.defer_writes(True)
        syncer = Syncer(load())
        seq = await _fill_until_runway(store, syncer)
        seg = store.log.segments[-1]
        first = seg.size
        staged = _agg_event("a", seq)
        store.apply(store.applied_index + 1, Command(KIND_EVENTS, (staged,)))
        assert store.log._staged
        seg.allocated = seg.size  # as if the zeros ahead ran out: the next record is written at once
        store.apply(store.applied_index + 1, Command(KIND_EVENTS, (_agg_event("a", seq + 1),)))
        assert store.log._staged == []
        with open(seg.path, "rb") as f:  # the file itself, not read_record (which would write them)
            f.seek(first)
            head = f.read(seg.size - first)
        assert staged in head and _agg_event("a", seq + 1) in head
        await syncer.sync(store)
        syncer.close()
        store.close()

    asyncio.run(scenario())


def test_sync_now_writes_and_syncs_on_the_calling_thread_and_reports_errors(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    read_end, write_end = os.pipe()
    try:
        assert _syncer.sync_now([fd], [], [(fd, b"abc", 0), (fd, bytearray(b"def"), 3)]) == 0
        assert os.pread(fd, 16, 0) == b"abcdef"
        assert _syncer.sync_now([read_end], []) == errno.EINVAL  # fdatasync on a pipe
        with pytest.raises(TypeError):
            _syncer.sync_now([fd], [], [("x", b"", 0)])
    finally:
        for f in (fd, read_end, write_end):
            os.close(f)


def test_the_wrapper_syncs_now_only_when_no_request_is_in_flight(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = _store(tmp_path)
        syncer = Syncer(load())
        store.apply(1, Command(KIND_EVENTS, (event(),)))
        syncer.sync_now(store)
        assert store.take_sync_targets() == ([], None)
        store.apply(2, Command(KIND_EVENTS, (event(),)))
        task = asyncio.ensure_future(syncer.sync(store))
        await asyncio.sleep(0)  # submitted to the thread
        with pytest.raises(RuntimeError, match="in flight"):
            syncer.sync_now(store)
        await asyncio.wait_for(task, 30)
        read_end, write_end = os.pipe()
        store.apply(3, Command(KIND_EVENTS, (event(),)))
        store.log.take_sync_targets = lambda: ([read_end], None)  # type: ignore[method-assign]
        with pytest.raises(StorageWriteFailed, match="Invalid argument"):
            syncer.sync_now(store)
        syncer.close()
        os.close(read_end)
        os.close(write_end)
        store.close()

    asyncio.run(scenario())
