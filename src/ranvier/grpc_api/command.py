"""Axon's `CommandService`: handler streams in, dispatches through the router.

`OpenStream` turns a client's stream into a `LocalHandler`: subscriptions go to the
registry (each acknowledged when it carries an `instruction_id`), `flow_control`
permits feed the stream's outbox, and `command_response`s complete dispatches.
`Dispatch` routes one command and answers with the handler's `CommandResponse`;
routing failures are responses carrying Axon's error code, not gRPC errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Protocol

import grpc

from ranvier._pb import command_pb2, common_pb2
from ranvier.errors import ErrorCode, RanvierError
from ranvier.messaging import LocalHandler, Messaging, Outbox
from ranvier.messaging import instructions as pi

from .messages import parser
from .metadata import client_id, context_name
from .status import abort, guarded

log = logging.getLogger(__name__)

SERVICE = "io.axoniq.axonserver.grpc.command.CommandService"
Inbound = command_pb2.CommandProviderInbound


class Contexts(Protocol):
    def check_context(self, context: str) -> None: ...


def _classify(message: Inbound) -> int | None:
    if message.WhichOneof("request") == "command":
        return pi.number(message.command.processing_instructions, pi.PRIORITY, 0)
    return None


def _ack(instruction_id: str, error: RanvierError | None = None) -> Inbound:
    ack = common_pb2.InstructionAck(instruction_id=instruction_id, success=error is None)
    if error is not None:
        ack.error.CopyFrom(pi.error_message(error.message, error.code.code))
    return Inbound(ack=ack)


class CommandService:
    def __init__(self, contexts: Contexts, messaging: Messaging) -> None:
        self.contexts = contexts
        self.messaging = messaging

    def handler(self) -> grpc.GenericRpcHandler:
        methods = {
            "OpenStream": grpc.stream_stream_rpc_method_handler(
                self.open_stream,
                request_deserializer=parser(command_pb2.CommandProviderOutbound),
                response_serializer=_serialize,
            ),
            "Dispatch": grpc.unary_unary_rpc_method_handler(
                self.dispatch, request_deserializer=parser(command_pb2.Command), response_serializer=_serialize,
            ),
        }
        return grpc.method_handlers_generic_handler(SERVICE, methods)

    @guarded
    async def dispatch(self, command: command_pb2.Command, context: grpc.aio.ServicerContext) -> command_pb2.CommandResponse:
        ctx = context_name(context)
        self.contexts.check_context(ctx)
        return await self.messaging.commands.dispatch(ctx, command)

    async def open_stream(
        self, requests: AsyncIterator[object], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Inbound]:
        ctx = context_name(context)
        try:
            self.contexts.check_context(ctx)
        except RanvierError as exc:
            await abort(context, exc)
        outbox: Outbox[Inbound] = Outbox(
            self.messaging.options.command_queue_capacity, "command handler", "command-queue-capacity-per-client")
        handler = LocalHandler(ctx, client_id(context), outbox, _classify)
        reader = asyncio.ensure_future(self._read(requests, handler))
        try:
            while batch := await outbox.next():
                for message in batch:
                    yield message
        finally:
            reader.cancel()
            self.messaging.commands.handler_gone(handler, outbox.close())
            log.debug("command handler %s left context %s", handler.client_id, ctx)

    async def _read(self, requests: AsyncIterator[object], handler: LocalHandler[Inbound]) -> None:
        try:
            async for request in requests:
                if isinstance(request, command_pb2.CommandProviderOutbound):
                    self._handle(request, handler)
        except (asyncio.CancelledError, grpc.aio.AioRpcError):
            pass
        finally:
            handler.outbox.close()  # the client half-closed or went away: Axon ends the stream too

    def _handle(self, request: command_pb2.CommandProviderOutbound, handler: LocalHandler[Inbound]) -> None:
        kind = request.WhichOneof("request")
        registry = self.messaging.registry
        error: RanvierError | None = None
        if kind == "subscribe":
            sub = request.subscribe
            _identify(handler, sub.client_id, sub.component_name)
            registry.subscribe_command(handler, sub.command, sub.load_factor)
        elif kind == "unsubscribe":
            registry.unsubscribe_command(handler, request.unsubscribe.command)
        elif kind == "flow_control":
            handler.grant(request.flow_control.permits)
        elif kind == "command_response":
            self.messaging.command_answered(handler, request.command_response)
        elif kind != "ack":
            error = RanvierError(f"unsupported instruction {kind!r}", ErrorCode.UNSUPPORTED_INSTRUCTION)
        if request.instruction_id:
            handler.send(_ack(request.instruction_id, error))


def _identify(handler: LocalHandler[object], client: str, component: str) -> None:
    """Take the client's identity from its first subscription (the header may lack it)."""
    if not handler.client_id:
        handler.client_id = client or handler.stream_id.lstrip(".")
        handler.stream_id = f"{handler.client_id}{handler.stream_id}"
    if component and not handler.component_name:
        handler.component_name = component


def _serialize(message: object) -> bytes:
    return message.SerializeToString()  # type: ignore[attr-defined]
