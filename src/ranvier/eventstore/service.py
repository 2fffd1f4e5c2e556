"""`ContextEventStore`: what the client-facing adapters call for one context.

It joins a store (the state machine, for reads) with a writer (how commands get
ordered and made durable: `LocalCommitter` on a single node, the context's Raft group
in a cluster) and adds the request-level rules: transaction size limits, snapshot
selection for aggregate reads, and waiting for new events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from ranvier.errors import ErrorCode, InvalidArgument, StorageUnavailable

from .codec import MalformedEvent, parse_key
from .cursor import EventCursor
from .records import KIND_EVENTS, KIND_SNAPSHOT, Command
from .store import AppendResult, ContextStore

MAX_SEQUENCE = (1 << 63) - 1


class Writer(Protocol):
    async def submit(self, command: Command, size: int) -> AppendResult: ...  # size: the events' bytes

    async def close(self) -> None: ...


class ContextEventStore:
    def __init__(self, store: ContextStore, writer: Writer, max_transaction_bytes: int) -> None:
        self.store = store
        self.writer = writer
        self.max_transaction_bytes = max_transaction_bytes
        self._published: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        store.add_listener(self._on_publish)

    @property
    def name(self) -> str:
        return self.store.name

    # -- writes ----------------------------------------------------------------------

    @contextmanager
    def receiving(self) -> Iterator[None]:
        """Around reading a client's transaction: a group-commit writer may hold a
        batch a moment for transactions still arriving (see `LocalCommitter`)."""
        writer = self.writer
        if not hasattr(writer, "receiving_started"):
            yield
            return
        writer.receiving_started()
        try:
            yield
        finally:
            writer.receiving_ended()

    async def append_events(self, events: list[bytes], size: int | None = None) -> AppendResult:
        """Store the events as one transaction, all or nothing; returns their tokens.
        `size`, their total length, when the caller counted it already."""
        if not events:
            return AppendResult(self.store.applied_index, self.store.next_token, 0)
        return await self._submit(Command(KIND_EVENTS, tuple(events)), size)

    async def append_snapshot(self, event: bytes) -> AppendResult:
        return await self._submit(Command(KIND_SNAPSHOT, (event,)), len(event))

    async def _submit(self, command: Command, size: int | None) -> AppendResult:
        if size is None:
            size = sum(map(len, command.events))
        if size > self.max_transaction_bytes:
            raise InvalidArgument(
                f"transaction of {size} bytes exceeds the limit of {self.max_transaction_bytes} bytes "
                "(axoniq.axonserver.event.max-transaction-size); nothing was stored",
                ErrorCode.PAYLOAD_TOO_LARGE,
            )
        try:
            return await self.writer.submit(command, size)
        except MalformedEvent as exc:
            raise InvalidArgument(f"{exc}; nothing was stored", ErrorCode.INVALID_MESSAGE) from exc

    # -- reads -----------------------------------------------------------------------

    async def read_barrier(self) -> None:
        """Wait until this replica has applied every write acknowledged so far, so an
        aggregate read here sees the client's own writes wherever it appended them.
        A single node's writer is the log itself: nothing to wait for."""
        barrier = getattr(self.writer, "read_barrier", None)
        if barrier is not None:
            await barrier()

    def aggregate_events(
        self, aggregate_id: str, initial_sequence: int, max_sequence: int, allow_snapshots: bool, min_token: int = 0
    ) -> Iterator[bytes]:
        """The aggregate's events from `initial_sequence` to `max_sequence`
        (inclusive; <= 0 means no bound), starting from the newest snapshot in that
        range when `allow_snapshots`; events with a token below `min_token` are left out."""
        upper = MAX_SEQUENCE if max_sequence <= 0 else max_sequence
        start = max(0, initial_sequence)
        if allow_snapshots:
            snapshots = self.store.snapshots(aggregate_id, start, upper)
            if snapshots:
                seq, position = snapshots[0]
                yield self.store.read_snapshot(position)
                start = seq + 1
        yield from self.store.aggregate_events(aggregate_id, start, upper, max(0, min_token))

    def snapshots(self, aggregate_id: str, initial_sequence: int, max_sequence: int, max_results: int) -> list[bytes]:
        """Snapshots newest first; `max_results` <= 0 means all."""
        upper = MAX_SEQUENCE if max_sequence <= 0 else max_sequence
        rows = self.store.snapshots(aggregate_id, max(0, initial_sequence), upper)
        if max_results > 0:
            rows = rows[:max_results]
        return [self.store.read_snapshot(position) for _seq, position in rows]

    def highest_sequence(self, aggregate_id: str, from_sequence: int = 0) -> int:
        highest = self.store.highest_sequence(aggregate_id)
        return highest if highest >= from_sequence else -1

    def first_token(self) -> int:
        return self.store.first_token()

    def last_token(self) -> int:
        return self.store.last_token()

    def token_at(self, instant: int) -> int:
        return self.store.token_at(instant)

    def cursor(self, token: int) -> EventCursor:
        return EventCursor(self.store, token)

    async def wait_for_events_after(self, token: int) -> None:
        """Return once an event with a token above `token` is published (or the store
        stopped, in which case StorageUnavailable is raised)."""
        while self.store.visible_next_token <= token + 1:
            if self.store.failed:
                raise StorageUnavailable(f"context {self.name} is unavailable: {self.store.failed}")
            await asyncio.shield(self._published)

    def _on_publish(self) -> None:
        published, self._published = self._published, asyncio.get_running_loop().create_future()
        if not published.done():
            published.set_result(None)

    def metrics(self) -> dict[str, int]:
        """Counters for /actuator: stored events, committed transactions, fsyncs, index lag."""
        writer = self.writer
        return {
            "events": self.store.visible_next_token,
            "transactions": int(getattr(writer, "transactions", 0)),
            "fsyncs": int(getattr(writer, "batches", 0)),
            "unindexed_records": self.store.unindexed,
            "log_bytes": self.store.visible_end,
        }

    async def close(self) -> None:
        await self.writer.close()
        self.store.remove_listener(self._on_publish)
        self.store.close()


def payload_key(raw: bytes) -> tuple[str, str]:
    key = parse_key(raw)
    return key.payload_type, key.payload_revision
