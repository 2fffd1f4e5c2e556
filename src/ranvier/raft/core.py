"""The Raft state machine of one node (Ongaro & Ousterhout, "In Search of an
Understandable Consensus Algorithm", 2014; Ongaro's thesis, 2014).

`Raft` is driven only through `step(message)` and `tick()`; output collects in
`msgs` and `read_states` and in the log's unstable tail, and RawNode turns
them into a Ready. Roles are swapped by assigning `_step`/`_tick` in the
`become_*` methods, as in etcd-io/raft. Nothing here does I/O or reads a
clock: time is ticks, randomness comes from `Config.rng`.
"""

from __future__ import annotations

from typing import Any, Callable

from ranvier.raft.config import Config
from ranvier.raft.errors import (
    Compacted,
    ProposalDropped,
    SnapshotTemporarilyUnavailable,
    Unavailable,
)
from ranvier.raft.log import RaftLog
from ranvier.raft.quorum import VoteResult
from ranvier.raft.read_only import ReadOnly
from ranvier.raft.storage import Storage
from ranvier.raft.tracker import Progress, ProgressState, ProgressTracker
from ranvier.raft.types import (
    NONE,
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType as MT,
    ReadState,
    Snapshot,
    SnapshotMetadata,
    SoftState,
    StateType,
    vote_resp_type,
)

# Marks a VOTE sent on the leader's request (leader transfer, thesis §3.10): it
# must win even though voters still hear from the current leader.
CAMPAIGN_TRANSFER = b"CampaignTransfer"


