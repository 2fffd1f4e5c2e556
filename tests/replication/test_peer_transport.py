"""The node-to-node transport on the internal port: the Raft message codec, three
replicas of a context talking over real gRPC on loopback, forwarded proposals,
log copies, and a peer that is down."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from pathlib import Path

import grpc
import pytest
from axonclient.protos.common_pb2 import SerializedObject
from axonclient.protos.event_pb2 import Event
from hypothesis import given, settings
from hypothesis import strategies as st

from ranvier.cluster.peer import GrpcTransport, PeerUnavailable
from ranvier.cluster.peer_codec import (
    decode_batch,
    encode_batch,
    error_code,
    message_from_pb,
    message_to_pb,
)
from ranvier.cluster.peer_server import GroupRouter, PeerServer, read_log_bytes
from ranvier.errors import ErrorCode, InvalidSequence, RanvierError
from ranvier.eventstore import AppendResult, Command, ContextEventStore, ContextStore, StoreOptions, encode_command
from ranvier.eventstore.records import KIND_EVENTS
from ranvier.raft import ConfState, Entry, EntryType, Message, MessageType, SnapshotMetadata
from ranvier.replication.context_fsm import ContextStateMachine, RaftWriter
from ranvier.replication.driver import GroupDriver, Timing, bootstrap
from ranvier.replication.log_store import DurableLog

FAST = Timing(tick_s=0.01, election_tick=10, heartbeat_tick=1, wait_for_leader_s=5)
VOTERS = frozenset({1, 2, 3})
U64 = st.integers(0, 2**64 - 1)

# ---------------------------------------------------------------- (a) the codec

entries = st.builds(Entry, U64, U64, st.binary(max_size=64), st.sampled_from(EntryType))
ids = st.frozensets(U64, max_size=5)
snapshots = st.none() | st.builds(
    SnapshotMetadata, U64, U64, st.builds(ConfState, ids, ids)
)


@st.composite
def messages(draw: st.DrawFn, kind: MessageType | None = None) -> Message:
    return Message(
        type=kind if kind is not None else draw(st.sampled_from(MessageType)),
        to=draw(U64),
        from_=draw(U64),
        term=draw(U64),
        log_term=draw(U64),
        index=draw(U64),
        entries=tuple(draw(st.lists(entries, max_size=4))),
        commit=draw(U64),
        reject=draw(st.booleans()),
        reject_hint=draw(U64),
        context=draw(st.binary(max_size=32)),
        snapshot=draw(snapshots),
        offset=draw(U64),
        chunk=draw(st.binary(max_size=64)),
        done=draw(st.booleans()),
    )


@pytest.mark.parametrize("kind", list(MessageType), ids=lambda k: k.name)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_codec_round_trips_every_field(kind: MessageType, data: st.DataObject) -> None:
    message = data.draw(messages(kind))
    wire = message_to_pb(message).SerializeToString()
    back = message_from_pb(type(message_to_pb(message)).FromString(wire))
    assert back == message
    assert back.type is kind and all(type(e.type) is EntryType for e in back.entries)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["default", "_admin", "c3"]), messages()), max_size=12))
def test_batches_keep_each_groups_order(items: list[tuple[str, Message]]) -> None:
    from ranvier._pb import peer_pb2

    batch = peer_pb2.Batch.FromString(encode_batch(1, 2, items).SerializeToString())
    assert (batch.from_node, batch.to_node) == (1, 2)
    back = list(decode_batch(batch))
    for group in {g for g, _m in items}:
        assert [m for g, m in back if g == group] == [m for g, m in items if g == group]
    assert len(back) == len(items)


def test_error_codes_by_axoniq_string() -> None:
    assert error_code("AXONIQ-2000") is ErrorCode.INVALID_SEQUENCE
    assert error_code("AXONIQ-0001") is ErrorCode.OTHER
    assert error_code("AXONIQ-0001", "INVALID_MESSAGE") is ErrorCode.INVALID_MESSAGE
    assert error_code("AXONIQ-2000", "INVALID_MESSAGE") is ErrorCode.INVALID_SEQUENCE  # name must agree
    assert error_code("AXONIQ-9999") is ErrorCode.OTHER


# ---------------------------------------------------------------- three nodes over gRPC


def event(agg: str, seq: int) -> bytes:
    return Event(aggregate_identifier=agg, aggregate_sequence_number=seq, aggregate_type="A",
                 payload=SerializedObject(type="T", data=b"d" * 32)).SerializeToString()


def encode_result(result: object) -> bytes:
    assert isinstance(result, AppendResult)
    return struct.pack(">QQQ", result.log_index, result.first_token, result.count)


class Node:
    """One node: a peer server on its own loopback port, a GrpcTransport, and one
    replica of the `default` context."""

    def __init__(self, root: Path, node_id: int, addresses: dict[int, str]) -> None:
        self.root, self.node_id, self.addresses = root, node_id, addresses
        self.router = GroupRouter()
        self.unreachable: list[tuple[str, int]] = []
        self.transport = GrpcTransport(node_id, addresses.get,
                                       lambda g, n: self.unreachable.append((g, n)))
        self.server = PeerServer(self.router.deliver, self.propose, self.read_log, node_id=node_id)

    async def start_server(self) -> None:
        port = await self.server.start("127.0.0.1", 0)
        self.addresses[self.node_id] = f"127.0.0.1:{port}"

    def start_replica(self) -> None:
        loop = asyncio.get_running_loop()
        self.store = ContextStore.open("default", self.root / "events", StoreOptions(), loop.call_soon_threadsafe)
        log_store = DurableLog(self.root / "raft")
        bootstrap(log_store, VOTERS)
        self.driver = GroupDriver("default", self.node_id, log_store, ContextStateMachine(self.store),
                                  self.transport, FAST, random.Random(self.node_id))
        self.router.register("default", self.driver)
        self.service = ContextEventStore(self.store, RaftWriter(self.driver), 1 << 20)
        self.driver.start()

    async def propose(self, group: str, data: bytes) -> bytes:
        assert group == "default"
        return encode_result(await self.driver.propose(data))

    def read_log(self, context: str, position: int, max_bytes: int) -> bytes:
        assert context == "default"
        return read_log_bytes(self.store.log, position, max_bytes, self.store.visible_end)

    def segment_bytes(self) -> bytes:
        self.store.sync()
        return b"".join(p.read_bytes() for p in sorted((self.root / "events").glob("*.rlog")))

    async def stop(self) -> None:
        self.router.unregister("default")
        await self.service.close()
        await self.transport.close()
        await self.server.stop(0)


async def wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def leader(nodes: list[Node]) -> Node | None:
    leaders = [n for n in nodes if n.driver.is_leader]
    return leaders[0] if len(leaders) == 1 else None


def test_three_nodes_over_grpc_replicate_forward_and_copy_logs(tmp_path: Path) -> None:
    async def scenario() -> None:
        addresses: dict[int, str] = {}
        nodes = [Node(tmp_path / f"n{i}", i, addresses) for i in (1, 2, 3)]
        for n in nodes:
            await n.start_server()
        for n in nodes:
            n.start_replica()
        try:
            await wait_for(lambda: leader(nodes) is not None and all(
                n.driver.leader_id == leader(nodes).node_id for n in nodes))  # type: ignore[union-attr]
            first = leader(nodes)
            assert first is not None

            # (b) appends through the leader reach every store, byte for byte.
            for seq in range(30):
                result = await first.service.append_events([event("a", seq), event(f"x{seq}", 0)])
                assert result.first_token == 2 * seq
            with pytest.raises(InvalidSequence):
                await first.service.append_events([event("a", 5)])
            await wait_for(lambda: all(n.store.visible_next_token == 60 for n in nodes))
            assert len({n.segment_bytes() for n in nodes}) == 1
            assert sum(n.transport.stats(p).sent_batches for n in nodes for p in (1, 2, 3)) > 0

            # (c) a follower forwards a proposal to the leader and gets its result...
            follower = next(n for n in nodes if n is not first)
            data = encode_command(Command(KIND_EVENTS, (event("a", 30), event("b", 0))))
            answer = await follower.transport.forward(first.node_id, "default", data)
            assert struct.unpack(">QQQ", answer)[1:] == (60, 2)
            # ...or its error, with the same Axon code.
            bad = encode_command(Command(KIND_EVENTS, (event("a", 7),)))
            with pytest.raises(RanvierError) as info:
                await follower.transport.forward(first.node_id, "default", bad)
            assert info.value.code is ErrorCode.INVALID_SEQUENCE
            assert info.value.code.code == "AXONIQ-2000"
            # A follower refuses: the caller learns who leads.
            with pytest.raises(RanvierError) as info:
                await first.transport.forward(follower.node_id, "default", data)
            assert info.value.code is ErrorCode.NO_LEADER_AVAILABLE
            assert getattr(info.value, "leader_id", None) == first.node_id
            await wait_for(lambda: all(n.store.visible_next_token == 62 for n in nodes))
            assert len({n.segment_bytes() for n in nodes}) == 1

            # (d) FetchLog: exactly the leader's segment bytes between two positions.
            whole = first.segment_bytes()
            start, end = 100, len(whole) - 50
            chunks = [c async for c in follower.transport.fetch_log(first.node_id, "default", start, end,
                                                                    chunk_bytes=1000)]
            assert len(chunks) > 1 and all(len(c) <= 1000 for c in chunks)
            assert b"".join(chunks) == whole[start:end]
            everything = [c async for c in follower.transport.fetch_log(first.node_id, "default", 0)]
            assert b"".join(everything) == whole
            with pytest.raises(RanvierError) as info:
                async for _c in follower.transport.fetch_log(first.node_id, "default", 0, len(whole) + 10):
                    pass
            assert info.value.code is ErrorCode.DATAFILE_READ_ERROR
            with pytest.raises(PeerUnavailable):
                await follower.transport.forward(99, "default", data)
        finally:
            for n in nodes:
                await n.stop()

    asyncio.run(scenario())


def test_fetch_log_crosses_segment_boundaries(tmp_path: Path) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        store = ContextStore.open("c", tmp_path / "events", StoreOptions(segment_size=4096), loop.call_soon_threadsafe)
        for i in range(200):
            store.apply(i + 1, Command(KIND_EVENTS, (event(f"g{i}", 0),)))
        store.publish()
        store.sync()
        files = sorted((tmp_path / "events").glob("*.rlog"))
        assert len(files) > 2
        whole = b"".join(p.read_bytes() for p in files)
        seen: list[str] = []

        class Recorder(grpc.aio.ServerInterceptor):  # the slot for the internal token check
            async def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
                seen.append(details.method)
                return await continuation(details)

        server = PeerServer(lambda g, m: None, None, lambda c, pos, n: read_log_bytes(store.log, pos, n),
                            chunk_bytes=1500, interceptors=[Recorder()])
        port = await server.start("127.0.0.1", 0)
        transport = GrpcTransport(2, {1: f"127.0.0.1:{port}"}.get)
        try:
            for start, end in ((0, len(whole)), (4000, 9000), (len(whole) - 1, len(whole))):
                got = b"".join([c async for c in transport.fetch_log(1, "c", start, end)])
                assert got == whole[start:end]
            assert seen == ["/ranvier.peer.PeerService/FetchLog"] * 3
        finally:
            await transport.close()
            await server.stop(0)
            store.close()

    asyncio.run(scenario())


# ---------------------------------------------------------------- a peer that is down


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_peer_that_is_down_costs_nothing_and_is_reached_once_up() -> None:
    async def scenario() -> None:
        port = free_port()
        unreachable: list[tuple[str, int]] = []
        transport = GrpcTransport(1, lambda n: f"127.0.0.1:{port}" if n == 2 else None,
                                  lambda g, n: unreachable.append((g, n)), max_queue=100)
        heartbeat = Message(MessageType.HEARTBEAT, to=2, from_=1, term=3, commit=7)
        loop = asyncio.get_running_loop()
        try:
            began = loop.time()
            for _ in range(10_000):
                transport.send("default", heartbeat)
            assert loop.time() - began < 1.0  # never blocks
            assert transport.queued(2) <= 100
            await wait_for(lambda: ("default", 2) in unreachable)
            stats = transport.stats(2)
            assert stats.dropped_overflow + stats.dropped_unreachable >= 9_900
            assert not transport.is_connected(2)

            # The peer starts: messages flow, without anyone reconnecting by hand.
            received: list[tuple[str, Message]] = []
            server = PeerServer(lambda g, m: received.append((g, m)) or (g == "default"), node_id=2)
            await server.start("127.0.0.1", port)

            async def keep_sending() -> None:
                while True:
                    transport.send("default", heartbeat)
                    transport.send("unknown", heartbeat)
                    await asyncio.sleep(0.02)

            sender = asyncio.create_task(keep_sending())
            try:
                await wait_for(lambda: ("default", heartbeat) in received and ("unknown", heartbeat) in received)
                await wait_for(lambda: server.servicer.unknown_group_drops > 0)
                assert transport.is_connected(2)
            finally:
                sender.cancel()
                await server.stop(0)

            # A server that is another node refuses the stream: the sender treats it as unreachable.
            unreachable.clear()
            wrong: list[Message] = []
            other = PeerServer(lambda g, m: wrong.append(m) or True, node_id=3)
            await other.start("127.0.0.1", port)
            try:
                await wait_for(lambda: (transport.send("default", heartbeat), other.servicer.refused_streams)[1] > 0)
                unreachable.clear()
                await wait_for(lambda: (transport.send("default", heartbeat), ("default", 2) in unreachable)[1])
                assert wrong == []
            finally:
                await other.stop(0)
        finally:
            await transport.close()

    asyncio.run(scenario())


# ---------------------------------------------------------------- forwarding in batches


def _counting_server(node_id: int, propose, batch: bool = True) -> tuple[PeerServer, dict[str, int]]:  # type: ignore[no-untyped-def]
    """A peer server whose Forward/ForwardBatch calls are counted; `batch=False`
    answers ForwardBatch as a node that predates it does (UNIMPLEMENTED)."""
    server = PeerServer(lambda g, m: True, propose, node_id=node_id)
    calls = {"Forward": 0, "ForwardBatch": 0}
    servicer = server.servicer
    forward, forward_batch = servicer.Forward, servicer.ForwardBatch

    async def counted_forward(request, context):  # type: ignore[no-untyped-def]
        calls["Forward"] += 1
        return await forward(request, context)

    async def counted_batch(request, context):  # type: ignore[no-untyped-def]
        calls["ForwardBatch"] += 1
        if not batch:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        return await forward_batch(request, context)

    servicer.Forward, servicer.ForwardBatch = counted_forward, counted_batch  # type: ignore[method-assign]
    return server, calls


@pytest.mark.parametrize("batch", [True, False], ids=["batched", "older-peer"])
def test_forwards_of_one_turn_share_a_call_and_keep_their_order(batch: bool) -> None:
    async def scenario() -> None:
        proposed: list[bytes] = []

        async def propose(group: str, data: bytes) -> bytes:
            assert group == "default"
            proposed.append(data)
            if data == b"bad":
                raise InvalidSequence("sequence 7 is not the next one")
            return b"ok:" + data

        server, calls = _counting_server(2, propose, batch)
        port = await server.start("127.0.0.1", 0)
        transport = GrpcTransport(1, lambda n: f"127.0.0.1:{port}" if n == 2 else None)
        try:
            outcomes = await asyncio.gather(*(transport.forward(2, "default", d) for d in (b"a", b"bad", b"c")),
                                            return_exceptions=True)
            assert outcomes[0] == b"ok:a" and outcomes[2] == b"ok:c"
            assert isinstance(outcomes[1], RanvierError) and outcomes[1].code is ErrorCode.INVALID_SEQUENCE
            assert proposed == [b"a", b"bad", b"c"]
            assert calls == ({"Forward": 0, "ForwardBatch": 1} if batch else {"Forward": 3, "ForwardBatch": 1})
            # A lone proposal takes the plain call; an older peer is not asked to batch again.
            assert await transport.forward(2, "default", b"d") == b"ok:d"
            await asyncio.gather(transport.forward(2, "default", b"e"), transport.forward(2, "default", b"f"))
            assert calls == ({"Forward": 1, "ForwardBatch": 2} if batch else {"Forward": 6, "ForwardBatch": 1})
        finally:
            await transport.close()
            await server.stop(0)

    asyncio.run(scenario())


def test_forwards_to_a_node_that_is_down_fail_each_as_undelivered() -> None:
    async def scenario() -> None:
        port = free_port()
        transport = GrpcTransport(1, lambda n: f"127.0.0.1:{port}" if n == 2 else None, forward_timeout_s=2.0)
        try:
            outcomes = await asyncio.gather(*(transport.forward(2, "default", d) for d in (b"a", b"b")),
                                            return_exceptions=True)
            assert all(isinstance(o, PeerUnavailable) and not o.maybe_delivered for o in outcomes), outcomes
            assert outcomes[0] is not outcomes[1]
        finally:
            await transport.close()

    asyncio.run(scenario())
