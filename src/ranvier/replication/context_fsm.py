"""A context's event store as the state machine of its Raft group.

`ContextStateMachine` adapts `ContextStore` to the driver: entries are encoded
commands (`eventstore.records.encode_command`), applied at their log index, and
published at once after each batch, because a committed entry is already durable
in the Raft logs of a majority. `RaftWriter` is the cluster's `Writer` for
`ContextEventStore`: a transaction is a proposal, answered once committed and
applied (with the store's verdict, e.g. AXONIQ-2000, decided on every replica alike).
"""

from __future__ import annotations

from ranvier.errors import ErrorCode, InvalidArgument
from ranvier.eventstore import AppendResult, Command, ContextStore, decode_command, encode_command
from ranvier.eventstore.codec import MalformedEvent
from ranvier.raft import Snapshot

from .driver import GroupDriver


class ContextStateMachine:
    def __init__(self, store: ContextStore) -> None:
        self.store = store

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

    def restore(self, snapshot: Snapshot) -> None:
        """Install a snapshot: the store must hold everything up to its index.

        Stores of one context are byte-identical prefixes of each other, so a
        snapshot names a position in the leader's log and installing it means
        copying the missing suffix. Until contexts compact their Raft logs, the only
        snapshot a replica receives is the group's founding one (index 1, an empty
        store), which needs no copying."""
        if snapshot.data:
            raise RuntimeError(
                f"context {self.store.name}: installing a store snapshot from the leader is not supported yet"
            )
        self.store.applied_index = max(self.store.applied_index, snapshot.metadata.index)


class RaftWriter:
    def __init__(self, driver: GroupDriver) -> None:
        self.driver = driver

    async def submit(self, command: Command) -> AppendResult:
        result = await self.driver.propose(encode_command(command))
        assert isinstance(result, AppendResult) or result is None
        if result is None:  # re-applied after a restart: cannot happen for a fresh proposal
            raise RuntimeError("a new proposal was skipped as already applied")
        return result

    async def close(self) -> None:
        await self.driver.stop()