class Raft:
    """One node's view of a Raft group; see the module docstring."""

    def __init__(self, cfg: Config, storage: Storage) -> None:
        cfg.validate()
        assert cfg.rng is not None
        self.id = cfg.id
        self.rng = cfg.rng
        self.logger = cfg.logger
        self.cfg = cfg
        self.log = RaftLog(storage, cfg.max_committed_size_per_ready, cfg.entry_overhead)
        # Latest term this node has seen (§5.1). Invariant: never decreases.
        self.term = 0
        # Candidate voted for in `term`, or NONE (§5.2). Invariant: at most one per term.
        self.vote = NONE
        # Known leader of `term`, or NONE.
        self.lead = NONE
        self.state = StateType.FOLLOWER
        self.is_learner = False
        self.trk = ProgressTracker(cfg.max_inflight_msgs, cfg.max_inflight_bytes)
        self.msgs: list[Message] = []
        self.read_states: list[ReadState] = []
        self.read_only = ReadOnly()
        # Reads that arrived before this leader committed an entry of its term.
        self.pending_read_index_msgs: list[Message] = []
        # Ticks since the last election timeout reset (followers: since we last
        # heard from a valid leader or granted a vote).
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        # Uniform in [election_tick, 2*election_tick), redrawn on each reset (§5.2).
        self.randomized_election_timeout = cfg.election_tick
        # Node that leadership is being handed to, or NONE (thesis §3.10).
        self.lead_transferee = NONE
        # Index of the latest membership change proposed by this leader.
        # Invariant: a new change is proposed only once applied >= this.
        self.pending_conf_index = 0
        # Snapshot being received in chunks: its metadata and the bytes so far.
        self.incoming: tuple[SnapshotMetadata, bytearray] | None = None
        self._step: Callable[[Message], None] = self._step_follower
        self._tick: Callable[[], None] = self._tick_election
        self._restore_state(storage, cfg.applied)

    def _restore_state(self, storage: Storage, applied: int) -> None:
        hs, cs = storage.initial_state()
        self.switch_to_config(cs)
        if hs != HardState():
            self.load_state(hs)
        if applied > 0:
            self.log.applied_to(applied)
        self.become_follower(self.term, NONE)

    def load_state(self, hs: HardState) -> None:
        if hs.commit < self.log.committed or hs.commit > self.log.last_index():
            raise AssertionError(
                f"{self.id} state.commit {hs.commit} is out of range "
                f"[{self.log.committed}, {self.log.last_index()}]"
            )
        self.log.committed = hs.commit
        self.term = hs.term
        self.vote = hs.vote

    # ---- reported state ----

    def hard_state(self) -> HardState:
        return HardState(self.term, self.vote, self.log.committed)

    def soft_state(self) -> SoftState:
        return SoftState(self.lead, self.state)

    def promotable(self) -> bool:
        """May this node campaign? Voters only, and not while a snapshot is unpersisted."""
        pr = self.trk.progress.get(self.id)
        return pr is not None and not pr.is_learner and self.log.unstable.snapshot is None

    def committed_entry_in_current_term(self) -> bool:
        return self.log.term_or_zero(self.log.committed) == self.term

    # ---- sending ----

    def send(self, type: MT, to: int, **fields: Any) -> None:
        """Queue a message; the runtime sends it after persisting the Ready."""
        fields.setdefault("term", self.term)
        self.msgs.append(Message(type, to=to, from_=self.id, **fields))

    def send_append(self, to: int) -> None:
        self.maybe_send_append(to, True)

    def maybe_send_append(self, to: int, send_if_empty: bool) -> bool:
        """Send the next batch of entries to `to` if flow control allows (§5.3).

        Returns whether a message was sent. Falls back to a snapshot when the
        entries the follower needs have been compacted (§7)."""
        pr = self.trk.progress[to]
        if pr.is_paused():
            return False
        prev_index = pr.next - 1
        try:
            prev_term = self.log.term(prev_index)
            ents = self.log.entries_from(pr.next, self.cfg.max_size_per_msg)
        except (Compacted, Unavailable):
            return self.maybe_send_snapshot(to, pr)
        if not ents and not send_if_empty:
            return False
        self.send(
            MT.APP, to, index=prev_index, log_term=prev_term,
            entries=tuple(ents), commit=self.log.committed,
        )
        if ents:
            pr.sent_entries(ents[-1].index, self._payload_size(ents))
        elif pr.state == ProgressState.PROBE:
            pr.msg_app_flow_paused = True
        return True

    def _payload_size(self, ents: list[Entry]) -> int:
        if self.cfg.max_inflight_bytes >= 1 << 62:
            return 0  # byte accounting is off
        overhead = self.cfg.entry_overhead
        return sum(len(e.data) + overhead for e in ents)

    def maybe_send_snapshot(self, to: int, pr: Progress) -> bool:
        """Start streaming the latest snapshot to a follower whose next entry
        was compacted (§7). Inactive followers wait: no point streaming into a void."""
        if not pr.recent_active:
            return False
        try:
            snap = self.log.snapshot()
        except SnapshotTemporarilyUnavailable:
            return False
        if snap.is_empty:
            raise AssertionError("need a non-empty snapshot to send")
        pr.become_snapshot(snap)
        self.send_snapshot_chunks(to, pr)
        return True

    def send_snapshot_chunks(self, to: int, pr: Progress) -> None:
        """Send chunks while fewer than max_inflight_msgs chunks are unacknowledged."""
        tr = pr.transfer
        assert tr is not None
        size = self.cfg.snapshot_chunk_size
        window = self.cfg.max_inflight_msgs * size
        data = tr.snapshot.data
        while not tr.sent_done and tr.sent - tr.acked < window:
            end = min(tr.sent + size, len(data))
            done = end >= len(data)
            self.send(
                MT.SNAP, to, snapshot=tr.snapshot.metadata, offset=tr.sent,
                chunk=data[tr.sent:end], done=done, commit=self.log.committed,
            )
            tr.sent = end
            tr.sent_done = done

    def bcast_append(self) -> None:
        for node in self.trk.progress:
            if node != self.id:
                self.send_append(node)

    def bcast_heartbeat(self) -> None:
        self.bcast_heartbeat_with_ctx(self.read_only.last_pending_ctx())

    def bcast_heartbeat_with_ctx(self, ctx: bytes) -> None:
        for node, pr in self.trk.progress.items():
            if node != self.id:
                # Never claim a commit index beyond what the follower has
                # matched: it cannot check the entries (Fig. 2).
                commit = min(pr.match, self.log.committed)
                self.send(MT.HEARTBEAT, node, commit=commit, context=ctx)

    def send_timeout_now(self, to: int) -> None:
        self.send(MT.TIMEOUT_NOW, to)

    # ---- role transitions (§5.2) ----

    def reset(self, term: int) -> None:
        if self.term != term:
            self.term = term
            self.vote = NONE
        self.lead = NONE
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.reset_randomized_election_timeout()
        self.abort_leader_transfer()
        self.trk.reset_votes()
        last = self.log.last_index()
        for node, old in self.trk.progress.items():
            pr = Progress(last + 1, self.trk.max_inflight, self.trk.max_bytes, old.is_learner)
            if node == self.id:
                pr.match = last
            self.trk.progress[node] = pr
        self.pending_conf_index = 0
        self.read_only = ReadOnly()
        self.pending_read_index_msgs = []

    def lease_ticks(self) -> int:
        """Ticks after a leader's message during which this follower ignores
        (pre-)votes: one less than the minimum election timeout. Every node ticks
        on its own clock, so a candidate that drew the minimum timeout can fire up
        to a tick before a follower that heard the same last heartbeat counts that
        many; with the full timeout as the lease that follower ignored it and the
        election waited for another random timeout (a 2.9 s failover in the
        cluster benchmark). A live leader's heartbeats come every
        `heartbeat_tick`, far inside this lease, so it still keeps a disruptive
        candidate out. Leases here guard only against disruption: reads never
        rely on them (read-index confirms with a quorum)."""
        return max(1, self.cfg.election_tick - 1)

    def reset_randomized_election_timeout(self) -> None:
        et = self.cfg.election_tick
        self.randomized_election_timeout = et + self.rng.randrange(0, et)

    def become_follower(self, term: int, lead: int) -> None:
        self._step = self._step_follower
        self.reset(term)
        self._tick = self._tick_election
        self.lead = lead
        self.state = StateType.FOLLOWER
        self.logger.debug("%x became follower at term %d", self.id, self.term)

    def become_pre_candidate(self) -> None:
        """Pre-vote (thesis §9.6): poll without touching term or vote."""
        if self.state == StateType.LEADER:
            raise AssertionError("invalid transition [leader -> pre-candidate]")
        self._step = self._step_candidate
        self.trk.reset_votes()
        self._tick = self._tick_election
        self.lead = NONE
        self.state = StateType.PRE_CANDIDATE

    def become_candidate(self) -> None:
        if self.state == StateType.LEADER:
            raise AssertionError("invalid transition [leader -> candidate]")
        self._step = self._step_candidate
        self.reset(self.term + 1)
        self._tick = self._tick_election
        self.vote = self.id
        self.state = StateType.CANDIDATE

    def become_leader(self) -> None:
        if self.state == StateType.FOLLOWER:
            raise AssertionError("invalid transition [follower -> leader]")
        self._step = self._step_leader
        self.reset(self.term)
        self._tick = self._tick_heartbeat
        self.lead = self.id
        self.state = StateType.LEADER
        me = self.trk.progress[self.id]
        me.become_replicate()
        me.recent_active = True
        # A membership change may hide in the uncommitted tail; wait for it (§4.1).
        self.pending_conf_index = self.log.last_index()
        # Commit a no-op of our term at once, so older entries commit (§5.4.2, §8).
        self.append_entries([b""], EntryType.NORMAL)
        self.logger.info("%x became leader at term %d", self.id, self.term)

    # ---- ticks ----

    def tick(self) -> None:
        self._tick()

    def _tick_election(self) -> None:
        self.election_elapsed += 1
        if self.promotable() and self.election_elapsed >= self.randomized_election_timeout:
            self.election_elapsed = 0
            self.step(Message(MT.HUP, from_=self.id))

    def _tick_heartbeat(self) -> None:
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1
        if self.election_elapsed >= self.cfg.election_tick:
            self.election_elapsed = 0
            if self.cfg.check_quorum:
                self.step(Message(MT.CHECK_QUORUM, from_=self.id))
            # A transfer that did not finish within an election timeout failed.
            if self.state == StateType.LEADER and self.lead_transferee != NONE:
                self.abort_leader_transfer()
        if self.state != StateType.LEADER:
            return
        if self.heartbeat_elapsed >= self.cfg.heartbeat_tick:
            self.heartbeat_elapsed = 0
            self.step(Message(MT.BEAT, from_=self.id))

    # ---- elections (§5.2, §5.4.1) ----

    def hup(self, transfer: bool) -> None:
        if self.state == StateType.LEADER:
            return
        if not self.promotable():
            self.logger.warning("%x is unpromotable and can not campaign", self.id)
            return
        if self.has_unapplied_conf_changes():
            # Its membership may differ from ours: campaigning could split the vote
            # between two configurations.
            self.logger.warning("%x cannot campaign: pending configuration changes", self.id)
            return
        self.campaign(pre_vote=self.cfg.pre_vote and not transfer, transfer=transfer)

    def has_unapplied_conf_changes(self) -> bool:
        if self.log.applied >= self.log.committed:
            return False
        ents = self.log.slice(self.log.applied + 1, self.log.committed + 1, 1 << 62)
        return any(e.type == EntryType.CONF_CHANGE for e in ents)

    def campaign(self, pre_vote: bool, transfer: bool) -> None:
        if pre_vote:
            self.become_pre_candidate()
            vote_type, term = MT.PRE_VOTE, self.term + 1
        else:
            self.become_candidate()
            vote_type, term = MT.VOTE, self.term
        self.trk.record_vote(self.id, True)
        if self.poll_won(pre_vote):
            return  # single voter: already won
        ctx = CAMPAIGN_TRANSFER if transfer else b""
        last_index, last_term = self.log.last_index(), self.log.last_term()
        for node in sorted(self.trk.voters):
            if node != self.id:
                self.send(vote_type, node, term=term, index=last_index, log_term=last_term, context=ctx)

    def poll_won(self, pre_vote: bool) -> bool:
        """Act on the tally; report whether the election is over."""
        result = self.trk.tally_votes()
        if result == VoteResult.WON:
            if pre_vote:
                self.campaign(pre_vote=False, transfer=False)
            else:
                self.become_leader()
                self.bcast_append()
            return True
        if result == VoteResult.LOST:
            self.become_follower(self.term, NONE)
            return True
        return False

    # ---- step: the term rules first (§5.1), then the role ----

    def step(self, m: Message) -> None:
        if m.term > self.term:
            if not self._step_higher_term(m):
                return
        elif 0 < m.term < self.term:
            self._step_lower_term(m)
            return
        if m.type == MT.HUP:
            self.hup(transfer=False)
        elif m.type in (MT.VOTE, MT.PRE_VOTE):
            self.handle_vote_request(m)
        else:
            self._step(m)

    def _step_higher_term(self, m: Message) -> bool:
        """Adopt a higher term, unless the message is a vote we must ignore.
        Returns whether to keep processing m."""
        if m.type in (MT.VOTE, MT.PRE_VOTE):
            force = m.context == CAMPAIGN_TRANSFER
            in_lease = (
                self.cfg.check_quorum
                and self.lead != NONE
                and self.election_elapsed < self.lease_ticks()
            )
            if in_lease and not force:
                # We heard from a live leader within the minimum election
                # timeout: this candidate is disruptive (thesis §4.2.3).
                return False
        if m.type == MT.PRE_VOTE or (m.type == MT.PRE_VOTE_RESP and not m.reject):
            return True  # a pre-vote never changes our term
        lead = m.from_ if m.type in (MT.APP, MT.HEARTBEAT, MT.SNAP) else NONE
        elapsed = self.election_elapsed
        self.become_follower(m.term, lead)
        if m.type == MT.VOTE:
            # Fig. 2: only a leader's messages or granting a vote reset the
            # election timer. A candidate with a stale log must not keep
            # resetting the nodes that could win (seed 103341, pre-vote off).
            self.election_elapsed = elapsed
        return True

    def _step_lower_term(self, m: Message) -> None:
        if (self.cfg.check_quorum or self.cfg.pre_vote) and m.type in (MT.HEARTBEAT, MT.APP):
            # A stale leader, maybe back from a partition, that our pre-vote or
            # lease kept from learning the new term: tell it, so it steps down.
            self.send(MT.APP_RESP, m.from_)
        elif m.type == MT.PRE_VOTE:
            self.send(MT.PRE_VOTE_RESP, m.from_, reject=True)

    def handle_vote_request(self, m: Message) -> None:
        can_vote = (
            self.vote == m.from_
            or (self.vote == NONE and self.lead == NONE)
            or (m.type == MT.PRE_VOTE and m.term > self.term)
        )
        resp = vote_resp_type(m.type)
        if can_vote and self.log.is_up_to_date(m.index, m.log_term):
            # The grant carries the candidate's term; for VOTE it is ours now too,
            # and the vote is persisted in the Ready before this message leaves.
            self.send(resp, m.from_, term=m.term)
            if m.type == MT.VOTE:
                self.election_elapsed = 0
                self.vote = m.from_
            elif self._concurrent_pre_vote(m):
                # Two pre-candidates that fired within a round trip of each other
                # both win their pre-votes, split the real vote and wait a whole
                # new election timeout (~1 % of leader kills in the cluster bench
                # took 2.5-2.9 s instead of 1-1.9). The one with the lower id steps
                # back: it has just granted the other, whose log is as up to date.
                self.become_follower(self.term, NONE)
        else:
            self.send(resp, m.from_, reject=True)

    def _concurrent_pre_vote(self, m: Message) -> bool:
        """A pre-vote for the term this node is itself pre-campaigning for, from a
        node with a higher id."""
        return (m.type == MT.PRE_VOTE and self.state == StateType.PRE_CANDIDATE
                and m.term == self.term + 1 and m.from_ > self.id)

    # ---- leader ----

    def _step_leader(self, m: Message) -> None:
        t = m.type
        if t == MT.BEAT:
            self.bcast_heartbeat()
        elif t == MT.CHECK_QUORUM:
            self.check_quorum_active()
        elif t == MT.READ_INDEX:
            self.handle_read_index(m)
        elif t == MT.TRANSFER_LEADER:
            self.handle_transfer_leader(m)
        else:
            pr = self.trk.progress.get(m.from_)
            if pr is None:
                return
            if t == MT.APP_RESP:
                self.handle_append_response(m, pr)
            elif t == MT.HEARTBEAT_RESP:
                self.handle_heartbeat_response(m, pr)
            elif t == MT.SNAP_RESP:
                self.handle_snapshot_response(m, pr)
            elif t == MT.UNREACHABLE and pr.state == ProgressState.REPLICATE:
                pr.become_probe()

    def check_quorum_active(self) -> None:
        """Step down without contact to a quorum for an election timeout (thesis §6.2)."""
        if not self.trk.quorum_active():
            self.logger.warning("%x stepped down to follower since quorum is not active", self.id)
            self.become_follower(self.term, NONE)
        for node, pr in self.trk.progress.items():
            pr.recent_active = node == self.id

    def append_entries(self, datas: list[bytes], type: EntryType) -> int:
        """Append new entries of our term to our own log; return the last index."""
        li = self.log.last_index()
        term = self.term
        ents = [Entry(term, li + 1 + k, d, type) for k, d in enumerate(datas)]
        last = self.log.append(ents)
        self.trk.progress[self.id].maybe_update(last)
        self.maybe_commit()
        return last

    def maybe_commit(self) -> bool:
        """Commit by counting replicas, only for entries of our term (Figure 8, §5.4.2)."""
        if not self.log.maybe_commit(self.trk.committed(), self.term):
            return False
        if self.pending_read_index_msgs and self.committed_entry_in_current_term():
            msgs, self.pending_read_index_msgs = self.pending_read_index_msgs, []
            for rm in msgs:
                self.handle_read_index(rm)
        return True

    def propose(self, datas: list[bytes], type: EntryType = EntryType.NORMAL) -> int:
        if self.state != StateType.LEADER:
            raise ProposalDropped(f"{self.id} is not the leader")
        if self.id not in self.trk.progress:
            raise ProposalDropped(f"{self.id} was removed from the configuration")
        if self.lead_transferee != NONE:
            raise ProposalDropped(f"{self.id} is transferring leadership to {self.lead_transferee}")
        last = self.append_entries(datas, type)
        self.bcast_append()
        return last

    def propose_conf_change(self, cc: ConfChange) -> int:
        """Append a single-server membership change (thesis §4.1), if allowed."""
        if self.state == StateType.LEADER:
            self._check_conf_change(cc)
        index = self.propose([cc.encode()], EntryType.CONF_CHANGE)
        self.pending_conf_index = index
        return index

    def _check_conf_change(self, cc: ConfChange) -> None:
        if not self.committed_entry_in_current_term():
            # The 2015 single-server bug (raft-dev, Ongaro): a new leader must
            # commit in its own term before changing membership.
            raise ProposalDropped("leader has not committed an entry in its term yet")
        if self.pending_conf_index > self.log.applied:
            raise ProposalDropped(
                f"membership change at {self.pending_conf_index} not applied yet "
                f"(applied {self.log.applied})"
            )
        problem = conf_change_problem(self.trk.conf_state(), cc)
        if problem:
            raise ProposalDropped(problem)

    def handle_append_response(self, m: Message, pr: Progress) -> None:
        pr.recent_active = True
        if m.reject:
            self.handle_append_rejection(m, pr)
            return
        was_paused = pr.is_paused()
        updated = pr.maybe_update(m.index)
        if pr.state == ProgressState.SNAPSHOT:
            assert pr.transfer is not None
            if pr.match < pr.transfer.index:
                return  # the snapshot has not landed yet
            # The follower holds the snapshot's state; probe from there (it may
            # need a newer snapshot if we compacted meanwhile).
            pr.become_probe()
        elif pr.state == ProgressState.PROBE:
            if not updated and pr.match != m.index:
                return
            pr.become_replicate()
        else:
            if not updated:
                return
            pr.inflights.free_le(m.index)
        if self.maybe_commit():
            self.bcast_append()  # followers learn the new commit index
        elif was_paused:
            self.send_append(m.from_)
        while self.maybe_send_append(m.from_, False):
            pass
        if m.from_ == self.lead_transferee and pr.match == self.log.last_index():
            self.send_timeout_now(m.from_)

    def handle_append_rejection(self, m: Message, pr: Progress) -> None:
        """Fast back-off (§5.3): skip every entry of a term the follower cannot have."""
        next_probe = m.reject_hint
        if m.log_term > 0:
            next_probe, _ = self.log.find_conflict_by_term(m.reject_hint, m.log_term)
        if pr.maybe_decr_to(m.index, next_probe):
            if pr.state == ProgressState.REPLICATE:
                pr.become_probe()
            self.send_append(m.from_)

    def handle_heartbeat_response(self, m: Message, pr: Progress) -> None:
        pr.recent_active = True
        pr.msg_app_flow_paused = False
        if pr.state == ProgressState.SNAPSHOT:
            self.maybe_resume_snapshot(m.from_, pr)
        elif pr.state == ProgressState.REPLICATE and pr.inflights.full():
            # Acks may have been lost: free one slot so the next APP's
            # cumulative ack can unblock the window.
            pr.inflights.free_first()
        if pr.state != ProgressState.SNAPSHOT and (
            pr.match < self.log.last_index() or pr.state == ProgressState.PROBE
        ):
            self.send_append(m.from_)
        if m.context:
            self.handle_read_ack(m)

    def maybe_resume_snapshot(self, to: int, pr: Progress) -> None:
        """No chunk acknowledged since the last heartbeat: assume chunks were lost
        and resend from the last acknowledged chunk."""
        tr = pr.transfer
        assert tr is not None
        if tr.acked != tr.acked_at_heartbeat:
            tr.acked_at_heartbeat = tr.acked
            return
        size = self.cfg.snapshot_chunk_size
        last_chunk = max(0, (len(tr.snapshot.data) - 1) // size * size)
        tr.sent = min(tr.acked // size * size, last_chunk)
        tr.sent_done = False
        self.send_snapshot_chunks(to, pr)

    def handle_snapshot_response(self, m: Message, pr: Progress) -> None:
        pr.recent_active = True
        tr = pr.transfer
        if pr.state != ProgressState.SNAPSHOT or tr is None or tr.index != m.index:
            return  # answers an older transfer
        if m.reject:
            # The follower lost or never had the earlier chunks: restart there.
            tr.acked = tr.sent = min(m.offset, tr.acked)
            tr.sent_done = False
        else:
            tr.acked = min(max(tr.acked, m.offset), tr.sent)
        self.send_snapshot_chunks(m.from_, pr)

    def handle_read_index(self, m: Message) -> None:
        """ReadIndex (thesis §6.4): remember commit, confirm leadership by quorum."""
        if self.trk.is_singleton():
            self.respond_to_read_index(m, self.log.committed)
        elif not self.committed_entry_in_current_term():
            # Our commit index may lag the previous leader's until our no-op commits.
            self.pending_read_index_msgs.append(m)
        else:
            self.read_only.add_request(self.log.committed, m)
            self.read_only.recv_ack(self.id, m.context)
            self.bcast_heartbeat_with_ctx(m.context)

    def handle_read_ack(self, m: Message) -> None:
        acks = self.read_only.recv_ack(m.from_, m.context)
        if acks is None or self.trk.tally_votes_of(acks) != VoteResult.WON:
            return
        for rs in self.read_only.advance(m.context):
            self.respond_to_read_index(rs.request, rs.index)

    def respond_to_read_index(self, req: Message, index: int) -> None:
        if req.from_ in (NONE, self.id):
            self.read_states.append(ReadState(index, req.context))
        else:
            self.send(MT.READ_INDEX_RESP, req.from_, index=index, context=req.context)

    def handle_transfer_leader(self, m: Message) -> None:
        """Leadership transfer (thesis §3.10): catch the transferee up, then TIMEOUT_NOW."""
        transferee = m.from_
        pr = self.trk.progress.get(transferee)
        if pr is None or pr.is_learner or transferee == self.id:
            return
        if self.lead_transferee == transferee:
            return
        self.abort_leader_transfer()
        # The transfer must finish within one election timeout.
        self.election_elapsed = 0
        self.lead_transferee = transferee
        if pr.match == self.log.last_index():
            self.send_timeout_now(transferee)
        else:
            self.send_append(transferee)

    def abort_leader_transfer(self) -> None:
        self.lead_transferee = NONE

    # ---- candidate ----

    def _step_candidate(self, m: Message) -> None:
        t = m.type
        pre = self.state == StateType.PRE_CANDIDATE
        if t in (MT.APP, MT.HEARTBEAT, MT.SNAP):
            # A leader of our term exists (§5.2): yield to it.
            self.become_follower(m.term, m.from_)
            self._step_follower(m)
        elif t == (MT.PRE_VOTE_RESP if pre else MT.VOTE_RESP):
            self.trk.record_vote(m.from_, not m.reject)
            self.poll_won(pre)

    # ---- follower ----

    def _step_follower(self, m: Message) -> None:
        t = m.type
        if t in (MT.APP, MT.HEARTBEAT, MT.SNAP):
            self.election_elapsed = 0
            self.lead = m.from_
            if t == MT.APP:
                self.handle_append_entries(m)
            elif t == MT.HEARTBEAT:
                self.handle_heartbeat(m)
            else:
                self.handle_snapshot(m)
        elif t == MT.TIMEOUT_NOW:
            # Leader transfer never uses pre-vote: the leader asked for it.
            self.hup(transfer=True)
        elif t == MT.READ_INDEX:
            if self.lead == NONE:
                self.logger.info("%x no leader; dropping read index", self.id)
                return
            self.send(MT.READ_INDEX, self.lead, term=0, context=m.context)
        elif t == MT.READ_INDEX_RESP:
            self.read_states.append(ReadState(m.index, m.context))

    def handle_append_entries(self, m: Message) -> None:
        """AppendEntries receiver (Fig. 2). The ack leaves only after the entries
        are persisted, because it travels in the same Ready."""
        if m.index < self.log.committed:
            # Everything up to our commit index matches the leader (Log Matching).
            self.send(MT.APP_RESP, m.from_, index=self.log.committed)
            return
        last = self.log.maybe_append(m.index, m.log_term, m.commit, m.entries)
        if last is not None:
            self.send(MT.APP_RESP, m.from_, index=last)
            return
        hint = min(m.index, self.log.last_index())
        hint, hint_term = self.log.find_conflict_by_term(hint, m.log_term)
        self.send(
            MT.APP_RESP, m.from_, index=m.index, reject=True,
            reject_hint=hint, log_term=hint_term,
        )

    def handle_heartbeat(self, m: Message) -> None:
        self.log.commit_to(m.commit)
        self.send(MT.HEARTBEAT_RESP, m.from_, context=m.context)

    def handle_snapshot(self, m: Message) -> None:
        """Receive one snapshot chunk (§7); install once the last one arrives."""
        meta = m.snapshot
        assert meta is not None
        if meta.index <= self.log.committed:
            # Stale: we already have everything it covers (pitfall P6).
            self.incoming = None
            self.send(MT.APP_RESP, m.from_, index=self.log.committed)
            return
        expected = self._incoming_offset(meta)
        if m.offset != expected:
            # A gap (lost chunk) rejects; a duplicate just repeats our position.
            self.send(MT.SNAP_RESP, m.from_, index=meta.index, offset=expected, reject=m.offset > expected)
            return
        if m.offset == 0:
            self.incoming = (meta, bytearray())
        assert self.incoming is not None
        self.incoming[1].extend(m.chunk)
        if not m.done:
            self.send(MT.SNAP_RESP, m.from_, index=meta.index, offset=len(self.incoming[1]))
            return
        snap = Snapshot(meta, bytes(self.incoming[1]))
        self.incoming = None
        if self.restore(snap):
            self.send(MT.APP_RESP, m.from_, index=self.log.last_index())
        else:
            self.send(MT.APP_RESP, m.from_, index=self.log.committed)

    def _incoming_offset(self, meta: SnapshotMetadata) -> int:
        if self.incoming is None or self.incoming[0] != meta:
            return 0
        return len(self.incoming[1])

    def restore(self, snap: Snapshot) -> bool:
        """Install snap unless our log already holds its last entry (pitfall P6:
        never truncate entries that match the snapshot). Returns whether installed."""
        meta = snap.metadata
        if meta.index <= self.log.committed:
            return False
        if self.log.match_term(meta.index, meta.term):
            self.log.commit_to(meta.index)
            return False
        self.log.restore(snap)
        self.switch_to_config(meta.conf_state)
        self.logger.info("%x restored snapshot [index: %d, term: %d]", self.id, meta.index, meta.term)
        return True

    # ---- membership (thesis §4.1) ----

    def apply_conf_change(self, cc: ConfChange) -> ConfState:
        """Adopt a committed membership change; the application calls this when
        it applies the entry."""
        cs = apply_to_conf_state(self.trk.conf_state(), cc)
        self.switch_to_config(cs)
        return cs

    def switch_to_config(self, cs: ConfState) -> None:
        self.trk.apply_conf(cs, self.log.last_index() + 1)
        pr = self.trk.progress.get(self.id)
        self.is_learner = pr is not None and pr.is_learner
        if self.state != StateType.LEADER:
            return
        if pr is None or pr.is_learner:
            # Removed or demoted leaders stop leading; the others elect anew.
            self.become_follower(self.term, NONE)
            return
        if self.lead_transferee != NONE and self.lead_transferee not in cs.voters:
            self.abort_leader_transfer()
        # The quorum changed: commit may advance, and newcomers need probing.
        if self.maybe_commit():
            self.bcast_append()
        else:
            for node, p in self.trk.progress.items():
                if node != self.id:
                    # Newcomers (match 0) get a probe at once, not at the next heartbeat.
                    self.maybe_send_append(node, p.match == 0)


def apply_to_conf_state(cs: ConfState, cc: ConfChange) -> ConfState:
    voters, learners = set(cs.voters), set(cs.learners)
    n = cc.node_id
    if cc.type == ConfChangeType.ADD_VOTER:
        learners.discard(n)
        voters.add(n)
    elif cc.type == ConfChangeType.ADD_LEARNER:
        voters.discard(n)
        learners.add(n)
    else:
        voters.discard(n)
        learners.discard(n)
    return ConfState(frozenset(voters), frozenset(learners))


def conf_change_problem(cs: ConfState, cc: ConfChange) -> str:
    """Why cc would be refused, or "" if it is a valid single-server change."""
    n = cc.node_id
    if n == NONE:
        return "cannot change membership of node none"
    if cc.type == ConfChangeType.ADD_VOTER and n in cs.voters:
        return f"{n} is already a voter"
    if cc.type == ConfChangeType.ADD_LEARNER and n in cs.learners:
        return f"{n} is already a learner"
    if cc.type == ConfChangeType.REMOVE_NODE:
        if n not in cs.voters and n not in cs.learners:
            return f"{n} is not a member"
        if cs.voters == {n}:
            return "cannot remove the last voter"
    return ""
