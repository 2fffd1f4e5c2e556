"""Axon's event REST endpoints: append, read an aggregate or the stream, snapshots.

Reads answer as Server-Sent Events, one `data:` line of JSON per event, as Axon
Server does. An aggregate read ends after the aggregate's last event. A tracking
read (no `aggregateId`) starts at `trackingToken` and tails new events until it has
sent `maxEvents` or `timeout` seconds pass, so every response ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from ranvier.eventstore import ContextEventStore

from .._request import (
    bad_request,
    bool_param,
    context_of,
    float_param,
    int_param,
    json_body,
    node_of,
    server_stopping,
    str_param,
)
from ..event_json import event_from_json, event_to_json, events_from_json

DEFAULT_TIMEOUT_SECONDS = 3600.0
DEFAULT_MAX_EVENTS = 10_000
_READ_BATCH = 256  # events per chunk written to the response
_STOP_CHECK_SECONDS = 0.5  # how often a waiting stream checks whether the node is stopping
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _store(request: Request) -> ContextEventStore:
    return node_of(request).event_store(context_of(request))


async def post_events(request: Request) -> JSONResponse:
    """One transaction: all the messages are stored, or none."""
    store = _store(request)
    events = events_from_json(await json_body(request))
    result = await store.append_events(events)
    return JSONResponse({"firstToken": result.first_token, "count": result.count})


async def get_events(request: Request) -> StreamingResponse:
    store = _store(request)
    aggregate_id = request.query_params.get("aggregateId")
    if aggregate_id:
        stream = _aggregate_stream(
            store,
            aggregate_id,
            int_param(request, "initialSequence", 0),
            int_param(request, "maxSequence", -1),
            bool_param(request, "allowSnapshots", True),
        )
    else:
        max_events = int_param(request, "maxEvents", DEFAULT_MAX_EVENTS)
        timeout = float_param(request, "timeout", DEFAULT_TIMEOUT_SECONDS)
        if max_events < 0 or timeout < 0:
            raise bad_request("maxEvents and timeout must not be negative")
        token = int_param(request, "trackingToken", 0)
        stream = _tracking_stream(store, token, max_events, timeout, lambda: server_stopping(node_of(request)))
    return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)


def _sse(event: dict[str, object]) -> str:
    return f"data:{json.dumps(event, separators=(',', ':'))}\n\n"


async def _aggregate_stream(
    store: ContextEventStore, aggregate_id: str, initial: int, maximum: int, snapshots: bool
) -> AsyncIterator[str]:
    chunk: list[str] = []
    for raw in store.aggregate_events(aggregate_id, initial, maximum, snapshots):
        chunk.append(_sse(event_to_json(raw)))
        if len(chunk) >= _READ_BATCH:
            yield "".join(chunk)
            chunk.clear()
    if chunk:
        yield "".join(chunk)


async def _tracking_stream(
    store: ContextEventStore, token: int, max_events: int, timeout: float, stopping: Callable[[], bool]
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    cursor = store.cursor(token)
    sent = 0
    while sent < max_events:
        batch = cursor.read(min(_READ_BATCH, max_events - sent))
        if batch:
            yield "".join(_sse(event_to_json(raw, event_token)) for event_token, raw in batch)
            sent += len(batch)
            continue
        remaining = deadline - loop.time()
        if remaining <= 0 or stopping():
            return
        try:
            await asyncio.wait_for(
                store.wait_for_events_after(cursor.token - 1), min(remaining, _STOP_CHECK_SECONDS)
            )
        except TimeoutError:
            pass


async def get_snapshots(request: Request) -> JSONResponse:
    """The aggregate's snapshots, newest first (`maxResults` <= 0: all of them)."""
    store = _store(request)
    snapshots = store.snapshots(
        str_param(request, "aggregateId"),
        int_param(request, "initialSequence", 0),
        int_param(request, "maxSequence", -1),
        int_param(request, "maxResults", 1),
    )
    return JSONResponse([event_to_json(raw) for raw in snapshots])


async def post_snapshot(request: Request) -> JSONResponse:
    store = _store(request)
    event = event_from_json(await json_body(request), "snapshot", snapshot=True)
    await store.append_snapshot(event)
    return JSONResponse({"success": True})


routes = [
    Route("/v1/events", post_events, methods=["POST"]),
    Route("/v1/events", get_events, methods=["GET"]),
    Route("/v1/snapshots", get_snapshots, methods=["GET"]),
    Route("/v1/snapshots", post_snapshot, methods=["POST"]),
    Route("/v1/snapshot", post_snapshot, methods=["POST"]),
]
