"""Routing across nodes: handler streams of other nodes, and this node's handler
streams serving other nodes.

Two nodes talk through one `Relay` call per direction (proto/ranvier/peer.proto).
On the calling node, `PeerHandlers` mirrors the handler streams of the called node:

* every stream the peer announces (a `HandlerState`) becomes a `RemoteHandler` in
  this node's `Registry`, with the same client id, load factor and component, so
  the routers choose among local and remote handlers alike, and every node builds
  the same consistent-hash ring for a command;
* what a router sends to a `RemoteHandler` goes down the call unchanged;
* the peer's handlers' answers come up and reach the routers as if the handler
  were local; a stream the peer reports gone, or every stream of a peer whose call
  ended, leaves the routers through `handler_gone`: in-flight commands fail with
  AXONIQ-4001, queries waiting for it get the same error.

On the called node, a `RelaySession` per caller hands each message to the named
local handler stream and remembers whose it was (by message or subscription id
and handler stream), so the handler's answer goes back up instead of to this
node's routers. `Relay` owns the sessions and tells each of them every change to
this node's handler subscriptions (the registry's `on_change`).

Answers and announcements of one node travel up one ordered stream: a stream's
"gone" never overtakes an answer it sent before it left, so a command is never
failed after its handler answered it. Nothing here does I/O or knows gRPC:
`ranvier.cluster.message_links` moves the batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ranvier._pb import command_pb2
from ranvier._pb import peer_pb2 as pb
from ranvier._pb import query_pb2
from ranvier.errors import ErrorCode

from . import instructions as pi
from .commands import CommandRouter, error_response
from .outbox import OutboxClosed
from .queries import QueryRouter
from .queries import error_response as query_error
from .registry import Registry
from .subscriptions import SubscriptionRouter

log = logging.getLogger(__name__)

QueryInbound = query_pb2.QueryProviderInbound
QueryOutbound = query_pb2.QueryProviderOutbound
CommandInbound = command_pb2.CommandProviderInbound

# Answers a called node still expects for its callers, per kind. Beyond this the
# oldest are forgotten (their dispatchers have timed out long before): memory stays
# bounded when handlers never answer.
MAX_PENDING = 100_000


class Routers:
    """The three routers a node's handler answers go to (see `Messaging`)."""

    def __init__(self, registry: Registry, commands: CommandRouter, queries: QueryRouter,
                 subscriptions: SubscriptionRouter) -> None:
        self.registry = registry
        self.commands = commands
        self.queries = queries
        self.subscriptions = subscriptions

    def query_answer(self, handler: Any, outbound: QueryOutbound) -> None:
        kind = outbound.WhichOneof("request")
        if kind == "query_response":
            self.queries.on_response(handler, outbound.query_response)
        elif kind == "query_complete":
            self.queries.on_complete(handler, outbound.query_complete)
        elif kind == "subscription_query_response":
            self.subscriptions.on_handler_response(handler, outbound.subscription_query_response)

    def handler_gone(self, handler: Any, unsent: Sequence[str] = ()) -> None:
        if handler.query_stream:
            self.queries.handler_gone(handler)
            self.subscriptions.handler_gone(handler)
        else:
            messages = [CommandInbound(command=command_pb2.Command(message_identifier=m)) for m in unsent]
            self.commands.handler_gone(handler, messages)


# -- the calling side ------------------------------------------------------------------


