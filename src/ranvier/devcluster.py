"""`ranvier dev-cluster`: a local Ranvier cluster in one command, for trying it.

Starts N node processes (`python -m ranvier server`) on loopback, named
node1..nodeN, each with its own ports (HTTP base+i, client gRPC base+100+i,
internal gRPC base+200+i; Axon's 8024/8124/8224 by default) and its own data
directory under `--data-dir`. The nodes form the cluster by themselves through
autocluster (node1 runs init-cluster, the others register with it and join the
contexts), so a restart on the same data directory finds them initialised and
changes nothing. Once every node serves the contexts with a leader, it prints how
to reach each node and waits; Ctrl-C or SIGTERM stops all nodes and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

DEFAULT_BASE_PORT = 8024
HOST = "127.0.0.1"


@dataclass
class DevNode:
    name: str
    http_port: int
    grpc_port: int
    internal_port: int
    workdir: Path
    properties: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    @property
    def grpc_address(self) -> str:
        return f"{HOST}:{self.grpc_port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "node.log"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "ranvier", "server", *(f"--{k}={v}" for k, v in self.properties.items())]
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                args, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,  # Ctrl-C reaches us only; we stop the nodes in order
                preexec_fn=_die_with_parent,
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def _die_with_parent() -> None:
    """Linux: the node gets SIGTERM if dev-cluster dies without stopping it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort, other platforms
        pass


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ranvier dev-cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3, help="number of nodes (default 3)")
    parser.add_argument("--base-port", type=int, default=DEFAULT_BASE_PORT,
                        help="HTTP port of node1; gRPC is base+100, internal base+200 (default 8024)")
    parser.add_argument("--data-dir", type=Path, default=Path("./dev-cluster"),
                        help="one sub-directory per node (default ./dev-cluster)")
    parser.add_argument("--contexts", default="default",
                        help="comma-separated contexts every node serves (default: default)")
    parser.add_argument("--property", "-P", action="append", default=[], metavar="KEY=VALUE",
                        help="extra Axon Server property for every node (repeatable)")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the cluster (default 90)")
    args = parser.parse_args(argv)
    if args.nodes < 1:
        parser.error("--nodes must be at least 1")
    if not 1 <= args.base_port or args.base_port + 200 + args.nodes > 65535:
        parser.error("--base-port leaves no room for the nodes' ports")
    return args


def plan(args: argparse.Namespace) -> list[DevNode]:
    data_dir = args.data_dir.resolve()
    contexts = [c.strip() for c in args.contexts.split(",") if c.strip() and c.strip() != "_admin"]
    first = f"{HOST}:{args.base_port + 200}"
    extra = dict(p.split("=", 1) for p in args.property if "=" in p)
    nodes = []
    for i in range(args.nodes):
        name = f"node{i + 1}"
        node = DevNode(name, args.base_port + i, args.base_port + 100 + i, args.base_port + 200 + i, data_dir / name)
        node.properties = {
            "axoniq.axonserver.name": name,
            "axoniq.axonserver.hostname": HOST,
            "axoniq.axonserver.internal-hostname": HOST,
            "axoniq.axonserver.port": str(node.grpc_port),
            "axoniq.axonserver.internal-port": str(node.internal_port),
            "server.port": str(node.http_port),
            "server.address": HOST,
            "axoniq.axonserver.standalone": "false",
            "axoniq.axonserver.devmode.enabled": "true",
            "axoniq.axonserver.event.storage": str(node.workdir / "data"),
            "axoniq.axonserver.snapshot.storage": str(node.workdir / "data"),
            "axoniq.axonserver.replication.log-storage-folder": str(node.workdir / "log"),
            "axoniq.axonserver.autocluster.first": first,
            "axoniq.axonserver.autocluster.contexts": ",".join(["_admin", *contexts]),
            **extra,
        }
        nodes.append(node)
    return nodes


def busy_ports(nodes: list[DevNode]) -> list[int]:
    busy = []
    for node in nodes:
        for port in (node.http_port, node.grpc_port, node.internal_port):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                # As the servers do: a port in TIME_WAIT from a previous run is free.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((HOST, port))
                except OSError:
                    busy.append(port)
    return busy


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())


