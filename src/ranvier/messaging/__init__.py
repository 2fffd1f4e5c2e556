"""Node-local routing of commands, queries and subscription queries.

Layout:
  hashing.py        ConsistentHash: Axon's MD5 ring, weighted by load factor (pure)
  outbox.py         Outbox: a client's bounded queue, permits, control messages
  handlers.py       Handler protocol (`send(message)`), LocalHandler for streams on this node
  registry.py       Registry: command and query subscriptions per context
  commands.py       CommandRouter: route, wait, time out, fail over on disconnect
  queries.py        QueryRouter / ActiveQuery: one instance per component, streaming
  subscriptions.py  SubscriptionRouter: subscription queries (initial result, updates)
  remote.py         RemoteHandler / PeerHandlers (other nodes' handlers), Relay (ours, for them)
  remote_clients.py ClusterClients: control-stream clients of every node, instructions to them
  clock.py          Clock protocol, LoopClock, ManualClock (tests)
  instructions.py   reading Axon's processing instructions

Nothing here knows gRPC: `grpc_api.command` and `grpc_api.query` adapt client streams
to `LocalHandler`s, `cluster.message_links` carries `remote.py`'s messages between
nodes, and the HTTP API calls the routers directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ranvier._pb import command_pb2, query_pb2

from .clock import Clock, LoopClock, ManualClock
from .commands import CommandRouter
from .handlers import Handler, LocalHandler
from .hashing import ConsistentHash
from .outbox import Outbox, OutboxClosed, TooManyRequests
from .queries import ActiveQuery, QueryRouter
from .registry import Registry
from .remote import PeerHandlers, Relay, RemoteHandler, Routers
from .remote_clients import ClusterClients, RemoteClient, concerns_clients
from .subscriptions import Subscription, SubscriptionRouter


@dataclass(frozen=True, slots=True)
class MessagingOptions:
    default_command_timeout_ms: int = 300_000
    default_query_timeout_ms: int = 300_000
    command_queue_capacity: int = 10_000
    query_queue_capacity: int = 10_000


class Messaging(Routers):
    """The node's routing state: one registry, the three routers over it, and the
    relay that lets other nodes route to this node's handlers."""

    def __init__(self, options: MessagingOptions | None = None, clock: Clock | None = None) -> None:
        self.options = options or MessagingOptions()
        clock = clock or LoopClock()
        registry = Registry()
        super().__init__(
            registry,
            CommandRouter(registry, clock, self.options.default_command_timeout_ms),
            QueryRouter(registry, clock, self.options.default_query_timeout_ms),
            SubscriptionRouter(registry),
        )
        self.relay = Relay(registry)

    def command_answered(self, handler: Handler[Any], response: command_pb2.CommandResponse) -> None:
        """A handler stream on this node answered a command (for another node, or ours)."""
        if not self.relay.claim_command(handler, response):
            self.commands.on_response(response)

    def query_answered(self, handler: Handler[Any], outbound: query_pb2.QueryProviderOutbound) -> None:
        """A query handler stream on this node answered (a query or a subscription)."""
        if not self.relay.claim_query(handler, outbound):
            self.query_answer(handler, outbound)


__all__ = [
    "ActiveQuery", "Clock", "ClusterClients", "CommandRouter", "ConsistentHash", "Handler", "LocalHandler",
    "LoopClock", "ManualClock", "Messaging", "MessagingOptions", "Outbox", "OutboxClosed", "PeerHandlers",
    "QueryRouter", "Registry", "Relay", "RemoteClient", "RemoteHandler", "Routers", "Subscription",
    "SubscriptionRouter", "TooManyRequests", "concerns_clients",
]
