"""A real 3-node cluster on loopback: init-cluster, register-node, replicated appends
through the leader and a follower, byte-identical replicas, and a leader kill."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from axonclient.client import AxonClient, AxonEvent

from ranvier.testing import cluster as harness
from ranvier.testing.cluster import cli, form_cluster, get_json, group_status
from ranvier.testing.nodes import NodeProcess

_RUNNING: list[NodeProcess] = []  # the current cluster, for diagnostics on a timeout


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    harness.wait_until(condition, timeout, what, _RUNNING)


def event(agg: str, seq: int) -> AxonEvent:
    return AxonEvent(aggregate_identifier=agg, aggregate_sequence_number=seq, aggregate_type="Order",
                     payload_type="OrderEvent", payload_data=b"x" * 64)


def segments(node: NodeProcess, context: str = "default") -> bytes:
    return b"".join(p.read_bytes() for p in sorted((node.data_dir / context).glob("*.rlog")))


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[NodeProcess]]:
    nodes = harness.cluster_nodes(tmp_path, ["n1", "n2", "n3"])
    _RUNNING[:] = nodes
    try:
        form_cluster(nodes)
        yield nodes
    finally:
        for node in nodes:
            node.kill()


def test_three_nodes_replicate_and_survive_a_leader_kill(cluster: list[NodeProcess]) -> None:
    n1, n2, n3 = cluster
    contexts = get_json(n2.http_url + "/v1/public/context")
    assert [(c["context"], sorted(r["node"] for r in c["roles"])) for c in contexts] == [("default", ["n1", "n2", "n3"])]
    table = cli("contexts", "-S", n3.http_url).stdout
    assert "default" in table and "n2[PRIMARY]" in table

    agg = str(uuid4())
    leader_name = group_status(n1, "default")["leader"]
    leader = next(n for n in cluster if n.name == leader_name)
    follower = next(n for n in cluster if n.name != leader_name)
    AxonClient(leader.grpc_address).append_event([event(agg, 0), event(agg, 1)])
    AxonClient(follower.grpc_address).append_event([event(agg, 2)])  # forwarded to the leader
    # Read-your-writes on any node: an aggregate read waits for the leader's commit index.
    other = next(n for n in cluster if n not in (leader, follower))
    for _ in range(5):
        seq = len(AxonClient(other.grpc_address).list_aggregate_events(agg, 0, False))
        AxonClient(follower.grpc_address).append_event([event(agg, seq)])
        seen = AxonClient(other.grpc_address).list_aggregate_events(agg, 0, False)
        assert [e.aggregate_sequence_number for e in seen] == list(range(seq + 1))
    for node in cluster:
        wait_until(lambda n=node: AxonClient(n.grpc_address).get_last_token() == 7, what=f"{node.name} applied")
        assert [e.aggregate_sequence_number for e in AxonClient(node.grpc_address).list_aggregate_events(agg, 0, False)] == list(range(8))
    assert len({segments(n) for n in cluster}) == 1

    # kill -9 the leader: the other two elect a new one and keep accepting appends.
    leader.kill()
    rest = [n for n in cluster if n is not leader]
    try:
        wait_until(lambda: group_status(rest[0], "default").get("leader") not in (None, leader_name), what="new leader")
    except AssertionError:
        for n in rest:
            print(n.name, get_json(n.http_url + "/internal/raft/status"))
            print(n.log_tail(30))
        raise
    AxonClient(rest[0].grpc_address).append_event([event(agg, 8)])
    # The killed node comes back on its files, knows the full membership (not just
    # the founding member: a regression that let a restarted node elect itself), and
    # catches up.
    leader.start()
    assert group_status(leader, "default")["voters"] == ["n1", "n2", "n3"]
    assert group_status(leader, "_admin")["voters"] == ["n1", "n2", "n3"]
    for node in cluster:
        wait_until(lambda n=node: AxonClient(n.grpc_address).get_last_token() == 8, what=f"{node.name} caught up")
    assert len({segments(n) for n in cluster}) == 1


def test_concurrent_transactions_through_leader_and_follower_all_commit(cluster: list[NodeProcess]) -> None:
    """16 clients with a transaction each in flight at once: the replicated writer
    holds every one of them for the others (group commit) and must let all go.
    A single waiter slot in that hold once left all but one waiting forever."""
    leader_name = group_status(cluster[0], "default")["leader"]
    leader = next(n for n in cluster if n.name == leader_name)
    follower = next(n for n in cluster if n.name != leader_name)
    aggregates = [str(uuid4()) for _ in range(16)]

    finished: list[int] = []
    errors: list[BaseException] = []

    def client(i: int) -> None:
        node = leader if i % 2 == 0 else follower  # a follower forwards to the leader
        axon = AxonClient(node.grpc_address)
        try:
            for tx in range(8):
                axon.append_event([event(aggregates[i], tx * 5 + k) for k in range(5)])
            finished.append(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            axon.close_connection()

    # Daemon threads, so that a hang fails the test (the fixture then kills the
    # nodes, which ends the stuck calls) instead of blocking the suite.
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(aggregates))]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(finished) + len(errors) == len(threads), 120, "every client's transactions answered")
    assert not errors and sorted(finished) == list(range(len(threads)))
    reader = AxonClient(cluster[2].grpc_address)
    try:
        for agg in aggregates:
            seqs = [e.aggregate_sequence_number for e in reader.list_aggregate_events(agg, 0, False)]
            assert seqs == list(range(40)), agg
    finally:
        reader.close_connection()


def test_context_on_two_nodes_and_client_direction(cluster: list[NodeProcess]) -> None:
    import grpc
    from axonclient.protos import control_pb2, control_pb2_grpc

    n1, n2, n3 = cluster
    done = cli("register-context", "-S", n1.http_url, "-c", "orders", "-n", "n2,n3")
    assert done.returncode == 0, done.stderr
    wait_until(lambda: all(group_status(n, "orders").get("voters") == ["n2", "n3"] for n in (n2, n3)),
               what="orders on n2 and n3")
    assert group_status(n1, "orders") == {}

    def platform_server(node: NodeProcess) -> control_pb2.PlatformInfo:
        with grpc.insecure_channel(node.grpc_address) as channel:
            return control_pb2_grpc.PlatformServiceStub(channel).GetPlatformServer(
                control_pb2.ClientIdentification(client_id="c", component_name="app"),
                metadata=[("axoniq-context", "orders")])

    # n1 does not serve `orders`: it sends the client to a node that does.
    info = platform_server(n1)
    assert not info.same_connection
    assert info.primary.node_name in ("n2", "n3")
    assert info.primary.grpc_port in (n2.grpc_port, n3.grpc_port)
    assert platform_server(n2).same_connection

    # Appends on the directed node work; n1 answers AXONIQ-1400 for that context.
    agg = str(uuid4())
    target = n2 if info.primary.node_name == "n2" else n3
    with grpc.insecure_channel(target.grpc_address) as channel:
        from axonclient.protos import event_pb2_grpc

        stub = event_pb2_grpc.EventStoreStub(channel)
        stub.AppendEvent(iter([event(agg, 0).to_grpc()]), metadata=[("axoniq-context", "orders")])
    with grpc.insecure_channel(n1.grpc_address) as channel:
        from axonclient.protos import event_pb2, event_pb2_grpc

        with pytest.raises(grpc.RpcError) as refused:
            event_pb2_grpc.EventStoreStub(channel).GetLastToken(
                event_pb2.GetLastTokenRequest(), metadata=[("axoniq-context", "orders")])
    assert refused.value.details().startswith("[AXONIQ-1400]")

    # A client of `orders` connected to n3 keeps its control stream open.
    import queue
    import threading

    outbound: queue.Queue[control_pb2.PlatformInboundInstruction | None] = queue.Queue()
    outbound.put(control_pb2.PlatformInboundInstruction(
        register=control_pb2.ClientIdentification(client_id="app-1", component_name="app"), instruction_id="r1"))
    channel = grpc.insecure_channel(n3.grpc_address)
    stream = control_pb2_grpc.PlatformServiceStub(channel).OpenStream(
        iter(outbound.get, None), metadata=[("axoniq-context", "orders")])
    received: queue.Queue[control_pb2.PlatformOutboundInstruction] = queue.Queue()

    def drain() -> None:
        try:
            for message in stream:
                received.put(message)
        except grpc.RpcError:
            pass  # the channel closes at the end of the test

    threading.Thread(target=drain, daemon=True).start()
    assert received.get(timeout=10).ack.instruction_id == "r1"

    # Remove n3 from `orders`: its replica goes away, n2 carries on alone, and n3's
    # client of `orders` is told to reconnect.
    done = cli("delete-node-from-context", "-S", n1.http_url, "-c", "orders", "-n", "n3")
    assert done.returncode == 0, done.stderr
    wait_until(lambda: group_status(n2, "orders").get("voters") == ["n2"], what="n3 removed from orders")
    wait_until(lambda: not (n3.data_dir / "orders").exists(), what="n3's orders data removed")
    instruction = received.get(timeout=10)
    while instruction.WhichOneof("request") != "request_reconnect":
        instruction = received.get(timeout=10)
    outbound.put(None)
    channel.close()


def test_delete_context_removes_data_unless_preserved(cluster: list[NodeProcess]) -> None:
    n1, n2, n3 = cluster
    for name in ("keep", "drop"):
        done = cli("register-context", "-S", n1.http_url, "-c", name, "-n", "n1,n2,n3")
        assert done.returncode == 0, done.stderr
    wait_until(lambda: all(group_status(n, c).get("leader") for n in cluster for c in ("keep", "drop")),
               what="both contexts led")
    assert cli("delete-context", "-S", n2.http_url, "-c", "keep", "--preserve-event-store").returncode == 0
    assert cli("delete-context", "-S", n2.http_url, "-c", "drop").returncode == 0
    wait_until(lambda: all(group_status(n, c) == {} for n in cluster for c in ("keep", "drop")),
               what="both contexts stopped on every node")
    wait_until(lambda: not any((n.data_dir / "drop").exists() for n in cluster), what="drop's data removed")
    assert all((n.data_dir / "keep").exists() for n in cluster)
    names = [c["context"] for c in get_json(n3.http_url + "/v1/public/context")]  # type: ignore[union-attr]
    assert names == ["default"]
