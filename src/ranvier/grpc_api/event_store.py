"""Axon's `EventStore` gRPC service: decode, call the context's store, encode.

Events travel as raw bytes in both directions: what a client appends is stored as
sent, and what a reader receives is those same bytes (framed by hand for
`EventWithToken`). Only requests and small replies go through protobuf classes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Protocol

import grpc

from ranvier._pb import event_pb2
from ranvier.errors import ErrorCode, InvalidArgument, RanvierError
from ranvier.eventstore import ContextEventStore
from ranvier.eventstore.codec import frame_event_with_token, parse_key

from .flow_control import Permits, PermitsTimeout
from .metadata import context_name
from .messages import check_parsed, parser
from .status import abort, guarded, guarded_stream

log = logging.getLogger(__name__)

SERVICE = "io.axoniq.axonserver.grpc.event.EventStore"
_CONFIRMATION = event_pb2.Confirmation(success=True).SerializeToString()
_SEND_BATCH = 256  # events read from the log per wake-up of a tracker


class EventStores(Protocol):
    def event_store(self, context: str) -> ContextEventStore: ...


class EventStoreOptions(Protocol):
    max_message_size: int
    new_permits_timeout_ms: int
    blacklisted_send_after: int


def _identity(data: bytes) -> bytes:
    return data


class EventStoreService:
    def __init__(self, stores: EventStores, options: EventStoreOptions) -> None:
        self.stores = stores
        self.options = options

    def _store(self, context: grpc.aio.ServicerContext) -> ContextEventStore:
        return self.stores.event_store(context_name(context))

    def handler(self) -> grpc.GenericRpcHandler:
        raw = _identity
        methods = {
            "AppendEvent": grpc.stream_unary_rpc_method_handler(
                self.append_event, request_deserializer=raw, response_serializer=raw),
            "AppendSnapshot": grpc.unary_unary_rpc_method_handler(
                self.append_snapshot, request_deserializer=raw, response_serializer=raw),
            "ListAggregateEvents": grpc.unary_stream_rpc_method_handler(
                self.list_aggregate_events,
                request_deserializer=parser(event_pb2.GetAggregateEventsRequest), response_serializer=raw),
            "ListAggregateSnapshots": grpc.unary_stream_rpc_method_handler(
                self.list_aggregate_snapshots,
                request_deserializer=parser(event_pb2.GetAggregateSnapshotsRequest), response_serializer=raw),
            "ListEvents": grpc.stream_stream_rpc_method_handler(
                self.list_events, request_deserializer=parser(event_pb2.GetEventsRequest),
                response_serializer=raw),
            "ReadHighestSequenceNr": _unary(self.read_highest_sequence_nr, event_pb2.ReadHighestSequenceNrRequest),
            "GetFirstToken": _unary(self.get_first_token, event_pb2.GetFirstTokenRequest),
            "GetLastToken": _unary(self.get_last_token, event_pb2.GetLastTokenRequest),
            "GetTokenAt": _unary(self.get_token_at, event_pb2.GetTokenAtRequest),
        }
        return grpc.method_handlers_generic_handler(SERVICE, methods)

    # -- writes ----------------------------------------------------------------------

    @guarded
    async def append_event(self, _requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> bytes:
        """One client stream is one transaction: stored on completion, all or nothing.
        A stream the client cancels or that fails stores nothing (we never submit)."""
        store = self._store(context)
        events: list[bytes] = []
        total = 0
        limit = store.max_transaction_bytes
        # context.read() rather than `async for` over the request iterator: the
        # iterator is an async generator around the same read, one more frame per
        # event (~5 % of a bare server's per-message CPU here). Not mixed with it.
        read = context.read
        with store.receiving():
            while (raw := await read()) is not grpc.aio.EOF:
                total += len(raw)
                if total > limit:
                    raise InvalidArgument(
                        f"transaction exceeds {limit} bytes "
                        "(axoniq.axonserver.event.max-transaction-size); nothing was stored",
                        ErrorCode.PAYLOAD_TOO_LARGE,
                    )
                events.append(raw)
            await _confirm_half_closed(context)
        await store.append_events(events, total)
        return _CONFIRMATION

    @guarded
    async def append_snapshot(self, raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        await self._store(context).append_snapshot(raw)
        return _CONFIRMATION

    # -- aggregate reads -------------------------------------------------------------

    @guarded_stream
    async def list_aggregate_events(
        self, request: event_pb2.GetAggregateEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        store = self._store(context)
        await store.read_barrier()
        events = store.aggregate_events(
            request.aggregate_id, request.initial_sequence, request.max_sequence, request.allow_snapshots,
            request.min_token,
        )
        for raw in events:
            yield raw

    @guarded_stream
    async def list_aggregate_snapshots(
        self, request: event_pb2.GetAggregateSnapshotsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        store = self._store(context)
        await store.read_barrier()
        for raw in store.snapshots(
            request.aggregate_id, request.initial_sequence, request.max_sequence, request.max_results
        ):
            yield raw

    @guarded
    async def read_highest_sequence_nr(
        self, request: event_pb2.ReadHighestSequenceNrRequest, context: grpc.aio.ServicerContext
    ) -> event_pb2.ReadHighestSequenceNrResponse:
        store = self._store(context)
        await store.read_barrier()
        highest = store.highest_sequence(request.aggregate_id, request.from_sequence_nr)
        return event_pb2.ReadHighestSequenceNrResponse(to_sequence_nr=highest)

    # -- tokens ----------------------------------------------------------------------

    @guarded
    async def get_first_token(self, _request: object, context: grpc.aio.ServicerContext) -> event_pb2.TrackingToken:
        return event_pb2.TrackingToken(token=self._store(context).first_token())

    @guarded
    async def get_last_token(self, _request: object, context: grpc.aio.ServicerContext) -> event_pb2.TrackingToken:
        return event_pb2.TrackingToken(token=self._store(context).last_token())

    @guarded
    async def get_token_at(
        self, request: event_pb2.GetTokenAtRequest, context: grpc.aio.ServicerContext
    ) -> event_pb2.TrackingToken:
        return event_pb2.TrackingToken(token=self._store(context).token_at(request.instant))

    # -- the global stream -----------------------------------------------------------

    async def list_events(
        self, requests: AsyncIterator[event_pb2.GetEventsRequest], context: grpc.aio.ServicerContext
    ) -> None:
        """Bidirectional: the first request opens a tracker at `tracking_token`,
        later ones add permits or blacklist entries. The stream tails new events
        until the client half-closes or cancels it."""
        try:
            store = self._store(context)
            first = await anext(aiter(requests), None)
            if first is None:
                return
            check_parsed(first)
            if first.force_read_from_leader:
                await store.read_barrier()
            tracker = _Tracker(store, first, self.options, context)
            await tracker.run(requests)
        except RanvierError as exc:
            await abort(context, exc)


async def _confirm_half_closed(context: grpc.aio.ServicerContext) -> None:
    """Tell a clean end of the request stream from a client's cancel.

    grpc.aio ends the request stream the same way for both (`read()` gives EOF).
    A cancel reaches the server as two completions that gRPC core queues in the
    same pass: the failed read, and the close notice on which grpc.aio cancels
    this handler's task. The event loop may be handed the read first, so the
    handler could go on to store a cancelled transaction. One more read is the
    barrier: on a half-closed stream it is EOF at once, with nothing sent on the
    wire, and its completion queues behind the close notice of a cancelled one,
    so a cancelled handler is interrupted here (CancelledError; nothing stored).

    This replaced sending the initial metadata early, which fails on a cancelled
    call by itself but costs a HEADERS frame per transaction (~4 % of a pinned
    node's append rate at 16 clients x 100 events). The ordering it relies on is
    exercised by tests/integration/test_append_cancel.py (thousands of cancels at
    random moments, none stored) on every test run.
    """
    await context.read()


class _Tracker:
    """One ListEvents stream: a cursor, its permits, its blacklist."""

    def __init__(
        self,
        store: ContextEventStore,
        first: event_pb2.GetEventsRequest,
        options: EventStoreOptions,
        context: grpc.aio.ServicerContext,
    ) -> None:
        self.store = store
        self.context = context
        self.options = options
        self.cursor = store.cursor(first.tracking_token)
        self.permits = Permits(first.number_of_permits)
        self.blacklist: set[tuple[str, str]] = set()
        self.skipped = 0
        self.closed = asyncio.Event()
        self._add_blacklist(first)

    def _add_blacklist(self, request: event_pb2.GetEventsRequest) -> None:
        for entry in request.blacklist:
            self.blacklist.add((entry.type, entry.revision))

    async def run(self, requests: AsyncIterator[event_pb2.GetEventsRequest]) -> None:
        reader = asyncio.create_task(self._read_requests(requests))
        try:
            await self._send_loop()
        finally:
            reader.cancel()

    async def _read_requests(self, requests: AsyncIterator[event_pb2.GetEventsRequest]) -> None:
        try:
            async for request in requests:
                if not isinstance(request, event_pb2.GetEventsRequest):
                    continue  # a malformed permit message changes nothing; the stream goes on
                self.permits.grant(request.number_of_permits)
                self._add_blacklist(request)
        finally:
            self.closed.set()  # the client half-closed: Axon ends the stream too
            self.permits.grant(1)

    async def _send_loop(self) -> None:
        timeout_s = self.options.new_permits_timeout_ms / 1000
        while not self.closed.is_set():
            try:
                await self.permits.wait(timeout_s)
            except PermitsTimeout:
                raise RanvierError(
                    f"no new permits for {self.options.new_permits_timeout_ms} ms; closing the event stream",
                    ErrorCode.OTHER,
                ) from None
            if self.closed.is_set():
                return
            batch = self.cursor.read(min(self.permits.available, _SEND_BATCH))
            if not batch:
                await self._wait_for_events()
                continue
            for token, raw in batch:
                if self.blacklist and self._skip(raw):
                    continue
                await self.context.write(frame_event_with_token(token, raw))
                self.permits.spend()

    def _skip(self, raw: bytes) -> bool:
        key = parse_key(raw)
        if (key.payload_type, key.payload_revision) not in self.blacklist:
            return False
        self.skipped += 1
        if self.skipped >= self.options.blacklisted_send_after:
            self.skipped = 0  # send one anyway, so the client's token moves on
            return False
        return True

    async def _wait_for_events(self) -> None:
        waiter = asyncio.ensure_future(self.store.wait_for_events_after(self.cursor.token - 1))
        closed = asyncio.ensure_future(self.closed.wait())
        try:
            await asyncio.wait({waiter, closed}, return_when=asyncio.FIRST_COMPLETED)
            if waiter.done():
                waiter.result()
        finally:
            waiter.cancel()
            closed.cancel()


def _unary(method: object, request_type: type) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        method,  # type: ignore[arg-type]
        request_deserializer=parser(request_type),
        response_serializer=lambda message: message.SerializeToString(),
    )
