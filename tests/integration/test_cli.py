"""ranvier-cli against a real node: output, JSON mode, and axonserver-cli's exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ranvier.testing.nodes import NodeProcess


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ranvier.cli", *args], capture_output=True, text=True, timeout=60)


def test_init_cluster_on_a_fresh_node_then_list(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path, standalone=False)
    node.start()
    try:
        assert json.loads(cli("contexts", "-S", node.http_url, "-o", "json").stdout) == []
        done = cli("init-cluster", "-S", node.http_url, "-c", "orders")
        assert done.returncode == 0, done.stderr
        table = cli("contexts", "-S", node.http_url).stdout
        assert "orders" in table and "node1[PRIMARY]" in table
        nodes = json.loads(cli("cluster", "-S", node.http_url, "-o", "json").stdout)
        assert [n["name"] for n in nodes] == ["node1"]
        bad = cli("init-cluster", "-S", node.http_url, "-c", "9-not-a-name")
        assert bad.returncode == 400 % 256  # axonserver-cli exits with the HTTP status mod 256
        assert "AXONIQ-2308" in bad.stderr
    finally:
        node.kill()


def test_unreachable_server_exits_1() -> None:
    done = cli("cluster", "-S", "http://127.0.0.1:1")
    assert done.returncode == 1
    assert "Error processing command 'cluster'" in done.stderr
