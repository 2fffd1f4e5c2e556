"""Per-client bounded queues with Axon's permits: what a handler stream is sent next.

Each handler stream (and each subscription-query stream) has one `Outbox`. Messages
come in two kinds:

* *data* (a command, a query, a subscription update): spends one permit when sent;
  waits in a bounded queue while the client has granted none, ordered by priority
  and then by arrival. A full queue refuses the message with AXONIQ-1900.
* *control* (acknowledgements, flow control, cancels): sent at once, unbounded,
  ahead of any queued data.

A data message may carry `then` messages that must follow it immediately (a
streaming query's first `query_flow_control` must not overtake the query itself).
The stream's writer task calls `next()`; everything else calls `put`/`put_control`
from the same event loop. Not thread-safe, by design: one loop owns it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ranvier.errors import ErrorCode, RanvierError

M = TypeVar("M")


class TooManyRequests(RanvierError):
    """A client's queue of messages waiting for permits is full (Axon's AXONIQ-1900)."""

    code = ErrorCode.TOO_MANY_REQUESTS


class OutboxClosed(RanvierError):
    """The stream this outbox fed has ended; nothing more can be sent to it."""

    code = ErrorCode.CLIENT_DISCONNECTED


@dataclass(order=True)
class _Entry(Generic[M]):
    key: tuple[int, int]
    message: M = field(compare=False)
    needs_permit: bool = field(compare=False)
    then: Sequence[M] = field(compare=False, default=())


class Outbox(Generic[M]):
    """Messages waiting for one client stream. Invariant: `len(self) <= capacity`."""

    def __init__(self, capacity: int, label: str, capacity_property: str) -> None:
        self.capacity = capacity
        self.label = label
        self.capacity_property = capacity_property
        self.permits = 0
        self.sent = 0
        self.closed = False
        self.finishing = False  # end the stream once what is queued has been sent
        self._data: list[_Entry[M]] = []
        self._unsent: list[M] = []  # what was queued when the outbox closed (close() is idempotent)
        self._control: deque[M] = deque()
        self._seq = itertools.count()
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self._data)

    def put(self, message: M, *, priority: int = 0, needs_permit: bool = True, then: Sequence[M] = ()) -> None:
        """Queue a data message; TooManyRequests when the queue is full."""
        if self.closed:
            raise OutboxClosed(f"{self.label} has disconnected")
        if len(self._data) >= self.capacity:
            raise TooManyRequests(
                f"{self.label}: {len(self._data)} messages already wait for permits "
                f"(axoniq.axonserver.{self.capacity_property} is {self.capacity})"
            )
        heapq.heappush(self._data, _Entry((-priority, next(self._seq)), message, needs_permit, then))
        self._wake.set()

    def put_control(self, message: M) -> None:
        if not self.closed:
            self._control.append(message)
            self._wake.set()

    def grant(self, permits: int) -> None:
        if permits > 0:
            self.permits += permits
            self._wake.set()

    def discard(self, match: Callable[[M], bool]) -> list[M]:
        """Remove queued data messages that `match`; return them."""
        kept = [e for e in self._data if not match(e.message)]
        removed = [e.message for e in self._data if match(e.message)]
        if removed:
            self._data = kept
            heapq.heapify(self._data)
        return removed

    def finish(self) -> None:
        """End the stream after the queued messages (permits still apply)."""
        self.finishing = True
        self._wake.set()

    def close(self) -> list[M]:
        """End the stream: `next()` returns [] from now on. Returns the data that was
        still queued when it first closed (every call returns the same)."""
        if not self.closed:
            self.closed = True
            self._unsent = [e.message for e in sorted(self._data)]
            self._data.clear()
            self._control.clear()
            self._wake.set()
        return list(self._unsent)

    def _ready(self) -> list[M]:
        out: list[M] = list(self._control)
        self._control.clear()
        while self._data and (self.permits > 0 or not self._data[0].needs_permit):
            entry = heapq.heappop(self._data)
            if entry.needs_permit:
                self.permits -= 1
            self.sent += 1
            out.append(entry.message)
            out.extend(entry.then)
        return out

    async def next(self) -> list[M]:
        """The messages to write now, in order; waits for some. [] once closed."""
        while not self.closed:
            ready = self._ready()
            if ready:
                return ready
            if self.finishing and not self._data:
                self.closed = True
                break
            self._wake.clear()
            await self._wake.wait()
        return []
