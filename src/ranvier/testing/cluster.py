"""Real multi-node clusters on loopback, for tests and benchmarks.

`form_cluster` starts N non-standalone nodes, runs `ranvier-cli init-cluster` on the
first and `register-node` on the others, and waits until `_admin` and `default` have
every node as a voter. Raft timings are shortened (`FAST_RAFT`) so elections take
about a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ranvier.testing.nodes import NodeProcess

FAST_RAFT = {
    "axoniq.axonserver.replication.heartbeat-timeout": "100",
    "axoniq.axonserver.replication.min-election-timeout": "500",
    "axoniq.axonserver.replication.max-election-timeout": "1000",
    "axoniq.axonserver.replication.wait-for-leader-timeout": "8000",
}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ranvier.cli", *args], capture_output=True, text=True, timeout=60)


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def group_status(node: NodeProcess, group: str) -> dict[str, object]:
    """The node's `/internal/raft/status` entry for `group`; {} if it has none."""
    for entry in get_json(node.http_url + "/internal/raft/status"):  # type: ignore[union-attr]
        if entry["group"] == group:
            return entry  # type: ignore[no-any-return]
    return {}


def wait_until(
    condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition",
    nodes: Sequence[NodeProcess] = (),
) -> None:
    """Poll `condition` until true; on timeout, print each node's Raft status and log
    tail (the diagnosis) and fail."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            for node in nodes:
                try:
                    print(node.name, get_json(node.http_url + "/internal/raft/status"))
                except OSError as exc:
                    print(node.name, "unreachable:", exc)
                print(node.log_tail(15))
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def cluster_nodes(root: Path, names: Sequence[str], properties: dict[str, str] | None = None) -> list[NodeProcess]:
    return [
        NodeProcess(root, name=name, standalone=False, properties={
            **FAST_RAFT,
            "axoniq.axonserver.internal-hostname": "127.0.0.1",
            "axoniq.axonserver.replication.log-storage-folder": str(root / name / "log"),
            **(properties or {}),
        })
        for name in names
    ]


def form_cluster(nodes: Sequence[NodeProcess], timeout: float = 60.0) -> None:
    """Start the nodes and join them into one cluster with `default` on all."""
    for node in nodes:
        node.start()
    first, *others = nodes
    done = cli("init-cluster", "-S", first.http_url)
    if done.returncode != 0:
        raise AssertionError(f"init-cluster failed: {done.stderr}")
    for joining in others:
        done = cli("register-node", "-S", joining.http_url, "-h", "127.0.0.1", "-p", str(first.internal_port))
        if done.returncode != 0:
            raise AssertionError(f"register-node {joining.name} failed: {done.stderr}")
    names = sorted(n.name for n in nodes)
    wait_until(lambda: all(group_status(n, g).get("voters") == names for n in nodes for g in ("_admin", "default")),
               timeout, "every node a voter of _admin and default", nodes)


@contextmanager
def formed_cluster(root: Path, names: Sequence[str], properties: dict[str, str] | None = None) -> Iterator[list[NodeProcess]]:
    """Nodes started and formed into one cluster (`form_cluster`); killed on exit."""
    nodes = cluster_nodes(root, names, properties)
    try:
        form_cluster(nodes)
        yield nodes
    finally:
        for node in nodes:
            node.kill()


def leader_of(nodes: Sequence[NodeProcess], group: str = "default") -> NodeProcess | None:
    """The node that leads `group`, as a live member reports it."""
    for node in nodes:
        try:
            name = group_status(node, group).get("leader")
        except OSError:
            continue
        for candidate in nodes:
            if candidate.name == name:
                return candidate
    return None
