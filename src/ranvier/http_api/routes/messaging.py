"""Axon's messaging REST endpoints: handlers, running commands and queries,
components, and event-processor instructions.

Paths and parameters follow Axon Server (facts §3.4). Processor instructions
(pause, start, split, merge, move) go to the clients over their control streams and
wait for each client's InstructionResult, as Axon Server 4.6+ does. In a cluster,
components and instructions cover the clients of every node (`node.all_clients`):
an instruction for a client on another node goes there over the internal port.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ranvier._pb import command_pb2, common_pb2, control_pb2, query_pb2
from ranvier.errors import ErrorCode, RanvierError

from .._request import bad_request, context_of, json_body, node_of, str_param

if TYPE_CHECKING:
    from ranvier.node import Node

ConnectedClient = Any  # grpc_api.platform.ConnectedClient here, messaging.RemoteClient elsewhere

INSTRUCTION_RESULT_TIMEOUT_S = 10.0  # Axon's instruction.result.timeout
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


# -- JSON <-> protobuf -------------------------------------------------------------------


def _serialized_to_json(obj: common_pb2.SerializedObject) -> dict[str, str]:
    try:
        data = obj.data.decode("utf-8")
    except UnicodeDecodeError:
        data = base64.b64encode(obj.data).decode("ascii")
    return {"type": obj.type, "revision": obj.revision, "data": data}


def _serialized_from_json(value: object, field: str) -> common_pb2.SerializedObject:
    if value is None:
        return common_pb2.SerializedObject()
    if not isinstance(value, dict):
        raise bad_request(f"{field} must be an object with type, revision and data")
    data = value.get("data", "")
    return common_pb2.SerializedObject(
        type=str(value.get("type", "")), revision=str(value.get("revision") or ""),
        data=(data if isinstance(data, str) else json.dumps(data)).encode("utf-8"),
    )


def _meta_to_json(meta: Any) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in meta.items():
        kind = value.WhichOneof("data")
        out[key] = _serialized_to_json(value.bytes_value) if kind == "bytes_value" else getattr(value, kind) if kind else None
    return out


def _meta_from_json(value: object, target: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise bad_request("metaData must be an object")
    for key, item in value.items():
        if isinstance(item, bool):
            target[key].boolean_value = item
        elif isinstance(item, int):
            target[key].number_value = item
        elif isinstance(item, float):
            target[key].double_value = item
        else:
            target[key].text_value = str(item)


def _error_json(error: common_pb2.ErrorMessage) -> dict[str, object]:
    return {"message": error.message, "location": error.location, "details": list(error.details),
            "errorCode": error.error_code}


def _response_json(response: command_pb2.CommandResponse | query_pb2.QueryResponse) -> dict[str, object]:
    return {
        "messageIdentifier": response.message_identifier,
        "requestIdentifier": response.request_identifier,
        "errorCode": response.error_code,
        "errorMessage": _error_json(response.error_message) if response.HasField("error_message") else None,
        "payload": _serialized_to_json(response.payload) if response.HasField("payload") else None,
        "metaData": _meta_to_json(response.meta_data),
    }


def _body_object(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    return body


def _number_instruction(key: int, value: int) -> common_pb2.ProcessingInstruction:
    return common_pb2.ProcessingInstruction(key=key, value=common_pb2.MetaDataValue(number_value=value))


# -- commands ----------------------------------------------------------------------------


def _handler_rows(node: Node, handlers: list[Any], names: Any) -> list[dict[str, object]]:
    return [
        {"client": h.client_id, "component": h.component_name, "context": h.context,
         "proxy": getattr(h, "node_name", node.name),  # the node the handler is connected to
         **names(h)}
        for h in sorted(handlers, key=lambda h: (h.context, h.client_id))
    ]


async def get_commands(request: Request) -> JSONResponse:
    node = node_of(request)
    registry = node.messaging.registry
    return JSONResponse(_handler_rows(node, registry.command_handlers(), lambda h: {"commands": registry.command_names(h)}))


async def get_command_queues(request: Request) -> JSONResponse:
    node = node_of(request)
    return JSONResponse([
        {"client": h.client_id, "component": h.component_name, "context": h.context, "queued": h.queued}
        for h in node.messaging.registry.command_handlers()
    ])


async def get_command_count(request: Request) -> JSONResponse:
    return JSONResponse(len(node_of(request).messaging.commands.in_flight))


async def run_command(request: Request) -> JSONResponse:
    node = node_of(request)
    context = context_of(request)
    node.check_context(context)
    body = _body_object(await json_body(request))
    command = command_pb2.Command(
        message_identifier=str(body.get("messageIdentifier") or uuid.uuid4()),
        name=str(body.get("name") or ""),
        timestamp=int(body.get("timestamp") or 0),
        payload=_serialized_from_json(body.get("payload"), "payload"),
        client_id="REST", component_name="REST",
    )
    if not command.name:
        raise bad_request("name is required: the command's name")
    _meta_from_json(body.get("metaData"), command.meta_data)
    if body.get("routingKey"):
        command.processing_instructions.append(common_pb2.ProcessingInstruction(
            key=common_pb2.ROUTING_KEY, value=common_pb2.MetaDataValue(text_value=str(body["routingKey"]))))
    response = await node.messaging.commands.dispatch(context, command)
    return JSONResponse(_response_json(response))


# -- queries -----------------------------------------------------------------------------


async def get_queries(request: Request) -> JSONResponse:
    node = node_of(request)
    registry = node.messaging.registry
    return JSONResponse(_handler_rows(node, registry.query_handler_streams(), lambda h: {
        "queries": [{"query": name, "resultNames": results} for name, results in registry.query_names(h)]}))


async def run_query(request: Request) -> StreamingResponse:
    """Dispatch a query; answer with Server-Sent Events, one `data:` line per response."""
    node = node_of(request)
    context = context_of(request)
    node.check_context(context)
    body = _body_object(await json_body(request))
    query = query_pb2.QueryRequest(
        message_identifier=str(body.get("messageIdentifier") or uuid.uuid4()),
        query=str(body.get("query") or ""),
        timestamp=int(body.get("timestamp") or 0),
        payload=_serialized_from_json(body.get("payload"), "payload"),
        client_id="REST", component_name="REST",
    )
    if not query.query:
        raise bad_request("query is required: the query's name")
    _meta_from_json(body.get("metaData"), query.meta_data)
    query.processing_instructions.append(_number_instruction(common_pb2.NR_OF_RESULTS, int(body.get("nrOfResults", -1))))
    query.processing_instructions.append(_number_instruction(common_pb2.TIMEOUT, int(body.get("timeout", 15000))))
    router = node.messaging.queries
    active = router.start(context, query)

    async def stream() -> AsyncIterator[bytes]:
        try:
            async for response in active:
                yield f"data: {json.dumps(_response_json(response))}\n\n".encode()
                router.consumed(active)
        finally:
            router.cancel(active)

    return StreamingResponse(stream(), media_type="text/event-stream", headers=SSE_HEADERS)


# -- components --------------------------------------------------------------------------


def _component_context(request: Request) -> tuple[Node, str, str]:
    node = node_of(request)
    return node, request.path_params["component"], request.query_params.get("context") or "default"


async def get_component_commands(request: Request) -> JSONResponse:
    node, component, context = _component_context(request)
    registry = node.messaging.registry
    names = sorted({n for h in registry.command_handlers(context) if h.component_name == component
                    for n in registry.command_names(h)})
    return JSONResponse([{"name": n} for n in names])


async def get_component_queries(request: Request) -> JSONResponse:
    node, component, context = _component_context(request)
    registry = node.messaging.registry
    found: dict[str, set[str]] = {}
    for h in registry.query_handler_streams(context):
        if h.component_name == component:
            for name, results in registry.query_names(h):
                found.setdefault(name, set()).update(results)
    return JSONResponse([{"name": n, "responseTypes": sorted(r)} for n, r in sorted(found.items())])


def _clients_of(node: Node, component: str, context: str) -> list[ConnectedClient]:
    """The component's clients on every node."""
    return sorted((c for c in node.all_clients.all(context) if c.component_name == component),
                  key=lambda c: (c.client_id, node.all_clients.node_of(c)))


