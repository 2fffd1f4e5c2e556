"""CommandService on a real node, driven by our own asyncio Axon client.

The node runs with a short default command timeout and small per-client queues so
timeouts and overflow show quickly. No test sleeps for a fixed time: each waits for
the condition it needs.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator

import grpc
import httpx
import pytest

from ranvier.testing.axon_client import AxonTestClient, wait_for
from ranvier.testing.nodes import NodeProcess

COMMAND_TIMEOUT_MS = 1500
QUEUE_CAPACITY = 5


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    process = NodeProcess(tmp_path_factory.mktemp("messaging"), properties={
        "axoniq.axonserver.default-command-timeout": str(COMMAND_TIMEOUT_MS),
        "axoniq.axonserver.command-queue-capacity-per-client": str(QUEUE_CAPACITY),
    })
    process.start()
    try:
        yield process
    finally:
        try:
            process.stop()
        finally:
            process.kill()


def run(node: NodeProcess, scenario: Callable[[str], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(node.grpc_address), 30))


async def in_flight_reaches(node: NodeProcess, count: int) -> None:
    """Wait until the node has `count` commands in flight (GET /v1/commands/count)."""
    async with httpx.AsyncClient(base_url=node.http_url) as http:
        deadline = asyncio.get_running_loop().time() + 5
        while (await http.get("/v1/commands/count")).json() != count:
            assert asyncio.get_running_loop().time() < deadline, f"never {count} commands in flight"
            await asyncio.sleep(0.01)


def test_command_reaches_handler_and_response_returns(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "h1") as handler, AxonTestClient(address) as dispatcher:
            stream = await handler.command_handler("Greet")
            response = await dispatcher.dispatch("Greet", "hello", message_id="m-1")
            assert response.error_code == ""
            assert response.request_identifier == "m-1"
            assert response.payload.data == b"h1"
            assert stream.received[0].payload.data == b"hello"

    run(node, scenario)


def test_no_handler_is_a_response_with_axoniq_4000(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address) as dispatcher:
            response = await dispatcher.dispatch("Nobody")
            assert response.error_code == "AXONIQ-4000"
            assert "Nobody" in response.error_message.message

    run(node, scenario)


def test_same_routing_key_goes_to_same_handler_and_load_factor_weighs(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with (AxonTestClient(address, "light") as a, AxonTestClient(address, "heavy") as b,
                    AxonTestClient(address) as dispatcher):
            await a.command_handler("Route", load_factor=100)
            await b.command_handler("Route", load_factor=300)
            for key in ("order-1", "order-2", "order-3"):
                targets = {(await dispatcher.dispatch("Route", routing_key=key)).payload.data for _ in range(4)}
                assert len(targets) == 1, key
            counts = Counter([
                (await dispatcher.dispatch("Route", routing_key=f"k{i}")).payload.data for i in range(200)
            ])
            assert counts[b"heavy"] > counts[b"light"] > 0

    run(node, scenario)


def test_handler_disconnect_mid_command_gives_axoniq_4001(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "leaver") as handler, AxonTestClient(address) as dispatcher:
            stream = await handler.command_handler("Leave", auto=False)
            pending = asyncio.ensure_future(dispatcher.dispatch("Leave"))
            await asyncio.wait_for(stream.pending.get(), 5)
            stream.abort()
            response = await pending
            assert response.error_code == "AXONIQ-4001"

    run(node, scenario)


def test_unanswered_command_times_out_with_axoniq_4002(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "silent") as handler, AxonTestClient(address) as dispatcher:
            stream = await handler.command_handler("Slow", auto=False)
            response = await dispatcher.dispatch("Slow")  # the node's default timeout applies
            assert response.error_code == "AXONIQ-4002"
            assert len(stream.received) == 1
            response = await dispatcher.dispatch("Slow", timeout_ms=100)  # TIMEOUT processing instruction
            assert response.error_code == "AXONIQ-4002"

    run(node, scenario)


def test_handler_never_gets_more_commands_than_permits(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "slowpoke") as handler, AxonTestClient(address) as dispatcher:
            stream = await handler.command_handler("Permit", permits=2, auto=False)
            calls = [asyncio.ensure_future(dispatcher.dispatch("Permit", str(i))) for i in range(4)]
            await wait_for(lambda: len(stream.received) == 2, what="two commands")
            await in_flight_reaches(node, 4)
            async with httpx.AsyncClient(base_url=node.http_url) as http:
                queues = (await http.get("/v1/commands/queues")).json()
            assert {"client": "slowpoke", "component": "test-app", "context": "default", "queued": 2} in queues
            assert len(stream.received) == 2  # the other two wait at the node for permits
            stream.grant(2)
            await wait_for(lambda: len(stream.received) == 4, what="all four commands")
            for command in stream.received:
                stream.respond(command)
            assert [(await c).error_code for c in calls] == [""] * 4

    run(node, scenario)


def test_queue_overflow_is_axoniq_1900(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "stuck") as handler, AxonTestClient(address) as dispatcher:
            stream = await handler.command_handler("Flood", permits=0, auto=False)
            calls = [asyncio.ensure_future(dispatcher.dispatch("Flood")) for _ in range(QUEUE_CAPACITY)]
            await in_flight_reaches(node, QUEUE_CAPACITY)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await dispatcher.dispatch("Flood")
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "AXONIQ-1900" in (info.value.details() or "")
            assert "command-queue-capacity-per-client" in (info.value.details() or "")
            stream.grant(100)
            await wait_for(lambda: len(stream.received) == QUEUE_CAPACITY, what="queued commands delivered")
            for command in stream.received:
                stream.respond(command)
            assert [(await c).error_code for c in calls] == [""] * QUEUE_CAPACITY

    run(node, scenario)


def test_queued_commands_move_to_another_handler_when_theirs_leaves(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with (AxonTestClient(address, "gone") as a, AxonTestClient(address, "stays") as b,
                    AxonTestClient(address) as dispatcher):
            leaving = await a.command_handler("Move", permits=0, auto=False)
            call = asyncio.ensure_future(dispatcher.dispatch("Move"))
            await in_flight_reaches(node, 1)
            await b.command_handler("Move")
            leaving.abort()
            response = await call
            assert response.error_code == "" and response.payload.data == b"stays"

    run(node, scenario)


def test_unsubscribe_and_unknown_context(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "u1") as handler, AxonTestClient(address) as dispatcher:
            stream = await handler.command_handler("Temp")
            assert (await dispatcher.dispatch("Temp")).error_code == ""
            ack = await stream.unsubscribe("Temp")
            assert ack.success
            assert (await dispatcher.dispatch("Temp")).error_code == "AXONIQ-4000"
        async with AxonTestClient(address, context="nowhere") as stranger:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stranger.dispatch("Temp")
            assert info.value.code() == grpc.StatusCode.NOT_FOUND

    run(node, scenario)
