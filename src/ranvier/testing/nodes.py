"""Real Ranvier node processes on loopback, for tests and benchmarks.

`NodeProcess` starts `python -m ranvier server` with its own free ports and data
directory, waits until it answers HTTP health checks, and can stop it politely,
kill it with SIGKILL, or restart it on the same files. Output goes to a log file
whose tail is included in every failure message.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path


_handed_out: set[int] = set()
_ports = random.Random(os.getpid())


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def free_port() -> int:
    """A port free on 127.0.0.1 now, never the same twice in this process.

    Taken below the kernel's ephemeral range where there is one: a port from
    bind(0) lies inside it, and a cluster test's many outgoing loopback
    connections could take it before the node binds it (seen: a node failed to
    start with "Address already in use")."""
    low = _ephemeral_low()
    candidates = range(max(1024, low - 12_000), low) if low > 13_024 else None
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", _ports.choice(candidates) if candidates else 0))
            except OSError:
                continue
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free loopback port found")


class NodeFailed(RuntimeError):
    pass


class NodeProcess:
    def __init__(
        self,
        workdir: Path,
        name: str = "node1",
        properties: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        standalone: bool = True,
        cpus: frozenset[int] | None = None,
    ) -> None:
        self.workdir = workdir
        self.cpus = cpus  # started on these CPUs only, as `taskset` would
        self.name = name
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.internal_port = free_port()
        self.data_dir = workdir / name / "data"
        self.log_path = workdir / name / "node.log"
        self.properties = {
            "axoniq.axonserver.name": name,
            "axoniq.axonserver.hostname": "127.0.0.1",
            "axoniq.axonserver.port": str(self.grpc_port),
            "axoniq.axonserver.internal-port": str(self.internal_port),
            "server.port": str(self.http_port),
            "server.address": "127.0.0.1",
            "axoniq.axonserver.event.storage": str(self.data_dir),
            "axoniq.axonserver.snapshot.storage": str(self.data_dir),
            "axoniq.axonserver.standalone": "true" if standalone else "false",
        }
        self.properties.update(properties or {})
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, wait: bool = True, timeout: float = 30.0) -> NodeProcess:
        (self.workdir / self.name).mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "ranvier", "server"]
        args += [f"--{key}={value}" for key, value in self.properties.items()]
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        log = open(self.log_path, "ab")
        cpus = self.cpus
        self.process = subprocess.Popen(
            args, cwd=self.workdir / self.name, stdout=log, stderr=subprocess.STDOUT, env=env,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus is not None else None,
        )
        log.close()
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise NodeFailed(f"node {self.name} exited with {self.process.returncode}\n{self.log_tail()}")
            if self._healthy():
                return
            time.sleep(0.05)
        raise NodeFailed(f"node {self.name} not ready after {timeout}s\n{self.log_tail()}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.http_url + "/actuator/health", timeout=1) as response:
                return bool(response.status < 500)
        except urllib.error.HTTPError as exc:
            return exc.code < 500 or exc.code == 503
        except (urllib.error.URLError, OSError):
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 15.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise NodeFailed(f"node {self.name} ignored SIGTERM for {timeout}s\n{self.log_tail()}") from None
        return int(self.process.returncode)

    def restart(self, wait: bool = True) -> NodeProcess:
        self.stop()
        return self.start(wait)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def running_node(workdir: Path, **kwargs: object) -> Iterator[NodeProcess]:
    node = NodeProcess(workdir, **kwargs)  # type: ignore[arg-type]
    node.start()
    try:
        yield node
    finally:
        try:
            node.stop()
        finally:
            node.kill()