def cluster_state(nodes: list[DevNode], contexts: list[str]) -> dict[str, dict[str, object]] | None:
    """The contexts with their leader and members once every node serves every
    context and each context has a leader; None before that."""
    names = sorted(n.name for n in nodes)
    try:
        for node in nodes:
            me = _get(node.http_url + "/v1/public/me")
            if not me.get("initialized") or not set(contexts) <= set(me.get("contextNames", [])):  # type: ignore[union-attr]
                return None
        listed = {c["context"]: c for c in _get(nodes[0].http_url + "/v1/public/context")}  # type: ignore[union-attr]
        status = {g["group"]: g for g in _get(nodes[0].http_url + "/internal/raft/status")}  # type: ignore[union-attr]
    except (OSError, ValueError):
        return None
    state: dict[str, dict[str, object]] = {}
    for name in ["_admin", *contexts]:
        group = status.get(name)
        if not group or not group.get("leader") or sorted(group.get("voters", [])) != names:
            return None
        state[name] = {"leader": group["leader"], "nodes": listed.get(name, {}).get("nodes", names)}
    return state


def describe(nodes: list[DevNode], state: dict[str, dict[str, object]], data_dir: Path) -> str:
    lines = [f"Ranvier dev cluster: {len(nodes)} node(s), data in {data_dir}", ""]
    lines.append(f"  {'node':<8} {'gRPC (clients)':<18} {'HTTP':<26} {'internal':<18} log")
    for node in nodes:
        lines.append(f"  {node.name:<8} {node.grpc_address:<18} {node.http_url + '/':<26} "
                     f"{HOST + ':' + str(node.internal_port):<18} {node.log_path}")
    lines.append("")
    for name, info in state.items():
        members = ", ".join(info["nodes"])  # type: ignore[arg-type]
        lines.append(f"  context {name}: leader {info['leader']}, members {members}")
    lines.append("")
    servers = ",".join(n.grpc_address for n in nodes)
    lines.append(f"  Axon Framework: axon.axonserver.servers={servers}")
    lines.append(f"  Cluster view:   ranvier-cli cluster -S {nodes[0].http_url}")
    lines.append("")
    lines.append("Ready. Press Ctrl-C to stop the cluster.")
    return "\n".join(lines)


class _Signals:
    def __init__(self) -> None:
        self.stop = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.stop = True


def stop_all(nodes: list[DevNode], timeout: float = 20.0) -> None:
    for node in nodes:
        if node.running():
            node.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    deadline = time.monotonic() + timeout
    for node in nodes:
        if node.process is None:
            continue
        try:
            node.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{node.name} did not stop within {timeout:.0f}s; killing it", file=sys.stderr)
            node.process.kill()
            node.process.wait()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    nodes = plan(args)
    contexts = [c.strip() for c in args.contexts.split(",") if c.strip() and c.strip() != "_admin"]
    busy = busy_ports(nodes)
    if busy:
        print(f"ranvier dev-cluster: ports in use: {', '.join(map(str, busy))} (try --base-port)", file=sys.stderr)
        return 1
    signals = _Signals()
    data_dir = args.data_dir.resolve()
    print(f"Starting {len(nodes)} Ranvier node(s) in {data_dir} ...", flush=True)
    try:
        for node in nodes:
            node.start()
        deadline = time.monotonic() + args.timeout
        state = None
        while not signals.stop:
            dead = [n for n in nodes if not n.running()]
            if dead:
                for node in dead:
                    print(f"{node.name} exited with {node.process.returncode}:\n{node.log_tail()}",  # type: ignore[union-attr]
                          file=sys.stderr)
                return 1
            state = cluster_state(nodes, contexts)
            if state is not None:
                break
            if time.monotonic() > deadline:
                print(f"ranvier dev-cluster: the cluster did not form within {args.timeout:.0f}s; node logs:",
                      file=sys.stderr)
                for node in nodes:
                    print(f"--- {node.name} ({node.log_path})\n{node.log_tail()}", file=sys.stderr)
                return 1
            time.sleep(0.2)
        if state is not None:
            print(describe(nodes, state, data_dir), flush=True)
        reported: set[str] = set()
        while not signals.stop:
            for node in nodes:
                if node.name not in reported and not node.running():
                    reported.add(node.name)
                    print(f"warning: {node.name} exited with {node.process.returncode}; "  # type: ignore[union-attr]
                          f"see {node.log_path}", file=sys.stderr, flush=True)
            time.sleep(0.2)
        print("Stopping the cluster ...", flush=True)
        return 0
    finally:
        stop_all(nodes)
