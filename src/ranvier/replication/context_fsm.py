"""A context's event store as the state machine of its Raft group.

`ContextStateMachine` adapts `ContextStore` to the driver: entries are encoded
commands (`eventstore.records.encode_command`), applied at their log index, and
published at once after each batch, because a committed entry is already durable
in the Raft logs of a majority. `RaftWriter` is the cluster's `Writer` for
`ContextEventStore`: a transaction is a proposal, answered once committed and
applied (with the store's verdict, e.g. AXONIQ-2000, decided on every replica alike).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

from ranvier.errors import ErrorCode, InvalidArgument, StorageCorrupted
from ranvier.eventstore import AppendResult, Command, ContextStore, decode_command, encode_command
from ranvier.eventstore.codec import MalformedEvent
from ranvier.raft import Snapshot

from .driver import GroupDriver


Fetch = Callable[[int, int], AsyncIterator[bytes]]


class ContextStateMachine:
    def __init__(self, store: ContextStore, fetch: Fetch | None = None) -> None:
        self.store = store
        # Copies [start, end) of the current leader's log (installing a snapshot).
        self.fetch = fetch

    @property
    def applied_index(self) -> int:
        return self.store.applied_index

    def apply(self, index: int, data: bytes) -> object:
        try:
            return self.store.apply(index, decode_command(data))
        except MalformedEvent as exc:
            raise InvalidArgument(f"{exc}; nothing was stored", ErrorCode.INVALID_MESSAGE) from exc

    def applied_batch(self) -> None:
        self.store.publish()
        self.store.flush_index()

    def snapshot_image(self) -> bytes:
        """What a snapshot of this store says: where its log ends. Replicas' logs are
        byte-identical prefixes of each other, so that position is the whole state."""
        return json.dumps({"end": self.store.log.end}).encode()

    def sync(self) -> None:
        """Make everything applied durable (before the Raft log is compacted)."""
        self.store.sync()

    async def restore(self, snapshot: Snapshot) -> None:
        """Install a snapshot: copy the missing suffix of the leader's log.

        The group's founding snapshot (index 1, no data) is an empty store and needs
        nothing. Otherwise the bytes between this store's end and the snapshot's end
        are fetched from the leader, checked record by record, appended, and synced
        before the Raft log is replaced by the snapshot."""
        if snapshot.data:
            target = int(json.loads(snapshot.data)["end"])
            await self._copy_until(target)
        self.store.applied_index = max(self.store.applied_index, snapshot.metadata.index)
        self.store.publish()
        self.store.flush_index()

    async def _copy_until(self, target: int) -> None:
        if self.fetch is None:
            raise RuntimeError(f"context {self.store.name}: no way to fetch the leader's log")
        start = self.store.log.end
        if start > target:
            raise StorageCorrupted(
                f"context {self.store.name}: local log ({start} bytes) is longer than the leader's snapshot "
                f"({target} bytes); replicas diverged"
            )
        carry = b""
        async for chunk in self.fetch(start, target):
            data = carry + chunk
            used = self.store.install_records(data)
            carry = data[used:]
        if carry or self.store.log.end != target:
            raise StorageCorrupted(f"context {self.store.name}: copied log ends at {self.store.log.end}, not {target}")
        await asyncio.to_thread(self.store.sync)


class RaftWriter:
    def __init__(self, driver: GroupDriver) -> None:
        self.driver = driver

    async def submit(self, command: Command, size: int) -> AppendResult:  # size: unused here
        result = await self.driver.propose(encode_command(command))
        assert isinstance(result, AppendResult) or result is None
        if result is None:  # re-applied after a restart: cannot happen for a fresh proposal
            raise RuntimeError("a new proposal was skipped as already applied")
        return result

    async def close(self) -> None:
        await self.driver.stop()
