"""kill -9 under concurrent appends: every acknowledged event survives, exactly once.

Each cycle starts appender threads, kills the node with SIGKILL once a randomly
chosen number of transactions has been acknowledged, restarts it on the same files
and checks the whole stream:
- every acknowledged event is present exactly once;
- tokens are 0..last with no gap, events of a transaction contiguous;
- a transaction is all or nothing (unacknowledged ones may be there, whole, or not);
- aggregate sequences are gap-free.
The seed comes from RANVIER_CRASH_SEED or is random; it is printed on failure.

A second run uses the default segment size with a log past 4 MiB and larger
events, so zeros are being written ahead of the segment (`eventstore.runway`)
while the kills land: recovery must tell them from records and torn writes.
"""

from __future__ import annotations

import os
import queue
import random
import threading
import time
from collections import defaultdict
from pathlib import Path
from uuid import uuid4

import grpc
import pytest
from axonclient.protos import event_pb2, event_pb2_grpc
from axonclient.protos.common_pb2 import SerializedObject
from axonclient.protos.event_pb2 import Event

from ranvier.eventstore.segments import records_size
from ranvier.testing.nodes import NodeProcess

CYCLES = int(os.environ.get("RANVIER_CRASH_CYCLES", "20"))
APPENDERS = 4


class Appender(threading.Thread):
    """Appends transactions of 1-5 events to its own aggregates until the node dies."""

    def __init__(
        self, address: str, rng: random.Random, acked: list[list[str]], counter: threading.Semaphore,
        payload: int = 64,
    ) -> None:
        super().__init__(daemon=True)
        self.address = address
        self.payload = payload
        self.rng = rng
        self.acked = acked
        self.counter = counter
        self.attempted: list[list[str]] = []

    def run(self) -> None:
        channel = grpc.insecure_channel(self.address)
        stub = event_pb2_grpc.EventStoreStub(channel)
        agg, seq = str(uuid4()), 0
        try:
            while True:
                size = self.rng.randint(1, 5)
                tx = [event(agg, seq + i, self.payload) for i in range(size)]
                self.attempted.append([e.message_identifier for e in tx])
                stub.AppendEvent(iter(tx), timeout=10)
                self.acked.append([e.message_identifier for e in tx])
                self.counter.release()
                seq += size
                if self.rng.random() < 0.2:
                    agg, seq = str(uuid4()), 0
        except grpc.RpcError:
            return  # the node was killed
        finally:
            channel.close()



def event(agg: str, seq: int, payload: int) -> Event:
    return Event(
        message_identifier=str(uuid4()), aggregate_identifier=agg, aggregate_sequence_number=seq,
        aggregate_type="Crash", timestamp=1, payload=SerializedObject(type="E", data=os.urandom(payload)),
    )


def prefill(address: str, total_bytes: int, acked: list[list[str]]) -> None:
    """Acknowledged transactions of 100 events of 1 KB until about `total_bytes` are stored."""
    with grpc.insecure_channel(address) as channel:
        stub = event_pb2_grpc.EventStoreStub(channel)
        for _ in range(-(-total_bytes // (100 * 1024))):
            tx = [event(agg, i, 1024) for agg in [str(uuid4())] for i in range(100)]
            stub.AppendEvent(iter(tx), timeout=30)
            acked.append([e.message_identifier for e in tx])


def read_stream(address: str) -> list[tuple[int, Event]]:
    with grpc.insecure_channel(address) as channel:
        stub = event_pb2_grpc.EventStoreStub(channel)
        last = stub.GetLastToken(event_pb2.GetLastTokenRequest()).token
        if last < 0:
            return []
        requests: queue.Queue[event_pb2.GetEventsRequest | None] = queue.Queue()
        requests.put(event_pb2.GetEventsRequest(tracking_token=0, number_of_permits=last + 1))
        out: list[tuple[int, Event]] = []
        for message in stub.ListEvents(iter(requests.get, None), timeout=60):
            out.append((message.token, message.event))
            if message.token == last:
                requests.put(None)
                break
        return out


def check(stream: list[tuple[int, Event]], acked: list[list[str]], attempted: list[list[str]]) -> None:
    tokens = [token for token, _ in stream]
    assert tokens == list(range(len(stream))), "tokens are not 0..last without gaps"
    position = {e.message_identifier: token for token, e in stream}
    assert len(position) == len(stream), "an event is stored twice"
    for tx in acked:
        assert all(m in position for m in tx), "an acknowledged event is missing"
    for tx in attempted:
        present = [m in position for m in tx]
        assert all(present) or not any(present), "a transaction was stored in part"
        if all(present):
            spots = [position[m] for m in tx]
            assert spots == list(range(spots[0], spots[0] + len(tx))), "a transaction is not contiguous"
    sequences: dict[str, list[int]] = defaultdict(list)
    for _token, e in stream:
        sequences[e.aggregate_identifier].append(e.aggregate_sequence_number)
    for agg, seqs in sequences.items():
        assert seqs == list(range(len(seqs))), f"aggregate {agg} has sequence gaps: {seqs[:10]}"


def wait_for_runway(directory: Path, timeout: float = 30.0) -> None:
    """Until zeros have been written past the last record: the kills then land on
    a segment with a runway, sometimes while more of it is being written."""
    deadline = time.monotonic() + timeout
    while True:
        last = sorted(directory.glob("*.rlog"))[-1]
        if last.stat().st_size > records_size(directory) - int(last.name[:-5]):
            return
        assert time.monotonic() < deadline, "no zeros were written ahead of the segment"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize(
    "segment_size,payload,prefill_bytes,cycles",
    [("256KB", 64, 0, CYCLES), ("256MB", 4096, 5 << 20, max(1, CYCLES // 2))],
    ids=["small-segments", "runway"],
)
def test_kill_minus_nine_under_concurrent_appends(
    tmp_path: Path, segment_size: str, payload: int, prefill_bytes: int, cycles: int
) -> None:
    seed = int(os.environ.get("RANVIER_CRASH_SEED", random.randrange(1 << 32)))
    rng = random.Random(seed)
    node = NodeProcess(tmp_path, properties={"axoniq.axonserver.event.segment-size": segment_size})
    acked: list[list[str]] = []
    attempted: list[list[str]] = []
    try:
        node.start()
        prefill(node.grpc_address, prefill_bytes, acked)
        if prefill_bytes:
            wait_for_runway(node.data_dir / "default")
        for cycle in range(cycles):
            counter = threading.Semaphore(0)
            appenders = [
                Appender(node.grpc_address, random.Random(rng.random()), acked, counter, payload)
                for _ in range(APPENDERS)
            ]
            for appender in appenders:
                appender.start()
            for _ in range(rng.randint(1, 60)):  # kill once this many more transactions were acknowledged
                assert counter.acquire(timeout=30), f"appends stalled\n{node.log_tail()}"
            node.kill()
            for appender in appenders:
                appender.join(30)
                attempted.extend(appender.attempted)
            node.start()
            check(read_stream(node.grpc_address), acked, attempted)
    except BaseException:
        print(f"crash test failed with RANVIER_CRASH_SEED={seed} (cycle log: {node.log_path})")
        raise
    finally:
        node.kill()
    assert len(acked) > cycles
