"""`ranvier dev-cluster --nodes 3` as a user runs it: one command, three initialised
nodes, appends through two of them, SIGTERM stops everything with exit code 0; a
second run on the same data directory comes up without initialising again."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from uuid import uuid4

from axonclient.client import AxonClient, AxonEvent

from ranvier.testing.cluster import get_json, wait_until

NODES = 3


def free_base_port() -> int:
    for _ in range(200):
        base = random.randrange(20000, 50000)
        ports = [base + offset + i for offset in (0, 100, 200) for i in range(NODES)]
        try:
            for port in ports:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


class DevCluster:
    def __init__(self, data_dir: Path, base: int) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ranvier", "dev-cluster", "--nodes", str(NODES), "--base-port", str(base),
             "--data-dir", str(data_dir), "--timeout", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self) -> None:
        def ready() -> bool:
            assert self.process.poll() is None, f"dev-cluster exited early:\n{self.output}"
            return any(line.startswith("Ready.") for line in self.lines)

        wait_until(ready, 70, "dev-cluster readiness")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(40)
        self._reader.join(5)
        return code


def event(agg: str, seq: int) -> AxonEvent:
    return AxonEvent(aggregate_identifier=agg, aggregate_sequence_number=seq, aggregate_type="Order",
                     payload_type="OrderEvent", payload_data=b"x" * 32)


def test_dev_cluster_starts_serves_stops_and_restarts(tmp_path: Path) -> None:
    base = free_base_port()
    data_dir = tmp_path / "dev"
    grpc = [f"127.0.0.1:{base + 100 + i}" for i in range(NODES)]
    http = [f"http://127.0.0.1:{base + i}" for i in range(NODES)]

    cluster = DevCluster(data_dir, base)
    try:
        cluster.wait_ready()
        out = cluster.output
        for i in range(NODES):
            assert f"node{i + 1}" in out and grpc[i] in out and http[i] in out
        assert "context default: leader node" in out

        agg = str(uuid4())
        AxonClient(grpc[0]).append_event([event(agg, 0)])
        AxonClient(grpc[2]).append_event([event(agg, 1)])
        contexts = get_json(http[1] + "/v1/public/context")
        assert [(c["context"], sorted(c["nodes"])) for c in contexts] == [  # type: ignore[union-attr]
            ("default", ["node1", "node2", "node3"])]
        for address in grpc:
            wait_until(lambda a=address: AxonClient(a).get_last_token() == 1, what=f"{address} applied")
    finally:
        if cluster.process.poll() is None:
            assert cluster.stop() == 0, cluster.output
    assert "Stopping the cluster" in cluster.output

    # Same data directory: already initialised, nothing re-applied, the events are there.
    again = DevCluster(data_dir, base)
    try:
        again.wait_ready()
        assert AxonClient(grpc[1]).get_last_token() == 1
        for i in range(NODES):
            log = (data_dir / f"node{i + 1}" / "node.log").read_text()
            assert "configuration not re-applied" in log
    finally:
        if again.process.poll() is None:
            assert again.stop() == 0, again.output
