"""Command and query routing between nodes: the `Relay` calls on the internal port.

Each node calls `Relay` on every other node of the cluster (`MessageLinks`, one
long-lived call per peer, reconnecting with backoff), and serves the calls of the
others (`RelayServer`). Over a call from A to B:

  down (A -> B): A's commands, queries and subscription requests for handler
                 streams connected to B, in batches;
  up   (B -> A): B's handler streams (all of them first, then each change) and
                 their answers to A's messages, in batches, in one order.

What the messages mean lives in `ranvier.messaging.remote`: A mirrors B's handlers
(`PeerHandlers`), B relays for A (`RelaySession`). The same call carries connected
applications (`ranvier.messaging.remote_clients`): B's control-stream clients up,
A's processor instructions for them down; each item goes to one side by its kind.
This module only moves batches and notices calls ending: when A's call to B ends,
for whatever reason, A drops every handler and client of B (in-flight commands
fail with AXONIQ-4001) and B forgets what A routed through it. A node that died is noticed when its
connection closes. One that hangs or is cut off without closing it is noticed by
silence: each side writes an empty batch after `heartbeat_s` without traffic, and
ends the call when it has heard nothing for `silence_s` (gRPC's keepalive alone
took longer than 20 s to notice a stopped process).

Both queues are bounded: down by `max_queue` items per peer (beyond it a message
is refused with AXONIQ-1900, like a full client queue), up by `max_pending` items
per caller (beyond it the call is ended; the caller reconnects and relearns).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from ranvier._pb import peer_pb2 as pb
from ranvier.aio import wait_for_event
from ranvier.messaging import (ClusterClients, OutboxClosed, PeerHandlers, Relay, Routers, TooManyRequests,
                               concerns_clients)

log = logging.getLogger(__name__)

MAX_BATCH = 512  # items per batch written; more wait for the next write
HEARTBEAT_S = 1.0
SILENCE_S = 5.0


class _Silence:
    """When the other side was last heard from; `watch` cancels the call after
    `silence_s` without a word."""

    def __init__(self, silence_s: float) -> None:
        self.silence_s = silence_s
        self.heard = asyncio.get_running_loop().time()

    def hear(self) -> None:
        self.heard = asyncio.get_running_loop().time()

    async def watch(self, on_silence: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            left = self.heard + self.silence_s - loop.time()
            if left <= 0:
                on_silence()
                return
            await asyncio.sleep(left)


@dataclass(eq=False)
class _Link:
    node_id: int
    name: str
    max_queue: int
    queue: list[pb.RelayDown] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    connected: bool = False
    peer: PeerHandlers | None = None

    def send_down(self, item: pb.RelayDown) -> None:
        if not self.connected:
            raise OutboxClosed(f"node {self.name} is not connected")
        if len(self.queue) >= self.max_queue:
            raise TooManyRequests(f"{len(self.queue)} messages already wait to be sent to node {self.name}")
        self.queue.append(item)
        self.wake.set()


class MessageLinks:
    """This node's `Relay` calls to the other nodes, kept to the set `sync` is given."""

    def __init__(
        self,
        my_id: int,
        routers: Routers,
        stub_for: Callable[[int], Any],
        *,
        max_queue: int = 10_000,
        backoff_min_s: float = 0.05,
        backoff_max_s: float = 1.0,
        heartbeat_s: float = HEARTBEAT_S,
        silence_s: float = SILENCE_S,
        clients: ClusterClients | None = None,
    ) -> None:
        self.my_id = my_id
        self.clients = clients
        self.heartbeat_s = heartbeat_s
        self.silence_s = silence_s
        self.routers = routers
        self.stub_for = stub_for
        self.max_queue = max_queue
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self._links: dict[int, _Link] = {}

    def sync(self, peers: dict[int, str]) -> None:
        """Call exactly these nodes (node id -> name); start and stop calls to match."""
        for node_id, name in peers.items():
            if node_id not in self._links and node_id != self.my_id:
                link = self._links[node_id] = _Link(node_id, name, self.max_queue)
                link.task = asyncio.get_running_loop().create_task(
                    self._run(link), name=f"relay:{self.my_id}->{node_id}")
        for node_id in [n for n in self._links if n not in peers]:
            link = self._links.pop(node_id)
            if link.task is not None:
                link.task.cancel()

    def connected(self, node_id: int) -> bool:
        link = self._links.get(node_id)
        return link is not None and link.connected

    async def close(self) -> None:
        links = list(self._links.values())
        self._links.clear()
        for link in links:
            if link.task is not None:
                link.task.cancel()
        await asyncio.gather(*(link.task for link in links if link.task is not None), return_exceptions=True)

    async def _run(self, link: _Link) -> None:
        backoff = self.backoff_min_s
        while True:
            try:
                if await self._call(link):
                    backoff = self.backoff_min_s
            except asyncio.CancelledError:
                # grpc.aio raises CancelledError in whoever awaits a call we cancelled
                # (silence, a failed write): that ends the call, not the link.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                log.info("relay to node %s: call ended", link.name)
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect later
                log.debug("relay to node %s: %s", link.name, _describe(exc))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max_s)

    async def _call(self, link: _Link) -> bool:
        """One call, until it ends; True if the peer answered at all."""
        call = self.stub_for(link.node_id).Relay(wait_for_ready=False)
        answered = False
        tasks: list[asyncio.Task[None]] = []
        peer = link.peer = PeerHandlers(self.routers, link.name, link.send_down)
        clients = self.clients.peer(link.name, link.send_down) if self.clients is not None else None
        silence = _Silence(self.silence_s)
        loop = asyncio.get_running_loop()
        try:
            tasks.append(loop.create_task(silence.watch(call.cancel)))  # also bounds the hello
            await call.write(pb.RelayDownBatch(from_node=self.my_id))
            link.connected = True
            tasks.append(loop.create_task(self._write(link, call)))
            tasks[-1].add_done_callback(lambda _t: call.cancel())
            async for batch in call:
                silence.hear()
                answered = True
                for item in batch.items:
                    try:
                        _taker(item, peer, clients).receive(item)
                    except Exception:  # noqa: BLE001 - one bad message must not cut the node off
                        log.exception("relay from node %s: could not handle %s", link.name, item.WhichOneof("message"))
            return answered
        finally:
            link.connected = False
            link.queue.clear()
            for task in tasks:
                task.cancel()
            call.cancel()
            link.peer = None
            peer.lost()
            if clients is not None:
                clients.lost()

    async def _write(self, link: _Link, call: Any) -> None:
        while True:
            if not link.queue:
                link.wake.clear()
                if not await wait_for_event(link.wake, self.heartbeat_s):
                    await call.write(pb.RelayDownBatch())  # still here
                continue
            items, link.queue = link.queue[:MAX_BATCH], link.queue[MAX_BATCH:]
            await call.write(pb.RelayDownBatch(items=items))


