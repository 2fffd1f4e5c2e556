"""QueryService on a real node: queries, streaming queries, subscription queries."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest

from ranvier.testing.axon_client import AxonTestClient, wait_for
from ranvier.testing.nodes import NodeProcess

QUERY_TIMEOUT_MS = 1500


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    process = NodeProcess(tmp_path_factory.mktemp("queries"), properties={
        "axoniq.axonserver.default-query-timeout": str(QUERY_TIMEOUT_MS),
        "axoniq.axonserver.query-queue-capacity-per-client": "50",
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


def test_query_goes_to_one_instance_per_component(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with (AxonTestClient(address, "a1", component="A") as a1, AxonTestClient(address, "a2", component="A") as a2,
                    AxonTestClient(address, "b1", component="B") as b1, AxonTestClient(address) as dispatcher):
            for client in (a1, a2, b1):
                await client.query_handler("Find")
            seen = []
            for _ in range(4):
                responses = await dispatcher.query("Find")
                payloads = sorted(r.payload.data for r in responses)
                assert len(payloads) == 2 and b"b1" in payloads
                seen.extend(payloads)
            assert seen.count(b"a1") == seen.count(b"a2") == 2  # instances of A take turns

    run(node, scenario)


def test_number_of_results_caps_the_answers(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "many") as handler, AxonTestClient(address) as dispatcher:
            await handler.query_handler("Many", handle=lambda _r: [b"1", b"2", b"3", b"4"])
            assert len(await dispatcher.query("Many")) == 4
            responses = await dispatcher.query("Many", nr_of_results=2)
            assert [r.payload.data for r in responses] == [b"1", b"2"]

    run(node, scenario)


def test_no_handler_is_axoniq_5000(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address) as dispatcher:
            responses = await dispatcher.query("Unknown")
            assert [r.error_code for r in responses] == ["AXONIQ-5000"]

    run(node, scenario)


def test_timeout_is_axoniq_5006(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "mute") as handler, AxonTestClient(address) as dispatcher:
            await handler.query_handler("Mute", auto=False)
            responses = await dispatcher.query("Mute", timeout_ms=200)
            assert [r.error_code for r in responses] == ["AXONIQ-5006"]
            responses = await dispatcher.query("Mute")  # the node's default query timeout
            assert [r.error_code for r in responses] == ["AXONIQ-5006"]

    run(node, scenario)


def test_handler_leaving_mid_query_is_axoniq_4001(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "quitter") as handler, AxonTestClient(address) as dispatcher:
            stream = await handler.query_handler("Quit", auto=False)
            call = asyncio.ensure_future(dispatcher.query("Quit"))
            await asyncio.wait_for(stream.pending.get(), 5)
            stream.abort()
            assert [r.error_code for r in await call] == ["AXONIQ-4001"]

    run(node, scenario)


def test_streaming_query_is_flow_controlled_and_cancellable(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "streamer") as handler, AxonTestClient(address) as dispatcher:
            results = [str(i).encode() for i in range(1000)]
            stream = await handler.query_handler("Stream", handle=lambda _r: list(results))
            # read everything: all results, in order, and never more sent than granted
            responses = await dispatcher.query("Stream", streaming=True)
            assert [r.payload.data for r in responses] == results
            qid = responses[0].request_identifier
            assert stream.sent[qid] <= stream.permits[qid]
            # read three, then cancel: the handler is told and stops well short of the end
            request = dispatcher.query_request("Stream", streaming=True)
            call = dispatcher.query_call(request)
            got = [await call.read() for _ in range(3)]
            assert [r.payload.data for r in got] == results[:3]
            call.cancel()
            qid = request.message_identifier
            await wait_for(lambda: qid in stream.cancelled, what="query_cancel at the handler")
            assert stream.sent[qid] <= stream.permits[qid] < len(results)

    run(node, scenario)


def test_subscription_query_initial_result_updates_in_order_and_complete(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "emitter") as handler, AxonTestClient(address) as dispatcher:
            stream = await handler.query_handler("Watch", handle=lambda _r: [b"initial"])
            sub = await dispatcher.subscription_query("Watch", permits=100)
            await wait_for(lambda: bool(stream.subscriptions), what="subscription at the handler")
            sub_id = next(iter(stream.subscriptions))
            sub.request_initial_result()
            first = await sub.next()
            assert first.initial_result.payload.data == b"initial"
            for i in range(20):
                stream.update(sub_id, f"u{i}")
            updates = [(await sub.next()).update.payload.data for _ in range(20)]
            assert updates == [f"u{i}".encode() for i in range(20)]
            stream.complete_subscription(sub_id)
            assert (await sub.next()).WhichOneof("response") == "complete"
            await asyncio.wait_for(sub.ended.wait(), 5)
            await wait_for(lambda: sub_id in stream.unsubscribed, what="handler told to unsubscribe")

    run(node, scenario)


def test_subscription_updates_wait_for_permits_and_complete_exceptionally(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "emitter2") as handler, AxonTestClient(address) as dispatcher:
            stream = await handler.query_handler("Watch2")
            sub = await dispatcher.subscription_query("Watch2", permits=2)
            await wait_for(lambda: bool(stream.subscriptions), what="subscription at the handler")
            sub_id = next(iter(stream.subscriptions))
            for i in range(5):
                stream.update(sub_id, f"u{i}")
            assert [(await sub.next()).update.payload.data for _ in range(2)] == [b"u0", b"u1"]
            with pytest.raises(TimeoutError):
                await sub.next(timeout=0.2)  # NB: proving absence needs a bound; no permits, nothing comes
            sub.grant(10)
            assert [(await sub.next()).update.payload.data for _ in range(3)] == [b"u2", b"u3", b"u4"]
            stream.complete_subscription(sub_id, error_code="AXONIQ-5001")
            last = await sub.next()
            assert last.complete_exceptionally.error_code == "AXONIQ-5001"

    run(node, scenario)


def test_unsubscribe_ends_the_stream_even_with_updates_waiting_for_permits(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "chatty") as handler, AxonTestClient(address) as dispatcher:
            stream = await handler.query_handler("Chatty")
            sub = await dispatcher.subscription_query("Chatty", permits=1)
            await wait_for(lambda: bool(stream.subscriptions), what="subscription at the handler")
            sub_id = next(iter(stream.subscriptions))
            for i in range(3):
                stream.update(sub_id, f"u{i}")
            assert (await sub.next()).update.payload.data == b"u0"  # u1, u2 wait for permits
            sub.unsubscribe()
            await asyncio.wait_for(sub.ended.wait(), 5)
            await wait_for(lambda: sub_id in stream.unsubscribed, what="unsubscribe at the handler")

    run(node, scenario)


def test_handler_subscribing_later_joins_existing_subscription(node: NodeProcess) -> None:
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "late") as handler, AxonTestClient(address) as dispatcher:
            sub = await dispatcher.subscription_query("Later")
            stream = await handler.query_handler("Later")
            await wait_for(lambda: bool(stream.subscriptions), what="late handler asked to subscribe")
            stream.update(next(iter(stream.subscriptions)), "hello")
            assert (await sub.next()).update.payload.data == b"hello"
            sub.unsubscribe()
            await wait_for(lambda: bool(stream.unsubscribed), what="unsubscribe at the handler")

    run(node, scenario)


def test_permits_granted_before_subscribe_count(node: NodeProcess) -> None:
    """The Java connector sends `flow_control` first, then `subscribe` with 0 permits."""
    async def scenario(address: str) -> None:
        async with AxonTestClient(address, "early") as handler, AxonTestClient(address) as dispatcher:
            stream = await handler.query_handler("Early")
            sub = await dispatcher.subscription_query("Early", permits=0, grant_first=5)
            await wait_for(lambda: bool(stream.subscriptions), what="subscription at the handler")
            stream.update(next(iter(stream.subscriptions)), "u")
            assert (await sub.next()).update.payload.data == b"u"

    run(node, scenario)
