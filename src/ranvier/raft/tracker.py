"""The leader's view of its followers: Progress, Inflights, ProgressTracker.

Progress is a small state machine (probe -> replicate -> snapshot) whose
transitions are driven from core.py, as in etcd; it only records facts.
"""

from __future__ import annotations

import enum
from collections import deque

from ranvier.raft.quorum import VoteResult, committed_index, vote_result
from ranvier.raft.types import ConfState, Snapshot


class ProgressState(enum.IntEnum):
    # At most one APP per heartbeat interval until we know where the follower is.
    PROBE = 0
    # Optimistic pipelining: next advances as we send, bounded by Inflights.
    REPLICATE = 1
    # The follower needs a snapshot; it is streamed in chunks.
    SNAPSHOT = 2


class Inflights:
    """Bounded window of APP messages sent but not acknowledged (flow control).

    Invariant: 0 <= count <= max_count; sizes hold one entry per message, in
    increasing last-index order."""

    def __init__(self, max_count: int, max_bytes: int) -> None:
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.items: deque[tuple[int, int]] = deque()  # (last index, bytes)
        self.bytes = 0

    def add(self, index: int, size: int) -> None:
        self.items.append((index, size))
        self.bytes += size

    def free_le(self, index: int) -> None:
        """Acknowledge every message whose last index is <= index."""
        items = self.items
        while items and items[0][0] <= index:
            self.bytes -= items.popleft()[1]

    def free_first(self) -> None:
        if self.items:
            self.bytes -= self.items.popleft()[1]

    def full(self) -> bool:
        return len(self.items) >= self.max_count or self.bytes >= self.max_bytes

    def reset(self) -> None:
        self.items.clear()
        self.bytes = 0


class SnapshotTransfer:
    """A snapshot being streamed to one follower.

    Invariant: 0 <= acked <= sent <= len(snapshot.data)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        # Bytes sent, and bytes the follower confirmed holding.
        self.sent = 0
        self.acked = 0
        # The last chunk (done=True) went out since the last rewind.
        self.sent_done = False
        # `acked` at the previous heartbeat response: no change means chunks were lost.
        self.acked_at_heartbeat = -1

    @property
    def index(self) -> int:
        return self.snapshot.metadata.index


class Progress:
    """Replication state of one follower, as the leader believes it (§5.3)."""

    def __init__(self, next_index: int, max_inflight: int, max_bytes: int, is_learner: bool) -> None:
        # Highest index known to be replicated. Invariant: match < next.
        self.match = 0
        # Next index to send.
        self.next = next_index
        self.state = ProgressState.PROBE
        # PROBE only: an APP is outstanding; wait for a response or heartbeat.
        self.msg_app_flow_paused = False
        # Heard from since the last check-quorum round.
        self.recent_active = False
        self.inflights = Inflights(max_inflight, max_bytes)
        self.is_learner = is_learner
        # SNAPSHOT only: the transfer in progress.
        self.transfer: SnapshotTransfer | None = None

    def reset_state(self, state: ProgressState) -> None:
        self.msg_app_flow_paused = False
        self.transfer = None
        self.state = state
        self.inflights.reset()

    def become_probe(self) -> None:
        """Back to probing; after a snapshot, resume right after it."""
        if self.state == ProgressState.SNAPSHOT and self.transfer is not None:
            pending = self.transfer.index
            self.reset_state(ProgressState.PROBE)
            self.next = max(self.match + 1, pending + 1)
        else:
            self.reset_state(ProgressState.PROBE)
            self.next = self.match + 1

    def become_replicate(self) -> None:
        self.reset_state(ProgressState.REPLICATE)
        self.next = self.match + 1

    def become_snapshot(self, snapshot: Snapshot) -> None:
        self.reset_state(ProgressState.SNAPSHOT)
        self.transfer = SnapshotTransfer(snapshot)

    def maybe_update(self, n: int) -> bool:
        """An ack for index n arrived; report whether match moved."""
        updated = self.match < n
        if updated:
            self.match = n
            self.msg_app_flow_paused = False
        self.next = max(self.next, n + 1)
        return updated

    def maybe_decr_to(self, rejected: int, match_hint: int) -> bool:
        """A rejection of the APP at `rejected`; move next back unless stale."""
        if self.state == ProgressState.REPLICATE:
            if rejected <= self.match:
                return False  # stale: we already know a later match
            self.next = self.match + 1
            return True
        if self.next - 1 != rejected:
            return False  # stale: answers an older probe
        self.next = max(min(rejected, match_hint + 1), self.match + 1)
        self.msg_app_flow_paused = False
        return True

    def sent_entries(self, last: int, size: int) -> None:
        """Bookkeeping after sending an APP whose last entry is `last`."""
        if self.state == ProgressState.REPLICATE:
            if last >= self.next:
                self.next = last + 1
                self.inflights.add(last, size)
        else:
            self.msg_app_flow_paused = True

    def is_paused(self) -> bool:
        if self.state == ProgressState.PROBE:
            return self.msg_app_flow_paused
        if self.state == ProgressState.REPLICATE:
            return self.inflights.full()
        return True


class ProgressTracker:
    """Membership plus each member's Progress and, during elections, votes."""

    def __init__(self, max_inflight: int, max_bytes: int) -> None:
        self.voters: frozenset[int] = frozenset()
        self.learners: frozenset[int] = frozenset()
        self.progress: dict[int, Progress] = {}
        self.votes: dict[int, bool] = {}
        self.max_inflight = max_inflight
        self.max_bytes = max_bytes

    def conf_state(self) -> ConfState:
        return ConfState(self.voters, self.learners)

    def apply_conf(self, cs: ConfState, next_index: int) -> None:
        """Adopt membership cs; new members start probing at next_index."""
        self.voters = cs.voters
        self.learners = cs.learners
        members = cs.voters | cs.learners
        for node in list(self.progress):
            if node not in members:
                del self.progress[node]
        for node in members:
            pr = self.progress.get(node)
            if pr is None:
                pr = Progress(next_index, self.max_inflight, self.max_bytes, False)
                pr.recent_active = True  # give newcomers one check-quorum round
                self.progress[node] = pr
            pr.is_learner = node in cs.learners

    def committed(self) -> int:
        return committed_index(self.voters, lambda v: self.progress[v].match)

    def is_singleton(self) -> bool:
        return len(self.voters) == 1

    def record_vote(self, node: int, granted: bool) -> None:
        self.votes.setdefault(node, granted)

    def reset_votes(self) -> None:
        self.votes = {}

    def tally_votes(self) -> VoteResult:
        return vote_result(self.voters, self.votes)

    def tally_votes_of(self, votes: dict[int, bool]) -> VoteResult:
        return vote_result(self.voters, votes)

    def quorum_active(self) -> bool:
        active = {v: self.progress[v].recent_active for v in self.voters}
        return vote_result(self.voters, active) == VoteResult.WON
