"""Axon's `PlatformService`: where a client is told which node serves it, and the
control stream every Axon Framework application keeps open.

On one node the answer to `GetPlatformServer` is always this node with
`same_connection=true`. The control stream registers the client, acknowledges every
instruction that carries an `instruction_id` (Axon Framework's heartbeat monitor
counts those acknowledgements as beats), and keeps the latest event-processor
information each client reports, for the REST API and dashboard. `ClientRegistry`
tells `on_change` of every client that registers, reports a changed processor or
leaves, so other nodes of a cluster can list it too (`messaging.remote_clients`).

The other direction: `ClientRegistry.instruct` sends a client an instruction
(pause/start a processor, split/merge/release a segment, reconnect) and waits for
its `InstructionResult`, as Axon Server 4.6+ does; a client that only acknowledges
gets AXONIQ-11001, one that answers nothing AXONIQ-11000. With
`axoniq.axonserver.heartbeat.enabled`, the server also sends heartbeats and closes
control streams whose client has been silent too long.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

import grpc

from ranvier._pb import common_pb2, control_pb2
from ranvier.errors import ErrorCode, RanvierError

from .messages import parser
from .metadata import context_name
from .status import abort, guarded

log = logging.getLogger(__name__)

SERVICE = "io.axoniq.axonserver.grpc.control.PlatformService"


class NodeIdentity(Protocol):
    name: str
    hostname: str
    grpc_port: int
    http_port: int

    def check_context(self, context: str) -> None: ...


@dataclass
class ConnectedClient:
    """A client's control stream, as the REST API reports it."""

    client_id: str
    component_name: str
    context: str
    version: str
    tags: dict[str, str]
    # Names this control stream to other nodes: a client id may reconnect while its
    # old stream is still being torn down.
    stream_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    connected_at: float = field(default_factory=time.time)
    last_heartbeat: float = field(default_factory=time.time)
    processors: dict[str, control_pb2.EventProcessorInfo] = field(default_factory=dict)
    outbound: asyncio.Queue[control_pb2.PlatformOutboundInstruction] = field(default_factory=asyncio.Queue)
    pending: dict[str, _Waiter] = field(default_factory=dict)  # instruction id -> waiting for its result


@dataclass
class _Waiter:
    """An instruction sent to a client, waiting for its InstructionResult."""

    future: asyncio.Future[common_pb2.InstructionResult | None]
    acked: bool = False


@dataclass(frozen=True, slots=True)
class HeartbeatOptions:
    """`axoniq.axonserver.heartbeat.*` and `client-heartbeat-*` (facts §4.6)."""

    enabled: bool = False
    client_timeout_ms: int = 5_000
    check_initial_delay_ms: int = 10_000
    check_rate_ms: int = 1_000
    frequency_ms: int = 500
    initial_delay_ms: int = 5_000


