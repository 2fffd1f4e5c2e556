"""`ranvier bench messaging`: command and query round trips through a node.

A round trip is dispatcher -> server -> handler -> server -> dispatcher: the Go
loadgen (`bench/loadgen/messaging.go`) connects one handler that answers every
command (one `CommandResponse`) or query (one `QueryResponse`, then
`QueryComplete`) at once, and N dispatchers doing `Dispatch` or `Query` in a
loop, all with 256-byte payloads. Three setups run side by side, so every row
is measured right after its ceiling, under the same background load:

* baseline: `bench/raw_server.py`, a bare grpc.aio server answering the same
  encoded messages with a unary echo (`Echo`) or a server stream of one
  message (`EchoOnce`): the ceiling of a Python gRPC server for the shape;
* one node: a standalone node, handler and dispatchers on it;
* forwarded: a 3-node cluster, the handler on n2 and the dispatchers on n1,
  so every message crosses from one node to the other.

Before measuring, the loadgen retries a probe round trip until one succeeds
(bounded by `--ready-timeout`): a handler on another node is reachable only
once the cluster has told the dispatchers' node about it. A row whose handler
never became reachable is reported as such (rate n/a), not as a crash.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ranvier.bench.main import Client, CpuMeter, RawServer, machine_info, make_client

KINDS = ("command", "query")
DISPATCHERS = (1, 16, 64)
SETUPS = ("single", "forwarded")
SETUP_LABEL = {"single": "one node", "forwarded": "forwarded n1 -> n2"}
PLURAL = {"command": "commands", "query": "queries"}

Log = Callable[[str], None]


# -- options -------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ranvier bench messaging",
        description="Command and query round trips/s through one node and forwarded across nodes, "
                    "next to a bare grpc.aio server of the same shape.",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per row (default 10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each row (default 1)")
    parser.add_argument("--dispatchers", type=int, nargs="+", default=list(DISPATCHERS),
                        help="concurrent dispatchers (default: 1 16 64)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="default: command query")
    parser.add_argument("--setups", nargs="+", choices=SETUPS, default=list(SETUPS),
                        help="default: single forwarded (the baseline always runs)")
    parser.add_argument("--per-connection", type=int, default=4,
                        help="dispatchers sharing one gRPC connection (default 4: 64 dispatchers use 16)")
    parser.add_argument("--ready-timeout", type=float, default=10.0,
                        help="seconds to wait for the handler to be reachable before a row fails (default 10)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON document, no table")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the JSON document to this file")
    parser.add_argument("--loadgen", type=Path, default=None, help="a prebuilt loadgen binary")
    parser.add_argument("--keep", action="store_true", help="keep the nodes' temporary directory")
    args = parser.parse_args(list(argv))
    if args.seconds <= 0 or args.warmup < 0 or min(args.dispatchers) < 1 or args.per_connection < 1:
        parser.error("--seconds, --dispatchers and --per-connection must be positive")
    args.python_client = False  # make_client's option: there is no Python stand-in for these modes
    return args


def connections(dispatchers: int, per_connection: int) -> int:
    """Connections for `dispatchers` callers: several, as an application with many
    threads multiplexes them over few connections, but never one for 64."""
    return max(1, -(-dispatchers // per_connection))


# -- the table (pure, unit-tested) -----------------------------------------------------------


def _key(kind: str, dispatchers: int) -> str:
    return f"{kind},{dispatchers}"


def _failed(r: dict[str, Any]) -> bool:
    return "error" in r or not r.get("round_trips")


def _rate(r: dict[str, Any]) -> str:
    return "n/a" if _failed(r) else f"{r['round_trips_per_s']:,.0f}"


def _ms(r: dict[str, Any], name: str) -> str:
    return "-" if _failed(r) else f"{r[name]:.2f}"


def _errors(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"failed: {r['error']}"
    count = int(r.get("errors", 0))
    return f"{count:,} (first: {r['first_error']})" if count else "0"


def _baseline(b: dict[str, Any]) -> str:
    if not b:
        return "-"
    if _failed(b):
        return f"failed: {b.get('error', 'no round trip')}"
    return f"{b['round_trips_per_s']:,.0f}/s, p50 {b['p50_ms']:.2f} / p99 {b['p99_ms']:.2f} ms"


def _ratio(r: dict[str, Any], b: dict[str, Any]) -> str:
    if not b or _failed(r) or _failed(b):
        return "-"
    return f"{100 * r['round_trips_per_s'] / b['round_trips_per_s']:.0f} %"


def _cpu(r: dict[str, Any]) -> str:
    return f"{r['server_cpu_pct']:.0f} %" if "server_cpu_pct" in r and not _failed(r) else "-"


def row_name(kind: str, dispatchers: int, setup: str) -> str:
    who = f"{dispatchers} dispatcher{'s' if dispatchers > 1 else ''}"
    return f"{PLURAL[kind]}, {who}, {SETUP_LABEL[setup]}"


def rows(results: dict[str, Any]) -> list[list[str]]:
    """{commands, queries} x dispatchers x setups, in that order; only what was run."""
    out: list[list[str]] = []
    for kind in results.get("kinds", KINDS):
        for n in results.get("dispatchers", DISPATCHERS):
            key = _key(kind, n)
            base = results.get("baseline", {}).get(key, {})
            for setup in results.get("setups", SETUPS):
                r = results.get(setup, {}).get(key)
                if r is None:
                    continue
                out.append([row_name(kind, n, setup), _rate(r), _ms(r, "p50_ms"), _ms(r, "p99_ms"), _errors(r),
                            _baseline(base), _ratio(r, base), _cpu(r)])
    return out


HEAD = ["workload", "round trips/s", "p50 ms", "p99 ms", "errors", "baseline (bare grpc.aio, same shape)",
        "ratio", "server CPU"]


def render_table(results: dict[str, Any]) -> str:
    meta = results.get("meta", {})
    lines = [
        f"Ranvier messaging bench, {meta.get('date', '?')}: {meta.get('cores', '?')} cores ({meta.get('cpu', '?')}), "
        f"Python {meta.get('python', '?')}, grpcio {meta.get('grpcio', '?')}; 256-byte payloads; "
        f"{meta.get('seconds', '?')} s per row after {meta.get('warmup', '?')} s warm-up; "
        f"{meta.get('per_connection', '?')} dispatchers per connection",
        "Baseline: bare grpc.aio unary echo (commands) / server stream of one message (queries). "
        "A node round trip moves each message twice (dispatcher -> node -> handler and back), the baseline once.",
        "",
        "| " + " | ".join(HEAD) + " |",
        "|" + "|".join("---" for _ in HEAD) + "|",
    ]
    for row in rows(results):
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
    if "duration_s" in meta:
        lines.append("")
        lines.append(f"Run took {meta['duration_s']:.0f} s.")
    return "\n".join(lines)


# -- the run ------------------------------------------------------------------------------


@dataclass
class Target:
    """Where a row's handler and dispatchers connect, and whose CPU counts."""

    dispatch_addr: str
    handler_addr: str
    pids: list[int]
    alive: Callable[[], str | None]  # None while every process lives, else why not


