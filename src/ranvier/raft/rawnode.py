"""RawNode: the public, single-threaded driver of one Raft node.

The runtime's loop, for every Ready (the ordering is what makes Raft safe):

1. Persist `rd.snapshot`, `rd.entries` and `rd.hard_state` to durable storage,
   fsync'ed if `rd.must_sync`. A vote or an ack must never leave the node
   before the term, vote and entries it vouches for are durable (§5.1, §5.2;
   reliability plan pitfalls P2, P4).
2. Send `rd.messages`. They may depend on step 1, never the other way round.
3. Apply `rd.committed_entries` to the state machine, in order (restore
   `rd.snapshot` first if present). They may include entries from step 1 of
   this same Ready; step 1 has made them durable. For CONF_CHANGE entries,
   call `apply_conf_change`.
4. Serve `rd.read_states` once the applied index reaches their index.
5. Call `advance(rd)`, then `ready()` again while `has_ready()`.

Ready and advance alternate strictly: call advance before the next ready().
Nothing here is thread-safe; the runtime owns one RawNode per group.
"""

from __future__ import annotations

from dataclasses import dataclass

from ranvier.raft.config import Config
from ranvier.raft.core import Raft
from ranvier.raft.storage import Storage
from ranvier.raft.types import (
    ConfChange,
    ConfState,
    Entry,
    HardState,
    Message,
    MessageType,
    ReadState,
    Snapshot,
    SoftState,
    LOCAL_MESSAGES,
)


@dataclass(frozen=True, slots=True)
class Ready:
    """Everything the core wants done, as data. See the module docstring for order."""

    # Leader and role, if changed since the last Ready (never persisted).
    soft_state: SoftState | None
    # Term, vote and commit to persist, if changed since the last Ready.
    hard_state: HardState | None
    # Entries to persist; they may replace a conflicting suffix of the stored log.
    entries: tuple[Entry, ...]
    # A snapshot received from the leader, to persist and restore; or None.
    snapshot: Snapshot | None
    # Committed entries to apply, in order. Invariant: contiguous, after applied.
    committed_entries: tuple[Entry, ...]
    # Messages to send after step 1.
    messages: tuple[Message, ...]
    # Answers to read_index requests.
    read_states: tuple[ReadState, ...]
    # Whether step 1 must be synchronous (new entries, term or vote).
    must_sync: bool


@dataclass(frozen=True, slots=True)
class Status:
    id: int
    hard_state: HardState
    soft_state: SoftState
    applied: int
    last_index: int
    conf_state: ConfState


