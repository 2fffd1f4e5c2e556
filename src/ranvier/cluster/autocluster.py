"""Automatic cluster formation from configuration (Axon's `autocluster.*` properties).

`axoniq.axonserver.autocluster.first=<internal-host>[:<internal-port>]` names the
node that founds the cluster; `autocluster.contexts=ctx1,ctx2` the contexts it
creates and the other nodes join, all as PRIMARY. Whichever node starts first:

- the node whose internal hostname and internal port match `first` runs
  init-cluster on itself: `_admin` always, then each listed context;
- every other node retries register-node against `first` in the background, with
  backoff, until that node is up and initialised, then joins the listed contexts
  (creating one that does not exist yet).

It only acts on a clean (uninitialised) node and is never re-applied after: an
operator's later changes (a node removed from a context, say) stay as made. A
marker file written before the first step and removed after the last makes an
interrupted formation resume on the next start, and only then.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ranvier.errors import ErrorCode, RanvierError

from .admin import ADMIN, PRIMARY

if TYPE_CHECKING:
    from ranvier.node import Node

log = logging.getLogger(__name__)

DEFAULT_INTERNAL_PORT = 8224
MARKER = "ranvier-autocluster.pending"
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 5.0


@dataclass(frozen=True)
class Plan:
    first_host: str
    first_port: int
    contexts: tuple[str, ...]  # without `_admin`: every node is an admin node in this version
    founder: bool  # `first` names this node


def parse_first(first: str) -> tuple[str, int]:
    """`host[:port]` (port 8224 when omitted)."""
    text = first.strip()
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return text, DEFAULT_INTERNAL_PORT
    return host, int(port)


def plan_for(first: str, contexts: tuple[str, ...] | list[str], internal_host: str, internal_port: int) -> Plan:
    host, port = parse_first(first)
    mine = {internal_host.lower(), internal_host.split(".")[0].lower()}
    founder = host.lower() in mine and port == internal_port
    wanted = tuple(dict.fromkeys(c for c in contexts if c != ADMIN))
    return Plan(host, port, wanted, founder)


def start_autocluster(node: Node) -> asyncio.Task[None] | None:
    """Schedule autoclustering for `node` when configured and still to do (called by
    `Node.start()` once the internal port is up)."""
    settings = node.settings
    first = getattr(settings, "autocluster_first", None)
    cluster = node.cluster
    if cluster is None or not first:
        return None
    marker = settings.log_storage_folder / MARKER
    if cluster.runtime.initialized and not marker.exists():
        log.info("autocluster: node already initialised, configuration not re-applied")
        return None
    plan = plan_for(first, tuple(getattr(settings, "autocluster_contexts", ())),
                    settings.internal_hostname, settings.internal_port)
    return asyncio.get_running_loop().create_task(_run(node, plan, marker), name="autocluster")


async def _run(node: Node, plan: Plan, marker: Path) -> None:
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    backoff = BACKOFF_MIN_S
    attempt = 0
    while not node.stopping:
        attempt += 1
        try:
            if plan.founder:
                await _found(node, plan)
            else:
                await _join(node, plan)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - retry whatever went wrong; log why
            if node.stopping:
                return
            why = str(exc) if isinstance(exc, RanvierError) else f"{type(exc).__name__}: {exc}"
            if isinstance(exc, RanvierError) and exc.code == ErrorCode.ALREADY_MEMBER_OF_CLUSTER \
                    and not node.cluster.runtime.initialized:  # type: ignore[union-attr]
                log.error("autocluster: %s, but this node holds no cluster state; giving up "
                          "(unregister it on the cluster and restart it)", why)
                return
            level = logging.INFO if attempt <= 3 else logging.WARNING
            log.log(level, "autocluster: attempt %d failed (%s); retrying in %.1fs", attempt, why, backoff)
            if await _stopped_within(node, backoff):
                return
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            continue
        marker.unlink(missing_ok=True)
        log.info("autocluster: done (%s, contexts %s)", "founded the cluster" if plan.founder else
                 f"joined {plan.first_host}:{plan.first_port}", ", ".join([ADMIN, *plan.contexts]))
        return


async def _found(node: Node, plan: Plan) -> None:
    cluster = node.cluster
    assert cluster is not None
    if not cluster.runtime.initialized:
        log.info("autocluster: this node is %s:%d, initialising the cluster", plan.first_host, plan.first_port)
    if not plan.contexts:
        # init-cluster always names a context; with none listed only `_admin` exists:
        # creating `_admin` a second time is refused, which is the outcome we want.
        try:
            await cluster.init_cluster(ADMIN)
        except RanvierError as exc:
            if exc.code != ErrorCode.CONTEXT_EXISTS:
                raise
        return
    for context in plan.contexts:
        await cluster.init_cluster(context)  # the first founds the cluster; idempotent


async def _join(node: Node, plan: Plan) -> None:
    cluster = node.cluster
    assert cluster is not None
    if not cluster.runtime.initialized:
        log.info("autocluster: registering with %s:%d", plan.first_host, plan.first_port)
        await cluster.register_node(plan.first_host, plan.first_port, None, no_contexts=True)
    await _wait_until(node, lambda: cluster.initialized, "the _admin configuration to reach this node")
    me = cluster.me.name
    for context in plan.contexts:
        config = cluster.runtime.admin_fsm.config
        record = config.contexts.get(context)
        if record is None:
            try:
                await cluster.change("create_context", name=context, members={me: PRIMARY})
                continue
            except RanvierError as exc:
                if exc.code != ErrorCode.CONTEXT_EXISTS:
                    raise  # another joining node created it meanwhile: add ourselves below
        elif me in record.members:
            continue
        await cluster.change("add_node_to_context", context=context, node=me, role=PRIMARY)


async def _wait_until(node: Node, condition: object, what: str, timeout_s: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():  # type: ignore[operator]
        if node.stopping:
            raise RanvierError("node stopping")
        if loop.time() > deadline:
            raise RanvierError(f"timed out waiting for {what}", ErrorCode.NO_AXONSERVER_FOR_CONTEXT)
        await asyncio.sleep(0.05)


async def _stopped_within(node: Node, seconds: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if node.stopping:
            return True
        await asyncio.sleep(min(0.1, deadline - loop.time()))
    return node.stopping
