"""Axon's `QueryService`: query handler streams, queries and subscription queries.

`OpenStream` turns a client's stream into a `LocalHandler` for the query router:
subscriptions (acknowledged), `flow_control` permits, `query_response`s,
`query_complete`s and `subscription_query_response`s. `Query` streams one query's
responses back and ends normally, also when it failed (the failure is an error
response, as Axon Server sends it). `Subscription` is the dispatcher's side of a
subscription query.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc

from ranvier._pb import common_pb2, query_pb2
from ranvier.errors import ErrorCode, RanvierError
from ranvier.messaging import LocalHandler, Messaging, Outbox, Subscription
from ranvier.messaging import instructions as pi

from .command import Contexts, _identify, _serialize
from .messages import parser
from .metadata import client_id, context_name
from .status import abort, guarded_stream

log = logging.getLogger(__name__)

SERVICE = "io.axoniq.axonserver.grpc.query.QueryService"
Inbound = query_pb2.QueryProviderInbound


def _classify(message: Inbound) -> int | None:
    if message.WhichOneof("request") == "query":
        return pi.number(message.query.processing_instructions, pi.PRIORITY, 0)
    return None


def _ack(instruction_id: str, error: RanvierError | None = None) -> Inbound:
    ack = common_pb2.InstructionAck(instruction_id=instruction_id, success=error is None)
    if error is not None:
        ack.error.CopyFrom(pi.error_message(error.message, error.code.code))
    return Inbound(ack=ack)


class QueryService:
    def __init__(self, contexts: Contexts, messaging: Messaging) -> None:
        self.contexts = contexts
        self.messaging = messaging

    def handler(self) -> grpc.GenericRpcHandler:
        methods = {
            "OpenStream": grpc.stream_stream_rpc_method_handler(
                self.open_stream,
                request_deserializer=parser(query_pb2.QueryProviderOutbound),
                response_serializer=_serialize,
            ),
            "Query": grpc.unary_stream_rpc_method_handler(
                self.query, request_deserializer=parser(query_pb2.QueryRequest), response_serializer=_serialize,
            ),
            "Subscription": grpc.stream_stream_rpc_method_handler(
                self.subscription,
                request_deserializer=parser(query_pb2.SubscriptionQueryRequest),
                response_serializer=_serialize,
            ),
        }
        return grpc.method_handlers_generic_handler(SERVICE, methods)

    async def _context(self, context: grpc.aio.ServicerContext) -> str:
        ctx = context_name(context)
        try:
            self.contexts.check_context(ctx)
        except RanvierError as exc:
            await abort(context, exc)
        return ctx

    # -- dispatching -----------------------------------------------------------------

    @guarded_stream
    async def query(
        self, request: query_pb2.QueryRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[query_pb2.QueryResponse]:
        ctx = context_name(context)
        self.contexts.check_context(ctx)
        router = self.messaging.queries
        active = router.start(ctx, request)
        try:
            async for response in active:
                yield response
                router.consumed(active)
        finally:
            router.cancel(active)  # no-op when it ended by itself; else handlers get query_cancel

    async def subscription(
        self, requests: AsyncIterator[object], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[query_pb2.SubscriptionQueryResponse]:
        ctx = await self._context(context)
        outbox: Outbox[query_pb2.SubscriptionQueryResponse] = Outbox(
            self.messaging.options.query_queue_capacity, "subscription query", "query-queue-capacity-per-client")
        holder: list[Subscription] = []
        reader = asyncio.ensure_future(self._read_subscription(requests, ctx, outbox, holder))
        try:
            while batch := await outbox.next():
                for message in batch:
                    yield message
        finally:
            reader.cancel()
            outbox.close()
            if holder:
                self.messaging.subscriptions.unsubscribe(holder[0])

    async def _read_subscription(
        self, requests: AsyncIterator[object], ctx: str,
        outbox: Outbox[query_pb2.SubscriptionQueryResponse], holder: list[Subscription],
    ) -> None:
        subs = self.messaging.subscriptions
        try:
            async for request in requests:
                if not isinstance(request, query_pb2.SubscriptionQueryRequest):
                    continue
                kind = request.WhichOneof("request")
                if kind == "flow_control":
                    # The Java connector grants permits before it subscribes: they belong to
                    # the stream, so keep them whether or not the subscription exists yet.
                    outbox.grant(request.flow_control.number_of_permits)
                    continue
                if kind in ("subscribe", "get_initial_result") and not holder:
                    holder.append(subs.subscribe(ctx, getattr(request, kind), outbox))
                if not holder:
                    continue
                if kind == "get_initial_result":
                    subs.initial_result(holder[0])
                elif kind == "unsubscribe":
                    # Updates still waiting for permits are no longer wanted; without
                    # this the stream would wait for permits that never come.
                    outbox.discard(lambda _m: True)
                    break
        except (asyncio.CancelledError, grpc.aio.AioRpcError):
            return
        if holder:
            subs.unsubscribe(holder[0])
        outbox.finish()

    # -- handling --------------------------------------------------------------------

    async def open_stream(
        self, requests: AsyncIterator[object], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Inbound]:
        ctx = await self._context(context)
        outbox: Outbox[Inbound] = Outbox(
            self.messaging.options.query_queue_capacity, "query handler", "query-queue-capacity-per-client")
        handler = LocalHandler(ctx, client_id(context), outbox, _classify, query_stream=True)
        reader = asyncio.ensure_future(self._read(requests, handler))
        try:
            while batch := await outbox.next():
                for message in batch:
                    yield message
        finally:
            reader.cancel()
            outbox.close()
            self.messaging.queries.handler_gone(handler)
            self.messaging.subscriptions.handler_gone(handler)

    async def _read(self, requests: AsyncIterator[object], handler: LocalHandler[Inbound]) -> None:
        try:
            async for request in requests:
                if isinstance(request, query_pb2.QueryProviderOutbound):
                    self._handle(request, handler)
        except (asyncio.CancelledError, grpc.aio.AioRpcError):
            pass
        finally:
            handler.outbox.close()

    def _handle(self, request: query_pb2.QueryProviderOutbound, handler: LocalHandler[Inbound]) -> None:
        kind = request.WhichOneof("request")
        m = self.messaging
        error: RanvierError | None = None
        if kind == "subscribe":
            sub = request.subscribe
            _identify(handler, sub.client_id, sub.component_name)  # type: ignore[arg-type]
            m.registry.subscribe_query(handler, sub.query, sub.result_name)
            m.subscriptions.handler_subscribed(handler, sub.query)
        elif kind == "unsubscribe":
            m.registry.unsubscribe_query(handler, request.unsubscribe.query)
        elif kind == "flow_control":
            handler.grant(request.flow_control.permits)
        elif kind in ("query_response", "query_complete", "subscription_query_response"):
            m.query_answered(handler, request)
        elif kind != "ack":
            error = RanvierError(f"unsupported instruction {kind!r}", ErrorCode.UNSUPPORTED_INSTRUCTION)
        if request.instruction_id:
            handler.send(_ack(request.instruction_id, error))
