"""A cancelled AppendEvent stream stores nothing, however its cancel is timed.

grpc.aio ends a cancelled request stream with the same EOF as a half-closed one,
so the node has to tell them apart after the last read (`_confirm_half_closed`).
This drives many transactions from concurrent streams, half of them completed and
half cancelled at random moments (before, right after, and a little after their
last event), and checks that exactly the completed ones were stored. The client
and the node share one CPU while it runs: that is where the two ends of a stream
interleave most finely and the race showed most (with the check disabled, the
node stored 4-6 of the 1,500 cancelled transactions in every run that way; a
bare grpc.aio handler without a check stored 99 % of them).

The seed comes from RANVIER_CANCEL_SEED or is random; it is printed on failure.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4

import grpc
from axonclient.protos import event_pb2
from axonclient.protos.event_pb2 import Event

from ranvier.bench.placement import pin_process
from ranvier.testing.nodes import NodeProcess

_APPEND = "/io.axoniq.axonserver.grpc.event.EventStore/AppendEvent"
_HIGHEST = "/io.axoniq.axonserver.grpc.event.EventStore/ReadHighestSequenceNr"
STREAMS = 3000
CONCURRENT = 16
# When a cancelled stream is cancelled: None = before its last event, else seconds
# after the last event was written (0 = at once, without yielding).
_CANCEL_DELAYS: tuple[float | None, ...] = (None, 0.0, 0.0, 0.0, 0.0002, 0.001)


def _event(agg: str, seq: int) -> Event:
    return Event(
        message_identifier=str(uuid4()),
        aggregate_identifier=agg,
        aggregate_sequence_number=seq,
        aggregate_type="Order",
        timestamp=1_700_000_000_000,
    )


async def _drive(address: str, rng: random.Random) -> tuple[dict[str, int], list[str]]:
    """Run the streams; returns completed aggregates (-> their last sequence) and cancelled ones."""
    plans = [(str(uuid4()), rng.randint(1, 5), i % 2 == 1, rng.choice(_CANCEL_DELAYS)) for i in range(STREAMS)]
    completed: dict[str, int] = {}
    cancelled: list[str] = []
    gate = asyncio.Semaphore(CONCURRENT)
    async with grpc.aio.insecure_channel(address) as channel:
        append = channel.stream_unary(
            _APPEND, request_serializer=Event.SerializeToString,
            response_deserializer=event_pb2.Confirmation.FromString,
        )

        async def one(agg: str, count: int, complete: bool, delay: float | None) -> None:
            async with gate:
                call = append()
                for seq in range(count):
                    if not complete and delay is None and seq == count - 1:
                        break  # cancel before the last event
                    await call.write(_event(agg, seq))
                if complete:
                    await call.done_writing()
                    assert (await call).success
                    completed[agg] = count - 1
                    return
                if delay:
                    await asyncio.sleep(delay)
                call.cancel()
                cancelled.append(agg)

        await asyncio.gather(*(one(*plan) for plan in plans))
    return completed, cancelled


async def _highest(address: str, aggregates: list[str]) -> dict[str, int]:
    async with grpc.aio.insecure_channel(address) as channel:
        read = channel.unary_unary(
            _HIGHEST, request_serializer=event_pb2.ReadHighestSequenceNrRequest.SerializeToString,
            response_deserializer=event_pb2.ReadHighestSequenceNrResponse.FromString,
        )
        return {
            agg: int((await read(event_pb2.ReadHighestSequenceNrRequest(aggregate_id=agg))).to_sequence_nr)
            for agg in aggregates
        }


@contextmanager
def _one_cpu(node: NodeProcess) -> Iterator[None]:
    """Run the node and this process on one CPU, then give both their CPUs back."""
    own = os.sched_getaffinity(0)
    cpu = frozenset({min(own)})
    pin_process(node.process.pid, cpu)
    pin_process(os.getpid(), cpu)
    try:
        yield
    finally:
        pin_process(os.getpid(), frozenset(own))
        pin_process(node.process.pid, frozenset(own))


def test_cancelled_streams_store_nothing_and_completed_ones_everything(node: NodeProcess) -> None:
    seed = int(os.environ.get("RANVIER_CANCEL_SEED", random.randrange(1 << 32)))
    try:
        with _one_cpu(node):
            completed, cancelled = asyncio.run(_drive(node.grpc_address, random.Random(seed)))
        assert len(completed) == STREAMS // 2 and len(cancelled) == STREAMS // 2
        highest = asyncio.run(_highest(node.grpc_address, [*completed, *cancelled]))
        stored_cancelled = [agg for agg in cancelled if highest[agg] != -1]
        assert stored_cancelled == [], f"{len(stored_cancelled)} cancelled transactions were stored"
        assert {agg: highest[agg] for agg in completed} == completed
    except BaseException:
        print(f"append-cancel test failed with RANVIER_CANCEL_SEED={seed}")
        raise
