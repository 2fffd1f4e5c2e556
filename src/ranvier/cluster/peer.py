"""The gRPC transport between nodes: `GrpcTransport`, the client side of the
internal port (the server side is `ranvier.cluster.peer_server`).

One channel per peer node, to the address `address_of(node_id)` gives when it is
(re)connected, so topology changes are picked up on the next connection (and a
changed address drops the current one). Over it:

- Raft messages for every group travel in one long-lived `Stream` call. `send`
  never blocks: it queues the message for its peer and wakes the peer's sender
  task, which writes everything queued as one batch (several when it exceeds
  `max_batch_bytes`), waiting on gRPC's flow control between writes. The queue
  is bounded: beyond `max_queue` messages the oldest are dropped (Raft resends)
  and counted. While the peer is down, queued messages are dropped, each group
  that lost messages is reported through `on_unreachable(group, node_id)`, and
  the sender reconnects with exponential backoff (`backoff_min_s`..`backoff_max_s`).
- `forward(node_id, group, data)` sends a proposal to the leader and returns its
  result bytes, or raises the leader's error with its Axon code. Proposals made
  in one turn of the loop for the same node and group share one call.
- `fetch_log(node_id, context, start, end)` yields the bytes of the peer's
  event-store log between two positions, checking each chunk's CRC and offset.

Everything runs on the event loop that first calls `send`/`forward`/`fetch_log`.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from ranvier._pb import peer_pb2 as pb
from ranvier._pb import peer_pb2_grpc
from ranvier.errors import ErrorCode, RanvierError
from ranvier.raft import Message

from .peer_codec import encode_batch, error_code, error_from_pb, message_size
from .peer_server import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)

CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # gRPC's own reconnect backoff defaults to up to 120 s; a peer coming back
    # must be reached within our backoff instead.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
    # A peer that vanished without closing its connection (power loss, partition)
    # is noticed by keepalive rather than by TCP's timeouts.
    ("grpc.keepalive_time_ms", 5000),
    ("grpc.keepalive_timeout_ms", 5000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # Distinct channels per peer; never share a subchannel with another channel.
    ("grpc.use_local_subchannel_pool", 1),
]


class PeerUnavailable(RanvierError):
    """The peer could not be reached (down, unknown address, or the call failed).

    For `forward` the proposal's fate is unknown when the call failed after being
    sent; the code is AXONIQ-2100 as for any lost leadership, and it may be retried."""

    code = ErrorCode.NO_LEADER_AVAILABLE

    # False when the call cannot have reached the peer (it could not connect), so a
    # proposal is safe to send again elsewhere; True when its fate is unknown.
    maybe_delivered = True


class LogCopyError(RanvierError):
    """A log chunk failed its CRC or did not continue where the previous one ended."""

    code = ErrorCode.DATAFILE_READ_ERROR


@dataclass(slots=True)
class PeerStats:
    sent_messages: int = 0
    sent_batches: int = 0
    dropped_overflow: int = 0  # oldest messages dropped because the queue was full
    dropped_unreachable: int = 0  # messages lost because the peer was down
    connects: int = 0  # streams opened
    failures: int = 0  # streams or connection attempts that failed


@dataclass(slots=True)
class _Peer:
    node_id: int
    queue: deque[tuple[str, Message]] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    channel: grpc.aio.Channel | None = None
    address: str | None = None
    stub: peer_pb2_grpc.PeerServiceStub | None = None
    connected: bool = False
    groups_sent: set[str] = field(default_factory=set)  # groups written on the current stream
    stats: PeerStats = field(default_factory=PeerStats)


class GrpcTransport:
    """`Transport` for `GroupDriver`s over the internal port, plus `forward` and `fetch_log`."""

    def __init__(
        self,
        node_id: int,
        address_of: Callable[[int], str | None],
        on_unreachable: Callable[[str, int], None] | None = None,
        *,
        max_queue: int = 4096,
        max_batch_bytes: int = 8 << 20,
        backoff_min_s: float = 0.05,
        backoff_max_s: float = 1.0,
        forward_timeout_s: float = 30.0,
        channel_options: Sequence[tuple[str, Any]] = (),
        credentials: grpc.ChannelCredentials | None = None,
        interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
        name: str = "",
        incarnation: str = "",
    ) -> None:
        self.node_id = node_id
        # Sent with every call so peers can refuse a node whose data is not the data
        # its name is registered with (see ranvier.cluster.identity).
        self.sender = pb.Sender(name=name, incarnation=incarnation) if name else None
        self.address_of = address_of
        self.on_unreachable = on_unreachable
        self.max_queue = max_queue
        self.max_batch_bytes = max_batch_bytes
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.forward_timeout_s = forward_timeout_s
        self.channel_options = [*CHANNEL_OPTIONS, *channel_options]
        self.credentials = credentials  # TLS on the internal port, later
        self.interceptors = list(interceptors)  # the internal token, later
        self._peers: dict[int, _Peer] = {}
        self._closing: set[asyncio.Task[None]] = set()  # channels being closed
        # Forwarded proposals gathered in this turn of the loop, per (node, group).
        self._forwards: dict[tuple[int, str], list[tuple[bytes, asyncio.Future[bytes]]]] = {}
        self._forwarding: set[asyncio.Task[None]] = set()
        self._single_forwards: set[int] = set()  # peers without ForwardBatch
        self._closed = False

    # -- Transport ---------------------------------------------------------------------

    def send(self, group: str, message: Message) -> None:
        """Queue `message` for `message.to`; never blocks (call on the event loop)."""
        if self._closed:
            return
        peer = self._peer(message.to)
        queue = peer.queue
        queue.append((group, message))
        if len(queue) > self.max_queue:
            queue.popleft()
            peer.stats.dropped_overflow += 1
        peer.wake.set()

    def stats(self, node_id: int) -> PeerStats:
        peer = self._peers.get(node_id)
        return peer.stats if peer is not None else PeerStats()

    def queued(self, node_id: int) -> int:
        peer = self._peers.get(node_id)
        return len(peer.queue) if peer is not None else 0

    def is_connected(self, node_id: int) -> bool:
        peer = self._peers.get(node_id)
        return peer is not None and peer.connected

    async def close(self) -> None:
        self._closed = True
        for task in list(self._forwarding):
            task.cancel()
        if self._forwarding:
            await asyncio.gather(*self._forwarding, return_exceptions=True)
        peers = list(self._peers.values())
        self._peers.clear()
        for peer in peers:
            if peer.task is not None:
                peer.task.cancel()
        for peer in peers:
            if peer.task is not None:
                try:
                    await peer.task
                except asyncio.CancelledError:
                    pass
            await self._drop_channel(peer)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def forget(self, node_id: int) -> None:
        """Stop sending to a node that left the cluster (its queue is dropped)."""
        peer = self._peers.pop(node_id, None)
        if peer is not None and peer.task is not None:
            peer.task.cancel()
            if peer.channel is not None:
                self._close_later(peer.channel)

    # -- peers and channels ------------------------------------------------------------

    def _peer(self, node_id: int) -> _Peer:
        peer = self._peers.get(node_id)
        if peer is None:
            peer = self._peers[node_id] = _Peer(node_id)
            peer.task = asyncio.get_running_loop().create_task(
                self._run_sender(peer), name=f"peer-sender:{self.node_id}->{node_id}"
            )
        return peer

    def _stub(self, peer: _Peer) -> peer_pb2_grpc.PeerServiceStub:
        """The peer's stub, on a channel to its current address (reopened if it moved)."""
        address = self.address_of(peer.node_id)
        if address is None:
            raise PeerUnavailable(f"the address of node {peer.node_id} is not known")
        if peer.channel is None or address != peer.address:
            if peer.channel is not None:
                self._close_later(peer.channel)
            if self.credentials is not None:
                channel = grpc.aio.secure_channel(address, self.credentials, self.channel_options,
                                                  interceptors=self.interceptors or None)
            else:
                channel = grpc.aio.insecure_channel(address, self.channel_options,
                                                    interceptors=self.interceptors or None)
            peer.channel, peer.address = channel, address
            peer.stub = peer_pb2_grpc.PeerServiceStub(channel)
        assert peer.stub is not None
        return peer.stub

    def _close_later(self, channel: grpc.aio.Channel) -> None:
        task = asyncio.get_running_loop().create_task(channel.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _drop_channel(self, peer: _Peer) -> None:
        channel, peer.channel, peer.stub, peer.address = peer.channel, None, None, None
        if channel is not None:
            await channel.close()

    def stub(self, node_id: int) -> peer_pb2_grpc.PeerServiceStub:
        """A stub on the shared channel to `node_id`, for calls of other services' own."""
        return self._stub_for(node_id)

    def _stub_for(self, node_id: int) -> peer_pb2_grpc.PeerServiceStub:
        if self._closed:
            raise PeerUnavailable("the transport is closed")
        return self._stub(self._peer(node_id))

    # -- the sender task ---------------------------------------------------------------

    async def _run_sender(self, peer: _Peer) -> None:
        backoff = self.backoff_min_s
        while True:
            await peer.wake.wait()
            try:
                delivered = await self._stream(peer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: the peer is unreachable
                delivered = False
                peer.stats.failures += 1
                log.debug("node %d -> node %d: %s", self.node_id, peer.node_id, _describe(exc))
            peer.connected = False
            self._lost(peer)
            if delivered:
                backoff = self.backoff_min_s  # it worked for a while: retry at once
                continue
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max_s)

    async def _stream(self, peer: _Peer) -> bool:
        """Write batches until the call fails; True if any batch got through."""
        stub = self._stub(peer)
        address = peer.address
        call = stub.Stream(wait_for_ready=False)
        peer.stats.connects += 1
        peer.groups_sent.clear()
        delivered = False
        try:
            while True:
                if not peer.queue:
                    peer.wake.clear()
                    await peer.wake.wait()
                if self.address_of(peer.node_id) != address:
                    log.info("node %d moved; reconnecting", peer.node_id)
                    return delivered
                items = self._take_batch(peer)
                for group, _m in items:
                    peer.groups_sent.add(group)
                await call.write(encode_batch(self.node_id, peer.node_id, items, self.sender))
                peer.stats.sent_batches += 1
                peer.stats.sent_messages += len(items)
                if not delivered:
                    # A write completes once handed to the transport, not when the
                    # peer has it; only a live channel says the peer is there.
                    delivered = peer.channel is not None and (
                        peer.channel.get_state() == grpc.ChannelConnectivity.READY)
                    peer.connected = delivered
        finally:
            call.cancel()

    def _take_batch(self, peer: _Peer) -> list[tuple[str, Message]]:
        queue = peer.queue
        items: list[tuple[str, Message]] = []
        size = 0
        while queue:
            group, message = queue[0]
            n = message_size(message)
            if items and size + n > self.max_batch_bytes:
                break
            queue.popleft()
            items.append((group, message))
            size += n
        return items

    def _lost(self, peer: _Peer) -> None:
        """The peer is unreachable: drop what is queued and tell the groups concerned."""
        # Groups with messages on the broken stream are told too: its last batches
        # may be lost.
        groups = {group for group, _m in peer.queue} | peer.groups_sent
        peer.groups_sent.clear()
        peer.stats.dropped_unreachable += len(peer.queue)
        peer.queue.clear()
        if self.on_unreachable is None:
            return
        for group in sorted(groups):
            try:
                self.on_unreachable(group, peer.node_id)
            except Exception:  # noqa: BLE001
                log.exception("on_unreachable(%s, %d) failed", group, peer.node_id)

    # -- forward and fetch_log ---------------------------------------------------------

    async def forward(self, node_id: int, group: str, data: bytes, timeout: float | None = None) -> bytes:
        """Propose `data` to `group` on `node_id` (its leader); its result bytes.

        Raises the leader's error as a `RanvierError` with the same Axon code
        (`RemoteError`, with `leader_id` as the leader's hint when it was not the
        leader), or `PeerUnavailable` when the node cannot be reached.

        Proposals for the same node and group made in one turn of the event loop
        (a group-commit release) travel in one `ForwardBatch` call and are
        proposed together, in order; each still gets its own outcome."""
        key = (node_id, group)
        pending = self._forwards.get(key)
        loop = asyncio.get_running_loop()
        if pending is None:
            pending = self._forwards[key] = []
            loop.call_soon(self._start_forwards, key, timeout or self.forward_timeout_s)
        outcome: asyncio.Future[bytes] = loop.create_future()
        pending.append((data, outcome))
        return await outcome

    def _start_forwards(self, key: tuple[int, str], timeout: float) -> None:
        items = [(data, outcome) for data, outcome in self._forwards.pop(key, []) if not outcome.done()]
        if not items:
            return
        task = asyncio.get_running_loop().create_task(self._forward_items(key[0], key[1], items, timeout))
        self._forwarding.add(task)
        task.add_done_callback(self._forwarding.discard)

    async def _forward_items(self, node_id: int, group: str, items: list[tuple[bytes, asyncio.Future[bytes]]],
                             timeout: float) -> None:
        try:
            stub = self._stub_for(node_id)
            if len(items) > 1 and node_id not in self._single_forwards:
                outcomes = await self._forward_batch(stub, node_id, group, [d for d, _o in items], timeout)
                if outcomes is not None:
                    for (_data, outcome), response in zip(items, outcomes, strict=True):
                        _settle(outcome, response)
                    return
            # One call each: a lone proposal, or a peer without ForwardBatch. Each
            # keeps its own outcome: one call failing says nothing of the others'
            # fate (a proposal wrongly reported undelivered would be sent twice).
            responses = await asyncio.gather(*(self._forward_one(stub, node_id, group, d, timeout)
                                               for d, _o in items), return_exceptions=True)
            for (_data, outcome), response in zip(items, responses, strict=True):
                if isinstance(response, BaseException):
                    if not outcome.done():
                        outcome.set_exception(response if isinstance(response, Exception) else
                                              PeerUnavailable(f"forwarding to node {node_id} stopped"))
                else:
                    _settle(outcome, response)
        except PeerUnavailable as exc:
            for _data, outcome in items:
                if not outcome.done():
                    error = PeerUnavailable(exc.message)
                    error.maybe_delivered = exc.maybe_delivered
                    outcome.set_exception(error)
        finally:
            for _data, outcome in items:
                if not outcome.done():  # cancelled (the transport closed): the fate is unknown
                    outcome.set_exception(PeerUnavailable(f"forwarding to node {node_id} stopped"))

    async def _forward_batch(self, stub: peer_pb2_grpc.PeerServiceStub, node_id: int, group: str,
                             data: list[bytes], timeout: float) -> Sequence[pb.ForwardResponse] | None:
        """The outcomes in order, or None when the peer does not know the call."""
        request = pb.ForwardBatchRequest(group=group, data=data, from_node=self.node_id, sender=self.sender)
        try:
            response = await stub.ForwardBatch(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                log.info("node %d does not take ForwardBatch; forwarding one proposal per call", node_id)
                self._single_forwards.add(node_id)
                return None
            raise _forward_failed(node_id, exc) from None
        if len(response.outcomes) != len(data):
            error = PeerUnavailable(f"node {node_id} answered {len(response.outcomes)} of {len(data)} "
                                    "forwarded proposals")
            raise error
        return response.outcomes

    async def _forward_one(self, stub: peer_pb2_grpc.PeerServiceStub, node_id: int, group: str, data: bytes,
                           timeout: float) -> pb.ForwardResponse:
        request = pb.ForwardRequest(group=group, data=data, from_node=self.node_id, sender=self.sender)
        try:
            return await stub.Forward(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            raise _forward_failed(node_id, exc) from None

    async def fetch_log(
        self, node_id: int, context: str, start: int, end: int = 0, chunk_bytes: int = 0
    ) -> AsyncIterator[bytes]:
        """The bytes of `context`'s event-store log on `node_id`, positions
        [start, end) (end 0: up to the peer's current end), chunk by chunk."""
        stub = self._stub_for(node_id)
        request = pb.FetchLogRequest(context=context, from_position=start, to_position=end,
                                     max_chunk_bytes=chunk_bytes, sender=self.sender)
        call = stub.FetchLog(request)
        position = start
        try:
            async for chunk in call:
                if chunk.position != position:
                    raise LogCopyError(f"log copy of {context} from node {node_id}: chunk at {chunk.position}, "
                                       f"expected {position}")
                if zlib.crc32(chunk.data) != chunk.crc32:
                    raise LogCopyError(f"log copy of {context} from node {node_id}: CRC mismatch at {position}")
                position += len(chunk.data)
                yield chunk.data
        except grpc.aio.AioRpcError as exc:
            raise _rpc_error(exc, f"log copy of {context} from node {node_id}") from None
        finally:
            call.cancel()
        if end and position != end:
            raise LogCopyError(f"log copy of {context} from node {node_id} ended at {position}, not {end}")


def _forward_failed(node_id: int, exc: grpc.aio.AioRpcError) -> PeerUnavailable:
    error = PeerUnavailable(f"could not forward to node {node_id}: {_describe(exc)}")
    error.maybe_delivered = exc.code() != grpc.StatusCode.UNAVAILABLE
    return error


def _settle(outcome: asyncio.Future[bytes], response: pb.ForwardResponse) -> None:
    if outcome.done():
        return  # the caller gave up; the proposal may still commit
    if response.WhichOneof("outcome") == "error":
        outcome.set_exception(error_from_pb(response.error))
    else:
        outcome.set_result(response.result)


def _rpc_error(exc: grpc.aio.AioRpcError, what: str) -> RanvierError:
    """A RanvierError the server aborted with (its code in the trailers), or PeerUnavailable."""
    trailers = dict(exc.trailing_metadata() or ())
    code = trailers.get("axoniq-code")
    if isinstance(code, str):
        message = exc.details() or ""
        prefix = f"[{code}] "
        if message.startswith(prefix):
            message = message[len(prefix):]
        name = trailers.get("ranvier-code-name")
        return RanvierError(message, error_code(code, name if isinstance(name, str) else ""))
    return PeerUnavailable(f"{what} failed: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    return f"{type(exc).__name__}: {exc}"
