"""Cluster administration, with Axon Server Enterprise's paths and bodies.

`POST /v1/cluster` (register-node) is sent to the *new* node and names a node that
is already in the cluster; the others are sent to any admin node. Changes are
committed in `_admin` and answered 202 (accepted: memberships follow shortly).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ranvier.errors import ErrorCode, RanvierError

from .._request import node_of


def _cluster(request: Request) -> Any:
    cluster = node_of(request).cluster
    if cluster is None:
        raise RanvierError("this node runs standalone, not in a cluster", ErrorCode.NOT_RUNNING_IN_CLUSTER)
    return cluster


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise RanvierError("the request body is not valid JSON", ErrorCode.INVALID_MESSAGE) from None
    if not isinstance(body, dict):
        raise RanvierError("the request body must be a JSON object", ErrorCode.INVALID_MESSAGE)
    return body


async def register_node(request: Request) -> Response:
    body = await _body(request)
    host = body.get("internalHostName")
    if not isinstance(host, str) or not host:
        raise RanvierError("internalHostName is required", ErrorCode.INVALID_MESSAGE)
    port = body.get("internalGrpcPort") or 8224
    await _cluster(request).register_node(host, int(port), body.get("context"), bool(body.get("noContexts")))
    return Response(status_code=202)


async def list_nodes(request: Request) -> JSONResponse:
    return JSONResponse(_cluster(request).nodes())


async def unregister_node(request: Request) -> Response:
    await _cluster(request).change("unregister_node", name=request.path_params["node"])
    return Response(status_code=200)


async def register_context(request: Request) -> Response:
    body = await _body(request)
    name = body.get("context")
    if not isinstance(name, str) or not name:
        raise RanvierError("context is required", ErrorCode.INVALID_CONTEXT_NAME)
    from ranvier.node import CONTEXT_NAME

    if not CONTEXT_NAME.match(name):
        raise RanvierError(f"invalid context name {name!r}", ErrorCode.INVALID_CONTEXT_NAME)
    nodes = list(body.get("nodes") or []) + [r["node"] for r in body.get("roles") or [] if "node" in r]
    await _cluster(request).register_context(name, sorted(set(nodes)))
    return Response(status_code=202)


def _preserve(request: Request) -> bool:
    return request.query_params.get("preserveEventStore", "").lower() == "true"


async def delete_context(request: Request) -> Response:
    await _cluster(request).change("delete_context", name=request.path_params["context"], preserve=_preserve(request))
    return Response(status_code=202)


async def add_node_to_context(request: Request) -> Response:
    role = request.query_params.get("role") or "PRIMARY"
    await _cluster(request).change(
        "add_node_to_context", context=request.path_params["context"], node=request.path_params["node"], role=role
    )
    return JSONResponse({"success": True, "message": "node added"}, status_code=202)


async def delete_node_from_context(request: Request) -> Response:
    await _cluster(request).change(
        "delete_node_from_context", context=request.path_params["context"], node=request.path_params["node"],
        preserve=_preserve(request),
    )
    return Response(status_code=202)


async def raft_status(request: Request) -> JSONResponse:
    return JSONResponse(_cluster(request).raft_status())


async def step_down(request: Request) -> Response:
    await _cluster(request).step_down(request.path_params["group"])
    return Response(status_code=200)


routes = [
    Route("/v1/cluster", register_node, methods=["POST"]),
    Route("/v1/cluster", list_nodes, methods=["GET"]),
    Route("/v1/cluster/{node}", unregister_node, methods=["DELETE"]),
    Route("/v1/context", register_context, methods=["POST"]),
    Route("/v1/context/{context}", delete_context, methods=["DELETE"]),
    Route("/v1/context/{context}/{node}", add_node_to_context, methods=["POST"]),
    Route("/v1/context/{context}/{node}", delete_node_from_context, methods=["DELETE"]),
    Route("/internal/raft/status", raft_status, methods=["GET"]),
    Route("/internal/context/{group}/stepdown", step_down, methods=["GET", "POST"]),
]
