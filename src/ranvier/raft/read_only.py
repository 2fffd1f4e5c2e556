"""ReadIndex bookkeeping on the leader (Raft thesis §6.4).

A read request records the commit index when it arrives; once a quorum has
answered a heartbeat carrying the request's context, the leader knows it was
still leader at that moment, and the read may be served when applied >= index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ranvier.raft.types import Message


@dataclass
class ReadIndexStatus:
    request: Message  # the READ_INDEX message (from_ is NONE for local requests)
    index: int  # the leader's commit index when the request arrived
    acks: dict[int, bool] = field(default_factory=dict)


class ReadOnly:
    """Pending read requests, in arrival order.

    Invariant: `queue` holds exactly the keys of `pending`, oldest first."""

    def __init__(self) -> None:
        self.pending: dict[bytes, ReadIndexStatus] = {}
        self.queue: list[bytes] = []

    def add_request(self, index: int, m: Message) -> None:
        ctx = m.context
        if ctx in self.pending:
            return
        self.pending[ctx] = ReadIndexStatus(m, index)
        self.queue.append(ctx)

    def recv_ack(self, node: int, ctx: bytes) -> dict[int, bool] | None:
        status = self.pending.get(ctx)
        if status is None:
            return None
        status.acks[node] = True
        return status.acks

    def advance(self, ctx: bytes) -> list[ReadIndexStatus]:
        """Release every request up to and including ctx: a quorum acking a later
        heartbeat also confirms leadership for the earlier requests."""
        if ctx not in self.pending:
            return []
        k = self.queue.index(ctx) + 1
        released, self.queue = self.queue[:k], self.queue[k:]
        return [self.pending.pop(c) for c in released]

    def last_pending_ctx(self) -> bytes:
        return self.queue[-1] if self.queue else b""