class RelayServer:
    """Serves other nodes' `Relay` calls to this node's handler streams."""

    def __init__(self, relay: Relay, my_id: int, is_member: Callable[[int], bool] = lambda _n: True,
                 max_pending: int = 50_000, heartbeat_s: float = HEARTBEAT_S, silence_s: float = SILENCE_S,
                 clients: ClusterClients | None = None) -> None:
        self.relay = relay
        self.clients = clients
        self.is_member = is_member  # only nodes of the configuration may route here
        self.my_id = my_id
        self.max_pending = max_pending
        self.heartbeat_s = heartbeat_s
        self.silence_s = silence_s

    async def serve(self, requests: AsyncIterator[pb.RelayDownBatch],
                    context: grpc.aio.ServicerContext) -> AsyncIterator[pb.RelayUpBatch]:
        iterator = requests.__aiter__()
        try:
            first = await iterator.__anext__()
        except StopAsyncIteration:
            return
        if not self.is_member(first.from_node):
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                                f"node {first.from_node} is not a member of this cluster (as this node knows it)")
        pending: list[pb.RelayUp] = []
        wake = asyncio.Event()
        overflow = False

        def send_up(item: pb.RelayUp) -> None:
            nonlocal overflow
            if len(pending) >= self.max_pending:
                overflow = True
            else:
                pending.append(item)
            wake.set()

        session = self.relay.open(first.from_node, send_up)
        clients = self.clients.open(send_up) if self.clients is not None else None
        for item in first.items:
            _taker(item, session, clients).receive(item)
        silence = _Silence(self.silence_s)
        reader = asyncio.ensure_future(self._read(iterator, session, clients, wake, silence))
        watcher = asyncio.ensure_future(silence.watch(reader.cancel))
        try:
            while True:
                if overflow:
                    log.warning("relay for node %d: %d answers not taken; ending the call", first.from_node,
                                len(pending))
                    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "relay answers not read")
                if pending:
                    items, pending[:] = pending[:MAX_BATCH], pending[MAX_BATCH:]
                    yield pb.RelayUpBatch(from_node=self.my_id, items=items)
                    continue
                if reader.done():
                    return
                wake.clear()
                if not await wait_for_event(wake, self.heartbeat_s):
                    yield pb.RelayUpBatch(from_node=self.my_id)  # still here
        finally:
            reader.cancel()
            watcher.cancel()
            self.relay.close(session)
            if clients is not None and self.clients is not None:
                self.clients.close(clients)

    @staticmethod
    async def _read(iterator: AsyncIterator[pb.RelayDownBatch], session: Any, clients: Any, wake: asyncio.Event,
                    silence: _Silence) -> None:
        try:
            async for batch in iterator:
                silence.hear()
                for item in batch.items:
                    try:
                        _taker(item, session, clients).receive(item)
                    except Exception:  # noqa: BLE001
                        log.exception("relay from node %d: could not handle an item", session.origin)
        except grpc.aio.AioRpcError:
            pass
        finally:
            wake.set()


def _taker(item: pb.RelayUp | pb.RelayDown, routing: Any, clients: Any) -> Any:
    """Who takes a relayed item: routing, or the connected applications' side."""
    return clients if clients is not None and concerns_clients(item) else routing


def _describe(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    return f"{type(exc).__name__}: {exc}"
