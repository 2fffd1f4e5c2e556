"""Command dispatch on one node: pick a handler, wait for its response.

A command goes to the handler that the consistent hash of its routing key picks
among the handlers subscribed to its name in its context (`Registry`). The router
keeps each command in flight until the handler answers, the handler's stream ends,
or the command's timeout passes; exactly one `CommandResponse` completes it. Every
failure is a `CommandResponse` carrying Axon's error code, never an exception,
except a full handler queue (AXONIQ-1900, raised as `TooManyRequests`).

Outcomes, as Axon Server answers them:
  no handler subscribed            -> AXONIQ-4000
  same message id already in flight -> AXONIQ-4005
  handler stream ended after the command was sent -> AXONIQ-4001
  no response within the timeout   -> AXONIQ-4002
Commands still queued (not yet sent) when their handler leaves are routed again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ranvier._pb import command_pb2
from ranvier.errors import ErrorCode

from . import instructions as pi
from .clock import Clock, Timer
from .handlers import Handler
from .registry import Registry

log = logging.getLogger(__name__)

CommandHandler = Handler[Any]


@dataclass
class _InFlight:
    command: command_pb2.Command
    context: str
    handler: CommandHandler
    future: asyncio.Future[command_pb2.CommandResponse]
    timer: Timer | None = None
    started: float = field(default_factory=time.monotonic)


def error_response(command: command_pb2.Command, code: ErrorCode, message: str) -> command_pb2.CommandResponse:
    return command_pb2.CommandResponse(
        message_identifier=command.message_identifier,
        request_identifier=command.message_identifier,
        error_code=code.code,
        error_message=pi.error_message(message, code.code),
    )


def wrap(command: command_pb2.Command) -> command_pb2.CommandProviderInbound:
    return command_pb2.CommandProviderInbound(command=command)


class CommandRouter:
    def __init__(self, registry: Registry, clock: Clock, default_timeout_ms: int) -> None:
        self.registry = registry
        self.clock = clock
        self.default_timeout_ms = default_timeout_ms
        self.in_flight: dict[str, _InFlight] = {}
        self.dispatched = 0

    async def dispatch(self, context: str, command: command_pb2.Command) -> command_pb2.CommandResponse:
        """Route `command` and wait for its response (see the module doc for outcomes)."""
        future = self.submit(context, command)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # The dispatcher went away; the handler may still answer, and we drop that.
            self._finish(command.message_identifier, None)
            raise

    def submit(self, context: str, command: command_pb2.Command) -> asyncio.Future[command_pb2.CommandResponse]:
        """Route `command`; the future completes with its response. Raises
        TooManyRequests when the chosen handler's queue is full."""
        future: asyncio.Future[command_pb2.CommandResponse] = asyncio.get_running_loop().create_future()
        if not command.message_identifier:
            command.message_identifier = str(uuid.uuid4())
        self.dispatched += 1
        if command.message_identifier in self.in_flight:
            future.set_result(error_response(
                command, ErrorCode.COMMAND_DUPLICATED,
                f"Command {command.message_identifier} is already being processed"))
            return future
        handler = self._choose(context, command)
        if handler is None:
            future.set_result(error_response(command, ErrorCode.NO_HANDLER_FOR_COMMAND, f"No Handler for command: {command.name}"))
            return future
        # In flight before it is sent: a handler on another node may answer before
        # `send` returns (the relay is synchronous when both ends share a loop).
        flight = _InFlight(command, context, handler, future)
        self.in_flight[command.message_identifier] = flight
        try:
            handler.send(wrap(command))
        except BaseException:
            del self.in_flight[command.message_identifier]  # TooManyRequests: it was never routed
            raise
        if not future.done():
            flight.timer = self.clock.call_later(self._timeout_s(command),
                                                 lambda: self._expire(command.message_identifier))
        return future

    def _choose(self, context: str, command: command_pb2.Command) -> CommandHandler | None:
        key = pi.text(command.processing_instructions, pi.ROUTING_KEY) or command.message_identifier
        return self.registry.command_handler(context, command.name, key)

    def _timeout_s(self, command: command_pb2.Command) -> float:
        timeout_ms = pi.number(command.processing_instructions, pi.TIMEOUT, 0)
        return (timeout_ms if timeout_ms > 0 else self.default_timeout_ms) / 1000

    def _finish(self, message_id: str, response: command_pb2.CommandResponse | None) -> bool:
        flight = self.in_flight.pop(message_id, None)
        if flight is None:
            return False
        if flight.timer is not None:
            flight.timer.cancel()
        if response is not None and not flight.future.done():
            flight.future.set_result(response)
        return True

    def _expire(self, message_id: str) -> None:
        flight = self.in_flight.get(message_id)
        if flight is None:
            return
        self._finish(message_id, error_response(
            flight.command, ErrorCode.COMMAND_TIMEOUT,
            f"Command {flight.command.name} timed out waiting for a response from {flight.handler.client_id}"))

    # -- from handler streams --------------------------------------------------------

    def on_response(self, response: command_pb2.CommandResponse) -> None:
        if not self._finish(response.request_identifier, response):
            log.debug("response for unknown or finished command %s", response.request_identifier)

    def handler_gone(self, handler: CommandHandler, unsent: Sequence[command_pb2.CommandProviderInbound]) -> None:
        """`handler`'s stream ended: route its unsent commands again, fail the rest."""
        unsent_ids = {m.command.message_identifier for m in unsent}
        self.registry.remove(handler, sorted(unsent_ids))
        for message_id, flight in list(self.in_flight.items()):
            if flight.handler is not handler:
                continue
            if message_id in unsent_ids:
                self._reroute(flight)
            else:
                self._finish(message_id, error_response(
                    flight.command, ErrorCode.CONNECTION_TO_HANDLER_LOST,
                    f"Connection lost while executing command on: {handler.client_id}"))

    def _reroute(self, flight: _InFlight) -> None:
        target = self._choose(flight.context, flight.command)
        if target is None:
            self._finish(flight.command.message_identifier, error_response(
                flight.command, ErrorCode.NO_HANDLER_FOR_COMMAND, f"No Handler for command: {flight.command.name}"))
            return
        try:
            target.send(wrap(flight.command))
        except Exception as exc:  # noqa: BLE001 - any refusal ends this command, not the others
            self._finish(flight.command.message_identifier, error_response(
                flight.command, ErrorCode.COMMAND_DISPATCH_ERROR, f"could not route command again: {exc}"))
            return
        flight.handler = target
