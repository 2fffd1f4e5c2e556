"""The interaction environment behind tests/raft/testdata/*.txt (etcd's rafttest shape).

Each command is one method `cmd_<name>`; its docstring carries an Example line.
Every node's Ready is persisted to its MemoryStorage, its committed entries
applied (membership changes included), and its messages queued until a
`deliver-msgs` or `stabilize` hands them over. Elections are deterministic:
the rng always draws 0, so the election timeout is exactly election_tick.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ranvier.raft import (
    Config,
    ConfChange,
    ConfChangeType,
    ConfState,
    EntryType,
    MemoryStorage,
    Message,
    ProposalDropped,
    RawNode,
    Ready,
    Snapshot,
    SnapshotMetadata,
    describe_entry,
    describe_hard_state,
    describe_message,
    describe_ready,
)
from ranvier.raft.describe import describe_conf_state
from ranvier.testing.datadriven import ScriptCase


class ZeroRng:
    """Deterministic elections for transcripts: timeouts are exactly election_tick."""

    def randrange(self, start: int, stop: int) -> int:
        return start


@dataclass
class EnvNode:
    node: RawNode
    storage: MemoryStorage
    config: Config
    # (index, data) of applied normal entries: the toy state machine.
    applied: list[tuple[int, bytes]] = field(default_factory=list)


class InteractionEnv:
    def __init__(self) -> None:
        self.nodes: dict[int, EnvNode] = {}
        self.messages: list[Message] = []
        self.isolated: set[int] = set()
        self.out: list[str] = []

    # ---- dispatch ----

    def handle(self, case: ScriptCase) -> str:
        self.out = []
        handler: Callable[[ScriptCase], None] | None = getattr(
            self, "cmd_" + case.cmd.replace("-", "_"), None
        )
        if handler is None:
            raise ValueError(f"{case.pos}: unknown command {case.cmd}")
        try:
            handler(case)
        except ProposalDropped as e:
            self.out.append(f"ProposalDropped: {e}")
        return "\n".join(self.out)

    def ids(self, case: ScriptCase) -> list[int]:
        ids = [int(w) for w in case.positional() if w.isdigit()]
        return ids or sorted(self.nodes)

    # ---- commands ----

    def cmd_add_nodes(self, case: ScriptCase) -> None:
        """Example: add-nodes 3 voters=(1,2,3) learners=(4) index=2 pre-vote=false check-quorum=false
        Bootstraps each new node from a snapshot at `index` (term 1) holding the
        membership; nodes outside any membership start empty."""
        count = int(case.positional()[0])
        voters = frozenset(int(v) for v in case.arg_list("voters"))
        learners = frozenset(int(v) for v in case.arg_list("learners"))
        index = int(case.arg("index", "1") or 1)
        for _ in range(count):
            nid = len(self.nodes) + 1
            storage = MemoryStorage()
            if voters or learners:
                meta = SnapshotMetadata(index, 1, ConfState(voters, learners))
                storage.apply_snapshot(Snapshot(meta, b""))
            cfg = Config(
                id=nid, rng=ZeroRng(), election_tick=10, heartbeat_tick=1,
                pre_vote=case.arg("pre-vote", "true") == "true",
                check_quorum=case.arg("check-quorum", "true") == "true",
                max_inflight_msgs=int(case.arg("max-inflight", "256") or 256),
                max_size_per_msg=int(case.arg("max-msg-size", str(1 << 20)) or 1),
                snapshot_chunk_size=8,
            )
            self.nodes[nid] = EnvNode(RawNode(cfg, storage), storage, cfg)
            self.out.append(f"INFO {nid} added: {self._conf(nid)}")

    def cmd_campaign(self, case: ScriptCase) -> None:
        """Example: campaign 1"""
        self.nodes[self.ids(case)[0]].node.campaign()

    def cmd_tick_election(self, case: ScriptCase) -> None:
        """Example: tick-election 1  (election_tick ticks)"""
        for nid in self.ids(case):
            for _ in range(self.nodes[nid].config.election_tick):
                self.nodes[nid].node.tick()

    def cmd_tick_heartbeat(self, case: ScriptCase) -> None:
        """Example: tick-heartbeat 1"""
        for nid in self.ids(case):
            for _ in range(self.nodes[nid].config.heartbeat_tick):
                self.nodes[nid].node.tick()

    def cmd_propose(self, case: ScriptCase) -> None:
        """Example: propose 1 hello"""
        nid, data = case.positional()[:2]
        index = self.nodes[int(nid)].node.propose(data.encode())
        self.out.append(f"proposed at index {index}")

    def cmd_propose_conf_change(self, case: ScriptCase) -> None:
        """Example: propose-conf-change 1 v4  (v: voter, l: learner, r: remove)"""
        nid, change = case.positional()[:2]
        kind = {"v": ConfChangeType.ADD_VOTER, "l": ConfChangeType.ADD_LEARNER,
                "r": ConfChangeType.REMOVE_NODE}[change[0]]
        index = self.nodes[int(nid)].node.propose_conf_change(ConfChange(kind, int(change[1:])))
        self.out.append(f"proposed at index {index}")

    def cmd_transfer_leadership(self, case: ScriptCase) -> None:
        """Example: transfer-leadership from=1 to=2"""
        self.nodes[int(case.arg("from") or 0)].node.transfer_leader(int(case.arg("to") or 0))

    def cmd_read_index(self, case: ScriptCase) -> None:
        """Example: read-index 1 ctx1"""
        nid, ctx = case.positional()[:2]
        self.nodes[int(nid)].node.read_index(ctx.encode())

    def cmd_process_ready(self, case: ScriptCase) -> None:
        """Example: process-ready 1 2"""
        for nid in self.ids(case):
            self.process_ready(nid)

    def cmd_deliver_msgs(self, case: ScriptCase) -> None:
        """Example: deliver-msgs 1 drop=(2) from=(3)  (messages to 1, only those
        from 3 if given; drop every message to 2)"""
        for nid in [int(v) for v in case.arg_list("drop")]:
            self.take_messages(nid, "dropping")
        senders = {int(v) for v in case.arg_list("from")} or None
        for nid in [int(w) for w in case.positional() if w.isdigit()]:
            self.deliver(nid, senders)

    def cmd_stabilize(self, case: ScriptCase) -> None:
        """Example: stabilize  (process and deliver until nothing is left)"""
        ids = self.ids(case)
        while True:
            busy = False
            for nid in ids:
                if self.nodes[nid].node.has_ready():
                    self.process_ready(nid)
                    busy = True
            for nid in ids:
                if any(m.to == nid for m in self.messages):
                    self.deliver(nid)
                    busy = True
            if not busy:
                return

    def cmd_restart(self, case: ScriptCase) -> None:
        """Example: restart 1  (crash and restart: only what the storage holds survives)"""
        for nid in self.ids(case):
            n = self.nodes[nid]
            n.node = RawNode(n.config, n.storage)
            data = n.storage.snapshot().data
            n.applied = [(0, d) for d in data.split(b",")] if data else []
            self.out.append(f"INFO {nid} restarted: {describe_hard_state(n.storage.hard_state)}")

    def cmd_isolate(self, case: ScriptCase) -> None:
        """Example: isolate 1  (drop every message to or from 1 on delivery)"""
        self.isolated.update(self.ids(case))

    def cmd_heal(self, case: ScriptCase) -> None:
        """Example: heal"""
        self.isolated.clear()

    def cmd_compact(self, case: ScriptCase) -> None:
        """Example: compact 1 5  (snapshot the state machine at applied index 5, drop the log)"""
        nid, index = (int(w) for w in case.positional()[:2])
        n = self.nodes[nid]
        data = b",".join(d for i, d in n.applied if i <= index)
        n.storage.create_snapshot(index, n.node.status().conf_state, data)
        n.storage.compact(index)
        self.out.append(f"snapshot at {index} with {len(data)}B; first index {n.storage.first_index()}")

    def cmd_raft_log(self, case: ScriptCase) -> None:
        """Example: raft-log 1  (the persisted log)"""
        s = self.nodes[self.ids(case)[0]].storage
        ents = s.entries(s.first_index(), s.last_index() + 1, 1 << 62) if s.last_index() >= s.first_index() else []
        self.out.extend(describe_entry(e) for e in ents)
        if not ents:
            self.out.append(f"log is empty: first index={s.first_index()}, last index={s.last_index()}")

    def cmd_raft_state(self, case: ScriptCase) -> None:
        """Example: raft-state"""
        for nid in sorted(self.nodes):
            st = self.nodes[nid].node.status()
            role = "Voter" if nid in st.conf_state.voters else "Learner" if nid in st.conf_state.learners else "-"
            self.out.append(
                f"{nid}: {st.soft_state.state.name} ({role}) Term:{st.hard_state.term} "
                f"Lead:{st.soft_state.lead} Commit:{st.hard_state.commit} Applied:{st.applied}"
            )

    def cmd_status(self, case: ScriptCase) -> None:
        """Example: status 1  (the leader's view of replication)"""
        r = self.nodes[self.ids(case)[0]].node.raft
        for nid, pr in sorted(r.trk.progress.items()):
            self.out.append(f"{nid}: {pr.state.name} match={pr.match} next={pr.next}"
                            + (" learner" if pr.is_learner else ""))

    def cmd_state_machine(self, case: ScriptCase) -> None:
        """Example: state-machine 2  (applied normal entries)"""
        n = self.nodes[self.ids(case)[0]]
        self.out.append(" ".join(f"{i}:{d.decode()}" for i, d in n.applied) or "<empty>")

    # ---- mechanics ----

    def process_ready(self, nid: int) -> None:
        n = self.nodes[nid]
        rd = n.node.ready()
        self.out.append(f"> {nid} handling Ready")
        self.out.extend("  " + line for line in describe_ready(rd).split("\n"))
        self.persist(n, rd)
        self.messages.extend(rd.messages)
        self.apply(n, rd)
        n.node.advance(rd)

    def persist(self, n: EnvNode, rd: Ready) -> None:
        if rd.snapshot is not None:
            n.storage.apply_snapshot(rd.snapshot)
        n.storage.append(rd.entries)
        if rd.hard_state is not None:
            n.storage.set_hard_state(rd.hard_state)

    def apply(self, n: EnvNode, rd: Ready) -> None:
        if rd.snapshot is not None:
            data = rd.snapshot.data
            n.applied = [(0, d) for d in data.split(b",")] if data else []
        for e in rd.committed_entries:
            if e.type == EntryType.CONF_CHANGE:
                cs = n.node.apply_conf_change(ConfChange.decode(e.data))
                self.out.append(f"  INFO {n.config.id} applied conf change: {describe_conf(cs)}")
            elif e.data:
                n.applied.append((e.index, e.data))

    def take_messages(self, to: int, verb: str, senders: set[int] | None = None) -> list[Message]:
        def wanted(m: Message) -> bool:
            return m.to == to and (senders is None or m.from_ in senders)

        taken = [m for m in self.messages if wanted(m)]
        self.messages = [m for m in self.messages if not wanted(m)]
        if verb == "dropping":
            for m in taken:
                self.out.append(f"  {describe_message(m)} DROPPED")
        return taken

    def deliver(self, to: int, senders: set[int] | None = None) -> None:
        msgs = self.take_messages(to, "delivering", senders)
        if not msgs:
            return
        self.out.append(f"> {to} receiving messages")
        for m in msgs:
            cut = m.to in self.isolated or m.from_ in self.isolated
            self.out.append(f"  {describe_message(m)}" + (" DROPPED" if cut else ""))
            if not cut:
                self.nodes[to].node.step(m)

    def _conf(self, nid: int) -> str:
        return describe_conf(self.nodes[nid].node.status().conf_state)


def describe_conf(cs: ConfState) -> str:
    return describe_conf_state(cs)


__all__ = ["InteractionEnv", "ZeroRng"]
