"""Node incarnations: the file, the `_admin` rules for a name that comes back with
other data, the Raft ids, the runtime's view of itself and its peers, and the
internal port refusing a sender registered with other data."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import grpc
import pytest

from ranvier.cluster import identity
from ranvier.cluster.admin import ADMIN, AdminStateMachine, ClusterConfiguration, NodeRecord, command, node_id_of
from ranvier.cluster.peer import GrpcTransport
from ranvier.cluster.peer_server import PeerServer
from ranvier.cluster.runtime import ClusterRuntime
from ranvier.errors import ErrorCode, RanvierError
from ranvier.eventstore import StoreOptions
from ranvier.raft import Message, MessageType
from ranvier.replication.driver import Timing
from ranvier.replication.transport import LoopbackTransport

OLD, NEW = "a" * 32, "b" * 32


def node(name: str, incarnation: str, port: int = 3) -> dict[str, object]:
    return {"name": name, "host_name": "h", "grpc_port": 1, "http_port": 2, "internal_host_name": "h",
            "grpc_internal_port": port, "incarnation": incarnation}


def founded(tmp_path: Path) -> AdminStateMachine:
    """n1 founded a cluster with `_admin` and `default`; n2 (incarnation OLD) joined."""
    fsm = AdminStateMachine(tmp_path / "config.json")
    fsm.apply(1, command("register_node", node=node("n1", "1" * 32)))
    fsm.apply(2, command("create_context", name=ADMIN, members={"n1": "PRIMARY"}))
    fsm.apply(3, command("create_context", name="default", members={"n1": "PRIMARY"}))
    fsm.apply(4, command("join_node", node=node("n2", OLD, 4), contexts=None))
    return fsm


# ---------------------------------------------------------------- the incarnation file


def test_incarnation_is_created_once_and_kept(tmp_path: Path) -> None:
    first = identity.load_or_create(tmp_path / "log")
    assert len(first) == 32 and int(first, 16) >= 0
    assert (tmp_path / "log" / identity.INCARNATION_FILE).read_text() == first + "\n"
    assert identity.load_or_create(tmp_path / "log") == first
    assert not list((tmp_path / "log").glob("*.tmp"))
    assert identity.load_or_create(tmp_path / "other") != first


def test_state_from_before_incarnations_keeps_running_without_one(tmp_path: Path) -> None:
    (tmp_path / ADMIN).mkdir()
    assert identity.load_or_create(tmp_path) == ""
    assert not (tmp_path / identity.INCARNATION_FILE).exists()


def test_a_damaged_incarnation_file_stops_the_node(tmp_path: Path) -> None:
    (tmp_path / identity.INCARNATION_FILE).write_text("not hex\n")
    with pytest.raises(identity.IdentityError, match="32 hex digits"):
        identity.load_or_create(tmp_path)


def test_raft_ids_differ_per_incarnation_and_stay_name_derived_without_one() -> None:
    assert node_id_of("n3", OLD) != node_id_of("n3", NEW) != node_id_of("n3")
    assert NodeRecord(**node("n3", "")).raft_id == node_id_of("n3")  # type: ignore[arg-type]
    assert NodeRecord(**node("n3", OLD)).raft_id == node_id_of("n3", OLD)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the _admin rules


def test_rejoining_with_the_same_incarnation_is_idempotent(tmp_path: Path) -> None:
    fsm = founded(tmp_path)
    again = fsm.apply(5, command("join_node", node=node("n2", OLD, 4), contexts=None))
    assert [r["name"] for r in again] == ["n1", "n2"]  # type: ignore[index, union-attr]
    assert fsm.config.nodes["n2"].incarnation == OLD


def test_joining_under_a_registered_name_with_other_data_is_refused(tmp_path: Path) -> None:
    fsm = founded(tmp_path)
    with pytest.raises(RanvierError) as refused:
        fsm.apply(5, command("join_node", node=node("n2", NEW, 4), contexts=None))
    assert refused.value.code == ErrorCode.ALREADY_MEMBER_OF_CLUSTER
    assert "node n2 is registered" in refused.value.message
    assert "ranvier-cli unregister-node -n n2" in refused.value.message
    assert fsm.config.nodes["n2"].incarnation == OLD  # nothing changed


def test_same_data_at_another_address_is_still_refused(tmp_path: Path) -> None:
    fsm = founded(tmp_path)
    with pytest.raises(RanvierError, match="already a member"):
        fsm.apply(5, command("join_node", node=node("n2", OLD, 9), contexts=None))


def test_after_unregister_a_new_incarnation_joins_and_is_no_founder(tmp_path: Path) -> None:
    fsm = founded(tmp_path)
    fsm.apply(5, command("create_context", name="orders", members={"n1": "PRIMARY", "n2": "PRIMARY"}))
    fsm.apply(6, command("unregister_node", name="n2"))
    assert fsm.config.contexts["orders"].founders == ["n1"]
    fsm.apply(7, command("join_node", node=node("n2", NEW, 4), contexts=None))
    assert fsm.config.nodes["n2"].incarnation == NEW
    assert fsm.config.raft_id("n2") == node_id_of("n2", NEW)
    assert "n2" in fsm.config.contexts["orders"].members
    assert fsm.config.contexts["orders"].founders == ["n1"]  # it starts empty and is caught up


def test_a_configuration_from_before_incarnations_loads_and_protects_its_names(tmp_path: Path) -> None:
    legacy = {"nodes": {"n2": {k: v for k, v in node("n2", "", 4).items() if k != "incarnation"}},
              "contexts": {ADMIN: {"name": ADMIN, "members": {"n2": "PRIMARY"}, "founders": ["n2"]}}}
    (tmp_path / "config.json").write_text(json.dumps({"applied": 3, "config": legacy}))
    fsm = AdminStateMachine(tmp_path / "config.json")
    assert fsm.config.nodes["n2"].incarnation == ""
    assert fsm.config.raft_id("n2") == node_id_of("n2")
    # The old node itself (no incarnation either) is the same node...
    fsm.apply(4, command("join_node", node=node("n2", "", 4), contexts=None))
    # ...but nothing proves a node with an incarnation holds the old data.
    with pytest.raises(RanvierError, match="unregister-node -n n2"):
        fsm.apply(5, command("join_node", node=node("n2", NEW, 4), contexts=None))
    assert ClusterConfiguration.from_json(fsm.config.to_json()) == fsm.config


def test_removing_a_founder_from_a_context_makes_it_start_empty_when_added_back(tmp_path: Path) -> None:
    fsm = founded(tmp_path)
    fsm.apply(5, command("create_context", name="orders", members={"n1": "PRIMARY", "n2": "PRIMARY"}))
    fsm.apply(6, command("delete_node_from_context", context="orders", node="n2"))
    fsm.apply(7, command("add_node_to_context", context="orders", node="n2", role="PRIMARY"))
    assert fsm.config.contexts["orders"].founders == ["n1"]


# ---------------------------------------------------------------- the runtime's checks


def runtime(root: Path, name: str) -> ClusterRuntime:
    me = NodeRecord(name, "127.0.0.1", 0, 0, "127.0.0.1", 0)
    return ClusterRuntime(me, root / "events", root / "raft", LoopbackTransport(), _no_forward, Timing(),
                          StoreOptions(), 1 << 20)


async def _no_forward(node_id: int, group: str, data: bytes) -> bytes:
    raise AssertionError("not used")


def test_runtime_takes_its_incarnation_and_judges_peers_by_the_configuration(tmp_path: Path) -> None:
    r = runtime(tmp_path, "n1")
    assert len(r.me.incarnation) == 32 and r.my_id == node_id_of("n1", r.me.incarnation)
    assert runtime(tmp_path, "n1").me.incarnation == r.me.incarnation  # a restart: the same node
    fsm = r.admin_fsm
    fsm.apply(1, command("register_node", node=r.me.__dict__))
    fsm.apply(2, command("join_node", node=node("n2", OLD), contexts=None))
    assert r.registered_as_me() and r.identity_conflict is None
    assert r.check_peer("n2", OLD) is None
    assert r.check_peer("n9", NEW) is None  # not registered (yet): a joining node
    refused = r.check_peer("n2", NEW)
    assert refused is not None and "unregister-node -n n2" in refused.message


def test_a_node_whose_configuration_names_other_data_joins_no_group(tmp_path: Path) -> None:
    r = runtime(tmp_path, "n1")
    (tmp_path / "raft" / ADMIN).mkdir(parents=True)
    r.admin_fsm.apply(1, command("register_node", node=node("n1", OLD)))
    r.admin_fsm.listeners.clear()  # no event loop here to reconcile on
    r.admin_fsm.applied_batch()
    (tmp_path / "raft" / identity.INCARNATION_FILE).unlink()  # lost: the state is no longer vouched for
    again = runtime(tmp_path, "n1")
    assert again.me.incarnation == "" and again.identity_conflict is not None
    assert not again.registered_as_me()

    async def start() -> None:
        await again.start()
        try:
            assert again.admin is None and again.contexts == {}
        finally:
            await again.stop()

    asyncio.run(start())


# ---------------------------------------------------------------- the internal port


def test_the_internal_port_refuses_a_sender_registered_with_other_data() -> None:
    async def scenario() -> None:
        received: list[Message] = []

        def check(name: str, incarnation: str) -> RanvierError | None:
            if name == "n3" and incarnation != OLD:
                return RanvierError("node n3 is registered with other data", ErrorCode.ALREADY_MEMBER_OF_CLUSTER)
            return None

        server = PeerServer(lambda g, m: received.append(m) or True, node_id=1, check_peer=check)
        port = await server.start("127.0.0.1", 0)
        address = {1: f"127.0.0.1:{port}"}.get
        impostor = GrpcTransport(3, address, name="n3", incarnation=NEW)
        genuine = GrpcTransport(3, address, name="n3", incarnation=OLD)
        vote = Message(MessageType.VOTE, to=1, from_=3, term=99)
        try:
            await until(lambda: (impostor.send("_admin", vote), server.servicer.refused_impostors)[1] >= 3)
            assert received == []
            forwarded = impostor.forward(1, "_admin", b"{}")
            with pytest.raises(RanvierError, match="other data") as error:
                await forwarded
            assert error.value.code == ErrorCode.ALREADY_MEMBER_OF_CLUSTER
            with pytest.raises(RanvierError, match="other data"):
                async for _chunk in impostor.fetch_log(1, "default", 0, 10):
                    pass
            await until(lambda: (genuine.send("_admin", vote), len(received))[1] > 0)
        finally:
            await impostor.close()
            await genuine.close()
            await server.stop(0)

    asyncio.run(scenario())


async def until(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_fetch_log_refusal_is_failed_precondition() -> None:
    """The status a sender sees, for operators reading its logs."""
    async def scenario() -> None:
        server = PeerServer(lambda g, m: True, None, lambda c, p, n: b"",
                            check_peer=lambda n, i: RanvierError("no", ErrorCode.ALREADY_MEMBER_OF_CLUSTER))
        port = await server.start("127.0.0.1", 0)
        from ranvier._pb import peer_pb2, peer_pb2_grpc

        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = peer_pb2_grpc.PeerServiceStub(channel).FetchLog(peer_pb2.FetchLogRequest(
                context="c", sender=peer_pb2.Sender(name="n3", incarnation=NEW)))
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                async for _chunk in call:
                    pass
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        await server.stop(0)

    asyncio.run(scenario())
