"""Deterministic simulation of a Raft cluster under faults.

One seed fixes everything: cluster size, configuration, network faults,
crashes, membership churn, leader transfers and client traffic. A run has a
fault phase (`ticks` ticks of 100 ms) and then a heal phase in which the
network is repaired and crashed members restart; within `HEAL_BOUND_TICKS` a
leader must exist and every pending proposal must be applied everywhere.

Checked after every step (Raft paper Fig. 3 and reliability-plan §3):
- election safety: at most one leader per term;
- log matching: equal (index, term) implies equal entries and prefixes;
- leader completeness: a new leader holds every entry committed so far;
- state machine safety: every node applies the same entry at an index
  (checked through a running checksum, which also covers snapshots);
- durability: term, vote and acknowledged entries are persisted before a
  message that depends on them leaves; terms and votes never regress;
- liveness after healing, as above.

Usage::

    python -m ranvier.testing.raftsim --seeds 500            # seeds 0..499
    python -m ranvier.testing.raftsim --seeds 100 --start 7000
    python -m ranvier.testing.raftsim --seed 1234 -v         # replay one, with a trace
"""

from __future__ import annotations

import argparse
import random
import sys
import zlib
from collections import deque
from dataclasses import dataclass, field

from ranvier.raft import (
    NONE,
    Config,
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    MemoryStorage,
    Message,
    MessageType,
    ProposalDropped,
    RawNode,
    Ready,
    Snapshot,
    SnapshotMetadata,
    StateType,
    describe_message,
)
from ranvier.testing.simnet import EventQueue, SimNetwork

# One tick is 500 ms of simulated time: heartbeats every 0.5 s, elections after
# 5-10 s of silence (hashicorp/raft's defaults are of this order).
TICK_MS = 500
DEFAULT_TICKS = 600  # 300 simulated seconds of faults per seed
HEAL_BOUND_TICKS = 120  # liveness bound after healing: 60 simulated seconds
MAX_MEMBERS = 5  # churn adds learners while the membership is smaller


class Violation(AssertionError):
    """A safety or liveness property failed."""


def entry_checksum(prev: int, e: Entry) -> int:
    head = b"%d:%d:%d:" % (e.term, e.index, e.type)
    return zlib.crc32(e.data, zlib.crc32(head, prev))


@dataclass
class SimNode:
    id: int
    storage: MemoryStorage
    node: RawNode | None = None
    # The toy state machine: last applied index and a running checksum.
    sm_index: int = 0
    sm_sum: int = 0
    decommissioned: bool = False
    restart_at: int | None = None

    @property
    def alive(self) -> bool:
        return self.node is not None


@dataclass
class SimParams:
    """Everything a seed decides up front."""

    initial_voters: int
    pre_vote: bool
    check_quorum: bool
    max_inflight: int
    max_msg_size: int
    chunk_size: int
    snapshot_every: int
    client_every: int  # ms between client proposals
    churn: bool

    @staticmethod
    def draw(rng: random.Random) -> SimParams:
        return SimParams(
            initial_voters=rng.choice([1, 3, 3, 3, 4, 5, 5]),
            pre_vote=rng.random() < 0.8,
            check_quorum=rng.random() < 0.8,
            max_inflight=rng.choice([1, 2, 4, 16, 256]),
            max_msg_size=rng.choice([64, 256, 4096, 1 << 20]),
            chunk_size=rng.choice([128, 512, 2048]),
            snapshot_every=rng.choice([5, 20, 50, 200]),
            client_every=rng.choice([100, 250, 500, 1000, 2000]),
            churn=rng.random() < 0.7,
        )


@dataclass
class Stats:
    elections: int = 0
    crashes: int = 0
    conf_changes: int = 0
    snapshots_sent: int = 0  # snapshots installed by followers
    committed: int = 0
    reads: int = 0


