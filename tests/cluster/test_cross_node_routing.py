"""Commands, queries and subscription queries routed across a real 3-node cluster.

Handlers connect to one node, dispatchers to another: the dispatcher's node sees the
handler in its routing (shared over the internal port), forwards the message to the
handler's node and relays the answers back. A handler that leaves, or a node that
dies, leaves every node's routing and fails what it had in flight with AXONIQ-4001.
Every wait is for a condition (a node's REST view, a response), never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

from ranvier.testing import cluster as harness
from ranvier.testing.axon_client import AxonTestClient
from ranvier.testing.nodes import NodeProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[NodeProcess]]:
    with harness.formed_cluster(tmp_path_factory.mktemp("routing"), ["n1", "n2", "n3"], {
        "axoniq.axonserver.default-command-timeout": "20000",
    }) as cluster:
        yield cluster


def run(scenario: Callable[[], Awaitable[None]], timeout: float = 60) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout))


async def handlers_seen(node: NodeProcess, kind: str, expected: dict[str, str], timeout: float = 10) -> None:
    """Wait until `node`'s routing lists exactly these handlers (client -> node) in
    /v1/commands or /v1/queries (`kind`)."""
    async with httpx.AsyncClient(base_url=node.http_url) as http:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            rows = (await http.get(f"/v1/{kind}")).json()
            seen = {row["client"]: row["proxy"] for row in rows}
            if seen == expected:
                return
            assert asyncio.get_running_loop().time() < deadline, f"{node.name} sees {seen}, not {expected}"
            await asyncio.sleep(0.02)


def test_command_is_forwarded_to_a_handler_on_another_node(nodes: list[NodeProcess]) -> None:
    n1, n2, _n3 = nodes

    async def scenario() -> None:
        async with AxonTestClient(n2.grpc_address, "greeter") as handler, AxonTestClient(n1.grpc_address) as app:
            stream = await handler.command_handler("Greet")
            await handlers_seen(n1, "commands", {"greeter": "n2"})
            response = await app.dispatch("Greet", "hello", message_id="cross-1")
            assert response.error_code == ""
            assert response.request_identifier == "cross-1"
            assert response.payload.data == b"greeter"
            assert stream.received[0].payload.data == b"hello"
            # 50 concurrent dispatches all come back, each to its own dispatcher.
            replies = await asyncio.gather(*(app.dispatch("Greet", str(i), message_id=f"c-{i}") for i in range(50)))
            assert [r.request_identifier for r in replies] == [f"c-{i}" for i in range(50)]
            assert all(r.error_code == "" for r in replies)
        for node in nodes:
            await handlers_seen(node, "commands", {})

    run(scenario)


def test_routing_key_picks_the_same_handler_whichever_node_dispatches(nodes: list[NodeProcess]) -> None:
    n1, n2, n3 = nodes

    async def scenario() -> None:
        async with (AxonTestClient(n2.grpc_address, "left") as a, AxonTestClient(n3.grpc_address, "right") as b,
                    AxonTestClient(n1.grpc_address) as d1, AxonTestClient(n2.grpc_address) as d2,
                    AxonTestClient(n3.grpc_address) as d3):
            await a.command_handler("Route")
            await b.command_handler("Route", load_factor=300)
            for node in nodes:
                await handlers_seen(node, "commands", {"left": "n2", "right": "n3"})
            chosen: dict[str, str] = {}
            for key in (f"order-{i}" for i in range(40)):
                answers = {(await d.dispatch("Route", routing_key=key)).payload.data.decode() for d in (d1, d2, d3)}
                assert len(answers) == 1, f"routing key {key} went to {answers} from different nodes"
                chosen[key] = answers.pop()
            counts = {name: list(chosen.values()).count(name) for name in ("left", "right")}
            assert counts["left"] > 0 and counts["right"] > counts["left"], counts  # load factor 300 vs 100

    run(scenario)


def test_queries_and_streaming_queries_across_nodes(nodes: list[NodeProcess]) -> None:
    n1, n2, n3 = nodes

    async def scenario() -> None:
        async with (AxonTestClient(n2.grpc_address, "q-a", component="books") as qa,
                    AxonTestClient(n3.grpc_address, "q-b", component="films") as qb,
                    AxonTestClient(n1.grpc_address) as app):
            await qa.query_handler("Find", handle=lambda r: [b"a1", b"a2"])
            await qb.query_handler("Find", handle=lambda r: [b"b1"])
            await qa.query_handler("Many", handle=lambda r: [str(i).encode() for i in range(200)])
            await handlers_seen(n1, "queries", {"q-a": "n2", "q-b": "n3"})
            results = await app.query("Find")
            assert sorted(r.payload.data for r in results) == [b"a1", b"a2", b"b1"]
            assert all(r.error_code == "" for r in results)
            # A streaming query from another node: all 200 results, in order, through flow control.
            streamed = await app.query("Many", streaming=True, nr_of_results=1)
            assert [r.payload.data for r in streamed] == [str(i).encode() for i in range(200)]
            missing = await app.query("Nobody")
            assert [r.error_code for r in missing] == ["AXONIQ-5000"]

    run(scenario)


def test_subscription_query_updates_cross_nodes(nodes: list[NodeProcess]) -> None:
    n1, _n2, n3 = nodes

    async def scenario() -> None:
        async with AxonTestClient(n3.grpc_address, "watcher") as handler, AxonTestClient(n1.grpc_address) as app:
            stream = await handler.query_handler("Watch", handle=lambda r: [b"initial"])
            await handlers_seen(n1, "queries", {"watcher": "n3"})
            sub = await app.subscription_query("Watch", permits=10)
            sub.request_initial_result()
            first = await sub.next()
            assert first.initial_result.payload.data == b"initial"
            sid = sub.query.subscription_identifier
            deadline = asyncio.get_running_loop().time() + 10
            while sid not in stream.subscriptions:
                assert asyncio.get_running_loop().time() < deadline, "the handler was never asked to subscribe"
                await asyncio.sleep(0.01)
            for i in range(5):
                stream.update(sid, f"u{i}")
            updates = [(await sub.next()).update.payload.data for _ in range(5)]
            assert updates == [b"u0", b"u1", b"u2", b"u3", b"u4"]
            sub.unsubscribe()
            deadline = asyncio.get_running_loop().time() + 10
            while sid not in stream.unsubscribed:
                assert asyncio.get_running_loop().time() < deadline, "the handler never heard of the unsubscribe"
                await asyncio.sleep(0.01)

    run(scenario)


def test_handler_leaving_fails_its_forwarded_commands_with_4001(nodes: list[NodeProcess]) -> None:
    n1, n2, _n3 = nodes

    async def scenario() -> None:
        async with AxonTestClient(n1.grpc_address) as app:
            handler = AxonTestClient(n2.grpc_address, "quitter")
            stream = await handler.command_handler("Slow", auto=False)
            await handlers_seen(n1, "commands", {"quitter": "n2"})
            pending = asyncio.ensure_future(app.dispatch("Slow", "x"))
            await asyncio.wait_for(stream.pending.get(), 10)  # the handler on n2 has it
            await handler.close()
            response = await pending
            assert response.error_code == "AXONIQ-4001", response
            await handlers_seen(n1, "commands", {})
            assert (await app.dispatch("Slow")).error_code == "AXONIQ-4000"

    run(scenario)


def test_frozen_node_leaves_routing_and_comes_back_when_it_thaws(nodes: list[NodeProcess]) -> None:
    """A node that stops answering without closing its connections (SIGSTOP: a hung
    process, a partition) is noticed by the internal channel's keepalive."""
    n1, n2, _n3 = nodes

    async def scenario() -> None:
        async with AxonTestClient(n1.grpc_address) as app, AxonTestClient(n2.grpc_address, "sleepy") as handler:
            stream = await handler.command_handler("Nap", auto=False)
            await handlers_seen(n1, "commands", {"sleepy": "n2"})
            pending = asyncio.ensure_future(app.dispatch("Nap"))
            await asyncio.wait_for(stream.pending.get(), 10)
            loop = asyncio.get_running_loop()
            frozen_at = loop.time()
            n2.process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
            try:
                response = await asyncio.wait_for(pending, 30)
                print(f"in-flight command failed {loop.time() - frozen_at:.2f} s after its handler's node froze")
                assert response.error_code == "AXONIQ-4001", response
                await handlers_seen(n1, "commands", {}, timeout=30)
            finally:
                n2.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
            # Thawed, n2 announces its handler again; the stream never broke.
            await handlers_seen(n1, "commands", {"sleepy": "n2"}, timeout=30)
            answer = asyncio.ensure_future(app.dispatch("Nap", message_id="after-thaw"))
            command = await asyncio.wait_for(stream.pending.get(), 10)
            while command.message_identifier != "after-thaw":  # the first command may come late, too
                command = await asyncio.wait_for(stream.pending.get(), 10)
            stream.respond(command)
            assert (await answer).error_code == ""

    run(scenario, timeout=120)


