"""Routing between two nodes under random interleavings, seeded.

Node A dispatches commands; node B has handler streams that come and go, take
permits, answer some commands and ignore others; the Relay call between them
carries its messages in order but late, and is sometimes lost and reopened. At the
end every dispatched command has exactly one outcome and neither node remembers
anything about it. Replay a failure with RANVIER_RELAY_SEED=<seed>.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import deque
from typing import Any

import pytest

from ranvier._pb import command_pb2, common_pb2
from ranvier.messaging import LocalHandler, ManualClock, Messaging, MessagingOptions, Outbox, PeerHandlers
from ranvier.testing.axon_client import instruction

SEEDS = [int(os.environ["RANVIER_RELAY_SEED"])] if "RANVIER_RELAY_SEED" in os.environ else list(range(30))


def _classify(message: Any) -> int | None:
    return 0 if message.WhichOneof("request") == "command" else None


class World:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.clock = ManualClock()
        self.a = Messaging(MessagingOptions(default_command_timeout_ms=60_000), clock=self.clock)
        self.b = Messaging(MessagingOptions(), clock=ManualClock())
        self.down: deque[Any] = deque()
        self.up: deque[Any] = deque()
        self.handlers: list[LocalHandler[Any]] = []
        self.received: dict[str, list[command_pb2.Command]] = {}
        self.futures: dict[str, asyncio.Future[command_pb2.CommandResponse]] = {}
        self.serial = 0
        self._connect()

    def _connect(self) -> None:
        self.peer = PeerHandlers(self.a, "b", self.down.append)
        self.session = self.b.relay.open(1, self.up.append)

    def lose_link(self) -> None:
        self.down.clear()
        self.up.clear()
        self.peer.lost()
        self.b.relay.close(self.session)

    def step(self) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.12 or not self.handlers:
            self.add_handler()
        elif roll < 0.40:
            self.dispatch()
        elif roll < 0.60:
            self.handler_works(rng.choice(self.handlers))
        elif roll < 0.66:
            self.handler_leaves(rng.choice(self.handlers))
        elif roll < 0.69:
            self.lose_link()
            self._connect()
        else:
            self.deliver(rng.randint(1, 4))

    def add_handler(self) -> None:
        self.serial += 1
        handler = LocalHandler("default", f"h{self.serial}", Outbox(3, "h", "q"), _classify)
        self.handlers.append(handler)
        self.received[handler.stream_id] = []
        self.b.registry.subscribe_command(handler, "Do", self.rng.choice([50, 100, 300]))

    def dispatch(self) -> None:
        self.serial += 1
        command = command_pb2.Command(message_identifier=f"c{self.serial}", name="Do")
        command.processing_instructions.append(instruction(common_pb2.ROUTING_KEY, f"k{self.rng.randint(1, 9)}"))
        try:
            self.futures[command.message_identifier] = self.a.commands.submit("default", command)
        except Exception as exc:  # noqa: BLE001 - a full link queue is an allowed refusal
            assert getattr(exc, "code", None) is not None, exc

    def handler_works(self, handler: LocalHandler[Any]) -> None:
        handler.grant(self.rng.randint(0, 2))
        for message in handler.outbox._ready():
            if message.WhichOneof("request") == "command":
                self.received[handler.stream_id].append(message.command)
        pending = self.received[handler.stream_id]
        while pending and self.rng.random() < 0.7:
            command = pending.pop(self.rng.randrange(len(pending)))
            self.b.command_answered(handler, command_pb2.CommandResponse(
                request_identifier=command.message_identifier, message_identifier=f"r-{command.message_identifier}"))

    def handler_leaves(self, handler: LocalHandler[Any]) -> None:
        self.handlers.remove(handler)
        self.b.commands.handler_gone(handler, handler.outbox.close())

    def deliver(self, count: int) -> None:
        for _ in range(count):
            if self.down and (not self.up or self.rng.random() < 0.5):
                self.session.receive(self.down.popleft())
            elif self.up:
                self.peer.receive(self.up.popleft())

    def finish(self) -> None:
        while self.handlers:
            self.handler_leaves(self.handlers[0])
        while self.down or self.up:
            self.deliver(1)
        self.lose_link()
        self.clock.advance(3600)  # anything still waiting times out


@pytest.mark.parametrize("seed", SEEDS)
def test_every_command_has_one_outcome_and_nothing_is_left_behind(seed: int) -> None:
    async def scenario() -> None:
        world = World(random.Random(seed))
        for _ in range(300):
            world.step()
        world.finish()
        for message_id, future in world.futures.items():
            assert future.done(), f"seed {seed}: {message_id} has no outcome"
            response = future.result()
            assert response.request_identifier == message_id, f"seed {seed}"
            assert response.error_code in ("", "AXONIQ-4000", "AXONIQ-4001", "AXONIQ-4002", "AXONIQ-1900"), \
                f"seed {seed}: {message_id}: {response}"
        assert not world.a.commands.in_flight, f"seed {seed}: A still has {list(world.a.commands.in_flight)}"
        assert not world.b.relay.commands, f"seed {seed}: B still expects {list(world.b.relay.commands)}"
        assert not world.b.relay.local and not world.a.registry.command_handlers(), f"seed {seed}"

    try:
        asyncio.run(scenario())
    except AssertionError:
        print(f"replay with RANVIER_RELAY_SEED={seed}")
        raise
