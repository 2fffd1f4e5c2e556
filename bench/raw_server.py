"""A bare grpc.aio server: the ceiling `ranvier bench` compares the node with.

It does what the node's EventStore does minus everything that is the node's
own work (decoding, validating, storing, fsync, indexing): identity
serializers, the same grpc.aio runtime and channel options, one process.

    /ranvier.bench.Raw/Write      client stream: counts messages (context.read(),
                                  as the node's AppendEvent reads), replies once
                                  (the loadgen sends it real encoded Events, in
                                  the same stream shape as its AppendEvent runs)
    /ranvier.bench.Raw/WriteSync  the same, but before replying writes the
                                  stream's messages to a file and fdatasyncs
                                  them (with --sync-dir): the least any server
                                  does before it may acknowledge a transaction
                                  durably. A stream that ends while no other is
                                  open and no fdatasync is running is written
                                  and synced on the event loop's thread; the
                                  others are group-committed: one thread writes
                                  and syncs whatever ended meanwhile, with no
                                  hold. Not a ceiling; `ranvier bench` runs the
                                  100-event rows against it to tell the disk's
                                  share of the gap from the node's
    /ranvier.bench.Raw/Read       server stream from an async generator
    /ranvier.bench.Raw/ReadWrite  server stream with `await context.write()`
                                  (what the node's ListEvents does)
    /ranvier.bench.Raw/Echo       unary: replies with the request (the
                                  ceiling of a command's Dispatch)
    /ranvier.bench.Raw/EchoOnce   server stream of one message, the request,
                                  from an async generator (the ceiling of a
                                  Query with one response, as the node sends it)

A Read request is 16 bytes: message count and message size, little-endian
uint64 each; the loadgen asks for messages the size of an `EventWithToken`
carrying its 256-byte-payload Event, so both sides move the same bytes.

It runs on the event loop a node would (`RANVIER_EVENT_LOOP`, see
`ranvier.event_loop`), so a ratio never compares uvloop with asyncio's loop,
and schedules its helper threads as a node does (`RANVIER_HELPER_THREADS`:
all but the loop's, gRPC's poller among them, under SCHED_BATCH), so a ratio
never credits the node with a scheduling choice the ceiling could make too.

usage: python bench/raw_server.py [--port N] [--sync-dir DIR]   (127.0.0.1 only;
prints "READY <port>" on stdout once it listens; stops on SIGTERM/SIGINT)
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import signal
import struct
import sys

import grpc

_CONFIRMATION = b"\x08\x01"  # Confirmation{success: true}
_MAX_MESSAGES = 100_000_000
_MAX_SIZE = 4 << 20


def _identity(data: bytes) -> bytes:
    return data


def _parse_read(request: bytes) -> tuple[int, bytes]:
    count, size = struct.unpack("<QQ", request[:16].ljust(16, b"\0"))
    count = min(count, _MAX_MESSAGES)
    return count, b"x" * min(size, _MAX_SIZE)


async def write(_requests, context) -> bytes:  # type: ignore[no-untyped-def]
    # Reads as the node's AppendEvent does (context.read(), not the request
    # iterator, which costs an async-generator frame more per message).
    count = 0
    read = context.read
    while await read() is not grpc.aio.EOF:
        count += 1
    return _CONFIRMATION


class SyncLog:
    """A file for WriteSync: zeros written and synced ahead, as the node's
    runway does, so an fdatasync has only data to flush; wraps around at the end.

    Group commit, the plainest kind: streams that end while a sync runs wait
    for the next one, which takes all of them. Only the loop thread calls
    `commit`; the file is written by whoever syncs (the loop for a lone stream,
    else the one worker thread), never by both at once: the loop writes only
    when `_syncing` is clear, and the syncing task sets it before the worker
    starts and clears it on the loop after the worker ends."""

    SIZE = 64 << 20

    def __init__(self, directory: str) -> None:
        self.fd = os.open(os.path.join(directory, "raw-sync.log"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        zeros = bytes(1 << 20)
        for offset in range(0, self.SIZE, len(zeros)):
            os.pwrite(self.fd, zeros, offset)
        os.fsync(self.fd)
        self.offset = 0
        self.open_streams = 0  # streams being read now: a lone one syncs on the loop
        self._syncing = False
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="raw-sync")
        self.syncs = 0  # fdatasyncs done (tests)

    async def commit(self, data: bytes) -> None:
        if not self._syncing and not self._pending and not self.open_streams:
            # No await until it returns, so nothing else runs meanwhile (os.pwrite
            # and os.fdatasync release the GIL, not the loop).
            self._write_and_sync([data])
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((data, done))
        if not self._syncing:
            self._syncing = True  # now, not when the task starts: one syncing task at a time
            asyncio.get_running_loop().create_task(self._sync_pending())
        await done

    async def _sync_pending(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                error: OSError | None = None
                try:
                    await loop.run_in_executor(self._worker, self._write_and_sync, [data for data, _ in batch])
                except OSError as exc:
                    error = exc
                for _, done in batch:
                    if done.done():  # its client cancelled while it waited
                        continue
                    if error is None:
                        done.set_result(None)
                    else:
                        done.set_exception(error)
        finally:
            self._syncing = False

    def _write_and_sync(self, datas: list[bytes]) -> None:
        for data in datas:
            if self.offset + len(data) > self.SIZE:
                self.offset = 0
            view = memoryview(data)
            while view:
                written = os.pwrite(self.fd, view, self.offset)
                view = view[written:]
                self.offset += written
        os.fdatasync(self.fd)
        self.syncs += 1


_sync_log: SyncLog | None = None


async def write_sync(_requests, context) -> bytes:  # type: ignore[no-untyped-def]
    if _sync_log is None:
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "raw_server was started without --sync-dir")
    messages = []
    read = context.read
    _sync_log.open_streams += 1
    try:
        while (raw := await read()) is not grpc.aio.EOF:
            messages.append(raw)
    finally:
        _sync_log.open_streams -= 1
    await _sync_log.commit(b"".join(messages))
    return _CONFIRMATION


async def read(request: bytes, _context):  # type: ignore[no-untyped-def]
    count, message = _parse_read(request)
    for _ in range(count):
        yield message


async def read_write(request: bytes, context: grpc.aio.ServicerContext) -> None:
    count, message = _parse_read(request)
    for _ in range(count):
        await context.write(message)


async def echo(request: bytes, _context) -> bytes:  # type: ignore[no-untyped-def]
    return request


async def echo_once(request: bytes, _context):  # type: ignore[no-untyped-def]
    yield request


def handler() -> grpc.GenericRpcHandler:
    raw = _identity
    return grpc.method_handlers_generic_handler(
        "ranvier.bench.Raw",
        {
            "Write": grpc.stream_unary_rpc_method_handler(write, request_deserializer=raw, response_serializer=raw),
            "WriteSync": grpc.stream_unary_rpc_method_handler(
                write_sync, request_deserializer=raw, response_serializer=raw
            ),
            "Read": grpc.unary_stream_rpc_method_handler(read, request_deserializer=raw, response_serializer=raw),
            "ReadWrite": grpc.unary_stream_rpc_method_handler(
                read_write, request_deserializer=raw, response_serializer=raw
            ),
            "Echo": grpc.unary_unary_rpc_method_handler(echo, request_deserializer=raw, response_serializer=raw),
            "EchoOnce": grpc.unary_stream_rpc_method_handler(
                echo_once, request_deserializer=raw, response_serializer=raw
            ),
        },
    )


async def serve(port: int) -> None:
    limit = 64 << 20
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
            ("grpc.so_reuseport", 0),
        ]
    )
    server.add_generic_rpc_handlers((handler(),))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    if bound == 0:
        raise SystemExit(f"raw_server: cannot listen on 127.0.0.1:{port}")
    await server.start()
    try:
        from ranvier import event_loop, grpc_wakeups, loop_cpu
    except ImportError:
        pass
    else:
        event_loop.schedule_helper_threads()
        grpc_wakeups.coalesce_wakeups()
        loop_cpu.confine_loop_and_poller()
    print(f"READY {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(grace=0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--sync-dir", default=None, help="directory for WriteSync's file (without it, WriteSync fails)")
    args = parser.parse_args(argv)
    if args.sync_dir is not None:
        global _sync_log
        try:
            _sync_log = SyncLog(args.sync_dir)
        except OSError as exc:  # a full disk, say: the ceiling still runs, WriteSync refuses
            print(f"raw_server: no WriteSync ({exc})", file=sys.stderr, flush=True)
    try:
        from ranvier import event_loop  # the node's loop choice, so both sides of a ratio run on the same loop
    except ImportError:
        asyncio.run(serve(args.port))
    else:
        event_loop.run(serve(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
