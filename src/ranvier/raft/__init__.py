"""ranvier.raft: a pure, deterministic Raft core in the shape of etcd-io/raft.

Layout (leaves first): types, errors, config -> storage, log -> quorum,
tracker, read_only -> core (the state machine) -> rawnode (the driver API)
-> describe (stable text forms). No I/O, clocks or global randomness: time is
`RawNode.tick()`, randomness comes from `Config.rng`, and all output is data
in a `Ready`. See docs/RAFT.md.
"""

from ranvier.raft.config import Config, Logger, NullLogger, Rng
from ranvier.raft.describe import (
    describe_entry,
    describe_hard_state,
    describe_message,
    describe_ready,
    describe_snapshot,
)
from ranvier.raft.errors import (
    Compacted,
    ConfigInvalid,
    ProposalDropped,
    RaftError,
    SnapshotTemporarilyUnavailable,
    StorageError,
    Unavailable,
)
from ranvier.raft.rawnode import RawNode, Ready, Status
from ranvier.raft.storage import MemoryStorage, Storage
from ranvier.raft.types import (
    NONE,
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    ReadState,
    Snapshot,
    SnapshotMetadata,
    SoftState,
    StateType,
)

__all__ = [
    "NONE",
    "Compacted",
    "Config",
    "ConfigInvalid",
    "ConfChange",
    "ConfChangeType",
    "ConfState",
    "Entry",
    "EntryType",
    "HardState",
    "Logger",
    "MemoryStorage",
    "Message",
    "MessageType",
    "NullLogger",
    "ProposalDropped",
    "RaftError",
    "RawNode",
    "ReadState",
    "Ready",
    "Rng",
    "Snapshot",
    "SnapshotMetadata",
    "SnapshotTemporarilyUnavailable",
    "SoftState",
    "StateType",
    "Status",
    "Storage",
    "StorageError",
    "Unavailable",
    "describe_entry",
    "describe_hard_state",
    "describe_message",
    "describe_ready",
    "describe_snapshot",
]
