"""Value types exchanged between the Raft core and its runtime.

Everything here is immutable. `Entry` is a NamedTuple rather than a frozen
dataclass because the leader creates one per proposal and followers handle
them in bulk: tuple construction is several times cheaper, and the benchmark
(`ranvier.testing.raftbench`) is dominated by it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple

NONE = 0
"""Placeholder node id: no leader, no vote. Real node ids are positive."""


class EntryType(enum.IntEnum):
    NORMAL = 0
    CONF_CHANGE = 1


class Entry(NamedTuple):
    """One log entry. Raft paper §5.3: identified by (index, term)."""

    term: int
    index: int
    data: bytes = b""
    type: EntryType = EntryType.NORMAL


class MessageType(enum.IntEnum):
    # Local messages: never sent over the network.
    HUP = 0  # start an election (campaign)
    BEAT = 1  # leader: broadcast heartbeats now
    PROP = 2  # a proposal
    CHECK_QUORUM = 3  # leader: step down unless a quorum was recently active
    TRANSFER_LEADER = 4
    UNREACHABLE = 5  # runtime reports that a peer could not be reached
    # Network messages (Raft paper Figure 2, plus pre-vote, snapshots, reads).
    APP = 10
    APP_RESP = 11
    VOTE = 12
    VOTE_RESP = 13
    PRE_VOTE = 14
    PRE_VOTE_RESP = 15
    SNAP = 16
    SNAP_RESP = 17
    HEARTBEAT = 18
    HEARTBEAT_RESP = 19
    TIMEOUT_NOW = 20
    READ_INDEX = 21
    READ_INDEX_RESP = 22


LOCAL_MESSAGES = frozenset(
    {
        MessageType.HUP,
        MessageType.BEAT,
        MessageType.PROP,
        MessageType.CHECK_QUORUM,
        MessageType.TRANSFER_LEADER,
        MessageType.UNREACHABLE,
    }
)

RESPONSE_MESSAGES = frozenset(
    {
        MessageType.APP_RESP,
        MessageType.VOTE_RESP,
        MessageType.PRE_VOTE_RESP,
        MessageType.SNAP_RESP,
        MessageType.HEARTBEAT_RESP,
        MessageType.READ_INDEX_RESP,
        MessageType.UNREACHABLE,
    }
)


def vote_resp_type(t: MessageType) -> MessageType:
    """The response type for a vote or pre-vote request."""
    return MessageType.PRE_VOTE_RESP if t == MessageType.PRE_VOTE else MessageType.VOTE_RESP


@dataclass(frozen=True, slots=True)
class ConfState:
    """Membership of a group: voters decide, learners only receive the log.

    Invariant: voters and learners are disjoint.
    """

    voters: frozenset[int] = frozenset()
    learners: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class SnapshotMetadata:
    """Where a snapshot sits in the log, and the membership at that point."""

    index: int = 0
    term: int = 0
    conf_state: ConfState = field(default_factory=ConfState)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A state-machine image covering the log up to `metadata.index` (§7).

    `data` is opaque to the core; the leader streams it in chunks.
    """

    metadata: SnapshotMetadata = field(default_factory=SnapshotMetadata)
    data: bytes = b""

    @property
    def is_empty(self) -> bool:
        return self.metadata.index == 0


EMPTY_SNAPSHOT = Snapshot()


@dataclass(frozen=True, slots=True)
class HardState:
    """The state that must be durable before dependent messages leave (§5.1, Fig. 2).

    Invariant: `term` never decreases on a node; `vote` changes only with `term`
    or from NONE; `commit` never decreases.
    """

    term: int = 0
    vote: int = NONE
    commit: int = 0


EMPTY_HARD_STATE = HardState()


class StateType(enum.IntEnum):
    FOLLOWER = 0
    CANDIDATE = 1
    LEADER = 2
    PRE_CANDIDATE = 3


@dataclass(frozen=True, slots=True)
class SoftState:
    """Volatile state worth reporting but never persisted."""

    lead: int = NONE
    state: StateType = StateType.FOLLOWER


class ConfChangeType(enum.IntEnum):
    ADD_VOTER = 0  # also promotes a learner
    ADD_LEARNER = 1  # also demotes a voter
    REMOVE_NODE = 2


@dataclass(frozen=True, slots=True)
class ConfChange:
    """A single-server membership change (Raft thesis §4.1)."""

    type: ConfChangeType
    node_id: int

    def encode(self) -> bytes:
        return b"%d %d" % (self.type, self.node_id)

    @staticmethod
    def decode(data: bytes) -> ConfChange:
        kind, node = data.split()
        return ConfChange(ConfChangeType(int(kind)), int(node))


@dataclass(frozen=True, slots=True)
class ReadState:
    """Answer to a ReadIndex request: serve `request_ctx` once applied >= index (§6.4)."""

    index: int
    request_ctx: bytes


@dataclass(frozen=True, slots=True)
class Message:
    """One Raft message. Which fields matter depends on `type`.

    APP: (index, log_term) locate the entry preceding `entries`; commit is the
    leader's commit index. APP_RESP: index is the follower's last matching
    index, or the rejected probe index with reject_hint/log_term as a hint for
    fast back-off. SNAP: one chunk of `snapshot` data at byte `offset`; `done` on
    the last. SNAP_RESP: index is the snapshot index, offset the next byte wanted.
    """

    type: MessageType
    to: int = NONE
    from_: int = NONE
    term: int = 0
    log_term: int = 0
    index: int = 0
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    reject: bool = False
    reject_hint: int = 0
    context: bytes = b""
    snapshot: SnapshotMetadata | None = None
    offset: int = 0
    chunk: bytes = b""
    done: bool = False
