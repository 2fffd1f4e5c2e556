"""Command and query routers over fake handlers and a manual clock: no sockets, no sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any

import pytest

from ranvier._pb import command_pb2, common_pb2, query_pb2
from ranvier.messaging import ManualClock, Messaging, MessagingOptions, TooManyRequests
from ranvier.testing.axon_client import instruction


class FakeHandler:
    def __init__(self, client_id: str, component: str = "app", context: str = "default", capacity: int = 100) -> None:
        self.client_id = client_id
        self.stream_id = f"{client_id}.s"
        self.component_name = component
        self.context = context
        self.sent: list[Any] = []
        self.capacity = capacity

    def send(self, message: Any, *, then: Sequence[Any] = ()) -> None:
        if len(self.sent) >= self.capacity:
            raise TooManyRequests("full")
        self.sent.append(message)
        self.sent.extend(then)

    def grant(self, permits: int) -> None:
        pass

    @property
    def queued(self) -> int:
        return 0


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def messaging(clock: ManualClock) -> Messaging:
    return Messaging(MessagingOptions(default_command_timeout_ms=1000, default_query_timeout_ms=2000), clock)


def command(name: str, key: str | None = None, timeout_ms: int | None = None) -> command_pb2.Command:
    c = command_pb2.Command(name=name)
    if key is not None:
        c.processing_instructions.append(instruction(common_pb2.ROUTING_KEY, key))
    if timeout_ms is not None:
        c.processing_instructions.append(instruction(common_pb2.TIMEOUT, timeout_ms))
    return c


def test_command_times_out_at_the_default_and_at_its_own_timeout() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        m = messaging(clock)
        h = FakeHandler("h")
        m.registry.subscribe_command(h, "Do", 100)
        default = m.commands.submit("default", command("Do"))
        own = m.commands.submit("default", command("Do", timeout_ms=100))
        clock.advance(0.099)
        assert not own.done()
        clock.advance(0.002)
        assert own.result().error_code == "AXONIQ-4002"
        assert not default.done()
        clock.advance(0.9)
        assert default.result().error_code == "AXONIQ-4002"
        assert not m.commands.in_flight and clock.pending == 0

    run(scenario())


def test_response_completes_and_cancels_the_timer() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        m = messaging(clock)
        h = FakeHandler("h")
        m.registry.subscribe_command(h, "Do", 100)
        future = m.commands.submit("default", command("Do"))
        sent = h.sent[0].command
        m.commands.on_response(command_pb2.CommandResponse(request_identifier=sent.message_identifier))
        assert future.result().error_code == ""
        assert clock.pending == 0
        clock.advance(10)  # a late timer would find nothing

    run(scenario())


def test_duplicate_in_flight_and_no_handler() -> None:
    async def scenario() -> None:
        m = messaging(ManualClock())
        m.registry.subscribe_command(FakeHandler("h"), "Do", 100)
        first = command("Do")
        first.message_identifier = "same"
        m.commands.submit("default", first)
        again = command("Do")
        again.message_identifier = "same"
        assert m.commands.submit("default", again).result().error_code == "AXONIQ-4005"
        assert m.commands.submit("default", command("Other")).result().error_code == "AXONIQ-4000"
        assert m.commands.submit("elsewhere", command("Do")).result().error_code == "AXONIQ-4000"

    run(scenario())


def test_routing_key_placement_is_stable_and_full_queue_refuses() -> None:
    async def scenario() -> None:
        m = messaging(ManualClock())
        a, b = FakeHandler("a", capacity=1000), FakeHandler("b", capacity=1)
        m.registry.subscribe_command(a, "Do", 100)
        m.registry.subscribe_command(b, "Do", 100)
        owners = {m.registry.command_handler("default", "Do", f"k{i}").client_id for i in range(50)}  # type: ignore[union-attr]
        assert owners == {"a", "b"}
        key = next(f"k{i}" for i in range(50) if m.registry.command_handler("default", "Do", f"k{i}") is b)
        m.commands.submit("default", command("Do", key))
        with pytest.raises(TooManyRequests):
            m.commands.submit("default", command("Do", key))
        assert len(m.commands.in_flight) == 1

    run(scenario())


def test_handler_gone_fails_sent_and_reroutes_unsent() -> None:
    async def scenario() -> None:
        m = messaging(ManualClock())
        a, b = FakeHandler("a"), FakeHandler("b")
        m.registry.subscribe_command(a, "Do", 100)
        sent = m.commands.submit("default", command("Do"))
        queued = m.commands.submit("default", command("Do"))
        m.registry.subscribe_command(b, "Do", 100)
        m.commands.handler_gone(a, [a.sent[1]])
        assert sent.result().error_code == "AXONIQ-4001"
        assert not queued.done() and b.sent[0].command.message_identifier == a.sent[1].command.message_identifier

    run(scenario())


def test_query_timeout_and_results_cap() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        m = messaging(clock)
        h = FakeHandler("h")
        m.registry.subscribe_query(h, "Q")
        slow = m.queries.start("default", query_pb2.QueryRequest(query="Q"))
        clock.advance(2.0)
        assert [r.error_code async for r in slow] == ["AXONIQ-5006"]
        capped = query_pb2.QueryRequest(query="Q")
        capped.processing_instructions.append(instruction(common_pb2.NR_OF_RESULTS, 1))
        q = m.queries.start("default", capped)
        for _ in range(3):
            m.queries.on_response(h, query_pb2.QueryResponse(request_identifier=q.id))
        assert len([r async for r in q]) == 1
        assert not m.queries.active and clock.pending == 0

    run(scenario())


def test_streaming_query_grants_window_then_refills_and_cancels() -> None:
    async def scenario() -> None:
        m = messaging(ManualClock())
        h = FakeHandler("h")
        m.registry.subscribe_query(h, "S")
        request = query_pb2.QueryRequest(query="S")
        request.processing_instructions.append(instruction(common_pb2.CLIENT_SUPPORTS_STREAMING, True))
        q = m.queries.start("default", request)
        forwarded, first_grant = h.sent
        assert any(i.key == common_pb2.SERVER_SUPPORTS_STREAMING for i in forwarded.query.processing_instructions)
        assert first_grant.query_flow_control.permits == 32
        for _ in range(16):
            m.queries.consumed(q)
        assert h.sent[-1].query_flow_control.permits == 16
        m.queries.cancel(q)
        assert h.sent[-1].query_cancel.request_id == q.id

    run(scenario())


def test_instruction_outcomes_result_ack_only_silence_and_refusal() -> None:
    from ranvier._pb import control_pb2
    from ranvier.errors import ErrorCode, RanvierError
    from ranvier.grpc_api.platform import ClientRegistry, ConnectedClient

    async def scenario() -> None:
        registry = ClientRegistry()
        client = ConnectedClient("c", "app", "default", "4.6", {})

        def pause() -> control_pb2.PlatformOutboundInstruction:
            return control_pb2.PlatformOutboundInstruction(
                pause_event_processor=control_pb2.EventProcessorReference(processor_name="p"))

        async def reply(kind: str, success: bool) -> None:
            sent = await client.outbound.get()
            message = common_pb2.InstructionAck(instruction_id=sent.instruction_id, success=success)
            if kind == "ack":
                registry.acknowledged(client, message)
            else:
                registry.answered(client, common_pb2.InstructionResult(instruction_id=sent.instruction_id,
                                                                        success=success))

        answered = asyncio.ensure_future(reply("result", True))
        await registry.instruct(client, pause(), 1.0)
        await answered
        outcomes = []
        for kind, success in (("ack", True), ("none", False), ("ack", False), ("result", False)):
            if kind != "none":
                asyncio.ensure_future(reply(kind, success))
            else:
                asyncio.ensure_future(client.outbound.get())
            with pytest.raises(RanvierError) as info:
                await registry.instruct(client, pause(), 0.02)
            outcomes.append(info.value.code)
        assert outcomes == [ErrorCode.INSTRUCTION_ACK_ONLY, ErrorCode.INSTRUCTION_TIMEOUT,
                            ErrorCode.INSTRUCTION_EXECUTION_ERROR, ErrorCode.INSTRUCTION_EXECUTION_ERROR]
        assert not client.pending

    run(scenario())
