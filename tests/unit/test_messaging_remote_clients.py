"""Connected applications across nodes without sockets: node A's `ClusterClients`
calls node B's, joined directly as `message_links` joins them over the internal
port. B has the control-stream clients; A lists them and instructs them."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from ranvier._pb import common_pb2, control_pb2
from ranvier._pb import peer_pb2 as pb
from ranvier.errors import ErrorCode, RanvierError
from ranvier.grpc_api.platform import ClientRegistry, ConnectedClient
from ranvier.messaging import ClusterClients, ManualClock, RemoteClient, concerns_clients


class Pair:
    """A (lists, instructs) and B (has the clients), one call from A to B."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.a_local, self.b_local = ClientRegistry(), ClientRegistry()
        self.a = ClusterClients("node-a", self.a_local, ManualClock())
        self.b = ClusterClients("node-b", self.b_local, self.clock)
        self.up: list[pb.RelayUp] = []
        self.peer = self.a.peer("node-b", self._down)
        self.session = self.b.open(self._up)

    def _down(self, item: pb.RelayDown) -> None:
        assert concerns_clients(item)
        self.session.receive(item)

    def _up(self, item: pb.RelayUp) -> None:
        assert concerns_clients(item)
        self.up.append(item)
        self.peer.receive(item)

    def connect(self, client_id: str, component: str = "billing") -> ConnectedClient:
        client = ConnectedClient(client_id, component, "default", "4.6", {"region": "eu"})
        self.b_local.add(client)
        return client

    def announced(self) -> list[tuple[str, bool, list[str]]]:
        """(client id, gone, processor names) of each ClientState sent up so far."""
        seen = [(i.client.client_id, i.client.gone,
                 [control_pb2.EventProcessorInfo.FromString(p).processor_name for p in i.client.processors])
                for i in self.up if i.WhichOneof("message") == "client"]
        self.up.clear()
        return seen

    def remote(self, client_id: str) -> RemoteClient:
        [client] = [c for c in self.a.find(client_id) if isinstance(c, RemoteClient)]
        return client


def processor(name: str, running: bool = True) -> control_pb2.EventProcessorInfo:
    return control_pb2.EventProcessorInfo(processor_name=name, running=running, mode="Tracking")


def pause(name: str = "ledger") -> control_pb2.PlatformOutboundInstruction:
    return control_pb2.PlatformOutboundInstruction(
        pause_event_processor=control_pb2.EventProcessorReference(processor_name=name))


async def application(registry: ClientRegistry, client: ConnectedClient, outcome: str) -> None:
    """A client answering its instructions: "ok", "refuse", "ack" (no result) or "silent"."""
    while True:
        sent = await client.outbound.get()
        if outcome in ("ok", "refuse"):
            registry.answered(client, common_pb2.InstructionResult(
                instruction_id=sent.instruction_id, success=outcome == "ok",
                error=common_pb2.ErrorMessage(message="not now") if outcome == "refuse" else None))
        elif outcome == "ack":
            registry.acknowledged(client, common_pb2.InstructionAck(instruction_id=sent.instruction_id, success=True))


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def test_clients_are_announced_when_the_call_opens_and_on_each_change() -> None:
    async def scenario() -> None:
        first = ClientRegistry()
        already = ConnectedClient("early", "billing", "default", "4.6", {})
        first.add(already)
        b = ClusterClients("node-b", first, ManualClock())
        a = ClusterClients("node-a", ClientRegistry(), ManualClock())
        peer = a.peer("node-b", lambda item: None)
        b.open(peer.receive)
        assert [(c.client_id, c.node_name) for c in a.all()] == [("early", "node-b")]

        pair = Pair()
        client = pair.connect("app-1")
        assert pair.announced() == [("app-1", False, [])]
        remote = pair.remote("app-1")
        assert (remote.component_name, remote.version, remote.tags) == ("billing", "4.6", {"region": "eu"})
        assert pair.a.node_of(remote) == "node-b"
        pair.b_local.remove(client)
        assert pair.announced() == [("app-1", True, [])]
        assert pair.a.all() == []

    run(scenario())


