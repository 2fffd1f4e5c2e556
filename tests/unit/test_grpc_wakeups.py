"""Coalesced gRPC completion wake-ups (RANVIER_GRPC_WAKEUPS): the reader, and a
real grpc.aio server and channel running on it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import grpc
import pytest

from ranvier import grpc_wakeups
from ranvier.grpc_wakeups import WakeupChoiceError, _Coalescer, wakeup_policy


def test_coalescing_is_the_default_and_stock_is_chosen_on_request() -> None:
    assert wakeup_policy({}) == "coalesce"
    assert wakeup_policy({"RANVIER_GRPC_WAKEUPS": "Stock"}) == "stock"
    with pytest.raises(WakeupChoiceError, match="RANVIER_GRPC_WAKEUPS='fast'.*coalesce, stock"):
        wakeup_policy({"RANVIER_GRPC_WAKEUPS": "fast"})


def _socket_pair() -> tuple[socket.socket, socket.socket]:
    read, write = socket.socketpair()
    read.setblocking(False)
    return read, write


def test_the_reader_leaves_one_byte_for_grpcs_handler_and_calls_it_once() -> None:
    read, write = _socket_pair()
    seen: list[bytes] = []
    try:
        reader = _Coalescer(read.fileno(), lambda: seen.append(read.recv(1)))
        write.send(b"1" * 37)
        _wait_readable(read)
        reader()
        assert seen == [b"1"]
        with pytest.raises(BlockingIOError):  # every byte consumed
            read.recv(1)
    finally:
        read.close()
        write.close()


def test_a_hook_runs_at_every_wakeup_before_the_queue_is_handled() -> None:
    read, write = _socket_pair()
    order: list[str] = []
    try:
        reader = _Coalescer(read.fileno(), lambda: order.append(f"handle {read.recv(1)!r}"))
        reader.hook = lambda: order.append("hook")
        write.send(b"12")
        _wait_readable(read)
        reader()
        reader()  # nothing waits now: the hook still runs, the handler does not
        assert order == ["hook", "handle b'2'", "hook"]
    finally:
        read.close()
        write.close()


def test_a_spurious_wakeup_reads_nothing_and_does_not_call_the_handler() -> None:
    read, write = _socket_pair()
    calls: list[int] = []
    try:
        _Coalescer(read.fileno(), lambda: calls.append(1))()
        assert calls == []
    finally:
        read.close()
        write.close()


def _wait_readable(sock: socket.socket) -> None:
    import select

    assert select.select([sock], [], [], 5)[0], "socket pair never became readable"


def _echo_handler() -> grpc.GenericRpcHandler:
    async def echo(request: bytes, _context: grpc.aio.ServicerContext) -> bytes:
        return request

    async def count(requests, context: grpc.aio.ServicerContext) -> bytes:  # type: ignore[no-untyped-def]
        total = 0
        while (message := await context.read()) is not grpc.aio.EOF:
            total += len(message)
        return str(total).encode()

    identity: Callable[[bytes], bytes] = lambda data: data  # noqa: E731
    return grpc.method_handlers_generic_handler(
        "test.Wakeups",
        {
            "Echo": grpc.unary_unary_rpc_method_handler(echo, identity, identity),
            "Count": grpc.stream_unary_rpc_method_handler(count, identity, identity),
        },
    )


async def _serve_and_call(environ: dict[str, str]) -> tuple[str, list[bytes], list[bytes]]:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_echo_handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        outcome = grpc_wakeups.coalesce_wakeups(environ)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            echo = channel.unary_unary("/test.Wakeups/Echo")
            count = channel.stream_unary("/test.Wakeups/Count")
            # Many completions at once, so that wake-ups find several queued.
            echoes = await asyncio.gather(*(echo(str(i).encode()) for i in range(300)))

            async def stream(n: int):  # type: ignore[no-untyped-def]
                for _ in range(n):
                    yield b"x" * 100

            counts = await asyncio.gather(*(count(stream(200)) for _ in range(16)))
        return outcome, echoes, counts
    finally:
        await server.stop(None)


@pytest.mark.parametrize("loop_name", ["uvloop", "asyncio"])
def test_a_server_and_channel_work_with_coalesced_wakeups(loop_name: str) -> None:
    if loop_name == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        factory = uvloop.new_event_loop
    else:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        outcome, echoes, counts = runner.run(asyncio.wait_for(_serve_and_call({}), 30))
    # It engages with the grpcio we install; if an upgrade changes grpc.aio's
    # internals this says so (and the node runs stock, which still works).
    assert outcome == "coalesced"
    assert echoes == [str(i).encode() for i in range(300)]
    assert counts == [b"20000"] * 16


def test_stock_on_request_leaves_grpc_as_it_is() -> None:
    outcome, echoes, _counts = asyncio.run(_serve_and_call({"RANVIER_GRPC_WAKEUPS": "stock"}))
    assert outcome == "stock (RANVIER_GRPC_WAKEUPS=stock)"
    assert len(echoes) == 300


def test_an_unexpected_grpcio_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    from grpc._cython import cygrpc

    monkeypatch.delattr(cygrpc, "PollerCompletionQueue")

    async def outcome() -> str:
        return grpc_wakeups.coalesce_wakeups({})

    assert asyncio.run(outcome()) == "stock (this grpcio's completion queue is not the expected kind)"
