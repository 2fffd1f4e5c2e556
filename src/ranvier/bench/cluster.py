"""`ranvier bench --cluster 3`: a real 3-node cluster on loopback, next to one node.

The run, in order (every process on this machine, stopped by its PID):
1. a standalone node and a 3-node cluster (`init-cluster` on the first node,
   `register-node` on the others, `default` on all three) start side by side;
2. for each append shape (1/16/64 clients x 1 and 100 events per transaction)
   the single node is measured, then the cluster through the leader of
   `default`, so the table can show the 3-node / 1-node ratio; one or more
   shapes are repeated against a follower (its appends are forwarded to the
   leader) to show what forwarding costs, and with the clients spread over all
   nodes (client i on node i mod N), as clients of several nodes land;
3. `ListEvents` replay from token 0 on the leader and on a follower;
4. failover: under a light append load on every node, kill -9 the leader of
   `default`, time from the kill to the first successful append through a
   surviving node (one prober per survivor, each sending one-event
   transactions until one succeeds), restart the killed node, wait until it
   has caught up, and repeat;
5. catch-up: a fresh one-node cluster gets `--catchup-events` events (Go
   loadgen `fill`, 256-byte payloads), then a second node registers; the time
   until the new node has applied the leader's commit index and serves the
   last token, and the bytes of the event log over that time.

The load comes from the same Go loadgen as the single-node benchmark.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ranvier.bench.main import Client, CpuMeter, _du, _median_sample, machine_info, make_client
from ranvier.eventstore.segments import records_size

FAST_RAFT = {
    "axoniq.axonserver.replication.heartbeat-timeout": "100",
    "axoniq.axonserver.replication.min-election-timeout": "500",
    "axoniq.axonserver.replication.max-election-timeout": "1000",
    "axoniq.axonserver.replication.wait-for-leader-timeout": "8000",
}

BATCHED_RATIO_TARGET = 0.50  # 3-node appends at 100 events/tx vs one node
FAILOVER_P99_TARGET_S = 2.0
CATCHUP_TARGET_MBS = 50.0


# -- pure helpers (unit-tested) ---------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile as the Go loadgen computes it: index round(p*(n-1))
    of the sorted values. Raises ValueError on an empty sequence."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be within [0, 1], not {p}")
    ordered = sorted(values)
    return ordered[int(p * (len(ordered) - 1) + 0.5)]


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """n, p50, p99, max and mean of the values (empty: n 0 only)."""
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": percentile(values, 0.5), "p99": percentile(values, 0.99),
            "max": max(values), "min": min(values), "mean": sum(values) / len(values)}


def ratio(value: float | None, base: float | None) -> float | None:
    if not value or not base:
        return None
    return value / base


def markdown_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(cell).replace("|", "/") for cell in row) + " |")
    return "\n".join(lines)


def _rate_text(r: dict[str, Any]) -> str:
    if not r:
        return "-"
    if "error" in r:
        return f"error: {r['error']}"
    text = f"{r.get('events_per_s', 0):,.0f} events/s"
    if len(r.get("samples", ())) > 1:
        text += " (median of " + " / ".join(f"{v:,.0f}" for v in r["samples"]) + ")"
    if "p50_ms" in r:
        text += f", p50 {r['p50_ms']:.1f} / p99 {r['p99_ms']:.1f} ms"
    return text


def _cpu_text(r: dict[str, Any]) -> str:
    return f"{r['server_cpu_pct']:.0f} %" if "server_cpu_pct" in r else "-"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"


def _shape_name(clients: int, per_tx: int) -> str:
    return f"{clients} client{'s' if clients > 1 else ''} x {per_tx} event{'s' if per_tx > 1 else ''}/tx"


def append_rows(results: dict[str, Any]) -> list[list[str]]:
    """One row per append shape: 1 node, 3 nodes via the leader, ratio, target, CPU;
    then the follower and spread rows (ratio to the leader row of the same shape)."""
    out: list[list[str]] = []
    single = results.get("single", {})
    for key, r in results.get("leader", {}).items():
        clients, per_tx = (int(x) for x in key.split(","))
        base = single.get(key, {})
        rel = ratio(r.get("events_per_s"), base.get("events_per_s")) if "error" not in r else None
        target = "-"
        if per_tx >= 100 and rel is not None:
            target = f">= {BATCHED_RATIO_TARGET:.0%} " + ("**met**" if rel >= BATCHED_RATIO_TARGET else "**missed**")
        out.append([f"append {_shape_name(clients, per_tx)}, to the leader", _rate_text(r), _rate_text(base),
                    _pct(rel), target, f"{_cpu_text(r)} (1 node: {_cpu_text(base)})"])
    for section, where, cpu_of in (("follower", "to a follower (forwarded)", "follower+leader"),
                                   ("spread", "clients spread over all nodes", "3 nodes")):
        for key, r in results.get(section, {}).items():
            clients, per_tx = (int(x) for x in key.split(","))
            lead = results.get("leader", {}).get(key, {})
            base = single.get(key, {})
            rel = ratio(r.get("events_per_s"), base.get("events_per_s")) if "error" not in r else None
            to_leader = ratio(r.get("events_per_s"), lead.get("events_per_s")) if "error" not in r else None
            out.append([f"append {_shape_name(clients, per_tx)}, {where}", _rate_text(r), _rate_text(base),
                        _pct(rel), f"{_pct(to_leader)} of the leader row", f"{_cpu_text(r)} ({cpu_of})"])
    for where, r in results.get("replay", {}).items():
        base = results.get("single_replay", {})
        out.append([f"ListEvents replay from token 0, on the {where}", _rate_text(r), _rate_text(base),
                    _pct(ratio(r.get("events_per_s"), base.get("events_per_s"))), "-", _cpu_text(r)])
    return out


def failover_rows(failover: dict[str, Any]) -> list[list[str]]:
    s = failover.get("summary", {})
    if not s.get("n"):
        return [["failover (kill -9 leader of default -> first append on a survivor)", "no successful kill", "-", "-"]]
    target = "**met**" if s["p99"] <= FAILOVER_P99_TARGET_S else "**missed**"
    return [[
        f"failover, {s['n']} kills of the `default` leader ({failover.get('raft', '?')} Raft timings)",
        f"p50 {s['p50']:.2f} s / p99 {s['p99']:.2f} s / max {s['max']:.2f} s (min {s['min']:.2f} s)",
        f"p99 <= {FAILOVER_P99_TARGET_S:.0f} s {target}",
        f"{failover.get('failed', 0)} kill(s) with no append within {failover.get('timeout_s', '?')} s",
    ]]


def catchup_rows(c: dict[str, Any]) -> list[list[str]]:
    if not c:
        return []
    if "error" in c:
        return [["catch-up", f"error: {c['error']}", "-", "-"]]
    mbs = c.get("mb_per_s", 0.0)
    target = "**met**" if mbs >= CATCHUP_TARGET_MBS else "**missed**"
    return [[
        f"catch-up of a new node, context of {c.get('events', 0):,} events "
        f"({c.get('log_bytes', 0) / 1e6:,.0f} MB of event log)",
        f"{c.get('seconds', 0):.1f} s = {mbs:.1f} MB/s ({c.get('events_per_s', 0):,.0f} events/s)",
        f">= {CATCHUP_TARGET_MBS:.0f} MB/s {target}",
        c.get("note", ""),
    ]]


def render_cluster(results: dict[str, Any]) -> str:
    meta = results.get("meta", {})
    lines = [
        f"Ranvier cluster bench, {meta.get('date', '?')}: {meta.get('cores', '?')} cores ({meta.get('cpu', '?')}), "
        f"{meta.get('memory_gib', '?')} GiB, Python {meta.get('python', '?')}, grpcio {meta.get('grpcio', '?')}; "
        f"{meta.get('nodes', 3)} nodes on loopback, {meta.get('raft', '?')} Raft timings; client: {meta.get('client', '?')}",
        "",
    ]
    rows = append_rows(results)
    if rows:
        lines.append(markdown_table(
            ["workload", f"{meta.get('nodes', 3)} nodes", "1 node (standalone)", "ratio", "target", "server CPU"], rows))
        lines.append("")
    rows = failover_rows(results["failover"]) if results.get("failover") else []
    rows += catchup_rows(results.get("catchup", {}))
    if rows:
        lines.append(markdown_table(["measure", "result", "target", "note"], rows))
    return "\n".join(lines)


# -- talking to nodes ------------------------------------------------------------------------


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ranvier.cli", *args], capture_output=True, text=True, timeout=timeout)


def get_json(url: str, timeout: float = 3.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def group_status(node: Any, group: str = "default") -> dict[str, Any]:
    try:
        for entry in get_json(node.http_url + "/internal/raft/status"):
            if entry["group"] == group:
                return entry
    except (OSError, ValueError):
        pass
    return {}


def wait_for(condition: Callable[[], bool], timeout: float, what: str, nodes: Sequence[Any] = ()) -> float:
    """Poll until true; returns the seconds waited; raises with the nodes' status on timeout."""
    t0 = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - t0
        except OSError:
            pass
        if time.monotonic() - t0 > timeout:
            detail = "; ".join(f"{n.name}: {group_status(n, 'default')}" for n in nodes)
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} ({detail})")
        time.sleep(0.05)