def test_processor_reports_are_announced_when_changed_at_most_once_per_interval() -> None:
    async def scenario() -> None:
        pair = Pair()
        client = pair.connect("app-1")
        pair.clock.advance(1)
        pair.announced()
        pair.b_local.report(client, processor("ledger"))
        assert pair.announced() == [("app-1", False, ["ledger"])]  # the first change goes at once
        pair.b_local.report(client, processor("ledger"))  # unchanged: not news
        pair.b_local.report(client, processor("ledger", running=False))
        pair.b_local.report(client, processor("audit"))
        assert pair.announced() == []  # within 0.5 s of the last announcement: held back
        pair.clock.advance(0.5)
        assert pair.announced() == [("app-1", False, ["audit", "ledger"])]  # the latest state, whole
        assert pair.remote("app-1").processors["ledger"].running is False
        pair.clock.advance(5)
        assert pair.announced() == []
        pair.b_local.report(client, processor("audit", running=False))
        pair.b_local.remove(client)  # leaving is never held back
        assert pair.announced() == [("app-1", False, ["audit", "ledger"]), ("app-1", True, [])]
        pair.clock.advance(1)
        assert pair.announced() == [] and pair.clock.pending == 0

    run(scenario())


def test_a_client_that_registers_again_replaces_its_old_stream() -> None:
    async def scenario() -> None:
        pair = Pair()
        old = pair.connect("app-1")
        new = pair.connect("app-1")
        assert [(c.client_id, c.stream_id) for c in pair.a.all()] == [("app-1", new.stream_id)]
        pair.b_local.remove(old)  # the old stream's teardown changes nothing
        assert [c.stream_id for c in pair.a.all()] == [new.stream_id]

    run(scenario())


@pytest.mark.parametrize(("outcome", "code"), [
    ("ok", None),
    ("refuse", ErrorCode.INSTRUCTION_EXECUTION_ERROR),
    ("ack", ErrorCode.INSTRUCTION_ACK_ONLY),
    ("silent", ErrorCode.INSTRUCTION_TIMEOUT),
])
def test_an_instruction_reaches_the_client_on_the_other_node_and_its_outcome_comes_back(
        outcome: str, code: ErrorCode | None) -> None:
    async def scenario() -> None:
        pair = Pair()
        client = pair.connect("app-1")
        app = asyncio.ensure_future(application(pair.b_local, client, outcome))
        remote = pair.remote("app-1")
        try:
            if code is None:
                await pair.a.instruct(remote, pause(), 0.05)
            else:
                with pytest.raises(RanvierError) as info:
                    await pair.a.instruct(remote, pause(), 0.05)
                assert info.value.code is code
                if outcome == "refuse":
                    assert "not now" in info.value.message
        finally:
            app.cancel()
        assert not client.pending and not pair.peer.waiting and not pair.session.tasks

    run(scenario())


def test_reconnect_is_sent_without_waiting_for_a_result() -> None:
    async def scenario() -> None:
        pair = Pair()
        client = pair.connect("app-1")
        reconnect = control_pb2.PlatformOutboundInstruction(request_reconnect=control_pb2.RequestReconnect())
        await pair.a.instruct(pair.remote("app-1"), reconnect, 5.0, await_result=False)
        assert client.outbound.get_nowait().WhichOneof("request") == "request_reconnect"

    run(scenario())


def test_an_instruction_for_a_client_that_left_fails_with_6001() -> None:
    async def scenario() -> None:
        pair = Pair()
        client = pair.connect("app-1")
        remote = pair.remote("app-1")
        pair.b_local.clients.clear()  # gone from B before B could tell A
        with pytest.raises(RanvierError) as info:
            await pair.a.instruct(remote, pause(), 1.0)
        assert info.value.code is ErrorCode.CLIENT_DISCONNECTED
        assert client.outbound.empty()

    run(scenario())


def test_a_lost_call_drops_the_nodes_clients_and_fails_what_waits() -> None:
    async def scenario() -> None:
        pair = Pair()
        local = ConnectedClient("mine", "billing", "default", "4.6", {})
        pair.a_local.add(local)
        pair.connect("app-1")
        waiting = asyncio.ensure_future(pair.a.instruct(pair.remote("app-1"), pause(), 5.0))
        await asyncio.sleep(0)  # sent; the client never answers
        assert [c.client_id for c in pair.a.all()] == ["mine", "app-1"]
        pair.peer.lost()
        pair.b.close(pair.session)
        with pytest.raises(RanvierError) as info:
            await waiting
        assert info.value.code is ErrorCode.CLIENT_DISCONNECTED
        assert pair.a.all() == [local] and pair.a.node_of(local) == "node-a"
        assert not pair.session.tasks and not pair.b.shared.sessions

    run(scenario())
