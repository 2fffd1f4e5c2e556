"""The internal gRPC service: what other nodes call on this node's internal port.

`PeerServer` serves `ranvier.peer.PeerService` (proto/ranvier/peer.proto):

- `Stream`: batches of Raft messages from one peer, for every group; each message
  goes to `deliver(group, message)`. A `deliver` that returns False did not know
  the group: the message is dropped with a debug log (a group being created or
  removed on this node, or a misdirected sender).
- `Forward`: a follower's proposal for a group this node leads; answered with
  the bytes `await propose(group, data)` returns, or the `RanvierError` it raised
  (Axon code and message), which the caller re-raises with the same code.
  `ForwardBatch`: several at once, proposed together, each answered on its own.
- every call names its sender (node name and incarnation); `check_peer(name,
  incarnation)` returns the error for a sender whose name is registered with
  other data (a node whose data directory was wiped or replaced): its Stream and
  FetchLog are aborted with FAILED_PRECONDITION and its Forward answered with the
  error (each of a batch), so none of its Raft messages reaches a group.
- `FetchLog`: raw bytes of a context's event-store log between two positions, in
  CRC-checked chunks of about 1 MiB, one at a time (gRPC's flow control keeps a
  slow reader from piling chunks up in memory). `read_log(context, position,
  max_bytes)` supplies them; `read_log_bytes` reads a `SegmentedLog` for it.
- `Relay`: command and query routing with another node, served by the
  `relay_server` (`ranvier.cluster.message_links.RelayServer`) once one is set.

The interceptors given at construction run before every call: the place for the
internal token check (and TLS goes on the port) once access control arrives.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import zlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc

from ranvier._pb import peer_pb2 as pb
from ranvier._pb import peer_pb2_grpc
from ranvier.errors import ErrorCode, RanvierError
from ranvier.eventstore.segments import SegmentedLog
from ranvier.raft import Message

from .peer_codec import UnknownMessageType, decode_batch, error_to_pb

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
MAX_MESSAGE_BYTES = 256 << 20  # one Raft entry may be as large as a client transaction

# Keepalive pings from peers are expected (see ranvier.cluster.peer.CHANNEL_OPTIONS).
SERVER_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.http2.min_ping_interval_without_data_ms", 1000),
    ("grpc.http2.max_ping_strikes", 0),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.so_reuseport", 0),
]

Deliver = Callable[[str, Message], bool | None]
CheckPeer = Callable[[str, str], RanvierError | None]
Propose = Callable[[str, bytes], Awaitable[bytes]]
ReadLog = Callable[[str, int, int], bytes | Awaitable[bytes]]


class GroupRouter:
    """A `deliver` for `PeerServer`: receivers (GroupDrivers) by group name."""

    def __init__(self) -> None:
        self.receivers: dict[str, Any] = {}

    def register(self, group: str, receiver: Any) -> None:
        """`receiver.receive(message)` is called on the event loop for each message."""
        self.receivers[group] = receiver

    def unregister(self, group: str) -> None:
        self.receivers.pop(group, None)

    def deliver(self, group: str, message: Message) -> bool:
        receiver = self.receivers.get(group)
        if receiver is None:
            return False
        receiver.receive(message)
        return True


def read_log_bytes(log_: SegmentedLog, position: int, max_bytes: int, end: int | None = None) -> bytes:
    """Up to `max_bytes` of the log from `position` (a byte offset into the segments
    concatenated in name order), never past `end` (default: the log's end). Reads
    through descriptors of its own, so it may run in a worker thread while the
    owner appends. Empty at or past the end."""
    stop = log_.end if end is None else min(end, log_.end)
    out: list[bytes] = []
    want = min(max_bytes, stop - position)
    while want > 0:
        seg = log_.segment_at(position)
        n = min(want, seg.end - position)
        if n <= 0:
            break
        fd = os.open(seg.path, os.O_RDONLY)
        try:
            data = os.pread(fd, n, position - seg.base)
        finally:
            os.close(fd)
        if not data:
            break
        out.append(data)
        position += len(data)
        want -= len(data)
    return b"".join(out)


class PeerServicer(peer_pb2_grpc.PeerServiceServicer):
    def __init__(
        self,
        deliver: Deliver,
        propose: Propose | None = None,
        read_log: ReadLog | None = None,
        node_id: int | None = None,
        chunk_bytes: int = CHUNK_BYTES,
        check_peer: CheckPeer | None = None,
    ) -> None:
        self.deliver = deliver
        self.propose = propose
        self.read_log = read_log
        self.node_id = node_id
        self.chunk_bytes = chunk_bytes
        self.check_peer = check_peer
        self.received_messages = 0
        self.unknown_group_drops = 0
        self.refused_streams = 0  # streams from senders that meant another node
        self.relay_server: Any = None  # message_links.RelayServer, set by the node
        self.refused_impostors = 0  # calls from senders registered with other data
        self._reported: set[tuple[str, str]] = set()  # refusals already logged

    def _impostor(self, sender: pb.Sender) -> RanvierError | None:
        """The error for a sender whose name is registered with other data, logged
        once per (name, incarnation): it retries every second or so."""
        if self.check_peer is None or not sender.name:
            return None
        refused = self.check_peer(sender.name, sender.incarnation)
        if refused is not None:
            self.refused_impostors += 1
            if (sender.name, sender.incarnation) not in self._reported:
                self._reported.add((sender.name, sender.incarnation))
                log.error("refused node %s (incarnation %s) on the internal port: %s",
                          sender.name, sender.incarnation or "unknown", refused.message)
        return refused

    async def Stream(self, request_iterator: Any, context: grpc.aio.ServicerContext) -> pb.StreamSummary:
        batches = messages = 0
        peer = "?"
        async for batch in request_iterator:
            # Every batch: the configuration may register the sender's name anew
            # while its stream is open.
            refused = self._impostor(batch.sender)
            if refused is not None:
                await _abort(context, refused, grpc.StatusCode.FAILED_PRECONDITION)
            if batches == 0:
                peer = str(batch.from_node)
                if self.node_id is not None and batch.to_node and batch.to_node != self.node_id:
                    self.refused_streams += 1
                    # Once per pair: a peer whose configuration still names the node
                    # that lived here (before its data was wiped) retries every second.
                    if (peer, str(batch.to_node)) not in self._reported:
                        self._reported.add((peer, str(batch.to_node)))
                        log.warning("node %s sends to node %d at this address, but this is node %d",
                                    peer, batch.to_node, self.node_id)
                    await context.abort(
                        grpc.StatusCode.FAILED_PRECONDITION,
                        f"this is node {self.node_id}, not node {batch.to_node}",
                    )
            batches += 1
            for group, message in decode_batch(batch):
                if isinstance(message, UnknownMessageType):
                    log.warning("group %s: dropped a message from node %s: %s", group, peer, message)
                    continue
                messages += 1
                self.received_messages += 1
                try:
                    known = self.deliver(group, message)
                except Exception:  # noqa: BLE001 - one group's fault must not cut the others off
                    log.exception("group %s: delivering a %s from node %s failed", group, message.type.name, peer)
                    continue
                if known is False:
                    self.unknown_group_drops += 1
                    log.debug("dropped a %s from node %s for unknown group %s", message.type.name, peer, group)
        return pb.StreamSummary(batches=batches, messages=messages)

    async def Forward(self, request: pb.ForwardRequest, context: grpc.aio.ServicerContext) -> pb.ForwardResponse:
        refused = self._refuse_forward(request.sender)
        if refused is not None:
            return refused
        return await self._proposed(request.group, request.data, request.from_node)

    async def ForwardBatch(self, request: pb.ForwardBatchRequest,
                           context: grpc.aio.ServicerContext) -> pb.ForwardBatchResponse:
        refused = self._refuse_forward(request.sender)
        if refused is not None:
            return pb.ForwardBatchResponse(outcomes=[refused] * len(request.data))
        # Started in order within one turn of the loop, the proposals reach the
        # group's driver together and in order: one batch of entries.
        outcomes = await asyncio.gather(*(self._proposed(request.group, data, request.from_node)
                                          for data in request.data))
        return pb.ForwardBatchResponse(outcomes=outcomes)

    def _refuse_forward(self, sender: pb.Sender) -> pb.ForwardResponse | None:
        refused = self._impostor(sender)
        if refused is not None:
            return pb.ForwardResponse(error=error_to_pb(refused))
        if self.propose is None:
            return pb.ForwardResponse(error=error_to_pb(
                RanvierError("this node does not accept forwarded proposals", ErrorCode.UNSUPPORTED_INSTRUCTION)))
        return None

    async def _proposed(self, group: str, data: bytes, from_node: int) -> pb.ForwardResponse:
        assert self.propose is not None
        try:
            result = await self.propose(group, data)
        except RanvierError as exc:
            return pb.ForwardResponse(error=error_to_pb(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the caller gets it as AXONIQ-0001
            log.exception("group %s: forwarded proposal from node %d failed", group, from_node)
            return pb.ForwardResponse(error=error_to_pb(exc))
        return pb.ForwardResponse(result=bytes(result))

    async def Relay(self, request_iterator: Any, context: grpc.aio.ServicerContext) -> Any:
        if self.relay_server is None:
            await _abort(context, RanvierError("this node does not route messages yet", ErrorCode.NOT_RUNNING_IN_CLUSTER))
        async for batch in self.relay_server.serve(request_iterator, context):
            yield batch

    async def FetchLog(self, request: pb.FetchLogRequest, context: grpc.aio.ServicerContext) -> Any:
        refused = self._impostor(request.sender)
        if refused is not None:
            await _abort(context, refused, grpc.StatusCode.FAILED_PRECONDITION)
        if self.read_log is None:
            await _abort(context, RanvierError("this node does not serve log copies", ErrorCode.UNSUPPORTED_INSTRUCTION))
        position, stop = request.from_position, request.to_position
        if stop and stop < position:
            await _abort(context, RanvierError(
                f"cannot fetch from {position} to {stop}: the end is before the start", ErrorCode.INVALID_MESSAGE))
        chunk = request.max_chunk_bytes or self.chunk_bytes
        chunk = min(chunk, self.chunk_bytes)
        while not stop or position < stop:
            want = chunk if not stop else min(chunk, stop - position)
            try:
                data = await self._read(request.context, position, want)
            except RanvierError as exc:
                await _abort(context, exc)
            if not data:
                if not stop:
                    return
                await _abort(context, RanvierError(
                    f"context {request.context}: the log ends before position {stop} (at {position})",
                    ErrorCode.DATAFILE_READ_ERROR))
            if len(data) > want:
                data = data[:want]
            yield pb.LogChunk(position=position, data=data, crc32=zlib.crc32(data))
            position += len(data)

    async def _read(self, context: str, position: int, max_bytes: int) -> bytes:
        assert self.read_log is not None
        if inspect.iscoroutinefunction(self.read_log):
            return await self.read_log(context, position, max_bytes)  # type: ignore[no-any-return, misc]
        result = await asyncio.to_thread(self.read_log, context, position, max_bytes)
        if inspect.isawaitable(result):
            result = await result
        return bytes(result)  # type: ignore[arg-type]


async def _abort(context: grpc.aio.ServicerContext, error: RanvierError,
                 status: grpc.StatusCode | None = None) -> None:
    await context.abort(
        status or error.code.grpc_status,
        error.describe(),
        trailing_metadata=(("axoniq-code", error.code.code), ("ranvier-code-name", error.code.name)),
    )


class PeerServer:
    """The internal port's gRPC server, started with `start()` and stopped with `stop()`.

    `deliver(group, message)` is called on the event loop for every Raft message
    received; return False for an unknown group. `propose(group, data)` answers
    `Forward`; `read_log(context, position, max_bytes)` answers `FetchLog` (a plain
    function runs in a worker thread; an `async def` one on the loop).
    `interceptors` (grpc.aio.ServerInterceptor) run before every call.
    """

    def __init__(
        self,
        deliver: Deliver,
        propose: Propose | None = None,
        read_log: ReadLog | None = None,
        *,
        node_id: int | None = None,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        options: Sequence[tuple[str, Any]] = (),
        chunk_bytes: int = CHUNK_BYTES,
        check_peer: CheckPeer | None = None,
    ) -> None:
        self.servicer = PeerServicer(deliver, propose, read_log, node_id, chunk_bytes, check_peer)
        self.interceptors = list(interceptors)
        self.options = [*SERVER_OPTIONS, *options]
        self.server: grpc.aio.Server | None = None
        self.port = 0

    async def start(self, bind_address: str = "0.0.0.0", port: int = 8224) -> int:
        """Listen on bind_address:port (0: any free port); returns the port bound."""
        server = grpc.aio.server(interceptors=self.interceptors, options=self.options)
        peer_pb2_grpc.add_PeerServiceServicer_to_server(self.servicer, server)
        host = f"[{bind_address}]" if ":" in bind_address and not bind_address.startswith("[") else bind_address
        self.port = server.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise OSError(f"cannot listen on the internal port {bind_address}:{port}")
        await server.start()
        self.server = server
        log.info("internal port listening on %s:%d", bind_address, self.port)
        return self.port

    async def stop(self, grace: float | None = 0.5) -> None:
        if self.server is not None:
            await self.server.stop(grace)
            self.server = None