class Simulation:
    def __init__(self, seed: int, ticks: int = DEFAULT_TICKS, trace: bool = False) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.params = SimParams.draw(self.rng)
        self.net = SimNetwork(random.Random(self.rng.getrandbits(64)))
        self.fault_ms = ticks * TICK_MS
        self.now = 0
        self.timers: EventQueue[tuple[str, int]] = EventQueue()
        self.nodes: dict[int, SimNode] = {}
        self.trace: deque[str] = deque(maxlen=400 if trace else 60)
        self.stats = Stats()
        # Ground truth gathered from every node.
        self.leaders: dict[int, int] = {}  # term -> leader id
        self.applied_sum: dict[int, int] = {}  # index -> checksum after applying it
        self.committed_term: dict[int, int] = {}  # index -> term of the committed entry
        self.max_committed = 0
        self.pending: dict[int, int] = {}  # op id -> time first proposed
        # ReadIndex requests: ctx -> highest index known committed when issued.
        self.reads: dict[bytes, int] = {}
        self.reads_served = 0
        self.next_op = 1
        self.healing = False
        self._bootstrap()

    # ---- setup ----

    def _bootstrap(self) -> None:
        voters = frozenset(range(1, self.params.initial_voters + 1))
        base = entry_checksum(0, Entry(1, 1))
        self.applied_sum[1] = base
        for nid in sorted(voters):
            storage = MemoryStorage()
            meta = SnapshotMetadata(1, 1, ConfState(voters))
            storage.apply_snapshot(Snapshot(meta, self._sm_image(1, base)))
            self.add_node(nid, storage)
        self.timers.push(0, ("client", 0))
        self.timers.push(1000, ("nemesis", 0))
        self.timers.push(1000, ("check", 0))

    def config(self, nid: int, applied: int) -> Config:
        p = self.params
        return Config(
            id=nid, rng=random.Random(self.rng.getrandbits(64)), election_tick=10,
            heartbeat_tick=1, applied=applied, max_size_per_msg=p.max_msg_size,
            max_inflight_msgs=p.max_inflight, check_quorum=p.check_quorum,
            pre_vote=p.pre_vote, snapshot_chunk_size=p.chunk_size,
        )

    def _sm_image(self, index: int, checksum: int) -> bytes:
        # Padding makes snapshots span several chunks.
        return b"%d %d\n" % (index, checksum) + b"x" * min(index * 3, 2000)

    # ---- node lifecycle ----

    def add_node(self, nid: int, storage: MemoryStorage) -> SimNode:
        n = self.nodes[nid] = SimNode(nid, storage)
        self.start(n)
        self.timers.push(self.now + self.rng.randrange(TICK_MS), ("tick", nid))
        return n

    def start(self, n: SimNode) -> None:
        """(Re)start a node from what its storage holds; volatile state is gone."""
        snap = n.storage.snapshot()
        n.sm_index, n.sm_sum = 0, 0
        if not snap.is_empty:
            n.sm_index, n.sm_sum = self._restore_image(snap)
        n.node = RawNode(self.config(n.id, n.sm_index), n.storage)
        n.restart_at = None
        self.log(f"{n.id} started at applied {n.sm_index}")

    def crash(self, n: SimNode, why: str) -> None:
        n.node = None
        self.stats.crashes += 1
        n.restart_at = self.now + self.rng.randint(500, 10000)
        self.log(f"{n.id} crashed ({why})")

    def decommission(self, nid: int) -> None:
        """A removed member is shut down for good. Its id is never reused: a
        new node with an old id and an empty disk could vote twice in a term
        it already voted in, or complete a stale configuration's quorum (found
        by seed 18 before ids were retired; etcd never reuses member ids)."""
        n = self.nodes[nid]
        n.node = None
        n.decommissioned = True
        self.log(f"{nid} decommissioned")

    # ---- the Ready loop (rawnode.py's ordering rule) ----

    def drain(self, n: SimNode) -> None:
        while n.node is not None and n.node.has_ready():
            rd = n.node.ready()
            if self._maybe_crash_mid_ready(n, "before persist"):
                return
            self.persist(n, rd)
            if self._maybe_crash_mid_ready(n, "after persist"):
                return
            for m in rd.messages:
                self.check_durable(n, m)
                self.net.send(m, self.now)
            if rd.soft_state is not None:
                self.on_soft_state(n)
            self.apply(n, rd)
            self.check_reads(n, rd)
            n.node.advance(rd)
            self.maybe_snapshot(n)

    def _maybe_crash_mid_ready(self, n: SimNode, point: str) -> bool:
        if self.healing or self.rng.random() >= 0.0005:
            return False
        self.crash(n, point)
        return True

    def persist(self, n: SimNode, rd: Ready) -> None:
        s = n.storage
        if rd.snapshot is not None:
            s.apply_snapshot(rd.snapshot)
            self.stats.snapshots_sent += 1
        s.append(rd.entries)
        if rd.hard_state is not None:
            old, new = s.hard_state, rd.hard_state
            if new.term < old.term or new.commit < old.commit:
                raise Violation(f"{n.id} hard state regressed: {old} -> {new}")
            if new.term == old.term and old.vote != NONE and new.vote != old.vote:
                raise Violation(f"{n.id} voted twice in term {new.term}: {old.vote} then {new.vote}")
            s.set_hard_state(new)

    def check_durable(self, n: SimNode, m: Message) -> None:
        """A message may only vouch for state already persisted (P2, P4)."""
        hs = n.storage.hard_state
        t = m.type
        if t in (MessageType.PRE_VOTE, MessageType.PRE_VOTE_RESP, MessageType.READ_INDEX):
            return
        if m.term > hs.term:
            raise Violation(f"{n.id} sent term {m.term} before persisting it: {describe_message(m)}")
        if t == MessageType.VOTE and hs.vote != n.id:
            raise Violation(f"{n.id} requested votes before persisting its own vote")
        if t == MessageType.VOTE_RESP and not m.reject and (hs.vote, hs.term) != (m.to, m.term):
            raise Violation(f"{n.id} granted a vote before persisting it: {describe_message(m)}")
        if t == MessageType.APP_RESP and not m.reject and m.index > n.storage.last_index():
            raise Violation(f"{n.id} acked index {m.index} beyond its durable log")

    def on_soft_state(self, n: SimNode) -> None:
        assert n.node is not None
        r = n.node.raft
        if r.state != StateType.LEADER:
            return
        self.stats.elections += 1
        other = self.leaders.setdefault(r.term, n.id)
        if other != n.id:
            raise Violation(f"two leaders in term {r.term}: {other} and {n.id}")
        self.log(f"{n.id} became leader of term {r.term}")
        c = self.max_committed
        if c and c >= r.log.first_index() and r.log.term_or_zero(c) != self.committed_term[c]:
            raise Violation(f"leader {n.id} of term {r.term} lacks committed entry {c}")

    def apply(self, n: SimNode, rd: Ready) -> None:
        assert n.node is not None
        if rd.snapshot is not None:
            n.sm_index, n.sm_sum = self._restore_image(rd.snapshot)
        for e in rd.committed_entries:
            if e.index != n.sm_index + 1:
                raise Violation(f"{n.id} applied {e.index} after {n.sm_index}")
            n.sm_index, n.sm_sum = e.index, entry_checksum(n.sm_sum, e)
            first = e.index not in self.applied_sum
            self._record_applied(n, e)
            if e.type == EntryType.CONF_CHANGE:
                self.apply_conf_change(n, ConfChange.decode(e.data), first)
            elif e.data.startswith(b"op"):
                self.pending.pop(int(e.data[2:]), None)

    def check_reads(self, n: SimNode, rd: Ready) -> None:
        """Linearizable reads (thesis §6.4): a read point may not precede any
        entry known committed when the read was issued."""
        for rs in rd.read_states:
            floor = self.reads.pop(rs.request_ctx, None)
            if floor is not None and rs.index < floor:
                raise Violation(f"{n.id} read index {rs.index} below committed {floor}")
            self.reads_served += 1

    def issue_read(self) -> None:
        live = [n for n in self.nodes.values() if n.node is not None]
        if not live:
            return
        n = self.rng.choice(live)
        ctx = b"read-%d-%d" % (self.now, len(self.reads))
        self.reads[ctx] = self.max_committed
        assert n.node is not None
        n.node.read_index(ctx)
        self.drain(n)

    def _record_applied(self, n: SimNode, e: Entry) -> None:
        known = self.applied_sum.setdefault(e.index, n.sm_sum)
        if known != n.sm_sum:
            raise Violation(f"{n.id} applied a different entry or history at {e.index}: {e}")
        self.committed_term.setdefault(e.index, e.term)
        if e.index > self.max_committed:
            self.max_committed = e.index
            self.stats.committed += 1

    def _restore_image(self, snap: Snapshot) -> tuple[int, int]:
        head = snap.data.split(b"\n", 1)[0].split()
        index, checksum = int(head[0]), int(head[1])
        if index != snap.metadata.index or self.applied_sum.get(index, checksum) != checksum:
            raise Violation(f"snapshot at {snap.metadata.index} holds a different state")
        return index, checksum

    def apply_conf_change(self, n: SimNode, cc: ConfChange, first: bool) -> None:
        """Adopt cc on n; the first time anyone applies a removal, the removed
        node is shut down (replays after restarts must not do it again)."""
        assert n.node is not None
        n.node.apply_conf_change(cc)
        target = self.nodes.get(cc.node_id)
        if cc.type == ConfChangeType.REMOVE_NODE and first and target and not target.decommissioned:
            # Not now: the node may be the one applying this very entry.
            target.decommissioned = True
            self.timers.push(self.now, ("decommission", cc.node_id))

    def maybe_snapshot(self, n: SimNode) -> None:
        s = n.storage
        snap_index = s.snapshot().metadata.index
        if n.node is None or n.sm_index - snap_index < self.params.snapshot_every:
            return
        cs = n.node.status().conf_state
        s.create_snapshot(n.sm_index, cs, self._sm_image(n.sm_index, n.sm_sum))
        s.compact(max(s.first_index(), n.sm_index - self.rng.randint(0, 10)))

    # ---- events ----

    def run(self) -> None:
        end = self.fault_ms
        self.run_until(end)
        self.heal()
        deadline = end + HEAL_BOUND_TICKS * TICK_MS
        while self.now < deadline:
            self.run_until(self.now + TICK_MS)
            if self.converged():
                return
        raise Violation(f"no convergence within {HEAL_BOUND_TICKS} ticks after healing: {self.why_not()}")

    def run_until(self, t: int) -> None:
        net = self.net.queue
        while True:
            tn, tt = net.peek_time(), self.timers.peek_time()
            if tn is not None and tn <= t and (tt is None or tn <= tt):
                self.now, m = net.pop()
                self.deliver(m)
            elif tt is not None and tt <= t:
                self.now, (kind, nid) = self.timers.pop()
                self.fire(kind, nid)
            else:
                self.now = t
                return

    def deliver(self, m: Message) -> None:
        n = self.nodes[m.to]
        if n.node is None or not self.net.deliverable(m):
            return
        n.node.step(m)
        self.drain(n)

    def fire(self, kind: str, nid: int) -> None:
        if kind == "tick":
            self.timers.push(self.now + TICK_MS, ("tick", nid))
            self.tick(self.nodes[nid])
        elif kind == "client":
            self.timers.push(self.now + self.params.client_every, ("client", 0))
            self.client()
        elif kind == "nemesis":
            self.timers.push(self.now + self.rng.randint(1000, 8000), ("nemesis", 0))
            if not self.healing:
                self.nemesis()
        elif kind == "decommission":
            self.decommission(nid)
        elif kind == "check":
            self.timers.push(self.now + 2000, ("check", 0))
            self.check_log_matching()

    def tick(self, n: SimNode) -> None:
        if n.node is None:
            if n.restart_at is not None and self.now >= n.restart_at and not n.decommissioned:
                self.start(n)
            return
        n.node.tick()
        self.drain(n)

    # ---- client, churn and transfers ----

    def leader(self) -> SimNode | None:
        best: SimNode | None = None
        for n in self.nodes.values():
            if n.node is not None and n.node.raft.state == StateType.LEADER:
                if best is None or n.node.raft.term > best.node.raft.term:  # type: ignore[union-attr]
                    best = n
        return best

    def client(self) -> None:
        lead = self.leader()
        if lead is None or lead.node is None:
            return
        if len(self.pending) < 50 and not self.healing:
            op = self.next_op
            self.next_op += 1
            self.pending[op] = self.now
        stale = [op for op, t in self.pending.items() if self.now - t >= 2000 or t == self.now]
        self._propose(lead, stale[:10])
        if self.rng.random() < 0.2:
            self.issue_read()
            if lead.node is None:
                return  # the read's Ready crashed the leader (seed 103528)
        if not self.healing and self.rng.random() < 0.02:
            self.churn(lead)
        if not self.healing and self.rng.random() < 0.005:
            target = self.rng.choice(sorted(lead.node.status().conf_state.voters))
            self.log(f"transfer leadership {lead.id} -> {target}")
            lead.node.transfer_leader(target)
        self.drain(lead)

    def _propose(self, lead: SimNode, ops: list[int]) -> None:
        assert lead.node is not None
        for op in ops:
            self.pending[op] = self.now
        datas = [b"op%d" % op for op in ops]
        try:
            if len(datas) > 1 and self.rng.random() < 0.5:
                lead.node.propose_batch(datas)
            else:
                for d in datas:
                    lead.node.propose(d)
        except ProposalDropped:
            pass

    def churn(self, lead: SimNode) -> None:
        """One single-server membership change (P10)."""
        if not self.params.churn or lead.node is None:
            return
        cs = lead.node.status().conf_state
        fresh = max(self.nodes) + 1
        options: list[ConfChange] = []
        if len(cs.voters) + len(cs.learners) < MAX_MEMBERS:
            options.append(ConfChange(ConfChangeType.ADD_LEARNER, fresh))
        options += [ConfChange(ConfChangeType.ADD_VOTER, i) for i in cs.learners]
        options += [ConfChange(ConfChangeType.REMOVE_NODE, i) for i in cs.learners]
        if len(cs.voters) > 3:
            options += [ConfChange(ConfChangeType.REMOVE_NODE, i) for i in cs.voters]
            options += [ConfChange(ConfChangeType.ADD_LEARNER, i) for i in cs.voters]
        if not options:
            return
        cc = self.rng.choice(options)
        try:
            lead.node.propose_conf_change(cc)
        except ProposalDropped:
            return
        self.stats.conf_changes += 1
        self.log(f"{lead.id} proposed {cc}")
        if cc.node_id == fresh:
            self.add_node(fresh, MemoryStorage())

    # ---- nemesis ----

    def nemesis(self) -> None:
        ids = sorted(i for i, n in self.nodes.items() if not n.decommissioned)
        rng = self.rng
        if len(ids) < 2:
            ids = ids + [max(self.nodes) + 1]  # a phantom peer keeps the choices valid
        action = rng.choice(
            ["heal", "partition", "isolate-leader", "one-way", "bridge", "flaky",
             "calm", "crash", "crash", "restart"]
        )
        self.log(f"nemesis: {action}")
        if action == "heal":
            self.net.heal()
        elif action == "partition":
            shuffled = ids[:]
            rng.shuffle(shuffled)
            k = rng.randint(1, len(ids) - 1)
            self.net.partition([shuffled[:k], shuffled[k:]])
        elif action == "isolate-leader":
            lead = self.leader()
            if lead is not None:
                self.net.partition([[lead.id], [i for i in ids if i != lead.id]])
        elif action == "one-way":
            a, b = rng.sample(ids, 2)
            self.net.cut_one_way(a, b)
        elif action == "bridge":
            self.net.bridge(ids, rng.choice(ids))
        elif action == "flaky":
            f = self.net.faults
            f.loss, f.duplicate = rng.choice([0.0, 0.05, 0.2, 0.4]), rng.choice([0.0, 0.05, 0.2])
            f.min_delay, f.max_delay = 1, rng.choice([5, 100, 1000])
        elif action == "calm":
            f = self.net.faults
            f.loss = f.duplicate = 0.0
            f.min_delay, f.max_delay = 1, 20
        elif action == "crash":
            live = [n for n in self.nodes.values() if n.alive]
            if live:
                self.crash(rng.choice(live), "nemesis")
        else:
            for n in self.nodes.values():
                if n.node is None and not n.decommissioned:
                    self.start(n)

    def heal(self) -> None:
        self.healing = True
        self.log("heal: network repaired, crashed members restart")
        self.net.heal()
        f = self.net.faults
        f.loss = f.duplicate = 0.0
        f.min_delay, f.max_delay = 1, 20
        for n in self.nodes.values():
            if n.node is None and not n.decommissioned:
                self.start(n)

    # ---- checks ----

    def check_log_matching(self) -> None:
        """Log Matching (§5.3): same (index, term) means same entry and same prefix."""
        logs = []
        for n in self.nodes.values():
            s = n.storage
            if s.last_index() >= s.first_index():
                logs.append((n.id, s, s.first_index(), s.last_index()))
        for i, (a, sa, fa, la) in enumerate(logs):
            for b, sb, fb, lb in logs[i + 1 :]:
                self._match_pair(a, sa, b, sb, max(fa, fb), min(la, lb))

    def _match_pair(self, a: int, sa: MemoryStorage, b: int, sb: MemoryStorage, lo: int, hi: int) -> None:
        if lo > hi:
            return
        ea = sa.entries(lo, hi + 1, 1 << 62)
        eb = sb.entries(lo, hi + 1, 1 << 62)
        matched = False
        for x, y in zip(reversed(ea), reversed(eb)):
            if matched or x.term == y.term:
                matched = True
                if x != y:
                    raise Violation(f"log matching broken between {a} and {b} at {x.index}: {x} vs {y}")

    def members(self) -> list[SimNode]:
        lead = self.leader()
        if lead is None or lead.node is None:
            return []
        cs = lead.node.status().conf_state
        return [self.nodes[i] for i in sorted(cs.voters | cs.learners)]

    def converged(self) -> bool:
        lead = self.leader()
        if lead is None or lead.node is None or self.pending:
            return False
        commit = lead.node.raft.log.committed
        if lead.node.raft.log.term_or_zero(commit) != lead.node.raft.term or commit < self.max_committed:
            return False
        return all(n.alive and n.sm_index == commit for n in self.members())

    def why_not(self) -> str:
        lead = self.leader()
        if lead is None:
            return "no leader"
        states = ", ".join(f"{n.id}: applied {n.sm_index} alive {n.alive}" for n in self.members())
        return f"leader {lead.id}, {len(self.pending)} pending, {states}"

    def log(self, line: str) -> None:
        self.trace.append(f"{self.now:>8}ms {line}")


