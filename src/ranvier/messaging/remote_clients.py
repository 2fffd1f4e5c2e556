"""Connected applications across the cluster: the control-stream clients of other
nodes, and this node's clients as the other nodes see them.

They ride on the `Relay` call that carries routing (remote.py). Over A's call to B:

* up: B announces each client with an open control stream (a `ClientState`: its
  identity, version, tags, the latest `EventProcessorInfo` of each of its event
  processors, and B's name) when the call opens, and again when one registers,
  reports a processor that changed, or leaves. Axon Framework reports every
  processor about twice a second; only changes count, and a client's changes are
  announced at most once per `min_interval_s` (the latest state, whole);
* down: A's processor instructions (pause, start, split, merge, release a segment,
  reconnect) for one of those clients, as the serialized
  `PlatformOutboundInstruction`. B instructs its client exactly as for a REST call
  made on B and sends the outcome up: success, or the Axon error
  (AXONIQ-1003 / 11000 / 11001 from `ClientRegistry.instruct`).

When the call ends A forgets B's clients; instructions still waiting fail with
AXONIQ-6001, as for a client that disconnected. `ClusterClients` is what the REST
API asks: local and remote clients alike, and `instruct` whichever node a client is
connected to. Nothing here knows gRPC: `ranvier.cluster.message_links` moves the
items, `ranvier.grpc_api.platform.ClientRegistry` holds this node's clients.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any, Protocol

from ranvier._pb import control_pb2
from ranvier._pb import peer_pb2 as pb
from ranvier.errors import ErrorCode, RanvierError, code_for

from .clock import Clock, LoopClock, Timer

Instruction = control_pb2.PlatformOutboundInstruction

MIN_INTERVAL_S = 0.5  # between two announcements of one client's changes
# How much longer than the client's own timeout the caller waits for the other
# node's outcome: that node answers AXONIQ-11000 itself when the client is silent.
OUTCOME_MARGIN_S = 2.0
UP_KINDS = frozenset({"client", "instruction_outcome"})
DOWN_KINDS = frozenset({"client_instruction"})


def concerns_clients(item: pb.RelayUp | pb.RelayDown) -> bool:
    """Whether a relayed item is for this module rather than for routing."""
    kind = item.WhichOneof("message")
    return kind in (UP_KINDS if isinstance(item, pb.RelayUp) else DOWN_KINDS)


class LocalClients(Protocol):
    """This node's control-stream clients (`grpc_api.platform.ClientRegistry`)."""

    clients: dict[tuple[str, str], Any]
    on_change: Callable[[Any, bool], None] | None

    def by_stream(self, stream_id: str) -> Any | None: ...

    async def instruct(self, client: Any, instruction: Instruction, timeout_s: float) -> None: ...

    def send(self, client: Any, instruction: Instruction) -> None: ...


# -- the calling side ------------------------------------------------------------------


class RemoteClient:
    """A client connected to another node, with what the REST API reads of it."""

    remote = True

    def __init__(self, peer: PeerClients, stream_id: str, state: pb.ClientState) -> None:
        self.peer = peer
        self.stream_id = stream_id
        self.update(state)

    def update(self, state: pb.ClientState) -> None:
        self.context = state.context
        self.client_id = state.client_id
        self.component_name = state.component_name
        self.version = state.version
        self.tags = dict(state.tags)
        self.node_name = state.node_name or self.peer.node_name
        infos = (control_pb2.EventProcessorInfo.FromString(data) for data in state.processors)
        self.processors = {info.processor_name: info for info in infos}

    def __repr__(self) -> str:
        return f"<client {self.client_id} ({self.component_name}) in {self.context} on {self.node_name}>"