def _event(aggregate: str, seq: int) -> Any:
    from ranvier._pb import common_pb2, event_pb2

    return event_pb2.Event(
        message_identifier=str(uuid.uuid4()), aggregate_identifier=aggregate, aggregate_sequence_number=seq,
        aggregate_type="BenchAggregate", timestamp=int(time.time() * 1000),
        payload=common_pb2.SerializedObject(type="BenchEvent", data=b"f" * 256))


class Appender:
    """One gRPC channel to one node; one-event transactions to `default`."""

    def __init__(self, address: str) -> None:
        import grpc

        from ranvier._pb import event_pb2_grpc

        # A local subchannel pool: grpc shares subchannels between channels to the
        # same address, so a new channel would inherit the connect backoff of an old
        # one to a node that was killed and restarted and fail at once with
        # UNAVAILABLE "Connection refused" although the node is up.
        self.channel = grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
        self.stub = event_pb2_grpc.EventStoreStub(self.channel)
        self.aggregate = str(uuid.uuid4())
        self.seq = 0

    def append(self, timeout: float) -> None:
        self.stub.AppendEvent(iter([_event(self.aggregate, self.seq)]), timeout=timeout,
                              metadata=[("axoniq-context", "default")])
        self.seq += 1

    def fresh(self) -> None:
        """After a failure the outcome is unknown: continue on a new aggregate."""
        self.aggregate, self.seq = str(uuid.uuid4()), 0

    def close(self) -> None:
        self.channel.close()


