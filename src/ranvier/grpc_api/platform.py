"""Axon's `PlatformService`: where a client is told which node serves it, and the
control stream every Axon Framework application keeps open.

On one node the answer to `GetPlatformServer` is always this node with
`same_connection=true`. The control stream registers the client, acknowledges every
instruction that carries an `instruction_id` (Axon Framework's heartbeat monitor
counts those acknowledgements as beats), and keeps the latest event-processor
information each client reports, for the REST API and dashboard.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

import grpc

from ranvier._pb import common_pb2, control_pb2

from .messages import parser
from .metadata import context_name
from .status import guarded

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
    connected_at: float = field(default_factory=time.time)
    last_heartbeat: float = field(default_factory=time.time)
    processors: dict[str, control_pb2.EventProcessorInfo] = field(default_factory=dict)
    outbound: asyncio.Queue[control_pb2.PlatformOutboundInstruction] = field(default_factory=asyncio.Queue)


class ClientRegistry:
    """Clients with an open control stream on this node, by (context, client id)."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str], ConnectedClient] = {}

    def add(self, client: ConnectedClient) -> None:
        self.clients[(client.context, client.client_id)] = client

    def remove(self, client: ConnectedClient) -> None:
        if self.clients.get((client.context, client.client_id)) is client:
            del self.clients[(client.context, client.client_id)]

    def in_context(self, context: str) -> list[ConnectedClient]:
        return [c for (ctx, _id), c in self.clients.items() if ctx == context]


class PlatformService:
    def __init__(self, node: NodeIdentity, registry: ClientRegistry) -> None:
        self.node = node
        self.registry = registry

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
        self.node.check_context(context_name(context))
        return control_pb2.PlatformInfo(primary=self.node_info(), same_connection=True)

    async def open_stream(
        self, requests: AsyncIterator[object], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[control_pb2.PlatformOutboundInstruction]:
        ctx_name = context_name(context)
        client: ConnectedClient | None = None
        reader = asyncio.ensure_future(self._next(requests))
        try:
            while True:
                outbound = asyncio.ensure_future(client.outbound.get()) if client else None
                waiting = {reader} | ({outbound} if outbound else set())
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if outbound is not None and outbound in done:
                    yield outbound.result()
                elif outbound is not None:
                    outbound.cancel()
                if reader not in done:
                    continue
                instruction = reader.result()
                if instruction is None:
                    return
                reader = asyncio.ensure_future(self._next(requests))
                client, replies = self._handle(instruction, client, ctx_name)
                for reply in replies:
                    yield reply
        finally:
            reader.cancel()
            if client is not None:
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
            info = instruction.event_processor_info
            client.processors[info.processor_name] = info
        return client, self._ack(instruction)

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


def _serialize(message: object) -> bytes:
    return message.SerializeToString()  # type: ignore[attr-defined]
