"""A small asyncio Axon client of our own, for tests of command and query routing.

It speaks the same streams as Axon Framework's Java connector: `CommandService` and
`QueryService` handler streams (subscribe with an `instruction_id`, wait for the ack,
grant permits, answer with `request_identifier` set), `Dispatch`, `Query`,
`Subscription`, and the `PlatformService` control stream answering instructions
with `InstructionAck` + `InstructionResult`. Built on `ranvier._pb` stubs.

Handlers answer automatically (the command handler echoes its client id as the
payload, so a test sees who handled what), or hold messages for the test to
answer itself (`auto=False`). Everything records what it received.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

import grpc

from ranvier._pb import (
    command_pb2,
    command_pb2_grpc,
    common_pb2,
    control_pb2,
    control_pb2_grpc,
    query_pb2,
    query_pb2_grpc,
)

T = TypeVar("T")
Out = TypeVar("Out")


def instruction(key: int, value: int | str | bool) -> common_pb2.ProcessingInstruction:
    if isinstance(value, bool):
        meta = common_pb2.MetaDataValue(boolean_value=value)
    elif isinstance(value, int):
        meta = common_pb2.MetaDataValue(number_value=value)
    else:
        meta = common_pb2.MetaDataValue(text_value=value)
    return common_pb2.ProcessingInstruction(key=key, value=meta)


def payload(data: bytes | str, type_name: str = "bytes") -> common_pb2.SerializedObject:
    return common_pb2.SerializedObject(type=type_name, data=data.encode() if isinstance(data, str) else data)


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll `condition` on the loop until true; AssertionError naming `what` after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


class _Stream(Generic[Out]):
    """A bidi stream: a queue of outgoing messages, a reader task, acks by instruction id."""

    def __init__(self) -> None:
        self._outgoing: asyncio.Queue[Out | None] = asyncio.Queue()
        self._acks: dict[str, asyncio.Future[common_pb2.InstructionAck]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.call: Any = None
        self.ended = asyncio.Event()
        self.error: grpc.aio.AioRpcError | None = None

    async def _requests(self) -> AsyncIterator[Out]:
        while (message := await self._outgoing.get()) is not None:
            yield message

    def _start(self, call: Any) -> None:
        self.call = call
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            async for message in self.call:
                await self._on(message)
        except grpc.aio.AioRpcError as exc:
            self.error = exc
        except asyncio.CancelledError:
            pass
        finally:
            self.ended.set()

    async def _on(self, message: Any) -> None:
        raise NotImplementedError

    def _resolve_ack(self, ack: common_pb2.InstructionAck) -> None:
        future = self._acks.pop(ack.instruction_id, None)
        if future is not None and not future.done():
            future.set_result(ack)

    def send(self, message: Out) -> None:
        self._outgoing.put_nowait(message)

    async def _send_acknowledged(self, message: Out, instruction_id: str, timeout: float = 5.0) -> common_pb2.InstructionAck:
        future: asyncio.Future[common_pb2.InstructionAck] = asyncio.get_running_loop().create_future()
        self._acks[instruction_id] = future
        self.send(message)
        return await asyncio.wait_for(future, timeout)

    async def close(self) -> None:
        """Half-close, then wait for the server to end the stream."""
        self._outgoing.put_nowait(None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ended.wait(), 5)
        self.abort()

    def abort(self) -> None:
        """Drop the stream abruptly, as a crashing client would."""
        if self.call is not None:
            self.call.cancel()
        if self._reader is not None:
            self._reader.cancel()


CommandFn = Callable[[command_pb2.Command], Awaitable[command_pb2.CommandResponse | None]]


class CommandHandlerStream(_Stream[command_pb2.CommandProviderOutbound]):
    def __init__(self, client: AxonTestClient, auto: bool, handle: CommandFn | None) -> None:
        super().__init__()
        self.client = client
        self.auto = auto
        self.handle = handle
        self.received: list[command_pb2.Command] = []
        self.pending: asyncio.Queue[command_pb2.Command] = asyncio.Queue()
        self.granted = 0

    async def _on(self, message: command_pb2.CommandProviderInbound) -> None:
        kind = message.WhichOneof("request")
        if kind == "ack":
            self._resolve_ack(message.ack)
        elif kind == "command":
            self.received.append(message.command)
            if self.auto:
                asyncio.ensure_future(self._answer(message.command))
            else:
                self.pending.put_nowait(message.command)

    async def _answer(self, command: command_pb2.Command) -> None:
        response = await self.handle(command) if self.handle else None
        self.respond(command, response)

    def respond(self, command: command_pb2.Command, response: command_pb2.CommandResponse | None = None) -> None:
        response = response or command_pb2.CommandResponse(payload=payload(self.client.client_id, "handledBy"))
        response.request_identifier = command.message_identifier
        response.message_identifier = response.message_identifier or str(uuid.uuid4())
        self.send(command_pb2.CommandProviderOutbound(command_response=response))

    async def subscribe(self, command: str, load_factor: int = 100) -> common_pb2.InstructionAck:
        iid = str(uuid.uuid4())
        sub = command_pb2.CommandSubscription(
            message_id=iid, command=command, component_name=self.client.component,
            client_id=self.client.client_id, load_factor=load_factor)
        return await self._send_acknowledged(command_pb2.CommandProviderOutbound(subscribe=sub, instruction_id=iid), iid)

    async def unsubscribe(self, command: str) -> common_pb2.InstructionAck:
        iid = str(uuid.uuid4())
        sub = command_pb2.CommandSubscription(message_id=iid, command=command, client_id=self.client.client_id)
        return await self._send_acknowledged(command_pb2.CommandProviderOutbound(unsubscribe=sub, instruction_id=iid), iid)

    def grant(self, permits: int) -> None:
        self.granted += permits
        self.send(command_pb2.CommandProviderOutbound(
            flow_control=common_pb2.FlowControl(client_id=self.client.client_id, permits=permits)))


QueryFn = Callable[[query_pb2.QueryRequest], list[bytes]]


class QueryHandlerStream(_Stream[query_pb2.QueryProviderOutbound]):
    """Answers queries with `handle(request)` results (default: one result, the client id).

    Streaming queries (SERVER_SUPPORTS_STREAMING) are answered only as far as the
    server's `query_flow_control` permits allow; `overdrawn` counts results sent
    beyond them (always 0 for this client; the tests assert the server's side).
    """

    def __init__(self, client: AxonTestClient, handle: QueryFn | None, auto: bool) -> None:
        super().__init__()
        self.client = client
        self.handle = handle or (lambda _r: [client.client_id.encode()])
        self.auto = auto
        self.received: list[query_pb2.QueryRequest] = []
        self.pending: asyncio.Queue[query_pb2.QueryRequest] = asyncio.Queue()
        self.permits: dict[str, int] = {}  # streaming query id -> permits granted so far
        self.sent: dict[str, int] = {}  # streaming query id -> results sent
        self.cancelled: set[str] = set()
        self._streams: dict[str, list[bytes]] = {}
        self.subscriptions: dict[str, query_pb2.SubscriptionQuery] = {}
        self.unsubscribed: list[str] = []

    async def _on(self, message: query_pb2.QueryProviderInbound) -> None:
        kind = message.WhichOneof("request")
        if kind == "ack":
            self._resolve_ack(message.ack)
        elif kind == "query":
            self._on_query(message.query)
        elif kind == "query_flow_control":
            qid = message.query_flow_control.query_reference.request_id
            self.permits[qid] = self.permits.get(qid, 0) + message.query_flow_control.permits
            self._pump(qid)
        elif kind == "query_cancel":
            self.cancelled.add(message.query_cancel.request_id)
            self._streams.pop(message.query_cancel.request_id, None)
        elif kind == "subscription_query_request":
            self._on_subscription(message.subscription_query_request)

    def _on_query(self, request: query_pb2.QueryRequest) -> None:
        self.received.append(request)
        if not self.auto:
            self.pending.put_nowait(request)
            return
        results = self.handle(request)
        streaming = any(
            i.key == common_pb2.SERVER_SUPPORTS_STREAMING and i.value.boolean_value
            for i in request.processing_instructions
        )
        if streaming:
            self._streams[request.message_identifier] = list(results)
            self.sent[request.message_identifier] = 0
            self._pump(request.message_identifier)
            return
        for data in results:
            self.respond(request, data)
        self.complete(request)

    def _pump(self, qid: str) -> None:
        results = self._streams.get(qid)
        if results is None:
            return
        while results and self.sent[qid] < self.permits.get(qid, 0):
            self.send(query_pb2.QueryProviderOutbound(query_response=query_pb2.QueryResponse(
                message_identifier=str(uuid.uuid4()), request_identifier=qid, payload=payload(results.pop(0)))))
            self.sent[qid] += 1
        if not results:
            del self._streams[qid]
            self.send(query_pb2.QueryProviderOutbound(query_complete=query_pb2.QueryComplete(
                message_id=str(uuid.uuid4()), request_id=qid)))

    def respond(self, request: query_pb2.QueryRequest, data: bytes, error_code: str = "") -> None:
        self.send(query_pb2.QueryProviderOutbound(query_response=query_pb2.QueryResponse(
            message_identifier=str(uuid.uuid4()), request_identifier=request.message_identifier,
            payload=payload(data), error_code=error_code)))

    def complete(self, request: query_pb2.QueryRequest) -> None:
        self.send(query_pb2.QueryProviderOutbound(query_complete=query_pb2.QueryComplete(
            message_id=str(uuid.uuid4()), request_id=request.message_identifier)))

    def _on_subscription(self, request: query_pb2.SubscriptionQueryRequest) -> None:
        kind = request.WhichOneof("request")
        sq = getattr(request, kind)
        if kind == "subscribe":
            self.subscriptions[sq.subscription_identifier] = sq
        elif kind == "unsubscribe":
            self.subscriptions.pop(sq.subscription_identifier, None)
            self.unsubscribed.append(sq.subscription_identifier)
        elif kind == "get_initial_result":
            data = self.handle(sq.query_request)
            self._subscription_response(sq.subscription_identifier, initial_result=query_pb2.QueryResponse(
                message_identifier=str(uuid.uuid4()), request_identifier=sq.query_request.message_identifier,
                payload=payload(data[0] if data else b"")))

    def _subscription_response(self, subscription_id: str, **kwargs: Any) -> None:
        self.send(query_pb2.QueryProviderOutbound(subscription_query_response=query_pb2.SubscriptionQueryResponse(
            message_identifier=str(uuid.uuid4()), subscription_identifier=subscription_id, **kwargs)))

    def update(self, subscription_id: str, data: bytes | str) -> None:
        self._subscription_response(subscription_id, update=query_pb2.QueryUpdate(
            message_identifier=str(uuid.uuid4()), payload=payload(data),
            client_id=self.client.client_id, component_name=self.client.component))

    def complete_subscription(self, subscription_id: str, error_code: str = "") -> None:
        if error_code:
            self._subscription_response(subscription_id, complete_exceptionally=query_pb2.QueryUpdateCompleteExceptionally(
                client_id=self.client.client_id, component_name=self.client.component, error_code=error_code,
                error_message=common_pb2.ErrorMessage(message="failed", error_code=error_code)))
        else:
            self._subscription_response(subscription_id, complete=query_pb2.QueryUpdateComplete(
                client_id=self.client.client_id, component_name=self.client.component))

    async def subscribe(self, query: str, result_name: str = "java.lang.String") -> common_pb2.InstructionAck:
        iid = str(uuid.uuid4())
        sub = query_pb2.QuerySubscription(
            message_id=iid, query=query, result_name=result_name, component_name=self.client.component,
            client_id=self.client.client_id)
        return await self._send_acknowledged(query_pb2.QueryProviderOutbound(subscribe=sub, instruction_id=iid), iid)

    def grant(self, permits: int) -> None:
        self.send(query_pb2.QueryProviderOutbound(
            flow_control=common_pb2.FlowControl(client_id=self.client.client_id, permits=permits)))


class SubscriptionStream(_Stream[query_pb2.SubscriptionQueryRequest]):
    """The dispatcher's side of a subscription query."""

    def __init__(self, query: query_pb2.SubscriptionQuery) -> None:
        super().__init__()
        self.query = query
        self.responses: asyncio.Queue[query_pb2.SubscriptionQueryResponse] = asyncio.Queue()
        self.received: list[query_pb2.SubscriptionQueryResponse] = []

    async def _on(self, message: query_pb2.SubscriptionQueryResponse) -> None:
        self.received.append(message)
        self.responses.put_nowait(message)

    async def next(self, timeout: float = 5.0) -> query_pb2.SubscriptionQueryResponse:
        return await asyncio.wait_for(self.responses.get(), timeout)

    def request_initial_result(self) -> None:
        self.send(query_pb2.SubscriptionQueryRequest(get_initial_result=self.query))

    def grant(self, permits: int) -> None:
        self.send(query_pb2.SubscriptionQueryRequest(flow_control=query_pb2.SubscriptionQuery(
            subscription_identifier=self.query.subscription_identifier, number_of_permits=permits)))

    def unsubscribe(self) -> None:
        self.send(query_pb2.SubscriptionQueryRequest(unsubscribe=self.query))


InstructionFn = Callable[[control_pb2.PlatformOutboundInstruction], Awaitable[bool | None]]


class ControlStream(_Stream[control_pb2.PlatformInboundInstruction]):
    """The platform control stream. Instructions are acknowledged, then `answer`
    decides the result: True success, False failure, None no result (ack only)."""

    def __init__(self, client: AxonTestClient, answer: InstructionFn | None) -> None:
        super().__init__()
        self.client = client
        self.answer = answer
        self.instructions: list[control_pb2.PlatformOutboundInstruction] = []
        self.heartbeats = 0

    async def _on(self, message: control_pb2.PlatformOutboundInstruction) -> None:
        kind = message.WhichOneof("request")
        if kind == "ack":
            self._resolve_ack(message.ack)
            return
        if kind == "heartbeat":
            self.heartbeats += 1
            return
        self.instructions.append(message)
        if message.instruction_id:
            self.send(control_pb2.PlatformInboundInstruction(ack=common_pb2.InstructionAck(
                instruction_id=message.instruction_id, success=True)))
            outcome = await self.answer(message) if self.answer else True
            if outcome is not None:
                self.send(control_pb2.PlatformInboundInstruction(result=common_pb2.InstructionResult(
                    instruction_id=message.instruction_id, success=outcome,
                    error=None if outcome else common_pb2.ErrorMessage(message="refused by test client"))))

    async def register(self) -> common_pb2.InstructionAck:
        iid = str(uuid.uuid4())
        identity = control_pb2.ClientIdentification(
            client_id=self.client.client_id, component_name=self.client.component, version="4.6.0")
        return await self._send_acknowledged(
            control_pb2.PlatformInboundInstruction(register=identity, instruction_id=iid), iid)

    def processor_info(self, info: control_pb2.EventProcessorInfo) -> None:
        self.send(control_pb2.PlatformInboundInstruction(event_processor_info=info))

    def heartbeat(self) -> None:
        self.send(control_pb2.PlatformInboundInstruction(
            heartbeat=control_pb2.Heartbeat(), instruction_id=str(uuid.uuid4())))


class AxonTestClient:
    """One application instance: a channel, an identity, its streams."""

    def __init__(self, address: str, client_id: str | None = None, component: str = "test-app",
                 context: str = "default") -> None:
        self.address = address
        self.client_id = client_id or f"client-{uuid.uuid4().hex[:8]}"
        self.component = component
        self.context = context
        self.channel = grpc.aio.insecure_channel(address)
        self.commands = command_pb2_grpc.CommandServiceStub(self.channel)
        self.queries = query_pb2_grpc.QueryServiceStub(self.channel)
        self.platform = control_pb2_grpc.PlatformServiceStub(self.channel)
        self._streams: list[_Stream[Any]] = []

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("axoniq-context", self.context), ("axoniq-clientid", self.client_id))

    async def __aenter__(self) -> AxonTestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        for stream in self._streams:
            stream.abort()
        await self.channel.close()

    def _open(self, stream: _Stream[Any], method: Any) -> None:
        stream._start(method(stream._requests(), metadata=self.metadata))
        self._streams.append(stream)

    # -- handlers --------------------------------------------------------------------

    async def command_handler(self, *commands: str, load_factor: int = 100, permits: int = 1000,
                              auto: bool = True, handle: CommandFn | None = None) -> CommandHandlerStream:
        stream = CommandHandlerStream(self, auto, handle)
        self._open(stream, self.commands.OpenStream)
        for command in commands:
            await stream.subscribe(command, load_factor)
        if permits:
            stream.grant(permits)
        return stream

    async def query_handler(self, *queries: str, permits: int = 1000, handle: QueryFn | None = None,
                            auto: bool = True) -> QueryHandlerStream:
        stream = QueryHandlerStream(self, handle, auto)
        self._open(stream, self.queries.OpenStream)
        for query in queries:
            await stream.subscribe(query)
        if permits:
            stream.grant(permits)
        return stream

    async def control(self, answer: InstructionFn | None = None) -> ControlStream:
        stream = ControlStream(self, answer)
        self._open(stream, self.platform.OpenStream)
        await stream.register()
        return stream

    # -- dispatching -----------------------------------------------------------------

    async def dispatch(self, name: str, data: bytes | str = b"", routing_key: str | None = None,
                       timeout_ms: int | None = None, message_id: str | None = None,
                       priority: int | None = None) -> command_pb2.CommandResponse:
        command = command_pb2.Command(
            message_identifier=message_id or str(uuid.uuid4()), name=name, payload=payload(data),
            client_id=self.client_id, component_name=self.component)
        if routing_key is not None:
            command.processing_instructions.append(instruction(common_pb2.ROUTING_KEY, routing_key))
        if timeout_ms is not None:
            command.processing_instructions.append(instruction(common_pb2.TIMEOUT, timeout_ms))
        if priority is not None:
            command.processing_instructions.append(instruction(common_pb2.PRIORITY, priority))
        response: command_pb2.CommandResponse = await self.commands.Dispatch(command, metadata=self.metadata)
        return response

    def query_request(self, name: str, data: bytes | str = b"", nr_of_results: int | None = None,
                      timeout_ms: int | None = None, streaming: bool = False) -> query_pb2.QueryRequest:
        request = query_pb2.QueryRequest(
            message_identifier=str(uuid.uuid4()), query=name, payload=payload(data),
            client_id=self.client_id, component_name=self.component)
        if nr_of_results is not None:
            request.processing_instructions.append(instruction(common_pb2.NR_OF_RESULTS, nr_of_results))
        if timeout_ms is not None:
            request.processing_instructions.append(instruction(common_pb2.TIMEOUT, timeout_ms))
        if streaming:
            request.processing_instructions.append(instruction(common_pb2.CLIENT_SUPPORTS_STREAMING, True))
        return request

    def query_call(self, request: query_pb2.QueryRequest) -> Any:
        return self.queries.Query(request, metadata=self.metadata)

    async def query(self, name: str, data: bytes | str = b"", **options: Any) -> list[query_pb2.QueryResponse]:
        return [r async for r in self.query_call(self.query_request(name, data, **options))]

    async def subscription_query(self, name: str, permits: int = 100, data: bytes | str = b"",
                                 grant_first: int = 0) -> SubscriptionStream:
        """Subscribe with `permits`; `grant_first` sends that many in a `flow_control`
        before the `subscribe`, as the Java connector does."""
        request = self.query_request(name, data)
        query = query_pb2.SubscriptionQuery(
            subscription_identifier=request.message_identifier, number_of_permits=permits, query_request=request)
        stream = SubscriptionStream(query)
        self._open(stream, self.queries.Subscription)
        if grant_first:
            stream.grant(grant_first)
        stream.send(query_pb2.SubscriptionQueryRequest(subscribe=query))
        return stream