def last_token(address: str, timeout: float = 3.0) -> int:
    import grpc

    from ranvier._pb import event_pb2, event_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        reply = event_pb2_grpc.EventStoreStub(channel).GetLastToken(
            event_pb2.GetLastTokenRequest(), timeout=timeout, metadata=[("axoniq-context", "default")])
        return int(reply.token)


class LightLoad:
    """A thread per node appending one event every `period` s; errors are counted, not fatal."""

    def __init__(self, nodes: Sequence[Any], period: float = 0.05) -> None:
        self.nodes = nodes
        self.period = period
        self.stop_event = threading.Event()
        self.ok = 0
        self.errors: dict[str, int] = {}
        self.threads = [threading.Thread(target=self._loop, args=(n,), daemon=True) for n in nodes]

    def _loop(self, node: Any) -> None:
        appender = Appender(node.grpc_address)
        try:
            while not self.stop_event.is_set():
                try:
                    appender.append(timeout=5.0)
                    self.ok += 1
                    self.stop_event.wait(self.period)
                except Exception as exc:  # noqa: BLE001 - counted
                    code = getattr(exc, "code", lambda: None)()
                    self.errors[str(code)] = self.errors.get(str(code), 0) + 1
                    appender.fresh()
                    self.stop_event.wait(0.1)
        finally:
            appender.close()

    def __enter__(self) -> LightLoad:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(10)


# -- the run -------------------------------------------------------------------------------


