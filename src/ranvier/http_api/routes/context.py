"""Initializing a fresh node: Axon's init-cluster endpoints.

`POST /v1/context/init?context=` is what `axonserver-cli init-cluster` and the
dashboard send; `POST /v2/cluster/init` is what axonclient's development setup
sends. Both are idempotent on an initialized node.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .._request import DEFAULT_CONTEXT, node_of


async def init_context(request: Request) -> Response:
    context = request.query_params.get("context") or DEFAULT_CONTEXT
    await node_of(request).initialize(context)
    return Response(status_code=200)


async def init_cluster(request: Request) -> PlainTextResponse:
    await node_of(request).initialize(DEFAULT_CONTEXT)
    return PlainTextResponse("Accepted init cluster request", status_code=200)


routes = [
    Route("/v1/context/init", init_context, methods=["POST"]),
    Route("/v2/cluster/init", init_cluster, methods=["POST"]),
]