class PeerClients:
    """The clients of one other node, for as long as one `Relay` call to it lives."""

    def __init__(self, node_name: str, send_down: Callable[[pb.RelayDown], None],
                 forget: Callable[[PeerClients], None]) -> None:
        self.node_name = node_name
        self.send_down = send_down  # raises OutboxClosed / TooManyRequests
        self.forget = forget
        self.clients: dict[str, RemoteClient] = {}  # stream id -> client
        self.waiting: dict[int, asyncio.Future[pb.InstructionOutcome | None]] = {}
        self._ids = itertools.count(1)

    def receive(self, item: pb.RelayUp) -> None:
        kind = item.WhichOneof("message")
        if kind == "client":
            self._state(item.stream_id, item.client)
        elif kind == "instruction_outcome":
            future = self.waiting.get(item.instruction_outcome.request_id)
            if future is not None and not future.done():
                future.set_result(item.instruction_outcome)

    def _state(self, stream_id: str, state: pb.ClientState) -> None:
        client = self.clients.get(stream_id)
        if state.gone:
            self.clients.pop(stream_id, None)
        elif client is None:
            self.clients[stream_id] = RemoteClient(self, stream_id, state)
        else:
            client.update(state)

    async def instruct(self, client: RemoteClient, instruction: Instruction, timeout_s: float,
                       await_result: bool) -> None:
        """Have the other node instruct its client; raises its error, if any."""
        request_id = next(self._ids)
        future = self.waiting[request_id] = asyncio.get_running_loop().create_future()
        try:
            self.send_down(pb.RelayDown(stream_id=client.stream_id, client_instruction=pb.ClientInstruction(
                request_id=request_id, instruction=instruction.SerializeToString(), await_result=await_result,
                timeout_ms=max(1, round(timeout_s * 1000)))))
            outcome = await asyncio.wait_for(future, timeout_s + OUTCOME_MARGIN_S)
        except TimeoutError:
            raise RanvierError(f"node {self.node_name} did not say within {timeout_s:g} s whether client "
                               f"{client.client_id} carried out the instruction",
                               ErrorCode.INSTRUCTION_TIMEOUT) from None
        finally:
            self.waiting.pop(request_id, None)
        if outcome is None:
            raise RanvierError(f"node {self.node_name}, where client {client.client_id} is connected, "
                               "is no longer connected", ErrorCode.CLIENT_DISCONNECTED)
        if outcome.HasField("error"):
            raise RanvierError(outcome.error.message, code_for(outcome.error.code, outcome.error.code_name))

    def lost(self) -> None:
        """The call ended: the node's clients leave this node's lists."""
        self.forget(self)
        self.clients.clear()
        for future in self.waiting.values():
            if not future.done():
                future.set_result(None)


# -- the called side -------------------------------------------------------------------


def client_state(node_name: str, client: Any, gone: bool = False) -> pb.ClientState:
    state = pb.ClientState(context=client.context, client_id=client.client_id, node_name=node_name, gone=gone)
    if not gone:
        state.component_name = client.component_name
        state.version = client.version
        state.tags.update(client.tags)
        state.processors.extend(info.SerializeToString() for _name, info in sorted(client.processors.items()))
    return state


class ClientSession:
    """One other node hearing of this node's clients and instructing them."""

    def __init__(self, shared: SharedClients, send_up: Callable[[pb.RelayUp], None]) -> None:
        self.shared = shared
        self.send_up = send_up
        self.tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    def receive(self, item: pb.RelayDown) -> None:
        if item.WhichOneof("message") == "client_instruction":
            task = asyncio.get_running_loop().create_task(
                self.shared.carry_out(self, item.stream_id, item.client_instruction))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)