class RemoteHandler:
    """A handler stream connected to another node, as this node's routers see it."""

    remote = True

    def __init__(self, peer: PeerHandlers, state: pb.HandlerState) -> None:
        self.peer = peer
        self.node_name = peer.node_name
        self.stream_id = state.stream_id
        self.context = state.context
        self.client_id = state.client_id
        self.component_name = state.component_name
        self.query_stream = state.query_stream
        self.commands: dict[str, int] = {}  # command name -> load factor
        self.queries: dict[str, tuple[str, ...]] = {}  # query name -> result names
        self.closed = False

    def send(self, message: Any, *, then: Sequence[Any] = ()) -> None:
        if self.closed:
            raise OutboxClosed(f"handler {self.client_id} on {self.node_name} has disconnected")
        item = pb.RelayDown(stream_id=self.stream_id)
        if self.query_stream:
            item.query = message.SerializeToString()
            item.then.extend(m.SerializeToString() for m in then)
        else:
            item.command = message.SerializeToString()
        self.peer.send_down(item)

    def grant(self, permits: int) -> None:
        """Permits are the handler's business with its own node."""

    @property
    def queued(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"<handler {self.client_id} ({self.component_name}) in {self.context} on {self.node_name}>"


class PeerHandlers:
    """The handler streams of one other node, mirrored into this node's routers for
    as long as one `Relay` call to that node lives."""

    def __init__(self, routers: Routers, node_name: str, send_down: Callable[[pb.RelayDown], None]) -> None:
        self.routers = routers
        self.node_name = node_name
        self.send_down = send_down  # raises TooManyRequests when the call's queue is full
        self.handlers: dict[str, RemoteHandler] = {}

    def receive(self, item: pb.RelayUp) -> None:
        kind = item.WhichOneof("message")
        if kind == "handler":
            self._state(item.handler)
        elif kind == "command_response":
            self.routers.commands.on_response(command_pb2.CommandResponse.FromString(item.command_response))
        elif kind == "query_outbound":
            handler = self.handlers.get(item.stream_id)
            if handler is not None:
                self.routers.query_answer(handler, QueryOutbound.FromString(item.query_outbound))

    def _state(self, state: pb.HandlerState) -> None:
        handler = self.handlers.get(state.stream_id)
        if state.gone:
            if handler is not None:
                self._gone(handler, state.unsent_commands)
            return
        if handler is None:
            handler = self.handlers[state.stream_id] = RemoteHandler(self, state)
        registry = self.routers.registry
        commands = {c.name: c.load_factor for c in state.commands}
        for name in set(handler.commands) - set(commands):
            registry.unsubscribe_command(handler, name)
        for name, load_factor in commands.items():
            if handler.commands.get(name) != load_factor:
                registry.subscribe_command(handler, name, load_factor)
        queries = {q.name: tuple(q.result_names) for q in state.queries}
        for name in set(handler.queries) - set(queries):
            registry.unsubscribe_query(handler, name)
        for name, results in queries.items():
            if name not in handler.queries:
                for result in results or ("",):
                    registry.subscribe_query(handler, name, result)
                self.routers.subscriptions.handler_subscribed(handler, name)
        handler.commands, handler.queries = commands, queries

    def _gone(self, handler: RemoteHandler, unsent: Sequence[str] = ()) -> None:
        del self.handlers[handler.stream_id]
        handler.closed = True
        self.routers.handler_gone(handler, unsent)

    def lost(self) -> None:
        """The call ended: every handler of that node leaves this node's routing."""
        for handler in list(self.handlers.values()):
            self._gone(handler)


# -- the called side -------------------------------------------------------------------


def handler_state(registry: Registry, handler: Any, gone: bool = False, unsent: Iterable[str] = ()) -> pb.HandlerState:
    state = pb.HandlerState(
        stream_id=handler.stream_id, context=handler.context, client_id=handler.client_id,
        component_name=handler.component_name, query_stream=bool(getattr(handler, "query_stream", False)),
        gone=gone, unsent_commands=list(unsent),
    )
    if not gone:
        for name, load_factor in registry.command_subscriptions(handler):
            state.commands.add(name=name, load_factor=load_factor)
        for name, results in registry.query_names(handler):
            state.queries.add(name=name, result_names=results)
    return state


class RelaySession:
    """One other node routing messages to this node's handler streams."""

    def __init__(self, relay: Relay, origin: int, send_up: Callable[[pb.RelayUp], None]) -> None:
        self.relay = relay
        self.origin = origin
        self.send_up = send_up
        self.closed = False

    def receive(self, item: pb.RelayDown) -> None:
        handler = self.relay.local.get(item.stream_id)
        kind = item.WhichOneof("message")
        if kind == "command":
            self.relay.deliver_command(self, handler, item.stream_id, CommandInbound.FromString(item.command))
        elif kind == "query":
            then = [QueryInbound.FromString(m) for m in item.then]
            self.relay.deliver_query(self, handler, item.stream_id, QueryInbound.FromString(item.query), then)


class Relay:
    """This node's handler streams as other nodes use them."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        registry.on_change = self._changed
        self.local: dict[str, Any] = {}  # stream id -> handler stream on this node (announced)
        self.sessions: list[RelaySession] = []
        # Whose answers these are: (message or subscription id, stream id) -> ...
        self.commands: dict[tuple[str, str], RelaySession] = {}
        self.queries: dict[tuple[str, str], tuple[RelaySession, bool]] = {}  # (session, streaming)
        self.subscriptions: dict[tuple[str, str], tuple[RelaySession, query_pb2.SubscriptionQuery]] = {}
        self.relayed = 0

    # -- sessions --------------------------------------------------------------------

    def open(self, origin: int, send_up: Callable[[pb.RelayUp], None]) -> RelaySession:
        """A node calls: it hears of every handler stream on this node, then of each change."""
        session = RelaySession(self, origin, send_up)
        self.sessions.append(session)
        for handler in list(self.local.values()):
            send_up(pb.RelayUp(stream_id=handler.stream_id, handler=handler_state(self.registry, handler)))
        return session

    def close(self, session: RelaySession) -> None:
        """The caller's call ended: its queries are cancelled and its subscriptions
        ended at the handlers; answers still to come for it are dropped."""
        if session.closed:
            return
        session.closed = True
        self.sessions.remove(session)
        for key in [k for k, s in self.commands.items() if s is session]:
            del self.commands[key]
        for key, (owner, streaming) in list(self.queries.items()):
            if owner is session:
                del self.queries[key]
                if streaming:
                    self._quietly(key[1], QueryInbound(query_cancel=query_pb2.QueryReference(request_id=key[0])))
        for key, (owner, query) in list(self.subscriptions.items()):
            if owner is session:
                del self.subscriptions[key]
                self._quietly(key[1], QueryInbound(
                    subscription_query_request=query_pb2.SubscriptionQueryRequest(unsubscribe=query)))

    def _quietly(self, stream_id: str, message: Any) -> None:
        handler = self.local.get(stream_id)
        if handler is not None:
            try:
                handler.send(message)
            except Exception:  # noqa: BLE001 - a handler that is gone needs no cancel
                pass

    # -- this node's handler streams change --------------------------------------------

    def _changed(self, handler: Any, gone: bool, unsent: Sequence[str]) -> None:
        stream_id = handler.stream_id
        if gone:
            if self.local.pop(stream_id, None) is None:
                return
        else:
            self.local[stream_id] = handler
        for session in list(self.sessions):
            mine = [m for m in unsent if self.commands.get((m, stream_id)) is session] if gone else []
            state = handler_state(self.registry, handler, gone, mine)
            session.send_up(pb.RelayUp(stream_id=stream_id, handler=state))
        if gone:
            # Callers learn from the "gone" that their messages to it failed (or may be
            # routed again); its late answers, if any, have nowhere to go.
            for table in (self.commands, self.queries, self.subscriptions):
                for key in [k for k in table if k[1] == stream_id]:
                    del table[key]

    # -- the caller's messages ---------------------------------------------------------

    def deliver_command(self, session: RelaySession, handler: Any, stream_id: str, message: CommandInbound) -> None:
        self.relayed += 1
        command = message.command
        key = (command.message_identifier, stream_id)
        if handler is None:
            session.send_up(self._command_failed(command, stream_id, ErrorCode.CONNECTION_TO_HANDLER_LOST,
                                                 f"Handler stream {stream_id} is no longer connected"))
            return
        _bounded(self.commands)
        self.commands[key] = session
        try:
            handler.send(message)
        except Exception as exc:  # noqa: BLE001 - a full queue or a closed stream is this command's failure
            del self.commands[key]
            code = getattr(exc, "code", ErrorCode.COMMAND_DISPATCH_ERROR)
            session.send_up(self._command_failed(command, stream_id, code, str(getattr(exc, "message", exc))))

    @staticmethod
    def _command_failed(command: command_pb2.Command, stream_id: str, code: ErrorCode, text: str) -> pb.RelayUp:
        response = error_response(command, code, text)
        return pb.RelayUp(stream_id=stream_id, command_response=response.SerializeToString())

    def deliver_query(self, session: RelaySession, handler: Any, stream_id: str, message: QueryInbound,
                      then: Sequence[QueryInbound]) -> None:
        self.relayed += 1
        kind = message.WhichOneof("request")
        if kind == "query":
            query = message.query
            key = (query.message_identifier, stream_id)
            if handler is not None:
                _bounded(self.queries)
                self.queries[key] = (session, pi.flag(query.processing_instructions, pi.SERVER_SUPPORTS_STREAMING))
            if not self._send(session, handler, stream_id, message, then):
                self.queries.pop(key, None)
            return
        if kind == "query_cancel":
            self.queries.pop((message.query_cancel.request_id, stream_id), None)
        elif kind == "subscription_query_request":
            request = message.subscription_query_request
            which = request.WhichOneof("request")
            if which in ("subscribe", "get_initial_result"):
                query = getattr(request, which)
                self.subscriptions[(query.subscription_identifier, stream_id)] = (session, query)
            elif which == "unsubscribe":
                self.subscriptions.pop((request.unsubscribe.subscription_identifier, stream_id), None)
        if handler is not None:
            self._send(session, handler, stream_id, message, then)

    def _send(self, session: RelaySession, handler: Any, stream_id: str, message: QueryInbound,
              then: Sequence[QueryInbound]) -> bool:
        """Hand a query message to the handler; a query it cannot take fails at once."""
        error: tuple[ErrorCode, str] | None = None
        if handler is None:
            error = (ErrorCode.CONNECTION_TO_HANDLER_LOST, f"Handler stream {stream_id} is no longer connected")
        else:
            try:
                handler.send(message, then=then)
            except Exception as exc:  # noqa: BLE001
                error = (getattr(exc, "code", ErrorCode.QUERY_DISPATCH_ERROR), str(getattr(exc, "message", exc)))
        if error is None:
            return True
        if message.WhichOneof("request") == "query":
            query_id = message.query.message_identifier
            for answer in (QueryOutbound(query_response=query_error(query_id, *error)),
                           QueryOutbound(query_complete=query_pb2.QueryComplete(request_id=query_id))):
                session.send_up(pb.RelayUp(stream_id=stream_id, query_outbound=answer.SerializeToString()))
        return False

    # -- this node's handlers answer -----------------------------------------------------

    def claim_command(self, handler: Any, response: command_pb2.CommandResponse) -> bool:
        """True when `response` answers a caller's command: it went back up."""
        if not self.commands:
            return False
        session = self.commands.pop((response.request_identifier, handler.stream_id), None)
        if session is None:
            return False
        session.send_up(pb.RelayUp(stream_id=handler.stream_id, command_response=response.SerializeToString()))
        return True

    def claim_query(self, handler: Any, outbound: QueryOutbound) -> bool:
        """True when `outbound` answers a caller's query or subscription: it went back up."""
        kind = outbound.WhichOneof("request")
        session: RelaySession | None = None
        if kind == "query_response" and self.queries:
            owner = self.queries.get((outbound.query_response.request_identifier, handler.stream_id))
            session = owner[0] if owner else None
        elif kind == "query_complete" and self.queries:
            owner = self.queries.pop((outbound.query_complete.request_id, handler.stream_id), None)
            session = owner[0] if owner else None
        elif kind == "subscription_query_response" and self.subscriptions:
            response = outbound.subscription_query_response
            key = (response.subscription_identifier, handler.stream_id)
            sub = self.subscriptions.get(key)
            session = sub[0] if sub else None
            if sub and response.WhichOneof("response") in ("complete", "complete_exceptionally"):
                del self.subscriptions[key]
        if session is None:
            return False
        session.send_up(pb.RelayUp(stream_id=handler.stream_id, query_outbound=outbound.SerializeToString()))
        return True


def _bounded(table: dict[Any, Any]) -> None:
    while len(table) >= MAX_PENDING:
        del table[next(iter(table))]
