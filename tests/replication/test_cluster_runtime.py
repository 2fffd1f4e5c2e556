"""Three clustered node runtimes in one process (loopback transport, real files):
init-cluster, register-node, replicated contexts, forwarding, membership changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from axonclient.protos.common_pb2 import SerializedObject
from axonclient.protos.event_pb2 import Event

from ranvier.cluster.admin import ADMIN, NodeRecord, command
from ranvier.cluster.peer_server import read_log_bytes
from ranvier.cluster.runtime import ClusterRuntime
from ranvier.eventstore import StoreOptions
from ranvier.replication.driver import Timing
from ranvier.replication.transport import LoopbackTransport

FAST = Timing(tick_s=0.02, election_tick=20, heartbeat_tick=2, wait_for_leader_s=5)


def event(agg: str, seq: int) -> bytes:
    return Event(aggregate_identifier=agg, aggregate_sequence_number=seq, aggregate_type="A",
                 payload=SerializedObject(type="T", data=b"d" * 32)).SerializeToString()


class Registry:
    """Routes deliveries, forwarded proposals and log copies between runtimes in
    this process."""

    def __init__(self, timing: Timing = FAST) -> None:
        self.runtimes: dict[int, ClusterRuntime] = {}
        self.transport = LoopbackTransport()
        self.timing = timing

    def add(self, root: Path, name: str) -> ClusterRuntime:
        me = NodeRecord(name, "127.0.0.1", 0, 0, "127.0.0.1", 0)
        runtime = ClusterRuntime(me, root / name / "events", root / name / "raft", self._transport_for(name),
                                 self.forward, self.timing, StoreOptions(segment_size=64 * 1024), 1 << 20,
                                 self.fetch_log)
        self.runtimes[runtime.my_id] = runtime
        return runtime

    async def fetch_log(self, node_id: int, context: str, start: int, end: int):  # type: ignore[no-untyped-def]
        store = self.runtimes[node_id].event_store(context).store
        position = start
        while position < end:
            chunk = read_log_bytes(store.log, position, 5000, end)  # small chunks: records span them
            assert chunk, "the leader's log is shorter than its snapshot"
            position += len(chunk)
            yield chunk

    def _transport_for(self, name: str) -> LoopbackTransport:
        return self.transport

    async def forward(self, node_id: int, group: str, data: bytes) -> bytes:
        return await self.runtimes[node_id].handle_forward(group, data)

    def register_receivers(self) -> None:
        for runtime in self.runtimes.values():
            for group in [ADMIN, *runtime.contexts]:
                self.transport.register(group, runtime.my_id, _Receiver(runtime, group))


class _Receiver:
    def __init__(self, runtime: ClusterRuntime, group: str) -> None:
        self.runtime, self.group = runtime, group

    def receive(self, message: object) -> None:
        self.runtime.deliver(self.group, message)  # type: ignore[arg-type]


async def wait_for(condition, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def voters(runtime: ClusterRuntime, group: str) -> set[int]:
    driver = runtime._driver(group)
    return set(driver.node.status().conf_state.voters) if driver else set()


def test_init_register_and_replicate(tmp_path: Path) -> None:
    async def scenario() -> None:
        registry = Registry()
        n1, n2, n3 = (registry.add(tmp_path, n) for n in ("n1", "n2", "n3"))
        for r in (n1, n2, n3):
            await r.start()
        await n1.init_cluster("default")
        registry.register_receivers()
        assert set(n1.admin_fsm.config.contexts) == {ADMIN, "default"}
        await n1.event_store("default").append_events([event("a", 0)])

        for joining in (n2, n3):
            await joining.join(n1.my_id, None)
            registry.register_receivers()
            await wait_for(lambda j=joining: "default" in j.contexts)
            registry.register_receivers()
        ids = {r.my_id for r in (n1, n2, n3)}
        try:
            await wait_for(lambda: all(voters(r, "default") == ids and voters(r, ADMIN) == ids for r in (n1, n2, n3)))
        except AssertionError:
            for r in (n1, n2, n3):
                print(r.me.name, r.raft_status(), {g: sorted(voters(r, g)) for g in (ADMIN, "default")},
                      {g: sorted(r._driver(g).node.status().conf_state.learners) for g in (ADMIN, "default") if r._driver(g)})
            print(sorted(registry.transport.receivers))
            raise

        # Appends through a follower are forwarded to the leader.
        follower = next(r for r in (n2, n3) if not r.contexts["default"].driver.is_leader)
        result = await follower.event_store("default").append_events([event("a", 1), event("b", 0)])
        assert result.first_token == 1
        await wait_for(lambda: all(r.event_store("default").last_token() == 2 for r in (n1, n2, n3)))
        images = set()
        for r in (n1, n2, n3):
            store = r.event_store("default").store
            store.sync()
            images.add(b"".join(p.read_bytes() for p in sorted(store.directory.glob("*.rlog"))))
        assert len(images) == 1

        # A new context on two of the three nodes.
        await n3.propose(ADMIN, command("create_context", name="orders", members={"n2": "PRIMARY", "n3": "PRIMARY"}))
        await wait_for(lambda: "orders" in n2.contexts and "orders" in n3.contexts)
        registry.register_receivers()
        await wait_for(lambda: voters(n2, "orders") == {n2.my_id, n3.my_id})
        assert "orders" not in n1.contexts
        await n2.event_store("orders").append_events([event("o", 0)])
        await wait_for(lambda: n3.event_store("orders").last_token() == 0)
        for r in (n1, n2, n3):
            await r.stop()

    asyncio.run(scenario())


def test_compaction_and_catch_up_from_a_snapshot(tmp_path: Path) -> None:
    """The leader compacts its log; a replica that was away longer than the log
    reaches gets a snapshot and copies the missing part of the leader's store."""
    timing = Timing(tick_s=0.02, election_tick=20, heartbeat_tick=2, wait_for_leader_s=5,
                    compact_every=20, compact_keep=5)

    async def scenario() -> None:
        registry = Registry(timing)
        n1, n2, n3 = (registry.add(tmp_path, n) for n in ("n1", "n2", "n3"))
        for r in (n1, n2, n3):
            await r.start()
        await n1.init_cluster("default")
        registry.register_receivers()
        for joining in (n2, n3):
            await joining.join(n1.my_id, None)
            registry.register_receivers()
            await wait_for(lambda j=joining: "default" in j.contexts)
            registry.register_receivers()
        ids = {r.my_id for r in (n1, n2, n3)}
        await wait_for(lambda: all(voters(r, "default") == ids for r in (n1, n2, n3)))

        # n3 goes away; 150 transactions later the others' logs no longer reach back.
        await n3.stop()
        registry.transport.down.add(n3.my_id)
        leader = next(r for r in (n1, n2) if r.contexts["default"].driver.is_leader)
        for seq in range(150):
            await leader.event_store("default").append_events([event("a", seq), event("b" + str(seq), 0)])
        leader_log = leader.contexts["default"].driver.log_store
        assert leader_log.first_index() > 20, "the leader compacted its log"
        assert leader_log.last_index() - leader_log.first_index() < 40, "only a bounded tail is kept"

        back = registry.add(tmp_path, "n3")
        registry.transport.down.discard(back.my_id)
        await back.start()
        registry.register_receivers()
        await wait_for(lambda: "default" in back.contexts and back.event_store("default").last_token() == 299)
        images = set()
        for r in (n1, n2, back):
            store = r.event_store("default").store
            store.sync()
            images.add(b"".join(p.read_bytes() for p in sorted(store.directory.glob("*.rlog"))))
        assert len(images) == 1
        assert back.event_store("default").highest_sequence("a") == 149
        await back.event_store("default").append_events([event("a", 150)])  # and it takes part again
        for r in (n1, n2, back):
            await r.stop()

    asyncio.run(scenario())


def test_join_is_idempotent_for_the_same_node() -> None:
    import json

    from ranvier.cluster.admin import AdminStateMachine

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        fsm = AdminStateMachine(Path(tmp) / "config.json")
        me = {"name": "n1", "host_name": "h", "grpc_port": 1, "http_port": 2, "internal_host_name": "h",
              "grpc_internal_port": 3}
        fsm.apply(1, command("register_node", node=me))
        fsm.apply(2, command("create_context", name=ADMIN, members={"n1": "PRIMARY"}))
        joiner = {**me, "name": "n2", "grpc_internal_port": 4}
        first = fsm.apply(3, command("join_node", node=joiner, contexts=None))
        again = fsm.apply(4, command("join_node", node=joiner, contexts=None))
        assert first == again and len(json.loads(json.dumps(again))) == 2
        impostor = {**joiner, "grpc_internal_port": 9}
        try:
            fsm.apply(5, command("join_node", node=impostor, contexts=None))
        except Exception as exc:  # noqa: BLE001
            assert "already a member" in str(exc)
        else:
            raise AssertionError("a different node with the same name was accepted")