async def get_component_instances(request: Request) -> JSONResponse:
    node, component, context = _component_context(request)
    return JSONResponse([
        {"name": c.client_id, "clientId": c.client_id, "componentName": c.component_name, "context": c.context,
         "version": c.version, "tags": c.tags, "connectedTo": node.all_clients.node_of(c)}
        for c in _clients_of(node, component, context)
    ])


def _processor_instance(client: ConnectedClient, info: control_pb2.EventProcessorInfo) -> dict[str, object]:
    return {
        "clientId": client.client_id, "running": info.running, "error": info.error,
        "activeThreads": info.active_threads, "availableThreads": info.available_threads,
        "segments": [
            {"segmentId": s.segment_id, "onePartOf": s.one_part_of, "caughtUp": s.caught_up,
             "replaying": s.replaying, "tokenPosition": s.token_position, "errorState": s.error_state}
            for s in info.segment_status
        ],
    }


async def get_component_processors(request: Request) -> JSONResponse:
    node, component, context = _component_context(request)
    processors: dict[str, dict[str, Any]] = {}
    for client in _clients_of(node, component, context):
        for name, info in sorted(client.processors.items()):
            entry = processors.setdefault(name, {
                "name": name, "mode": info.mode, "isStreaming": info.is_streaming_processor,
                "tokenStoreIdentifier": info.token_store_identifier,
                "loadBalancingStrategyName": info.load_balancing_strategy_name, "instances": [],
            })
            entry["instances"].append(_processor_instance(client, info))
    return JSONResponse(list(processors.values()))


