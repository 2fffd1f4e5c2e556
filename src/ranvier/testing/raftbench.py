"""Throughput of the Raft core alone: entries committed per second.

Three RawNodes over a zero-latency, lossless in-memory network, each with a
MemoryStorage; every Ready is persisted, its messages delivered and its
committed entries applied (counted). The client proposes batches of entries to
the leader and waits for them to commit before proposing the next batch, so
the figure includes replication, acknowledgement and commit, not just appends.

    python -m ranvier.testing.raftbench [--entries 200000] [--batch 1000] [--size 64]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import deque

from ranvier.raft import Config, ConfState, MemoryStorage, Message, RawNode, Snapshot, SnapshotMetadata, StateType


class BenchCluster:
    def __init__(self, n: int = 3) -> None:
        voters = frozenset(range(1, n + 1))
        self.storages = {}
        self.nodes: dict[int, RawNode] = {}
        for nid in voters:
            s = MemoryStorage()
            s.apply_snapshot(Snapshot(SnapshotMetadata(1, 1, ConfState(voters))))
            self.storages[nid] = s
            self.nodes[nid] = RawNode(Config(id=nid, rng=random.Random(nid)), s)
        self.inbox: deque[Message] = deque()
        self.applied = {nid: 0 for nid in voters}

    def pump(self) -> None:
        """Process Readys and deliver messages until the cluster is quiet."""
        nodes, inbox = self.nodes, self.inbox
        busy = True
        while busy:
            busy = False
            for nid, node in nodes.items():
                while node.has_ready():
                    busy = True
                    self.handle_ready(nid, node)
            while inbox:
                busy = True
                m = inbox.popleft()
                nodes[m.to].step(m)

    def handle_ready(self, nid: int, node: RawNode) -> None:
        rd = node.ready()
        s = self.storages[nid]
        if rd.entries:
            s.append(rd.entries)
        if rd.hard_state is not None:
            s.set_hard_state(rd.hard_state)
        self.inbox.extend(rd.messages)
        if rd.committed_entries:
            self.applied[nid] = rd.committed_entries[-1].index
        node.advance(rd)

    def elect(self, nid: int = 1) -> RawNode:
        self.nodes[nid].campaign()
        self.pump()
        leader = self.nodes[nid]
        assert leader.raft.state == StateType.LEADER
        return leader


def run(entries: int, batch: int, size: int) -> tuple[int, float]:
    cluster = BenchCluster()
    leader = cluster.elect()
    payload = [b"x" * size] * batch
    start_index = leader.raft.log.committed
    t0 = time.perf_counter()
    proposed = 0
    while proposed < entries:
        leader.propose_batch(payload)
        proposed += batch
        cluster.pump()
    elapsed = time.perf_counter() - t0
    committed = leader.raft.log.committed - start_index
    assert min(cluster.applied.values()) >= leader.raft.log.committed
    return committed, elapsed


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m ranvier.testing.raftbench")
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1000, help="entries per proposal batch")
    ap.add_argument("--size", type=int, default=64, help="bytes per entry")
    args = ap.parse_args(argv)
    committed, elapsed = run(args.entries, args.batch, args.size)
    print(
        f"raftbench: 3 nodes, zero-latency network, batch {args.batch} x {args.size} B: "
        f"{committed} entries committed and applied on all nodes in {elapsed:.3f} s "
        f"= {committed / elapsed:,.0f} entries/s"
    )


if __name__ == "__main__":
    main()