def test_killed_node_fails_in_flight_commands_and_leaves_routing(nodes: list[NodeProcess]) -> None:
    """Last in the module: it kills n3."""
    n1, n2, n3 = nodes

    async def scenario() -> None:
        async with (AxonTestClient(n1.grpc_address) as app, AxonTestClient(n2.grpc_address, "survivor", component="kept") as keep):
            doomed = AxonTestClient(n3.grpc_address, "doomed", component="lost")
            stream = await doomed.command_handler("Work", auto=False)
            await keep.query_handler("Ask")
            doomed_queries = await doomed.query_handler("Ask", auto=False)
            await handlers_seen(n1, "commands", {"doomed": "n3"})
            await handlers_seen(n1, "queries", {"survivor": "n2", "doomed": "n3"})
            pending = asyncio.ensure_future(app.dispatch("Work", "x"))
            query = asyncio.ensure_future(app.query("Ask"))
            await asyncio.wait_for(stream.pending.get(), 10)
            await asyncio.wait_for(doomed_queries.pending.get(), 10)
            loop = asyncio.get_running_loop()
            killed_at = loop.time()
            n3.kill()
            response = await pending
            failed_after = loop.time() - killed_at
            assert response.error_code == "AXONIQ-4001", response
            print(f"in-flight command failed {failed_after:.2f} s after kill -9 of its handler's node")
            answers = await query
            assert sorted((r.error_code, r.payload.data) for r in answers) == [
                ("", b"survivor"), ("AXONIQ-4001", b"")]
            await handlers_seen(n1, "commands", {})
            await handlers_seen(n2, "queries", {"survivor": "n2"})
            assert (await app.dispatch("Work")).error_code == "AXONIQ-4000"
            await doomed.close()

    run(scenario)
