"""Unit tests of the core, named after the Raft paper sections they cover."""

from __future__ import annotations

import random

import pytest

from ranvier.raft import (
    Config,
    ConfigInvalid,
    ConfState,
    Entry,
    HardState,
    MemoryStorage,
    Message,
    MessageType as MT,
    ProposalDropped,
    RawNode,
    Snapshot,
    SnapshotMetadata,
    StateType,
)
from ranvier.raft.errors import Compacted, Unavailable
from ranvier.raft.tracker import Inflights, ProgressState
from ranvier.testing.raftbench import BenchCluster


def make_node(nid: int = 1, voters: tuple[int, ...] = (1, 2, 3), **kw: object) -> tuple[RawNode, MemoryStorage]:
    s = MemoryStorage()
    s.apply_snapshot(Snapshot(SnapshotMetadata(1, 1, ConfState(frozenset(voters)))))
    cfg = Config(id=nid, rng=random.Random(nid), **kw)  # type: ignore[arg-type]
    return RawNode(cfg, s), s


def drain(node: RawNode, storage: MemoryStorage) -> list[Message]:
    out: list[Message] = []
    while node.has_ready():
        rd = node.ready()
        storage.append(rd.entries)
        if rd.hard_state is not None:
            storage.set_hard_state(rd.hard_state)
        out.extend(rd.messages)
        node.advance(rd)
    return out


def test_config_validate_names_the_first_problem() -> None:
    with pytest.raises(ConfigInvalid, match="election tick 1 must be greater than heartbeat tick 1"):
        Config(id=1, rng=random.Random(0), election_tick=1).validate()
    with pytest.raises(ConfigInvalid, match="rng"):
        Config(id=1).validate()


def test_randomized_election_timeout_in_range() -> None:
    """§5.2: timeouts are drawn from [election_tick, 2 * election_tick)."""
    node, _ = make_node()
    seen = set()
    for _ in range(200):
        node.raft.reset_randomized_election_timeout()
        seen.add(node.raft.randomized_election_timeout)
    assert min(seen) == 10 and max(seen) == 19


def test_follower_update_term_from_message() -> None:
    """§5.1: a higher term in any message makes the node a follower of that term."""
    node, s = make_node()
    node.campaign()
    drain(node, s)
    node.step(Message(MT.APP, to=1, from_=2, term=5, index=1, log_term=1))
    assert node.raft.term == 5 and node.raft.state == StateType.FOLLOWER and node.raft.lead == 2


def test_vote_restriction() -> None:
    """§5.4.1: no vote for a candidate whose log is less up to date."""
    node, s = make_node(pre_vote=False)
    node.raft.log.append([Entry(1, 2, b"x")])
    drain(node, s)
    node.step(Message(MT.VOTE, to=1, from_=2, term=2, index=1, log_term=1))
    (resp,) = [m for m in drain(node, s) if m.type == MT.VOTE_RESP]
    assert resp.reject
    node.step(Message(MT.VOTE, to=1, from_=3, term=2, index=2, log_term=1))
    (resp,) = [m for m in drain(node, s) if m.type == MT.VOTE_RESP]
    assert not resp.reject and s.hard_state == HardState(2, 3, 1)


def test_one_vote_per_term() -> None:
    """§5.2: having voted for 2 in term 2, the node rejects 3 in that term."""
    node, s = make_node(pre_vote=False)
    node.step(Message(MT.VOTE, to=1, from_=2, term=2, index=1, log_term=1))
    drain(node, s)
    node.step(Message(MT.VOTE, to=1, from_=3, term=2, index=1, log_term=1))
    (resp,) = drain(node, s)
    assert resp.reject and s.hard_state.vote == 2