@dataclass
class MessagingBench:
    args: argparse.Namespace
    log: Log
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ranvier-mbench-")))
    nodes: list[Any] = field(default_factory=list)

    def results_skeleton(self, client: Client) -> dict[str, Any]:
        a = self.args
        meta = {**machine_info(client), "seconds": a.seconds, "warmup": a.warmup, "per_connection": a.per_connection,
                "ready_timeout": a.ready_timeout}
        return {"meta": meta, "kinds": a.kinds, "dispatchers": a.dispatchers, "setups": a.setups,
                "baseline": {}, **{s: {} for s in a.setups}}

    def start_single(self) -> Target:
        from ranvier.testing.nodes import NodeProcess

        node = NodeProcess(self.workdir, name="single")
        self.nodes.append(node)
        node.start(timeout=60)
        return Target(node.grpc_address, node.grpc_address, [node.process.pid], lambda: _exited([node]))

    def start_cluster(self) -> Target:
        from ranvier.testing.cluster import cluster_nodes, form_cluster

        nodes = cluster_nodes(self.workdir, ["n1", "n2", "n3"])
        self.nodes.extend(nodes)
        form_cluster(nodes, timeout=90)
        n1, n2 = nodes[0], nodes[1]
        return Target(n1.grpc_address, n2.grpc_address, [n.process.pid for n in nodes], lambda: _exited(nodes))

    def targets(self) -> dict[str, Target | str]:
        """Each setup's target, or why it could not start (its rows then say so)."""
        out: dict[str, Target | str] = {}
        starters = {"single": self.start_single, "forwarded": self.start_cluster}
        for setup in self.args.setups:
            try:
                out[setup] = starters[setup]()
                target = out[setup]
                self.log(f"{SETUP_LABEL[setup]}: dispatchers on {target.dispatch_addr}, handler on {target.handler_addr}")
            except Exception as exc:  # noqa: BLE001 - reported in the table
                out[setup] = f"{setup} setup did not start: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                self.log(out[setup])
        return out

    def measure(self, client: Client, mode: str, addr: str, n: int, pids: Sequence[int],
                handler_addr: str | None = None) -> dict[str, Any]:
        a = self.args
        flags: dict[str, Any] = {"clients": n, "conns": connections(n, a.per_connection), "seconds": a.seconds,
                                 "warmup": a.warmup, "ready_timeout": a.ready_timeout}
        if handler_addr:
            flags["handler_addr"] = handler_addr
        meters = [CpuMeter(p) for p in pids]
        r = client.run(mode, addr, **flags)
        r["server_cpu_pct"] = sum(m.percent() for m in meters)
        return r

    def run(self) -> dict[str, Any]:
        a = self.args
        client = make_client(a, self.log)
        if client.kind != "go":
            raise RuntimeError("the messaging benchmark needs the Go load generator (`go` on PATH)")
        results = self.results_skeleton(client)
        raw = RawServer()
        try:
            targets = self.targets()
            for kind in a.kinds:
                for n in a.dispatchers:
                    self.row(client, raw, targets, kind, n, results)
        finally:
            raw.stop()
            self.stop_nodes()
        return results

    def row(self, client: Client, raw: RawServer, targets: dict[str, Target | str], kind: str, n: int,
            results: dict[str, Any]) -> None:
        key = _key(kind, n)
        r = self.measure(client, f"raw-{kind}", raw.addr, n, [raw.proc.pid])
        results["baseline"][key] = r
        self.log(f"baseline  {PLURAL[kind]:8} x {n:>2}: {_summary(r)}")
        for setup, target in targets.items():
            if isinstance(target, str):
                r = {"error": target}
            elif (why := target.alive()) is not None:
                r = {"error": why}
            else:
                r = self.measure(client, kind, target.dispatch_addr, n, target.pids, target.handler_addr)
            results[setup][key] = r
            self.log(f"{SETUP_LABEL[setup]:9} {PLURAL[kind]:8} x {n:>2}: {_summary(r)}")

    def stop_nodes(self) -> None:
        for node in self.nodes:
            try:
                node.stop(timeout=30)
            except Exception as exc:  # noqa: BLE001 - report and make sure it is gone
                self.log(f"node {node.name} did not stop cleanly: {exc}")
                node.kill()
        if self.args.keep:
            self.log(f"kept {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _exited(nodes: Sequence[Any]) -> str | None:
    for node in nodes:
        code = node.process.poll() if node.process is not None else None
        if code is not None:
            return f"node {node.name} exited with {code} (log: {node.log_path})"
    return None


def _summary(r: dict[str, Any]) -> str:
    if _failed(r):
        return f"FAILED {r.get('error', 'no round trip')}"
    text = f"{r['round_trips_per_s']:,.0f} round trips/s, p50 {r['p50_ms']:.2f} / p99 {r['p99_ms']:.2f} ms"
    if r.get("errors"):
        text += f", {r['errors']} errors (first: {r.get('first_error')})"
    return text + f", server CPU {r.get('server_cpu_pct', 0):.0f} %, client CPU {r.get('client_cpu_s', 0):.1f} s"


def run(args: argparse.Namespace, log: Log) -> dict[str, Any]:
    started = time.monotonic()
    results = MessagingBench(args, log).run()
    results["meta"]["duration_s"] = round(time.monotonic() - started, 1)
    return results


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)

    def log(message: str) -> None:
        print(f"[bench messaging] {message}", file=sys.stderr, flush=True)

    try:
        results = run(args, log)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - one clear line, not a traceback
        log(f"failed: {type(exc).__name__}: {exc}")
        return 1
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n")
    print(json.dumps(results, indent=2, sort_keys=True, default=str) if args.json else render_table(results))
    return 0
