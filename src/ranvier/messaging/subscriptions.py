"""Subscription queries on one node: initial result, then updates, then completion.

A dispatcher's `Subscription` stream subscribes with a `SubscriptionQuery`. Every
handler instance of that query (all components, all instances, since any of them
may emit updates) is asked to subscribe, and so is every handler that subscribes to
the query name later. Handlers send `subscription_query_response`s: the initial
result (when the dispatcher asked for it), updates, and finally `complete` or
`complete_exceptionally`. We pass them to the dispatcher in the order they arrive.

Updates spend the dispatcher's permits (`number_of_permits` on subscribe, then
`flow_control`); the initial result and the completion do not, but they stay in
order behind the updates already queued. Updates beyond the queue capacity end the
subscription with `complete_exceptionally` carrying AXONIQ-1900.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ranvier._pb import query_pb2
from ranvier.errors import ErrorCode

from . import instructions as pi
from .handlers import Handler
from .outbox import Outbox, TooManyRequests
from .registry import Registry

log = logging.getLogger(__name__)

QueryHandler = Handler[Any]
Response = query_pb2.SubscriptionQueryResponse


@dataclass
class Subscription:
    id: str
    context: str
    query: query_pb2.SubscriptionQuery
    outbox: Outbox[Response]
    handlers: dict[str, QueryHandler] = field(default_factory=dict)  # stream id -> handler asked to subscribe
    initial_from: dict[str, QueryHandler] = field(default_factory=dict)  # asked for the initial result
    initial_sent: bool = False
    updates: int = 0

    @property
    def query_name(self) -> str:
        return self.query.query_request.query


def _request(**kwargs: Any) -> query_pb2.QueryProviderInbound:
    return query_pb2.QueryProviderInbound(subscription_query_request=query_pb2.SubscriptionQueryRequest(**kwargs))


class SubscriptionRouter:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.subscriptions: dict[str, Subscription] = {}
        self.updates = 0

    def subscribe(self, context: str, query: query_pb2.SubscriptionQuery, outbox: Outbox[Response]) -> Subscription:
        sub_id = query.subscription_identifier or query.query_request.message_identifier
        query.subscription_identifier = sub_id
        sub = Subscription(sub_id, context, query, outbox)
        outbox.grant(query.number_of_permits)
        self.subscriptions[sub_id] = sub
        for handler in self.registry.all_query_handlers(context, sub.query_name):
            self._ask(sub, handler)
        return sub

    def _ask(self, sub: Subscription, handler: QueryHandler) -> None:
        try:
            handler.send(_request(subscribe=sub.query))
        except Exception:  # noqa: BLE001 - a handler that cannot be asked does not update this one
            return
        sub.handlers[handler.stream_id] = handler

    def initial_result(self, sub: Subscription) -> None:
        """Ask one instance per component for the initial result; the first answer wins."""
        handlers = self.registry.query_handlers(sub.context, sub.query_name)
        if not handlers:
            self._to_dispatcher(sub, Response(
                subscription_identifier=sub.id,
                message_identifier=sub.query.query_request.message_identifier,
                initial_result=query_pb2.QueryResponse(
                    request_identifier=sub.query.query_request.message_identifier,
                    error_code=ErrorCode.NO_HANDLER_FOR_QUERY.code,
                    error_message=pi.error_message(f"No handler for query: {sub.query_name}", ErrorCode.NO_HANDLER_FOR_QUERY.code),
                ),
            ), permit=False)
            return
        for handler in handlers:
            sub.initial_from[handler.stream_id] = handler  # before send: it may answer at once
            try:
                handler.send(_request(get_initial_result=sub.query))
            except Exception:  # noqa: BLE001
                del sub.initial_from[handler.stream_id]

    def grant(self, sub: Subscription, permits: int) -> None:
        sub.outbox.grant(permits)

    def unsubscribe(self, sub: Subscription) -> None:
        """The dispatcher ended the subscription: tell the handlers, forget it."""
        if self.subscriptions.get(sub.id) is not sub:
            return
        del self.subscriptions[sub.id]
        for handler in sub.handlers.values():
            try:
                handler.send(_request(unsubscribe=sub.query))
            except Exception:  # noqa: BLE001 - a gone handler has nothing to unsubscribe
                pass
        sub.handlers.clear()

    # -- from handler streams --------------------------------------------------------

    def handler_subscribed(self, handler: QueryHandler, query_name: str) -> None:
        for sub in list(self.subscriptions.values()):
            if sub.context == handler.context and sub.query_name == query_name and handler.stream_id not in sub.handlers:
                self._ask(sub, handler)

    def on_handler_response(self, handler: QueryHandler, response: Response) -> None:
        sub = self.subscriptions.get(response.subscription_identifier)
        if sub is None:
            return
        kind = response.WhichOneof("response")
        if kind == "initial_result":
            if sub.initial_sent or handler.stream_id not in sub.initial_from:
                return
            sub.initial_sent = True
            self._to_dispatcher(sub, response, permit=False)
        elif kind == "update":
            sub.updates += 1
            self.updates += 1
            self._to_dispatcher(sub, response, permit=True)
        elif kind in ("complete", "complete_exceptionally"):
            self._to_dispatcher(sub, response, permit=False)
            self._close(sub)

    def _to_dispatcher(self, sub: Subscription, response: Response, permit: bool) -> None:
        try:
            sub.outbox.put(response, needs_permit=permit)
        except TooManyRequests as exc:
            sub.outbox.discard(lambda _m: True)
            code = ErrorCode.TOO_MANY_REQUESTS.code
            sub.outbox.put(Response(
                subscription_identifier=sub.id,
                complete_exceptionally=query_pb2.QueryUpdateCompleteExceptionally(
                    error_code=code, error_message=pi.error_message(exc.message, code)),
            ), needs_permit=False)
            self._close(sub)

    def _close(self, sub: Subscription) -> None:
        self.unsubscribe(sub)
        sub.outbox.finish()

    def handler_gone(self, handler: QueryHandler) -> None:
        for sub in self.subscriptions.values():
            sub.handlers.pop(handler.stream_id, None)
            sub.initial_from.pop(handler.stream_id, None)
