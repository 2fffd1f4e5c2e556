"""Per-context event storage: a checksummed segment log, derived indexes, and the
state machine a replicated log drives. Knows nothing of gRPC, HTTP or Raft.

Layers, bottom up: `records` (byte layout) -> `segments` (files, recovery) ->
`index` (SQLite + in-memory tail) -> `store` (ContextStore, the state machine) ->
`cursor` (forward reads) -> `committer` (single-node group commit) -> `service`
(ContextEventStore, what adapters call).
"""

from .committer import LocalCommitter
from .cursor import EventCursor
from .records import KIND_EVENTS, KIND_SNAPSHOT, Command, decode_command, encode_command
from .service import ContextEventStore, Writer
from .store import AppendResult, ContextStore, StoreOptions

__all__ = [
    "KIND_EVENTS",
    "KIND_SNAPSHOT",
    "AppendResult",
    "Command",
    "ContextEventStore",
    "ContextStore",
    "EventCursor",
    "LocalCommitter",
    "StoreOptions",
    "Writer",
    "decode_command",
    "encode_command",
]
