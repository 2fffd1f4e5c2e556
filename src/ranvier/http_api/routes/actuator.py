"""Spring Boot actuator endpoints, as Axon Server exposes them: health and info.

`/actuator/health` has Spring's shape, `{status, components}`: `diskSpace` (free
bytes where events are stored; DOWN below 256 MB, Axon's threshold),
`localEventStore` with one component per context (DOWN with the reason when the
context failed to open or its store failed since), and `ping`. The overall status
is the worst; anything but UP answers 503, as Spring does.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ranvier import __version__

from .._request import node_of

if TYPE_CHECKING:
    from ranvier.node import Node

DISK_THRESHOLD = 256 * 1024 * 1024
UP, DOWN = "UP", "DOWN"

Component = dict[str, object]


def context_problem(node: Node, context: str) -> str | None:
    """Why `context` cannot serve requests, or None when it can."""
    reason = node.failed_contexts.get(context)
    if reason is not None:
        return reason
    store = node.stores.get(context)
    if store is None:
        return "context is not open on this node"
    return store.store.failed


def context_health(node: Node, context: str) -> Component:
    problem = context_problem(node, context)
    if problem is not None:
        return {"status": DOWN, "details": {"error": problem}}
    store = node.stores[context]
    return {"status": UP, "details": {"firstToken": store.first_token(), "lastToken": store.last_token()}}


def disk_health(node: Node) -> Component:
    path = node.settings.event_storage
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return {"status": DOWN, "details": {"path": str(path), "exists": path.exists(), "error": str(exc)}}
    status = UP if usage.free >= DISK_THRESHOLD else DOWN
    details = {"total": usage.total, "free": usage.free, "threshold": DISK_THRESHOLD, "path": str(path), "exists": True}
    return {"status": status, "details": details}


def health(node: Node) -> Component:
    contexts = {name: context_health(node, name) for name in sorted({*node.context_names, *node.failed_contexts})}
    store: Component = {"status": _worst(c["status"] for c in contexts.values())}
    if contexts:
        store["components"] = contexts
    components = {"diskSpace": disk_health(node), "localEventStore": store, "ping": {"status": UP}}
    return {"status": _worst(c["status"] for c in components.values()), "components": components}


def _worst(statuses: Iterable[object]) -> str:
    return DOWN if any(status == DOWN for status in statuses) else UP


async def get_health(request: Request) -> JSONResponse:
    body = health(node_of(request))
    return JSONResponse(body, status_code=200 if body["status"] == UP else 503)


async def get_liveness(request: Request) -> JSONResponse:
    return JSONResponse({"status": UP})


async def get_readiness(request: Request) -> JSONResponse:
    """UP once the node serves contexts (Axon: once its replication groups are initialised)."""
    ready = node_of(request).initialized
    return JSONResponse({"status": UP if ready else "OUT_OF_SERVICE"}, status_code=200 if ready else 503)


async def get_info(request: Request) -> JSONResponse:
    app = {"name": "Ranvier", "description": "Axon Server-compatible event store", "version": __version__}
    return JSONResponse({"app": app})


async def get_links(request: Request) -> JSONResponse:
    base = str(request.base_url).rstrip("/") + "/actuator"
    names = {"self": "", "health": "/health", "health-path": "/health/{*path}", "info": "/info"}
    links = {name: {"href": base + path, "templated": "{" in path} for name, path in names.items()}
    return JSONResponse({"_links": links})


routes = [
    Route("/actuator", get_links, methods=["GET"]),
    Route("/actuator/health", get_health, methods=["GET"]),
    Route("/actuator/health/liveness", get_liveness, methods=["GET"]),
    Route("/actuator/health/readiness", get_readiness, methods=["GET"]),
    Route("/actuator/info", get_info, methods=["GET"]),
]