@dataclass
class SeedResult:
    seed: int
    error: str = ""
    trace: list[str] = field(default_factory=list)
    simulated_ms: int = 0
    stats: Stats = field(default_factory=Stats)


def run_seed(seed: int, ticks: int = DEFAULT_TICKS, trace: bool = False) -> SeedResult:
    sim = Simulation(seed, ticks, trace)
    try:
        sim.run()
    except Exception as e:  # any crash of the core is a failure of the seed
        return SeedResult(seed, f"{type(e).__name__}: {e}", list(sim.trace), sim.now, sim.stats)
    sim.stats.reads = sim.reads_served
    return SeedResult(seed, simulated_ms=sim.now, stats=sim.stats)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ranvier.testing.raftsim", description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=100, help="number of seeds to run")
    ap.add_argument("--start", type=int, default=0, help="first seed")
    ap.add_argument("--seed", type=int, default=None, help="replay exactly this seed")
    ap.add_argument("--ticks", type=int, default=DEFAULT_TICKS, help="ticks (100 ms) of faults per seed")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the trace of a failing seed")
    args = ap.parse_args(argv)
    seeds = [args.seed] if args.seed is not None else list(range(args.start, args.start + args.seeds))
    failures: list[SeedResult] = []
    simulated = 0
    total = Stats()
    for seed in seeds:
        res = run_seed(seed, args.ticks, trace=args.verbose)
        simulated += res.simulated_ms
        for k in vars(total):
            setattr(total, k, getattr(total, k) + getattr(res.stats, k))
        if res.error:
            failures.append(res)
            print(f"FAIL seed {seed}: {res.error}", flush=True)
            if args.verbose:
                print("\n".join(res.trace))
            print(f"  replay: python -m ranvier.testing.raftsim --seed {seed} --ticks {args.ticks} -v", flush=True)
    print(
        f"  totals: {total.elections} elections, {total.crashes} crashes, {total.conf_changes} "
        f"membership changes, {total.snapshots_sent} snapshots installed, "
        f"{total.committed} entries committed, {total.reads} reads checked"
    )
    print(f"raftsim: {len(seeds)} seeds, {simulated / 1000:.0f} simulated seconds, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
