"""Routing across nodes without sockets: two nodes' `Messaging`, joined by a `Relay`
session on one side and `PeerHandlers` on the other, as `message_links` joins them
over the internal port. Node A dispatches; node B has the handler streams."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from ranvier._pb import command_pb2, common_pb2, query_pb2
from ranvier.messaging import LocalHandler, ManualClock, Messaging, MessagingOptions, Outbox, PeerHandlers
from ranvier.messaging.registry import Registry
from ranvier.testing.axon_client import instruction


class Pair:
    """A (dispatching) and B (handlers), one link from A to B."""

    def __init__(self) -> None:
        self.a = Messaging(clock=ManualClock())
        self.b = Messaging(MessagingOptions(command_queue_capacity=2), clock=ManualClock())
        self.peer = PeerHandlers(self.a, "node-b", self._down)
        self.session = self.b.relay.open(1, self.peer.receive)

    def _down(self, item: Any) -> None:
        self.session.receive(item)

    @staticmethod
    def handler(client: str, query: bool = False, capacity: int = 2) -> LocalHandler[Any]:
        outbox: Outbox[Any] = Outbox(capacity, client, "queue")
        return LocalHandler("default", client, outbox, _classify, component_name="app", query_stream=query)


def _classify(message: Any) -> int | None:
    return 0 if message.WhichOneof("request") in ("command", "query") else None


def command(name: str = "Do", message_id: str = "m1", key: str = "") -> command_pb2.Command:
    c = command_pb2.Command(message_identifier=message_id, name=name)
    if key:
        c.processing_instructions.append(instruction(common_pb2.ROUTING_KEY, key))
    return c


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def queued(handler: LocalHandler[Any]) -> list[Any]:
    return [e.message for e in sorted(handler.outbox._data)]


def test_command_goes_down_and_its_answer_comes_back() -> None:
    async def scenario() -> None:
        pair = Pair()
        h = pair.handler("h")
        pair.b.registry.subscribe_command(h, "Do", 100)
        assert [r.client_id for r in pair.a.registry.command_handlers()] == ["h"]
        future = pair.a.commands.submit("default", command())
        assert [m.command.message_identifier for m in queued(h)] == ["m1"]
        pair.b.command_answered(h, command_pb2.CommandResponse(request_identifier="m1", message_identifier="r"))
        assert future.done() and future.result().message_identifier == "r"
        assert not pair.b.relay.commands  # nothing left to remember on B
        assert not pair.b.commands.in_flight  # B's own router never saw it

    run(scenario())


def test_commands_a_leaving_handler_never_received_are_routed_again() -> None:
    async def scenario() -> None:
        pair = Pair()
        h = pair.handler("h")
        pair.b.registry.subscribe_command(h, "Do", 100)
        future = pair.a.commands.submit("default", command())  # h has no permits: it stays queued on B
        other = pair.handler("other")
        pair.a.registry.subscribe_command(other, "Do", 100)
        pair.b.commands.handler_gone(h, h.outbox.close())
        assert [m.command.message_identifier for m in queued(other)] == ["m1"]
        assert not future.done()
        assert [r.client_id for r in pair.a.registry.command_handlers()] == ["other"]

    run(scenario())


def test_commands_a_leaving_handler_had_received_fail_with_4001() -> None:
    async def scenario() -> None:
        pair = Pair()
        h = pair.handler("h")
        pair.b.registry.subscribe_command(h, "Do", 100)
        h.grant(1)
        future = pair.a.commands.submit("default", command())
        assert await h.outbox.next()  # sent to the client
        pair.b.commands.handler_gone(h, h.outbox.close())
        assert future.result().error_code == "AXONIQ-4001"

    run(scenario())


def test_full_handler_queue_on_the_other_node_answers_1900() -> None:
    async def scenario() -> None:
        pair = Pair()
        h = pair.handler("h", capacity=1)
        pair.b.registry.subscribe_command(h, "Do", 100)
        first = pair.a.commands.submit("default", command(message_id="m1"))
        second = pair.a.commands.submit("default", command(message_id="m2"))
        assert not first.done()
        assert second.result().error_code == "AXONIQ-1900"
        assert "queue" in second.result().error_message.message

    run(scenario())


def test_lost_link_fails_in_flight_and_ends_subscriptions_at_the_handler() -> None:
    async def scenario() -> None:
        pair = Pair()
        h = pair.handler("h")
        q = pair.handler("q", query=True)
        pair.b.registry.subscribe_command(h, "Do", 100)
        pair.b.registry.subscribe_query(q, "Watch", "String")
        future = pair.a.commands.submit("default", command())
        sub_query = query_pb2.SubscriptionQuery(
            subscription_identifier="s1", query_request=query_pb2.QueryRequest(message_identifier="s1", query="Watch"))
        dispatcher: Outbox[Any] = Outbox(10, "dispatcher", "queue")
        pair.a.subscriptions.subscribe("default", sub_query, dispatcher)
        assert [m.subscription_query_request.WhichOneof("request") for m in q.outbox._control] == ["subscribe"]
        pair.peer.lost()
        pair.b.relay.close(pair.session)
        assert future.result().error_code == "AXONIQ-4001"
        assert not pair.a.registry.command_handlers()
        assert [m.subscription_query_request.WhichOneof("request") for m in q.outbox._control] == [
            "subscribe", "unsubscribe"]
        assert not pair.b.relay.commands and not pair.b.relay.subscriptions

    run(scenario())


def test_every_node_builds_the_same_ring() -> None:
    async def scenario() -> None:
        pair = Pair()
        for client, load_factor in (("x", 100), ("y", 50), ("z", 300)):
            pair.b.registry.subscribe_command(pair.handler(client), "Do", load_factor)
        a: Registry = pair.a.registry
        b: Registry = pair.b.registry
        for i in range(200):
            key = f"agg-{i}"
            assert a.command_handler("default", "Do", key).client_id == b.command_handler("default", "Do", key).client_id

    run(scenario())


def test_query_and_subscription_answers_come_back_from_the_other_node() -> None:
    async def scenario() -> None:
        pair = Pair()
        q = pair.handler("q", query=True)
        pair.b.registry.subscribe_query(q, "Find", "String")
        active = pair.a.queries.start("default", query_pb2.QueryRequest(message_identifier="q1", query="Find"))
        assert [m.query.message_identifier for m in queued(q)] == ["q1"]
        for outbound in (query_pb2.QueryProviderOutbound(query_response=query_pb2.QueryResponse(
                             request_identifier="q1", message_identifier="r1")),
                         query_pb2.QueryProviderOutbound(query_complete=query_pb2.QueryComplete(request_id="q1"))):
            pair.b.query_answered(q, outbound)
        assert [r.message_identifier async for r in active] == ["r1"]
        assert not pair.b.relay.queries

        sub_query = query_pb2.SubscriptionQuery(
            subscription_identifier="s1", query_request=query_pb2.QueryRequest(message_identifier="s1", query="Find"))
        dispatcher: Outbox[Any] = Outbox(10, "dispatcher", "queue")
        dispatcher.grant(10)
        sub = pair.a.subscriptions.subscribe("default", sub_query, dispatcher)
        pair.a.subscriptions.initial_result(sub)
        pair.b.query_answered(q, query_pb2.QueryProviderOutbound(
            subscription_query_response=query_pb2.SubscriptionQueryResponse(
                subscription_identifier="s1", initial_result=query_pb2.QueryResponse(message_identifier="i"))))
        pair.b.query_answered(q, query_pb2.QueryProviderOutbound(
            subscription_query_response=query_pb2.SubscriptionQueryResponse(
                subscription_identifier="s1", update=query_pb2.QueryUpdate(message_identifier="u"))))
        assert [m.WhichOneof("response") for m in await dispatcher.next()] == ["initial_result", "update"]

    run(scenario())
