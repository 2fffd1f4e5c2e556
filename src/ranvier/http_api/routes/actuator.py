"""Spring Boot actuator endpoints, as Axon Server exposes them: health and info.

`/actuator/health` has Spring's shape, `{status, components}`: `diskSpace` (free
bytes where events are stored; DOWN below 256 MB, Axon's threshold),
`localEventStore` with one component per context (DOWN with the reason when the
context failed to open or its store failed since), and `ping`. A clustered node
adds `raft`, one component per replication group it is a member of (`_admin` and
each context): UP when a leader is known (and heard from lately) and, on the
leader, a majority of the voters is reachable; else DOWN with the reason ("no leader", "quorum lost: 1 of 3
voters reachable"). The overall status is the worst; anything but UP answers 503,
as Spring does.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ranvier import __version__
from ranvier.cluster.admin import ADMIN
from ranvier.raft import NONE

from .._request import node_of

if TYPE_CHECKING:
    from ranvier.node import Node
    from ranvier.replication.driver import GroupDriver

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


def group_health(node: Node, group: str, driver: GroupDriver) -> Component:
    """One replication group's quorum, as this node sees it."""
    cluster = node.cluster
    assert cluster is not None
    runtime, transport = cluster.runtime, cluster.transport
    status = driver.node.status()
    voters = set(status.conf_state.voters)
    progress = driver.node.raft.trk.progress
    leading = driver.is_leader

    def reachable(voter: int) -> bool:
        if voter == driver.node_id or transport.is_connected(voter):
            return True
        return leading and voter in progress and progress[voter].recent_active

    up = sum(1 for v in voters if reachable(v))
    leader = runtime.leader_name(group)
    details: dict[str, object] = {
        "role": status.soft_state.state.name, "term": status.hard_state.term, "leader": leader,
        "voters": len(voters), "reachableVoters": up,
    }
    reach = f"{up} of {len(voters)} voters reachable"
    # A follower that hears nothing does not always campaign (a learner, say): a
    # leader silent for two election timeouts is as good as none.
    silent = asyncio.get_running_loop().time() - driver.last_heard
    election_s = driver.timing.election_tick * driver.timing.tick_s
    if driver.leader_id == NONE:
        details["error"] = f"no leader ({reach})"
    elif not leading and silent > 2 * election_s:
        details["error"] = f"no leader: {leader or 'the leader'} not heard from for {silent:.1f}s ({reach})"
    elif leading and up <= len(voters) // 2:
        details["error"] = f"quorum lost: {reach}"
    return {"status": DOWN if "error" in details else UP, "details": details}


def raft_health(node: Node) -> Component | None:
    """Per replication group quorum of a clustered node; None for a standalone node."""
    cluster = getattr(node, "cluster", None)
    if cluster is None:
        return None
    runtime = cluster.runtime
    drivers = ([(ADMIN, runtime.admin)] if runtime.admin is not None else []) + [
        (name, group.driver) for name, group in sorted(runtime.contexts.items())]
    if not drivers:
        return {"status": UP, "details": {"initialized": False}}
    groups: dict[str, Component] = {}
    for name, driver in drivers:
        try:
            groups[name] = group_health(node, name, driver)
        except Exception as exc:  # noqa: BLE001 - health must answer; a group mid-change is reported
            groups[name] = {"status": DOWN, "details": {"error": f"{type(exc).__name__}: {exc}"}}
    return {"status": _worst(g["status"] for g in groups.values()), "components": groups}


def health(node: Node) -> Component:
    contexts = {name: context_health(node, name) for name in sorted({*node.context_names, *node.failed_contexts})}
    store: Component = {"status": _worst(c["status"] for c in contexts.values())}
    if contexts:
        store["components"] = contexts
    components = {"diskSpace": disk_health(node), "localEventStore": store, "ping": {"status": UP}}
    raft = raft_health(node)
    if raft is not None:
        components["raft"] = raft
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