class SharedClients:
    """This node's clients as the other nodes see them."""

    def __init__(self, node_name: str, local: LocalClients, clock: Clock, min_interval_s: float) -> None:
        self.node_name = node_name
        self.local = local
        local.on_change = self._changed
        self.clock = clock
        self.min_interval_s = min_interval_s
        self.sessions: list[ClientSession] = []
        self._cooling: dict[str, Timer] = {}  # stream id -> announced less than min_interval_s ago
        self._dirty: set[str] = set()  # cooling, and changed since

    def open(self, send_up: Callable[[pb.RelayUp], None]) -> ClientSession:
        session = ClientSession(self, send_up)
        self.sessions.append(session)
        for client in list(self.local.clients.values()):
            send_up(pb.RelayUp(stream_id=client.stream_id, client=client_state(self.node_name, client)))
        return session

    def close(self, session: ClientSession) -> None:
        if session.closed:
            return
        session.closed = True
        self.sessions.remove(session)
        for task in list(session.tasks):
            task.cancel()

    def _changed(self, client: Any, gone: bool) -> None:
        stream_id = client.stream_id
        if gone:
            timer = self._cooling.pop(stream_id, None)
            if timer is not None:
                timer.cancel()
            self._dirty.discard(stream_id)
            self._announce(client, gone=True)
        elif stream_id in self._cooling:
            self._dirty.add(stream_id)  # the latest state goes when the interval is over
        else:
            self._announce(client)

    def _announce(self, client: Any, gone: bool = False) -> None:
        if not gone:
            stream_id = client.stream_id
            self._cooling[stream_id] = self.clock.call_later(self.min_interval_s, lambda: self._cooled(stream_id))
        item = pb.RelayUp(stream_id=client.stream_id, client=client_state(self.node_name, client, gone))
        for session in list(self.sessions):
            session.send_up(item)

    def _cooled(self, stream_id: str) -> None:
        self._cooling.pop(stream_id, None)
        if stream_id in self._dirty:
            self._dirty.discard(stream_id)
            client = self.local.by_stream(stream_id)
            if client is not None:
                self._announce(client)

    async def carry_out(self, session: ClientSession, stream_id: str, request: pb.ClientInstruction) -> None:
        """Instruct one of this node's clients for another node; the outcome goes up."""
        outcome = pb.InstructionOutcome(request_id=request.request_id)
        try:
            client = self.local.by_stream(stream_id)
            if client is None:
                raise RanvierError(f"the client is no longer connected to {self.node_name}",
                                   ErrorCode.CLIENT_DISCONNECTED)
            instruction = Instruction.FromString(request.instruction)
            if request.await_result:
                await self.local.instruct(client, instruction, request.timeout_ms / 1000)
            else:
                self.local.send(client, instruction)
        except RanvierError as exc:
            outcome.error.CopyFrom(pb.PeerError(code=exc.code.code, message=exc.message, code_name=exc.code.name))
        except Exception as exc:  # noqa: BLE001 - the caller waits for an outcome either way
            outcome.error.CopyFrom(pb.PeerError(code=ErrorCode.OTHER.code, message=f"{type(exc).__name__}: {exc}",
                                                code_name=ErrorCode.OTHER.name))
        if not session.closed:
            session.send_up(pb.RelayUp(stream_id=stream_id, instruction_outcome=outcome))


# -- both, as the REST API sees them -------------------------------------------------------


class ClusterClients:
    """The clients of every node this node has a `Relay` call to, and its own."""

    def __init__(self, node_name: str, local: LocalClients, clock: Clock | None = None,
                 min_interval_s: float = MIN_INTERVAL_S) -> None:
        self.node_name = node_name
        self.local = local
        self.shared = SharedClients(node_name, local, clock or LoopClock(), min_interval_s)
        self.peers: list[PeerClients] = []

    # -- what message_links calls ------------------------------------------------------

    def peer(self, node_name: str, send_down: Callable[[pb.RelayDown], None]) -> PeerClients:
        """A call to `node_name` opens: its clients will come up it."""
        peer = PeerClients(node_name, send_down, self._forget)
        self.peers.append(peer)
        return peer

    def _forget(self, peer: PeerClients) -> None:
        if peer in self.peers:
            self.peers.remove(peer)

    def open(self, send_up: Callable[[pb.RelayUp], None]) -> ClientSession:
        """Another node calls: it hears of every client here, then of each change."""
        return self.shared.open(send_up)

    def close(self, session: ClientSession) -> None:
        self.shared.close(session)

    # -- what the REST API calls -----------------------------------------------------------

    def all(self, context: str | None = None) -> list[Any]:
        """Local clients first, then each other node's."""
        found = list(self.local.clients.values())
        for peer in self.peers:
            found.extend(peer.clients.values())
        return [c for c in found if context in (None, c.context)]

    def find(self, client_id: str, context: str | None = None) -> list[Any]:
        return [c for c in self.all(context) if c.client_id == client_id]

    def node_of(self, client: Any) -> str:
        return getattr(client, "node_name", self.node_name)

    async def instruct(self, client: Any, instruction: Instruction, timeout_s: float,
                       await_result: bool = True) -> None:
        """Instruct a client wherever it is connected; `await_result=False` only
        sends (RequestReconnect). Raises the instruction's RanvierError."""
        if isinstance(client, RemoteClient):
            await client.peer.instruct(client, instruction, timeout_s, await_result)
        elif await_result:
            await self.local.instruct(client, instruction, timeout_s)
        else:
            self.local.send(client, instruction)