class RawNode:
    """Drive one Raft node: feed it ticks, messages and proposals; drain Readys."""

    def __init__(self, config: Config, storage: Storage) -> None:
        self.raft = Raft(config, storage)
        # What the runtime was last told; Ready reports only changes.
        self.prev_soft_state = self.raft.soft_state()
        self.prev_hard_state = self.raft.hard_state()

    # ---- input ----

    def tick(self) -> None:
        """Advance logical time by one tick (elections, heartbeats, check-quorum)."""
        self.raft.tick()

    def campaign(self) -> None:
        """Start an election now (with pre-vote if configured)."""
        self.raft.step(Message(MessageType.HUP, from_=self.raft.id))

    def step(self, m: Message) -> None:
        """Handle a message from a peer. Local message types are refused:
        they would let a peer trigger our elections or transfers."""
        if m.type in LOCAL_MESSAGES:
            raise ValueError(f"cannot step local message {m.type.name} from the network")
        if m.from_ not in self.raft.trk.progress and m.type in _RESPONSES_NEEDING_MEMBER:
            return  # a response from a node that is no longer a member
        self.raft.step(m)

    def propose(self, data: bytes) -> int:
        """Append data to the log if leader; return its index. Raises ProposalDropped.

        The entry is committed once a later Ready lists it in committed_entries
        at that index with our term; if leadership changes first, its fate is
        unknown until then (pitfall P12)."""
        return self.raft.propose([data])

    def propose_batch(self, datas: list[bytes]) -> int:
        """Append several entries at once (one message per follower); return the last index."""
        return self.raft.propose(datas)

    def propose_conf_change(self, cc: ConfChange) -> int:
        """Propose a single-server membership change. Raises ProposalDropped
        if not leader, if the leader has not yet committed an entry of its term,
        or if an earlier change is not yet applied."""
        return self.raft.propose_conf_change(cc)

    def apply_conf_change(self, cc: ConfChange) -> ConfState:
        """Adopt a committed membership change (call while applying its entry)."""
        return self.raft.apply_conf_change(cc)

    def transfer_leader(self, transferee: int) -> None:
        """Ask the leader to hand over to transferee (no-op on followers)."""
        self.raft.step(Message(MessageType.TRANSFER_LEADER, from_=transferee))

    def read_index(self, ctx: bytes) -> None:
        """Request a linearizable read point; the answer arrives as a ReadState
        with the same ctx (unique per request) in a later Ready."""
        if not ctx:
            raise ValueError("read_index needs a non-empty, unique ctx")
        self.raft.step(Message(MessageType.READ_INDEX, context=ctx))

    def report_unreachable(self, node: int) -> None:
        """The runtime failed to send to node: stop pipelining to it."""
        self.raft.step(Message(MessageType.UNREACHABLE, from_=node))

    # ---- output ----

    def has_ready(self) -> bool:
        r = self.raft
        log = r.log
        hs, ss = self.prev_hard_state, self.prev_soft_state
        # Field comparisons instead of building states: this runs very often.
        return bool(
            r.msgs
            or log.unstable.entries
            or log.unstable.snapshot is not None
            or log.has_next_committed_ents()
            or r.read_states
            or r.lead != ss.lead
            or r.state != ss.state
            or r.term != hs.term
            or r.vote != hs.vote
            or log.committed != hs.commit
        )

    def ready(self) -> Ready:
        """Collect pending work. Messages and read states are handed over now."""
        r = self.raft
        soft, hard = r.soft_state(), r.hard_state()
        hard_changed = hard != self.prev_hard_state
        entries = tuple(r.log.unstable.entries)
        rd = Ready(
            soft_state=soft if soft != self.prev_soft_state else None,
            hard_state=hard if hard_changed else None,
            entries=entries,
            snapshot=r.log.unstable.snapshot,
            committed_entries=tuple(r.log.next_committed_ents()),
            messages=tuple(r.msgs),
            read_states=tuple(r.read_states),
            must_sync=bool(entries)
            or r.log.unstable.snapshot is not None
            or (hard_changed and (hard.term, hard.vote) != (self.prev_hard_state.term, self.prev_hard_state.vote)),
        )
        r.msgs = []
        r.read_states = []
        return rd

    def advance(self, rd: Ready) -> None:
        """Acknowledge that rd was persisted, sent and applied."""
        r = self.raft
        if rd.soft_state is not None:
            self.prev_soft_state = rd.soft_state
        if rd.hard_state is not None:
            self.prev_hard_state = rd.hard_state
        if rd.snapshot is not None:
            r.log.stable_snap_to(rd.snapshot.metadata.index)
            r.log.applied_to(rd.snapshot.metadata.index)
        if rd.entries:
            last = rd.entries[-1]
            r.log.stable_to(last.index, last.term)
        if rd.committed_entries:
            r.log.applied_to(rd.committed_entries[-1].index)

    def status(self) -> Status:
        r = self.raft
        return Status(
            r.id, r.hard_state(), r.soft_state(), r.log.applied,
            r.log.last_index(), r.trk.conf_state(),
        )


_RESPONSES_NEEDING_MEMBER = frozenset(
    {MessageType.APP_RESP, MessageType.HEARTBEAT_RESP, MessageType.SNAP_RESP}
)