@dataclass
class ClusterBench:
    args: argparse.Namespace
    log: Callable[[str], None]
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ranvier-cbench-")))
    results: dict[str, Any] = field(default_factory=dict)

    def properties(self, name: str) -> dict[str, str]:
        props = {
            "axoniq.axonserver.internal-hostname": "127.0.0.1",
            "axoniq.axonserver.replication.log-storage-folder": str(self.workdir / name / "log"),
        }
        if self.args.fast_raft:
            props.update(FAST_RAFT)
        return props

    def new_node(self, name: str, standalone: bool = False) -> Any:
        from ranvier.testing.nodes import NodeProcess

        return NodeProcess(self.workdir, name=name, standalone=standalone,
                           properties={} if standalone else self.properties(name))

    def form(self, nodes: Sequence[Any]) -> None:
        for node in nodes:
            node.start(timeout=60)
        first, *others = nodes
        done = cli("init-cluster", "-S", first.http_url)
        if done.returncode != 0:
            raise RuntimeError(f"init-cluster failed: {done.stdout} {done.stderr}")
        for joining in others:
            done = cli("register-node", "-S", joining.http_url, "-h", "127.0.0.1", "-p", str(first.internal_port))
            if done.returncode != 0:
                raise RuntimeError(f"register-node {joining.name} failed: {done.stdout} {done.stderr}")
        names = sorted(n.name for n in nodes)
        wait_for(lambda: all(group_status(n, g).get("voters") == names and group_status(n, g).get("leader")
                             for n in nodes for g in ("_admin", "default")),
                 90, "every node a voter of _admin and default with a leader", nodes)

    def leader(self, nodes: Sequence[Any]) -> Any:
        for node in nodes:
            name = group_status(node).get("leader")
            for candidate in nodes:
                if candidate.name == name and candidate.process is not None and candidate.process.poll() is None:
                    return candidate
        raise RuntimeError("no live leader of default")

    # -- appends and replay --

    def appends(self, client: Client, single: Any, nodes: Sequence[Any]) -> None:
        a = self.args
        timing = {"seconds": a.seconds, "warmup": a.warmup}
        res = self.results
        res["single"], res["leader"], res["follower"], res["spread"] = {}, {}, {}, {}

        def measure(target: Any, pids: Sequence[int], clients: int, per_tx: int) -> dict[str, Any]:
            meters = [CpuMeter(p) for p in pids]
            address = target if isinstance(target, str) else target.grpc_address
            r = client.run("append", address, clients=clients, events_per_tx=per_tx, **timing)
            r["server_cpu_pct"] = sum(m.percent() for m in meters)
            return r

        cluster_pids = [n.process.pid for n in nodes]
        for per_tx in a.events_per_tx:
            for clients in a.clients:
                key = f"{clients},{per_tx}"
                # The target's shapes alternate one node and the cluster several
                # times and compare medians, so that one lucky or unlucky sample on a
                # shared machine does not decide the ratio.
                rounds = a.append_rounds if per_tx >= 100 else 1
                singles, clustered = [], []
                for round_no in range(rounds):
                    tag = f" (round {round_no + 1}/{rounds})" if rounds > 1 else ""
                    r = measure(single, [single.process.pid], clients, per_tx)
                    singles.append(r)
                    self.log(f"1 node   append {_shape_name(clients, per_tx)}{tag}: {_rate_text(r)}, "
                             f"CPU {_cpu_text(r)}")
                    leader = self.leader(nodes)
                    r = measure(leader, cluster_pids, clients, per_tx)
                    r["target_node"] = leader.name
                    clustered.append(r)
                    self.log(f"3 nodes  append {_shape_name(clients, per_tx)} to leader {leader.name}{tag}: "
                             f"{_rate_text(r)}, CPU (3 nodes) {_cpu_text(r)}")
                res["single"][key] = _median_sample(singles)
                res["leader"][key] = _median_sample(clustered)
        for shape in a.follower_shapes:
            clients, per_tx = (int(x) for x in shape.split("x"))
            key = f"{clients},{per_tx}"
            if key not in res["single"]:
                res["single"][key] = measure(single, [single.process.pid], clients, per_tx)
            leader = self.leader(nodes)
            follower = next(n for n in nodes if n is not leader)
            r = measure(follower, cluster_pids, clients, per_tx)
            r["target_node"] = follower.name
            res["follower"][key] = r
            self.log(f"3 nodes  append {_shape_name(clients, per_tx)} to follower {follower.name}: "
                     f"{_rate_text(r)}, CPU (3 nodes) {_cpu_text(r)}")
            if client.kind != "go":
                continue  # only the Go loadgen spreads its clients over several addresses
            # As clients land in practice: client i on node i mod 3, the followers'
            # transactions forwarded to the leader.
            r = measure(",".join(n.grpc_address for n in nodes), cluster_pids, clients, per_tx)
            res["spread"][key] = r
            self.log(f"3 nodes  append {_shape_name(clients, per_tx)} spread over all nodes: "
                     f"{_rate_text(r)}, CPU (3 nodes) {_cpu_text(r)}")

        # Replay: let the followers apply everything first.
        leader = self.leader(nodes)
        commit = group_status(leader).get("commit", 0)
        wait_for(lambda: all(group_status(n).get("applied", 0) >= commit for n in nodes), 120,
                 "followers applied the appends", nodes)
        follower = next(n for n in nodes if n is not leader)
        res["replay"] = {}
        for where, node, pids in (("1 node", single, [single.process.pid]), ("leader", leader, [leader.process.pid]),
                                  ("follower", follower, [follower.process.pid])):
            meter = CpuMeter(pids[0])
            r = client.run("replay", node.grpc_address, seconds=a.replay_seconds)
            meter.stamp(r)
            if where == "1 node":
                res["single_replay"] = r
            else:
                res["replay"][where] = r
            self.log(f"replay on {where}: {_rate_text(r)}")

    # -- failover --

    def failover(self, nodes: Sequence[Any]) -> None:
        a = self.args
        times: list[float] = []
        kills: list[dict[str, Any]] = []
        failed = 0
        with LightLoad(nodes, period=a.light_period) as load:
            time.sleep(1.0)
            for i in range(a.kills):
                leader = self.leader(nodes)
                survivors = [n for n in nodes if n is not leader]
                first_ok: list[tuple[float, str]] = []
                errors: dict[str, int] = {}
                done = threading.Event()
                lock = threading.Lock()
                t_kill = 0.0

                def probe(node: Any) -> None:
                    appender = Appender(node.grpc_address)
                    try:
                        while not done.is_set():
                            try:
                                appender.append(timeout=a.probe_timeout)
                                with lock:
                                    first_ok.append((time.monotonic(), node.name))
                                done.set()
                                return
                            except Exception as exc:  # noqa: BLE001 - counted, retried
                                detail = getattr(exc, "details", lambda: str(exc))() or ""
                                key = f"{getattr(exc, 'code', lambda: '?')()}: {detail[:160]}"
                                with lock:
                                    errors[key] = errors.get(key, 0) + 1
                                appender.fresh()
                                time.sleep(0.01)
                    finally:
                        appender.close()

                probers = [threading.Thread(target=probe, args=(n,), daemon=True) for n in survivors]
                t_kill = time.monotonic()
                leader.kill()
                for t in probers:
                    t.start()
                done.wait(a.failover_timeout)
                done.set()
                for t in probers:
                    t.join(a.probe_timeout + 5)
                record: dict[str, Any] = {"killed": leader.name, "errors": errors}
                if first_ok:
                    t_ok, via = min(first_ok)
                    record["seconds"] = t_ok - t_kill
                    record["via"] = via
                    times.append(record["seconds"])
                else:
                    failed += 1
                    record["seconds"] = None
                new_leader = group_status(survivors[0]).get("leader")
                record["new_leader"] = new_leader
                kills.append(record)
                self.log(f"kill {i + 1}/{a.kills}: leader {leader.name} killed, first append after "
                         f"{record['seconds'] if record['seconds'] is None else round(record['seconds'], 3)} s via "
                         f"{record.get('via')}, new leader {new_leader}, probe errors {sum(errors.values())}")
                leader.start(timeout=60)
                try:
                    wait_for(lambda n=leader: bool(group_status(n).get("leader"))
                             and group_status(n).get("applied", 0) >= group_status(self.leader(nodes)).get("commit", 1) - 50,
                             60, f"{leader.name} back and caught up", nodes)
                except (TimeoutError, RuntimeError) as exc:
                    self.log(f"restart of {leader.name}: {exc}")
                    record["restart_error"] = str(exc)
                time.sleep(a.settle)
        self.results["failover"] = {
            "raft": "fast" if a.fast_raft else "default", "kills": kills, "times_s": times, "failed": failed,
            "timeout_s": a.failover_timeout, "summary": summarize(times),
            "light_load": {"ok": load.ok, "errors": load.errors, "period_s": a.light_period},
        }

    # -- catch-up --

    def catchup(self, client: Client) -> None:
        a = self.args
        first, second = self.new_node("c1"), self.new_node("c2")
        self.catchup_nodes = [first, second]
        first.start(timeout=60)
        done = cli("init-cluster", "-S", first.http_url)
        if done.returncode != 0:
            raise RuntimeError(f"init-cluster failed: {done.stdout} {done.stderr}")
        wait_for(lambda: group_status(first).get("leader") == "c1", 60, "c1 leads default", [first])
        meter = CpuMeter(first.process.pid)

        def progress(record: dict[str, Any]) -> None:
            if record.get("mode") == "fill-progress":
                self.log(f"catch-up fill: {record['events']:,} events, {record['events_per_s']:,.0f}/s")

        r = client.run("fill", first.grpc_address, on_line=progress, events=a.catchup_events,
                       aggregates=max(1, a.catchup_events // 10), clients=16, events_per_tx=a.catchup_per_tx,
                       progress=10)
        meter.stamp(r)
        if "error" in r:
            self.results["catchup"] = {"error": f"fill failed: {r['error']}", "fill": r}
            return
        self.log(f"catch-up fill done: {_rate_text(r)}")
        target_token = last_token(first.grpc_address)
        status = group_status(first)
        commit = status.get("commit", 0)
        log_bytes = records_size(first.data_dir / "default")
        store_bytes = _du(first.data_dir / "default")
        compacted = "snapshot at" in first.log_path.read_text(errors="replace")
        second.start(timeout=60)
        t0 = time.monotonic()
        done = cli("register-node", "-S", second.http_url, "-h", "127.0.0.1", "-p", str(first.internal_port))
        t_registered = time.monotonic() - t0
        if done.returncode != 0:
            self.results["catchup"] = {"error": f"register-node failed: {done.stdout} {done.stderr}"}
            return
        timeline: list[tuple[float, int]] = []

        def caught_up() -> bool:
            s = group_status(second)
            timeline.append((time.monotonic() - t0, int(s.get("applied", 0) or 0)))
            return int(s.get("applied", 0) or 0) >= commit and last_token(second.grpc_address) >= target_token

        try:
            wait_for(caught_up, a.catchup_timeout, "the new node applied everything", [first, second])
        except TimeoutError as exc:
            self.results["catchup"] = {"error": str(exc), "log_path": str(second.log_path)}
            self.args.keep = True
            return
        seconds = time.monotonic() - t0
        voter_s = None
        try:
            voter_s = wait_for(lambda: "c2" in group_status(first).get("voters", []), 60, "c2 a voter", [first]) \
                + seconds
        except TimeoutError:
            pass
        new_bytes = records_size(second.data_dir / "default")
        leader_log = first.log_path.read_text(errors="replace")
        self.results["catchup"] = {
            "events": target_token + 1, "fill": r, "commit_index": commit, "log_bytes": log_bytes,
            "store_bytes": store_bytes, "new_node_log_bytes": new_bytes, "seconds": seconds,
            "register_node_s": t_registered, "voter_after_s": voter_s,
            "mb_per_s": log_bytes / 1e6 / seconds, "events_per_s": (target_token + 1) / seconds,
            "leader_compacted_before_join": compacted,
            "snapshot_lines": [ln for ln in leader_log.splitlines() if "snapshot" in ln.lower()][-5:],
            "timeline": timeline[:: max(1, len(timeline) // 40)],
            "note": ("leader had compacted its Raft log (snapshot path)" if compacted
                     else "leader had NOT compacted its log before the join"),
        }
        self.log(f"catch-up: {seconds:.1f} s for {target_token + 1:,} events, {log_bytes / 1e6:.0f} MB "
                 f"= {log_bytes / 1e6 / seconds:.1f} MB/s (register-node took {t_registered:.1f} s)")

    # -- everything --

    def run(self) -> dict[str, Any]:
        a = self.args
        client = make_client(a, self.log)
        self.results["meta"] = {**machine_info(client), "nodes": a.cluster, "raft": "fast" if a.fast_raft else "default"}
        self.results["meta"]["options"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}
        started: list[Any] = []
        try:
            if a.appends or a.kills:
                single = self.new_node("single", standalone=True)
                nodes = [self.new_node(f"n{i + 1}") for i in range(a.cluster)]
                started += [single, *nodes]
                single.start(timeout=60)
                self.form(nodes)
                self.log(f"cluster up: {', '.join(f'{n.name} {n.grpc_address}' for n in nodes)}; "
                         f"leader of default {self.leader(nodes).name}; single node {single.grpc_address}")
                if a.appends:
                    self.appends(client, single, nodes)
                single.stop(timeout=60)
                if a.kills:
                    self.failover(nodes)
                for n in nodes:
                    n.stop(timeout=60)
            if a.catchup_events:
                try:
                    self.catchup(client)
                finally:
                    started += self.catchup_nodes
                    for n in self.catchup_nodes:
                        n.kill()
        finally:
            for n in started:
                n.kill()
            self.results["meta"]["node_logs"] = {n.name: str(n.log_path) for n in started}
            if a.keep:
                self.log(f"kept {self.workdir}")
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
        return self.results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("cluster (--cluster N)")
    g.add_argument("--cluster", type=int, default=0, metavar="N",
                   help="benchmark an N-node cluster (N >= 3) next to one node instead of the single-node suite")
    g.add_argument("--fast-raft", action="store_true",
                   help="short Raft timings (heartbeat 100 ms, election 500-1000 ms) instead of the defaults (300, 1000-2500)")
    g.add_argument("--no-appends", dest="appends", action="store_false", help="skip the append and replay rows")
    g.add_argument("--append-rounds", type=int, default=3,
                   help="alternating rounds (ceiling and node; with --cluster, one node and cluster) for "
                        "append shapes of >= 100 events/tx; medians are compared (default 3)")
    g.add_argument("--follower-shapes", nargs="*", default=["16x100"], metavar="CxE",
                   help="append shapes also sent to a follower, and with the clients spread over all "
                        "nodes (default: 16x100)")
    g.add_argument("--kills", type=int, default=20, help="leader kills for the failover time (default 20; 0 skips)")
    g.add_argument("--failover-timeout", type=float, default=30.0, help="give up on one kill after this many s")
    g.add_argument("--probe-timeout", type=float, default=2.0, help="deadline of each probing append (s)")
    g.add_argument("--light-period", type=float, default=0.05, help="pause between light-load appends per node (s)")
    g.add_argument("--settle", type=float, default=1.0, help="pause after the killed node caught up (s)")
    g.add_argument("--catchup-events", type=int, default=1_000_000, help="events in the catch-up context (0 skips)")
    g.add_argument("--catchup-per-tx", type=int, default=50,
                   help="events per transaction of the catch-up fill (default 50: 20k Raft entries, so the "
                        "leader compacts its log before the new node joins)")
    g.add_argument("--catchup-timeout", type=float, default=600.0, help="give up on the catch-up after this many s")


def run_cluster(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    if args.cluster < 3:
        raise ValueError("--cluster needs at least 3 nodes")
    return ClusterBench(args, log).run()


def print_cluster(results: dict[str, Any], args: argparse.Namespace) -> None:
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n")
    if args.json:
        print(json.dumps(results, indent=2, sort_keys=True, default=str))
    else:
        print(render_cluster(results))
    sys.stdout.flush()