# -- processor instructions --------------------------------------------------------------


def _running(request: Request) -> tuple[Node, list[ConnectedClient], str]:
    node, component, context = _component_context(request)
    processor = request.path_params["processor"]
    clients = [c for c in _clients_of(node, component, context) if processor in c.processors]
    if not clients:
        raise RanvierError(
            f"no client of component {component} in context {context} reports event processor {processor}",
            ErrorCode.EVENT_PROCESSOR_NOT_FOUND)
    return node, clients, processor


async def _instruct(node: Node, client: ConnectedClient,
                    instruction: control_pb2.PlatformOutboundInstruction) -> None:
    """On whichever node the client is connected to; raises the client's error."""
    await node.all_clients.instruct(client, instruction, INSTRUCTION_RESULT_TIMEOUT_S)


async def _instruct_all(node: Node, clients: list[ConnectedClient], make: Any) -> Response:
    for client in clients:
        await _instruct(node, client, make())
    return Response(status_code=200)


async def pause_processor(request: Request) -> Response:
    node, clients, processor = _running(request)
    ref = control_pb2.EventProcessorReference(processor_name=processor)
    return await _instruct_all(node, clients, lambda: control_pb2.PlatformOutboundInstruction(pause_event_processor=ref))


async def start_processor(request: Request) -> Response:
    node, clients, processor = _running(request)
    ref = control_pb2.EventProcessorReference(processor_name=processor)
    return await _instruct_all(node, clients, lambda: control_pb2.PlatformOutboundInstruction(start_event_processor=ref))


def _segments(clients: list[ConnectedClient], processor: str) -> list[tuple[int, int, ConnectedClient]]:
    """(one part of, segment id, owner) for every claimed segment."""
    return sorted(
        (s.one_part_of, s.segment_id, c) for c in clients for s in c.processors[processor].segment_status
        if s.one_part_of > 0
    )


