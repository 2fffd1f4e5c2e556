"""What the routers send to: a handler is anything with identity and `send(message)`.

A `LocalHandler` is a client's stream on this node (its messages go through an
`Outbox` the gRPC adapter drains). A `RemoteHandler` (remote.py) is a stream on
another node: its `send` goes over the internal port. The routers do not tell the
two apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from .outbox import Outbox

M = TypeVar("M")
M_contra = TypeVar("M_contra", contravariant=True)


class Handler(Protocol[M_contra]):
    """A command or query handler stream that messages can be routed to.

    `send` never blocks: it queues or forwards, and raises `TooManyRequests` when the
    handler's queue is full or `OutboxClosed` when it is gone.
    """

    stream_id: str
    client_id: str
    component_name: str
    context: str
    query_stream: bool

    def send(self, message: M_contra, *, then: Sequence[M_contra] = ()) -> None: ...

    def grant(self, permits: int) -> None: ...

    @property
    def queued(self) -> int: ...


class LocalHandler(Generic[M]):
    """A handler stream connected to this node.

    `classify(message)` says how the outbox treats a message: None for control,
    else the data message's priority.
    """

    def __init__(
        self,
        context: str,
        client_id: str,
        outbox: Outbox[M],
        classify: Callable[[M], int | None],
        component_name: str = "",
        query_stream: bool = False,
    ) -> None:
        self.context = context
        self.query_stream = query_stream  # a QueryService stream (else CommandService)
        self.client_id = client_id
        self.component_name = component_name
        self.stream_id = f"{client_id}.{uuid.uuid4().hex[:12]}"
        self.outbox = outbox
        self._classify = classify

    def send(self, message: M, *, then: Sequence[M] = ()) -> None:
        priority = self._classify(message)
        if priority is None:
            self.outbox.put_control(message)
        else:
            self.outbox.put(message, priority=priority, then=then)

    def grant(self, permits: int) -> None:
        self.outbox.grant(permits)

    @property
    def queued(self) -> int:
        return len(self.outbox)

    def __repr__(self) -> str:
        return f"<handler {self.client_id} ({self.component_name}) in {self.context}>"