class ClientRegistry:
    """Clients with an open control stream on this node, by (context, client id)."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str], ConnectedClient] = {}
        # Called with (client, gone) on every change other nodes should hear of.
        self.on_change: Callable[[ConnectedClient, bool], None] | None = None

    def add(self, client: ConnectedClient) -> None:
        key = (client.context, client.client_id)
        previous = self.clients.get(key)
        self.clients[key] = client
        if previous is not None and previous is not client:
            self._changed(previous, gone=True)  # replaced: its own remove() will find nothing
        self._changed(client, gone=False)

    def remove(self, client: ConnectedClient) -> None:
        if self.clients.get((client.context, client.client_id)) is client:
            del self.clients[(client.context, client.client_id)]
            self._changed(client, gone=True)

    def report(self, client: ConnectedClient, info: control_pb2.EventProcessorInfo) -> None:
        """A client's latest state of one event processor. Clients repeat it about
        twice a second; only a change is news."""
        if client.processors.get(info.processor_name) == info:
            return
        client.processors[info.processor_name] = info
        if self.clients.get((client.context, client.client_id)) is client:
            self._changed(client, gone=False)

    def _changed(self, client: ConnectedClient, gone: bool) -> None:
        if self.on_change is not None:
            self.on_change(client, gone)

    def by_stream(self, stream_id: str) -> ConnectedClient | None:
        return next((c for c in self.clients.values() if c.stream_id == stream_id), None)

    def in_context(self, context: str) -> list[ConnectedClient]:
        return [c for (ctx, _id), c in self.clients.items() if ctx == context]

    def find(self, client_id: str, context: str | None = None) -> list[ConnectedClient]:
        return [c for (ctx, cid), c in self.clients.items() if cid == client_id and context in (None, ctx)]

    async def instruct(
        self, client: ConnectedClient, instruction: control_pb2.PlatformOutboundInstruction, timeout_s: float
    ) -> None:
        """Send `instruction` and wait for the client's InstructionResult.

        Raises RanvierError: AXONIQ-1003 when the client reports failure, AXONIQ-11001
        when it only acknowledged within `timeout_s`, AXONIQ-11000 when it said nothing.
        """
        instruction_id = instruction.instruction_id or str(uuid.uuid4())
        instruction.instruction_id = instruction_id
        waiter = _Waiter(asyncio.get_running_loop().create_future())
        client.pending[instruction_id] = waiter
        client.outbound.put_nowait(instruction)
        try:
            result = await asyncio.wait_for(asyncio.shield(waiter.future), timeout_s)
        except TimeoutError:
            if waiter.acked:
                raise RanvierError(
                    f"client {client.client_id} acknowledged the instruction but sent no result",
                    ErrorCode.INSTRUCTION_ACK_ONLY) from None
            raise RanvierError(
                f"client {client.client_id} did not answer the instruction within {timeout_s:g} s",
                ErrorCode.INSTRUCTION_TIMEOUT) from None
        finally:
            client.pending.pop(instruction_id, None)
        if result is None or not result.success:
            detail = result.error.message if result is not None and result.error.message else "no reason given"
            raise RanvierError(f"client {client.client_id} failed the instruction: {detail}",
                               ErrorCode.INSTRUCTION_EXECUTION_ERROR)

    def send(self, client: ConnectedClient, instruction: control_pb2.PlatformOutboundInstruction) -> None:
        """Send without waiting (RequestReconnect)."""
        client.outbound.put_nowait(instruction)

    @staticmethod
    def acknowledged(client: ConnectedClient, ack: common_pb2.InstructionAck) -> None:
        """The client acknowledged an instruction: a result should follow, or a
        refusal, which is final."""
        waiter = client.pending.get(ack.instruction_id)
        if waiter is None or waiter.future.done():
            return
        if ack.success:
            waiter.acked = True
        else:
            waiter.future.set_result(common_pb2.InstructionResult(
                instruction_id=ack.instruction_id, success=False, error=ack.error))

    @staticmethod
    def answered(client: ConnectedClient, result: common_pb2.InstructionResult) -> None:
        waiter = client.pending.get(result.instruction_id)
        if waiter is not None and not waiter.future.done():
            waiter.future.set_result(result)


class PlatformService:
    def __init__(self, node: NodeIdentity, registry: ClientRegistry, heartbeat: HeartbeatOptions | None = None) -> None:
        self.node = node
        self.registry = registry
        self.heartbeat = heartbeat or HeartbeatOptions()

    def handler(self) -> grpc.GenericRpcHandler:
        methods = {
            "GetPlatformServer": grpc.unary_unary_rpc_method_handler(
                self.get_platform_server,
                request_deserializer=parser(control_pb2.ClientIdentification),
                response_serializer=_serialize,
            ),
            "OpenStream": grpc.stream_stream_rpc_method_handler(
                self.open_stream,
                request_deserializer=parser(control_pb2.PlatformInboundInstruction),
                response_serializer=_serialize,
            ),
        }
        return grpc.method_handlers_generic_handler(SERVICE, methods)

    def node_info(self) -> control_pb2.NodeInfo:
        return control_pb2.NodeInfo(
            host_name=self.node.hostname,
            grpc_port=self.node.grpc_port,
            http_port=self.node.http_port,
            version=0,
            node_name=self.node.name,
        )

    @guarded
    async def get_platform_server(
        self, request: control_pb2.ClientIdentification, context: grpc.aio.ServicerContext
    ) -> control_pb2.PlatformInfo:
        ctx = context_name(context)
        elsewhere = self.node.serving_node_for(ctx)
        if elsewhere is None:
            self.node.check_context(ctx)
            return control_pb2.PlatformInfo(primary=self.node_info(), same_connection=True)
        host, grpc_port, http_port, name = elsewhere
        info = control_pb2.NodeInfo(host_name=host, grpc_port=grpc_port, http_port=http_port, node_name=name)
        return control_pb2.PlatformInfo(primary=info, same_connection=False)

    async def open_stream(
        self, requests: AsyncIterator[object], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[control_pb2.PlatformOutboundInstruction]:
        ctx_name = context_name(context)
        client: ConnectedClient | None = None
        reader = asyncio.ensure_future(self._next(requests))
        beats: asyncio.Task[None] | None = None
        try:
            while True:
                outbound = asyncio.ensure_future(client.outbound.get()) if client else None
                waiting = {reader} | ({outbound} if outbound else set())
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if outbound is not None and outbound in done:
                    message = outbound.result()
                    if message is _SILENT:
                        await abort(context, RanvierError(
                            f"no heartbeat from client {client.client_id if client else ''} for "
                            f"{self.heartbeat.client_timeout_ms} ms", ErrorCode.OTHER))
                    yield message
                elif outbound is not None:
                    outbound.cancel()
                if reader not in done:
                    continue
                instruction = reader.result()
                if instruction is None:
                    return
                reader = asyncio.ensure_future(self._next(requests))
                client, replies = self._handle(instruction, client, ctx_name)
                if client is not None and beats is None and self.heartbeat.enabled:
                    beats = asyncio.ensure_future(self._heartbeats(client))
                for reply in replies:
                    yield reply
        finally:
            reader.cancel()
            if beats is not None:
                beats.cancel()
            if client is not None:
                for waiter in client.pending.values():
                    if not waiter.future.done():
                        waiter.future.set_result(None)
                self.registry.remove(client)
                log.info("client %s (%s) disconnected from context %s", client.client_id, client.component_name, ctx_name)

    @staticmethod
    async def _next(requests: AsyncIterator[object]) -> object | None:
        return await anext(aiter(requests), None)

    def _handle(
        self, instruction: object, client: ConnectedClient | None, ctx_name: str
    ) -> tuple[ConnectedClient | None, list[control_pb2.PlatformOutboundInstruction]]:
        if not isinstance(instruction, control_pb2.PlatformInboundInstruction):
            return client, []  # malformed: ignore it, keep the stream
        kind = instruction.WhichOneof("request")
        if kind == "register":
            client = self._register(instruction.register, ctx_name)
        elif client is not None and kind == "heartbeat":
            client.last_heartbeat = time.time()
        elif client is not None and kind == "event_processor_info":
            self.registry.report(client, instruction.event_processor_info)
        elif client is not None and kind == "ack":
            self.registry.acknowledged(client, instruction.ack)
        elif client is not None and kind == "result":
            self.registry.answered(client, instruction.result)
        return client, self._ack(instruction)

    async def _heartbeats(self, client: ConnectedClient) -> None:
        """Server heartbeats, and the silence check (only with heartbeat.enabled)."""
        options = self.heartbeat
        loop = asyncio.get_running_loop()
        started = loop.time()
        next_beat = started + options.initial_delay_ms / 1000
        next_check = started + options.check_initial_delay_ms / 1000
        client.last_heartbeat = time.time()
        while True:
            await asyncio.sleep(max(0.0, min(next_beat, next_check) - loop.time()))
            now = loop.time()
            if now >= next_beat:
                client.outbound.put_nowait(control_pb2.PlatformOutboundInstruction(heartbeat=control_pb2.Heartbeat()))
                next_beat = now + options.frequency_ms / 1000
            if now >= next_check:
                if (time.time() - client.last_heartbeat) * 1000 > options.client_timeout_ms:
                    client.outbound.put_nowait(_SILENT)
                    return
                next_check = now + options.check_rate_ms / 1000

    def _register(self, identification: control_pb2.ClientIdentification, ctx_name: str) -> ConnectedClient:
        client = ConnectedClient(
            identification.client_id,
            identification.component_name,
            ctx_name,
            identification.version,
            dict(identification.tags),
        )
        self.registry.add(client)
        log.info("client %s (%s) connected to context %s", client.client_id, client.component_name, ctx_name)
        return client

    @staticmethod
    def _ack(instruction: control_pb2.PlatformInboundInstruction) -> list[control_pb2.PlatformOutboundInstruction]:
        if not instruction.instruction_id:
            return []
        ack = common_pb2.InstructionAck(instruction_id=instruction.instruction_id, success=True)
        return [control_pb2.PlatformOutboundInstruction(ack=ack)]


_SILENT = control_pb2.PlatformOutboundInstruction()  # sentinel (compared by identity): end a silent client's stream


def _serialize(message: object) -> bytes:
    return message.SerializeToString()  # type: ignore[attr-defined]