async def split_segment(request: Request) -> Response:
    """Ask the owner of the largest segment (smallest `one_part_of`) to split it."""
    node, clients, processor = _running(request)
    segments = _segments(clients, processor)
    if not segments:
        raise RanvierError(f"no client holds a segment of {processor}", ErrorCode.EVENT_PROCESSOR_NOT_FOUND)
    _part, segment, owner = segments[0]
    ref = control_pb2.EventProcessorSegmentReference(processor_name=processor, segment_identifier=segment)
    await _instruct(node, owner, control_pb2.PlatformOutboundInstruction(split_event_processor_segment=ref))
    return Response(status_code=200)


async def merge_segments(request: Request) -> Response:
    """Ask the owner of the smallest segment to merge it with its sibling."""
    node, clients, processor = _running(request)
    segments = _segments(clients, processor)
    if len(segments) < 2 and not (segments and segments[0][0] > 1):
        raise bad_request(f"event processor {processor} has a single segment; nothing to merge")
    _part, segment, owner = segments[-1]
    ref = control_pb2.EventProcessorSegmentReference(processor_name=processor, segment_identifier=segment)
    await _instruct(node, owner, control_pb2.PlatformOutboundInstruction(merge_event_processor_segment=ref))
    return Response(status_code=200)


async def move_segment(request: Request) -> Response:
    """Release segment {segment} at its owner so that `target` can claim it."""
    node, clients, processor = _running(request)
    try:
        segment = int(request.path_params["segment"])
    except ValueError:
        raise bad_request(f"segment must be an integer, not {request.path_params['segment']!r}") from None
    target = str_param(request, "target")
    owners = [c for part, seg, c in _segments(clients, processor) if seg == segment and c.client_id != target]
    ref = control_pb2.EventProcessorSegmentReference(processor_name=processor, segment_identifier=segment)
    for owner in owners:
        await _instruct(node, owner, control_pb2.PlatformOutboundInstruction(release_segment=ref))
    return Response(status_code=200)


async def request_reconnect(request: Request) -> Response:
    """`PATCH /v1/instructions?client=`: tell a client to reconnect."""
    node = node_of(request)
    client_id = str_param(request, "client")
    clients = node.all_clients.find(client_id)
    if not clients:
        raise RanvierError(f"client {client_id} is not connected to any node", ErrorCode.CLIENT_DISCONNECTED)
    for client in clients:  # sent, not awaited: the client drops this stream to obey
        await node.all_clients.instruct(client, control_pb2.PlatformOutboundInstruction(
            request_reconnect=control_pb2.RequestReconnect(), instruction_id=str(uuid.uuid4())),
            INSTRUCTION_RESULT_TIMEOUT_S, await_result=False)
    return Response(status_code=200)


_P = "/v1/components/{component}/processors/{processor}"

routes = [
    Route("/v1/commands", get_commands, methods=["GET"]),
    Route("/v1/commands/queues", get_command_queues, methods=["GET"]),
    Route("/v1/commands/count", get_command_count, methods=["GET"]),
    Route("/v1/commands/run", run_command, methods=["POST"]),
    Route("/v1/queries", get_queries, methods=["GET"]),
    Route("/v1/queries/run", run_query, methods=["POST"]),
    Route("/v1/components/{component}/commands", get_component_commands, methods=["GET"]),
    Route("/v1/components/{component}/queries", get_component_queries, methods=["GET"]),
    Route("/v1/components/{component}/instances", get_component_instances, methods=["GET"]),
    Route("/v1/components/{component}/processors", get_component_processors, methods=["GET"]),
    Route(_P + "/pause", pause_processor, methods=["PATCH"]),
    Route(_P + "/start", start_processor, methods=["PATCH"]),
    Route(_P + "/segments/split", split_segment, methods=["PATCH"]),
    Route(_P + "/segments/merge", merge_segments, methods=["PATCH"]),
    Route(_P + "/segments/{segment}/move", move_segment, methods=["PATCH"]),
    Route("/v1/instructions", request_reconnect, methods=["PATCH"]),
]
