"""Three replicas of a context in one process: real files, the real Raft core and
driver, a loopback transport. Appends through the leader reach every store
byte for byte; a leader loss elects another; a stopped replica catches up."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from axonclient.protos.common_pb2 import SerializedObject
from axonclient.protos.event_pb2 import Event

from ranvier.errors import InvalidSequence
from ranvier.eventstore import ContextEventStore, ContextStore, StoreOptions
from ranvier.replication.context_fsm import ContextStateMachine, RaftWriter
from ranvier.replication.driver import GroupDriver, Timing, bootstrap
from ranvier.replication.log_store import DurableLog
from ranvier.replication.transport import LoopbackTransport

FAST = Timing(tick_s=0.01, election_tick=10, heartbeat_tick=1, wait_for_leader_s=5)
VOTERS = frozenset({1, 2, 3})


def event(agg: str, seq: int) -> bytes:
    return Event(aggregate_identifier=agg, aggregate_sequence_number=seq, aggregate_type="A",
                 payload=SerializedObject(type="T", data=b"d" * 32)).SerializeToString()


class Replica:
    def __init__(self, root: Path, node_id: int, transport: LoopbackTransport, seed: int) -> None:
        self.root, self.node_id, self.transport, self.seed = root, node_id, transport, seed
        self.start()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.store = ContextStore.open("default", self.root / "events", StoreOptions(), loop.call_soon_threadsafe)
        log_store = DurableLog(self.root / "raft")
        bootstrap(log_store, VOTERS)
        self.driver = GroupDriver("default", self.node_id, log_store, ContextStateMachine(self.store),
                                  self.transport, FAST, random.Random(self.seed))
        self.transport.register("default", self.node_id, self.driver)
        self.service = ContextEventStore(self.store, RaftWriter(self.driver), 1 << 20)
        self.driver.start()

    async def stop(self) -> None:
        self.transport.unregister("default", self.node_id)
        await self.service.close()

    def segment_bytes(self) -> bytes:
        self.store.sync()
        return b"".join(p.read_bytes() for p in sorted((self.root / "events").glob("*.rlog")))


async def wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def leader(replicas: list[Replica]) -> Replica | None:
    leaders = [r for r in replicas if r.driver.is_leader]
    return leaders[0] if len(leaders) == 1 else None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_three_replicas_agree_and_survive_a_leader_loss(tmp_path: Path, seed: int) -> None:
    async def scenario() -> None:
        transport = LoopbackTransport()
        replicas = [Replica(tmp_path / f"n{i}", i, transport, seed * 10 + i) for i in (1, 2, 3)]
        await wait_for(lambda: leader(replicas) is not None)
        first = leader(replicas)
        assert first is not None
        for seq in range(20):
            result = await first.service.append_events([event("a", seq), event(f"x{seq}", 0)])
            assert result.first_token == 2 * seq
        with pytest.raises(InvalidSequence):
            await first.service.append_events([event("a", 5)])
        await wait_for(lambda: all(r.store.visible_next_token == 40 for r in replicas))
        assert len({r.segment_bytes() for r in replicas}) == 1

        # The leader goes away: the other two elect one and carry on.
        await first.stop()
        rest = [r for r in replicas if r is not first]
        await wait_for(lambda: leader(rest) is not None)
        second = leader(rest)
        assert second is not None and second is not first
        for seq in range(20, 30):
            await second.service.append_events([event("a", seq)])
        # The old leader comes back on its files and catches up.
        first.start()
        await wait_for(lambda: all(r.store.visible_next_token == 50 for r in replicas))
        assert len({r.segment_bytes() for r in replicas}) == 1
        assert [r.store.highest_sequence("a") for r in replicas] == [29, 29, 29]
        for r in replicas:
            await r.stop()

    asyncio.run(scenario())