def test_vote_is_in_the_same_ready_as_its_grant() -> None:
    """Ordering rule: the Ready carrying a vote grant also carries the hard
    state recording that vote, flagged must_sync (pitfall P2)."""
    node, _ = make_node(pre_vote=False)
    node.step(Message(MT.VOTE, to=1, from_=2, term=3, index=1, log_term=1))
    rd = node.ready()
    assert rd.hard_state == HardState(3, 2, 1) and rd.must_sync
    assert [m.type for m in rd.messages] == [MT.VOTE_RESP]


def test_follower_rejects_mismatched_append_with_hint() -> None:
    """§5.3: AppendEntries fails if the log lacks (prev index, prev term)."""
    node, s = make_node()
    node.step(Message(MT.APP, to=1, from_=2, term=2, index=5, log_term=2, entries=(Entry(2, 6),)))
    (resp,) = drain(node, s)
    assert resp.reject and resp.index == 5 and resp.reject_hint == 1


def test_stale_append_does_not_truncate() -> None:
    """Pitfall P3: a reordered, shorter APP leaves matching entries in place."""
    node, s = make_node()
    e2, e3 = Entry(2, 2, b"a"), Entry(2, 3, b"b")
    node.step(Message(MT.APP, to=1, from_=2, term=2, index=1, log_term=1, entries=(e2, e3)))
    drain(node, s)
    node.step(Message(MT.APP, to=1, from_=2, term=2, index=1, log_term=1, entries=(e2,)))
    drain(node, s)
    assert s.last_index() == 3


def test_propose_on_follower_is_dropped() -> None:
    node, _ = make_node()
    with pytest.raises(ProposalDropped):
        node.propose(b"x")


def test_inflights_bound_messages_and_bytes() -> None:
    infl = Inflights(max_count=3, max_bytes=100)
    infl.add(5, 40)
    infl.add(6, 40)
    assert not infl.full()
    infl.add(7, 30)
    assert infl.full()
    infl.free_le(6)
    assert not infl.full() and infl.bytes == 30


def test_flow_control_limits_messages_in_flight() -> None:
    """A replicating follower gets at most max_inflight_msgs unacknowledged APPs."""
    c = BenchCluster()
    for n in c.nodes.values():
        n.raft.trk.max_inflight = 2  # Progress objects are rebuilt on election
    leader = c.elect()
    c.inbox.clear()
    for i in range(5):
        leader.propose(b"p%d" % i)
    rd = leader.ready()
    apps = [m for m in rd.messages if m.type == MT.APP and m.to == 2]
    assert len(apps) == 2
    assert leader.raft.trk.progress[2].state == ProgressState.REPLICATE


def test_leader_recovers_when_follower_already_has_the_snapshot() -> None:
    """Regression (seed 3): a follower that already installed the snapshot
    being streamed answers with its commit index; the leader must leave the
    SNAPSHOT state and probe (or send a newer snapshot), not wait forever."""
    c = BenchCluster()
    leader = c.elect()
    for _ in range(3):
        leader.propose(b"x")
    c.pump()
    s1 = c.storages[1]
    s1.create_snapshot(5, ConfState(frozenset({1, 2, 3})), b"img")
    pr = leader.raft.trk.progress[2]
    pr.become_snapshot(s1.snapshot())
    pr.transfer.sent_done = True  # type: ignore[union-attr]
    leader.step(Message(MT.APP_RESP, to=1, from_=2, term=leader.raft.term, index=5))
    assert pr.state != ProgressState.SNAPSHOT


def test_memory_storage_bounds() -> None:
    s = MemoryStorage()
    s.append([Entry(1, 1), Entry(1, 2), Entry(2, 3)])
    s.create_snapshot(2, ConfState(frozenset({1})), b"")
    s.compact(2)
    assert (s.first_index(), s.last_index(), s.term(2)) == (3, 3, 1)
    with pytest.raises(Compacted):
        s.term(1)
    with pytest.raises(Unavailable):
        s.term(4)
    s.append([Entry(3, 3), Entry(3, 4)])  # conflict at 3 truncates
    assert [e.term for e in s.entries(3, 5, 1 << 30)] == [3, 3]


