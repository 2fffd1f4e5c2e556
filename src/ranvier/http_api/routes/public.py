"""`/v1/public/...`: what this node is, what it serves, and who is connected."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ranvier import __version__

from .._request import node_of

async def get_me(request: Request) -> JSONResponse:
    return JSONResponse(node_of(request).info())


async def get_my_contexts(request: Request) -> JSONResponse:
    return JSONResponse(list(node_of(request).context_names))


async def get_version(request: Request) -> JSONResponse:
    return JSONResponse({"productName": "Ranvier", "version": __version__})


async def get_overview_list(request: Request) -> JSONResponse:
    """Connected applications on every node, grouped by component name (Axon's
    overview list); `connectedTo` names the nodes its instances are connected to."""
    node = node_of(request)
    everywhere = node.all_clients
    components: dict[str, list[Any]] = defaultdict(list)
    for client in everywhere.all(request.query_params.get("for-context") or None):
        components[client.component_name].append(client)
    return JSONResponse([
        {
            "name": name,
            "instances": len(clients),
            "contexts": sorted({c.context for c in clients}),
            "connectedTo": sorted({everywhere.node_of(c) for c in clients}),
        }
        for name, clients in sorted(components.items())
    ])


async def get_nodes(request: Request) -> JSONResponse:
    """`/v1/public`: the cluster's nodes (on a single node, this one)."""
    node = node_of(request)
    if node.cluster is not None and node.cluster.initialized:
        return JSONResponse(node.cluster.nodes())
    me = node.info()
    return JSONResponse([{
        "name": me["name"], "hostName": me["hostName"], "grpcPort": me["grpcPort"], "httpPort": me["httpPort"],
        "internalHostName": me["internalHostName"], "grpcInternalPort": me["grpcInternalPort"], "connected": True,
    }])


async def get_contexts(request: Request) -> JSONResponse:
    """`/v1/public/context`: contexts with their leader and members, as Axon EE lists them."""
    node = node_of(request)
    if node.cluster is not None:
        return JSONResponse([c for c in node.cluster.contexts() if c["context"] != "_admin"])
    return JSONResponse([
        {
            "context": name, "replicationGroup": name, "metaData": {}, "changePending": False,
            "pendingSince": 0, "leader": node.name, "roles": [{"node": node.name, "role": "PRIMARY"}],
        }
        for name in node.context_names
    ])


routes = [
    Route("/v1/public", get_nodes, methods=["GET"]),
    Route("/v1/public/context", get_contexts, methods=["GET"]),
    Route("/v1/public/me", get_me, methods=["GET"]),
    Route("/v1/public/mycontexts", get_my_contexts, methods=["GET"]),
    Route("/v1/public/version", get_version, methods=["GET"]),
    Route("/v1/public/overview-list", get_overview_list, methods=["GET"]),
]
