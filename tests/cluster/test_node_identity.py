"""A node whose data directory is wiped comes back under its old name: the cluster
refuses it (register-node and its Raft traffic) until an operator unregisters the
old node; then it registers as a new member and catches up byte for byte."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from uuid import uuid4

import grpc
import pytest
from axonclient.client import AxonClient, AxonEvent

from ranvier._pb import peer_pb2, peer_pb2_grpc
from ranvier.cluster.admin import node_id_of
from ranvier.cluster.identity import INCARNATION_FILE
from ranvier.raft import MessageType
from ranvier.testing.cluster import cli, cluster_nodes, form_cluster, get_json, group_status, wait_until
from ranvier.testing.nodes import NodeProcess


def event(agg: str, seq: int) -> AxonEvent:
    return AxonEvent(aggregate_identifier=agg, aggregate_sequence_number=seq, aggregate_type="Order",
                     payload_type="OrderEvent", payload_data=b"x" * 64)


def segments(node: NodeProcess, context: str = "default") -> bytes:
    return b"".join(p.read_bytes() for p in sorted((node.data_dir / context).glob("*.rlog")))


def last_token(node: NodeProcess) -> int:
    return int(AxonClient(node.grpc_address).get_last_token())


def incarnation(node: NodeProcess) -> str:
    return (node.workdir / node.name / "log" / INCARNATION_FILE).read_text().strip()


def impersonate(target: NodeProcess, name: str, incarnation_: str, term: int) -> grpc.StatusCode:
    """Send `target` one Raft heartbeat of a far higher term as `name` with
    `incarnation_`; the status the stream ends with."""
    async def send() -> grpc.StatusCode:
        sender = node_id_of(name, incarnation_)
        heartbeat = peer_pb2.RaftMessage(type=MessageType.HEARTBEAT, to=0, from_node=sender, term=term)
        batch = peer_pb2.Batch(from_node=sender, groups=[peer_pb2.GroupMessages(group="_admin", messages=[heartbeat])],
                               sender=peer_pb2.Sender(name=name, incarnation=incarnation_))
        async with grpc.aio.insecure_channel(f"127.0.0.1:{target.internal_port}") as channel:
            try:
                await peer_pb2_grpc.PeerServiceStub(channel).Stream(iter([batch]), timeout=10)
            except grpc.aio.AioRpcError as exc:
                return exc.code()
        return grpc.StatusCode.OK

    return asyncio.run(send())


@pytest.mark.cluster
def test_a_wiped_node_is_refused_until_unregistered_then_rejoins(tmp_path: Path) -> None:
    nodes = cluster_nodes(tmp_path, ["n1", "n2", "n3"])
    n1, n2, n3 = nodes
    try:
        form_cluster(nodes)
        old = incarnation(n3)
        agg = str(uuid4())
        AxonClient(n1.grpc_address).append_event([event(agg, s) for s in range(5)])
        wait_until(lambda: all(last_token(n) == 4 for n in nodes), 30, "every replica has the events", nodes)

        # n3 loses its disk and comes back under its name with an empty directory.
        n3.stop()
        shutil.rmtree(tmp_path / "n3" / "data")
        shutil.rmtree(tmp_path / "n3" / "log")
        n3.start()
        new = incarnation(n3)
        assert new != old

        joined = cli("register-node", "-S", n3.http_url, "-h", "127.0.0.1", "-p", str(n1.internal_port))
        assert joined.returncode != 0
        assert "AXONIQ-2306" in joined.stderr, joined.stderr
        assert "node n3 is registered in this cluster with other data" in joined.stderr
        assert "ranvier-cli unregister-node -n n3" in joined.stderr

        # The others carry on without it.
        AxonClient(n2.grpc_address).append_event([event(agg, 5)])
        wait_until(lambda: last_token(n1) == last_token(n2) == 5, 30, "n1 and n2 serve", [n1, n2])

        # Raft traffic in n3's name with the new data is refused before any group sees
        # it: a heartbeat of a far higher term would otherwise move n1's term.
        term = int(group_status(n1, "_admin")["term"])  # type: ignore[call-overload]
        assert impersonate(n1, "n3", new, term + 100) == grpc.StatusCode.FAILED_PRECONDITION
        assert int(group_status(n1, "_admin")["term"]) < term + 100  # type: ignore[call-overload]
        assert "refused node n3 (incarnation " + new in n1.log_tail(400)
        assert group_status(n3, "_admin") == {}  # and n3 opened no group of its own

        # The operator unregisters the old n3; the new one registers and catches up.
        done = cli("unregister-node", "-S", n1.http_url, "-n", "n3")
        assert done.returncode == 0, done.stderr
        wait_until(lambda: all(group_status(n, g).get("voters") == ["n1", "n2"] for n in (n1, n2)
                               for g in ("_admin", "default")), 30, "the old n3 removed from every group", nodes)
        joined = cli("register-node", "-S", n3.http_url, "-h", "127.0.0.1", "-p", str(n1.internal_port))
        assert joined.returncode == 0, joined.stderr
        wait_until(lambda: all(group_status(n, g).get("voters") == ["n1", "n2", "n3"] for n in nodes
                               for g in ("_admin", "default")), 60, "the new n3 a voter everywhere", nodes)
        recorded = {r["name"] for r in get_json(n1.http_url + "/v1/cluster")}  # type: ignore[union-attr]
        assert recorded == {"n1", "n2", "n3"}
        assert f'"incarnation": "{new}"' in (tmp_path / "n1" / "log" / "_admin" / "config.json").read_text()

        AxonClient(n3.grpc_address).append_event([event(agg, 6)])  # forwarded to the leader
        wait_until(lambda: all(last_token(n) == 6 for n in nodes), 60, "n3 caught up", nodes)
        assert [e.aggregate_sequence_number for e in AxonClient(n3.grpc_address).list_aggregate_events(agg, 0, False)] \
            == list(range(7))
        assert len({segments(n) for n in nodes}) == 1
    finally:
        for node in nodes:
            node.kill()