def test_read_index_on_single_voter_is_immediate() -> None:
    node, s = make_node(voters=(1,))
    node.campaign()
    drain(node, s)
    node.read_index(b"r")
    rd = node.ready()
    assert [(r.index, r.request_ctx) for r in rd.read_states] == [(node.raft.log.committed, b"r")]


def test_local_messages_are_refused_from_the_network() -> None:
    node, _ = make_node()
    with pytest.raises(ValueError):
        node.step(Message(MT.HUP, from_=2))


def test_rejected_vote_does_not_reset_election_timer() -> None:
    """Fig. 2 (§5.2): a higher-term VOTE from a candidate with a stale log
    makes us a follower of its term but must not restart our election timer,
    or such a candidate keeps the up-to-date nodes from ever campaigning
    (regression: seed 103341, pre-vote off)."""
    node, s = make_node(pre_vote=False)
    node.raft.log.append([Entry(1, 2, b"x")])
    drain(node, s)
    for _ in range(7):
        node.tick()
    node.step(Message(MT.VOTE, to=1, from_=2, term=5, index=1, log_term=1))
    (resp,) = [m for m in drain(node, s) if m.type == MT.VOTE_RESP]
    assert resp.reject and node.raft.term == 5 and node.raft.election_elapsed == 7


def test_a_follower_lease_ends_a_tick_before_the_minimum_election_timeout() -> None:
    """Check-quorum's lease keeps a disruptive candidate out while a leader is
    heard from, but ends one tick before the minimum election timeout: nodes
    tick on their own clocks, so a candidate that drew the minimum can fire a
    tick before this follower counts as many, and must not be ignored then."""
    node, s = make_node(election_tick=10)
    node.step(Message(MT.APP, to=1, from_=2, term=1, index=1, log_term=1))  # leader 2 heard
    drain(node, s)
    assert node.raft.lead == 2
    for _ in range(8):
        node.tick()
    node.step(Message(MT.PRE_VOTE, to=1, from_=3, term=2, index=1, log_term=1))
    assert [m for m in drain(node, s) if m.type == MT.PRE_VOTE_RESP] == []  # in lease: ignored
    node.tick()  # 9 ticks since the leader: the lease is over
    node.step(Message(MT.PRE_VOTE, to=1, from_=3, term=2, index=1, log_term=1))
    (resp,) = [m for m in drain(node, s) if m.type == MT.PRE_VOTE_RESP]
    assert not resp.reject


def test_pre_candidates_that_fire_together_elect_one_leader_without_another_timeout() -> None:
    """Leader 3 is gone and 1 and 2 start pre-voting within a round trip of each
    other, so each gets the other's pre-vote before its grant. Both would win their
    pre-votes and split the real vote, and the group would wait a whole new
    election timeout; instead the lower id steps back on granting, and 2 wins at
    once, with no tick in between."""
    nodes = {nid: make_node(nid, pre_vote=True, check_quorum=True) for nid in (1, 2)}
    term = nodes[1][0].raft.term
    for node, s in nodes.values():
        node.campaign()
    outbox = {nid: drain(*nodes[nid]) for nid in nodes}
    assert all(node.raft.state == StateType.PRE_CANDIDATE for node, _s in nodes.values())
    # Deliver in the colliding order: each side's PRE_VOTE first (it left first).
    in_flight = [m for nid in (1, 2) for m in outbox[nid] if m.to in nodes]
    while in_flight:
        m = in_flight.pop(0)
        node, s = nodes[m.to]
        node.step(m)
        in_flight.extend(x for x in drain(node, s) if x.to in nodes)
    two, one = nodes[2][0].raft, nodes[1][0].raft
    assert two.state == StateType.LEADER and two.term == term + 1
    assert one.state == StateType.FOLLOWER and one.term == term + 1 and one.lead == 2
