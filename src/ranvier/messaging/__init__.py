"""Node-local routing of commands, queries and subscription queries.

Layout:
  hashing.py        ConsistentHash: Axon's MD5 ring, weighted by load factor (pure)
  outbox.py         Outbox: a client's bounded queue, permits, control messages
  handlers.py       Handler protocol (`send(message)`), LocalHandler for streams on this node
  registry.py       Registry: command and query subscriptions per context
  commands.py       CommandRouter: route, wait, time out, fail over on disconnect
  queries.py        QueryRouter / ActiveQuery: one instance per component, streaming
  subscriptions.py  SubscriptionRouter: subscription queries (initial result, updates)
  clock.py          Clock protocol, LoopClock, ManualClock (tests)
  instructions.py   reading Axon's processing instructions

Nothing here knows gRPC: `grpc_api.command` and `grpc_api.query` adapt client streams
to `LocalHandler`s, and the HTTP API calls the routers directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from .clock import Clock, LoopClock, ManualClock
from .commands import CommandRouter
from .handlers import Handler, LocalHandler
from .hashing import ConsistentHash
from .outbox import Outbox, OutboxClosed, TooManyRequests
from .queries import ActiveQuery, QueryRouter
from .registry import Registry
from .subscriptions import Subscription, SubscriptionRouter


@dataclass(frozen=True, slots=True)
class MessagingOptions:
    default_command_timeout_ms: int = 300_000
    default_query_timeout_ms: int = 300_000
    command_queue_capacity: int = 10_000
    query_queue_capacity: int = 10_000


class Messaging:
    """The node's routing state: one registry and the three routers over it."""

    def __init__(self, options: MessagingOptions | None = None, clock: Clock | None = None) -> None:
        self.options = options or MessagingOptions()
        clock = clock or LoopClock()
        self.registry = Registry()
        self.commands = CommandRouter(self.registry, clock, self.options.default_command_timeout_ms)
        self.queries = QueryRouter(self.registry, clock, self.options.default_query_timeout_ms)
        self.subscriptions = SubscriptionRouter(self.registry)


__all__ = [
    "ActiveQuery", "Clock", "CommandRouter", "ConsistentHash", "Handler", "LocalHandler", "LoopClock",
    "ManualClock", "Messaging", "MessagingOptions", "Outbox", "OutboxClosed", "QueryRouter", "Registry",
    "Subscription", "SubscriptionRouter", "TooManyRequests",
]
