"""Query dispatch on one node: one handler per component, results streamed back.

A query goes to one instance of every component subscribed to its name in its
context (`Registry.query_handlers`). Handlers answer with `QueryResponse`s carrying
the query's id as `request_identifier`, then a `QueryComplete`. The dispatcher
reads an `ActiveQuery` as an async iterator of responses; it ends when every chosen
handler has completed, when NR_OF_RESULTS responses have arrived, or with an error
response when the query fails:
  no handler subscribed            -> AXONIQ-5000
  same message id already active   -> AXONIQ-5007
  a handler's stream ended before it completed -> AXONIQ-4001 (that handler only)
  not done within TIMEOUT (or the default) -> AXONIQ-5006

Streaming queries (the dispatcher sets CLIENT_SUPPORTS_STREAMING): the handler gets
the query with SERVER_SUPPORTS_STREAMING and sends results only as we grant it
`query_flow_control` permits. We grant a window up front and more as the dispatcher
consumes results, so a slow dispatcher slows the handler (hop-by-hop backpressure).
When the dispatcher goes away, or the query ends early, streaming handlers still
working get a `query_cancel`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ranvier._pb import query_pb2
from ranvier.errors import ErrorCode

from . import instructions as pi
from .clock import Clock, Timer
from .handlers import Handler
from .registry import Registry

log = logging.getLogger(__name__)

QueryHandler = Handler[Any]
STREAM_WINDOW = 32  # permits a streaming handler gets before the dispatcher has read anything


def error_response(query_id: str, code: ErrorCode, message: str) -> query_pb2.QueryResponse:
    return query_pb2.QueryResponse(
        message_identifier=str(uuid.uuid4()),
        request_identifier=query_id,
        error_code=code.code,
        error_message=pi.error_message(message, code.code),
    )


def _inbound(**kwargs: Any) -> query_pb2.QueryProviderInbound:
    return query_pb2.QueryProviderInbound(**kwargs)


def flow_control(query_id: str, permits: int) -> query_pb2.QueryProviderInbound:
    return _inbound(query_flow_control=query_pb2.QueryFlowControl(
        query_reference=query_pb2.QueryReference(request_id=query_id), permits=permits))


def cancel(query_id: str) -> query_pb2.QueryProviderInbound:
    return _inbound(query_cancel=query_pb2.QueryReference(request_id=query_id))


class ActiveQuery:
    """One query in progress; iterate it for the responses, in arrival order."""

    def __init__(self, query_id: str, context: str, request: query_pb2.QueryRequest, streaming: bool, limit: int) -> None:
        self.id = query_id
        self.context = context
        self.request = request
        self.streaming = streaming
        self.remaining = limit  # results still wanted; < 0: no limit
        self.waiting: dict[str, QueryHandler] = {}  # stream id -> handler not yet complete
        self.done = False
        self.timer: Timer | None = None
        self.results: asyncio.Queue[query_pb2.QueryResponse | None] = asyncio.Queue()
        self._unacknowledged = 0  # results read since we last granted handler permits

    async def __aiter__(self) -> AsyncIterator[query_pb2.QueryResponse]:
        while True:
            item = await self.results.get()
            if item is None:
                return
            yield item


class QueryRouter:
    def __init__(self, registry: Registry, clock: Clock, default_timeout_ms: int) -> None:
        self.registry = registry
        self.clock = clock
        self.default_timeout_ms = default_timeout_ms
        self.active: dict[str, ActiveQuery] = {}
        self.dispatched = 0

    def start(self, context: str, request: query_pb2.QueryRequest) -> ActiveQuery:
        """Send `request` to its handlers; raises TooManyRequests only when every
        chosen handler's queue is full (others still get the query)."""
        query_id = request.message_identifier or str(uuid.uuid4())
        request.message_identifier = query_id
        self.dispatched += 1
        streaming = pi.flag(request.processing_instructions, pi.CLIENT_SUPPORTS_STREAMING)
        limit = pi.number(request.processing_instructions, pi.NR_OF_RESULTS, -1)
        # Axon Framework marks a direct query with NR_OF_RESULTS=1. For a streaming
        # query that means "one handler", not "one result": the handler's whole
        # stream is wanted, and it ends with that handler's completion.
        single_handler = streaming and limit == 1
        if single_handler:
            limit = -1
        query = ActiveQuery(query_id, context, request, streaming, limit if limit > 0 else -1)
        if query_id in self.active:
            self._end(query, error_response(query_id, ErrorCode.QUERY_DUPLICATED, f"Query {query_id} is already active"))
            return query
        handlers = self.registry.query_handlers(context, request.query)
        if not handlers:
            self._end(query, error_response(query_id, ErrorCode.NO_HANDLER_FOR_QUERY, f"No handler for query: {request.query}"))
            return query
        self.active[query_id] = query
        query.timer = self.clock.call_later(self._timeout_s(request), lambda: self._expire(query))
        self._send(query, handlers[:1] if single_handler else handlers)
        return query

    def _send(self, query: ActiveQuery, handlers: Sequence[QueryHandler]) -> None:
        forwarded = query_pb2.QueryRequest()
        forwarded.CopyFrom(query.request)
        then: list[query_pb2.QueryProviderInbound] = []
        if query.streaming:
            forwarded.processing_instructions.append(pi.boolean(pi.SERVER_SUPPORTS_STREAMING, True))
            window = STREAM_WINDOW if query.remaining < 0 else min(STREAM_WINDOW, query.remaining)
            then.append(flow_control(query.id, window))
        refused: Exception | None = None
        for handler in handlers:
            if query.done:
                break
            query.waiting[handler.stream_id] = handler  # before send: an answer may come at once
            try:
                handler.send(_inbound(query=forwarded), then=then)
            except Exception as exc:  # noqa: BLE001 - one full queue must not stop the others
                del query.waiting[handler.stream_id]
                refused = exc
        if refused is not None and not query.waiting and not query.done:
            self._finish(query, None)
            raise refused

    def _timeout_s(self, request: query_pb2.QueryRequest) -> float:
        timeout_ms = pi.number(request.processing_instructions, pi.TIMEOUT, 0)
        return (timeout_ms if timeout_ms > 0 else self.default_timeout_ms) / 1000

    # -- ending ----------------------------------------------------------------------

    def _end(self, query: ActiveQuery, final: query_pb2.QueryResponse | None) -> None:
        query.done = True
        if final is not None:
            query.results.put_nowait(final)
        query.results.put_nowait(None)

    def _finish(self, query: ActiveQuery, final: query_pb2.QueryResponse | None) -> None:
        if query.done:
            return
        if self.active.get(query.id) is query:
            del self.active[query.id]
        if query.timer is not None:
            query.timer.cancel()
        if query.streaming:
            for handler in query.waiting.values():
                self._quietly(handler, cancel(query.id))
        query.waiting.clear()
        self._end(query, final)

    @staticmethod
    def _quietly(handler: QueryHandler, message: query_pb2.QueryProviderInbound) -> None:
        try:
            handler.send(message)
        except Exception:  # noqa: BLE001 - a handler that is gone needs no cancel
            pass

    def _expire(self, query: ActiveQuery) -> None:
        self._finish(query, error_response(query.id, ErrorCode.QUERY_TIMEOUT, f"Query {query.request.query} timed out"))

    def cancel(self, query: ActiveQuery) -> None:
        """The dispatcher no longer wants results."""
        self._finish(query, None)

    def consumed(self, query: ActiveQuery, count: int = 1) -> None:
        """The dispatcher has taken `count` more results: let streaming handlers send more."""
        if not query.streaming or query.done:
            return
        query._unacknowledged += count
        if query._unacknowledged >= STREAM_WINDOW // 2:
            permits, query._unacknowledged = query._unacknowledged, 0
            for handler in query.waiting.values():
                self._quietly(handler, flow_control(query.id, permits))

    # -- from handler streams --------------------------------------------------------

    def on_response(self, handler: QueryHandler, response: query_pb2.QueryResponse) -> None:
        query = self.active.get(response.request_identifier)
        if query is None or handler.stream_id not in query.waiting:
            return
        query.results.put_nowait(response)
        if query.remaining > 0:
            query.remaining -= 1
            if query.remaining == 0:
                self._finish(query, None)

    def on_complete(self, handler: QueryHandler, complete: query_pb2.QueryComplete) -> None:
        query = self.active.get(complete.request_id)
        if query is None or query.waiting.pop(handler.stream_id, None) is None:
            return
        if not query.waiting:
            self._finish(query, None)

    def handler_gone(self, handler: QueryHandler) -> None:
        """`handler`'s stream ended: drop its subscriptions, end its part of active queries."""
        self.registry.remove(handler)
        for query in list(self.active.values()):
            if query.waiting.pop(handler.stream_id, None) is None:
                continue
            query.results.put_nowait(error_response(
                query.id, ErrorCode.CONNECTION_TO_HANDLER_LOST, f"Connection to handler {handler.client_id} lost"))
            if not query.waiting:
                self._finish(query, None)
