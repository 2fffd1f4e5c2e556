"""`ranvier bench`: measure one node against a bare gRPC server on this machine.

The load comes from `bench/loadgen`, a Go program built on first use into a
cache directory (never into the repository): a Python client process tops out
near 10-15k gRPC messages/s on a small machine, so a Python-driven benchmark
would measure its client. Without `go`, a multi-process Python client
(`ranvier.bench.pyload`) stands in, and every result says so.

The run, in order:
1. the ceiling `bench/raw_server.py` (grpc.aio, identity serializers) and a
   fresh node in a temporary directory (`NodeProcess`) start side by side;
   each workload runs right after its ceiling: the bare server takes the
   same client streams as the appends (same clients, same messages per
   stream, the same encoded Event bytes) and serves server streams of
   messages the size of an `EventWithToken`;
2. appends with 1, 16 and 64 clients at 1 and 100 events per transaction;
3. the time to load an aggregate of 10,000 events (`ListAggregateEvents`);
4. a fill of 5M events over 500k aggregates, then the node's RSS;
5. `ListEvents` replay from token 0 (time-capped), in rounds: each round
   measures the bare server stream (both ways of writing it) and then the
   node; the row compares medians. One server stream's rate is bimodal on a
   small machine (a bare stream ran at 12-14k messages/s in most samples and
   20-30k in some, when sender and receiver fall into coalescing their
   writes), so a single sample is not a measurement; the best bare sample is
   reported beside the median.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ranvier import event_loop, grpc_wakeups, loop_cpu
from ranvier.eventstore import native
from ranvier.bench.placement import Placement, parse_pin, pinned_start
from ranvier.switches import SwitchError

REPO = Path(__file__).resolve().parents[3]
LOADGEN_SRC = REPO / "bench" / "loadgen"
RAW_SERVER = REPO / "bench" / "raw_server.py"

CLIENTS = (1, 16, 64)
EVENTS_PER_TX = (1, 100)
APPEND_TARGET = 0.80  # appends at 100 events/tx vs the bare client stream
REPLAY_TARGET = 0.80  # replay vs the bare server stream
RSS_TARGET_MIB = 300.0


# -- options -------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ranvier bench",
        description="Benchmark a fresh Ranvier node on this machine against a bare grpc.aio server.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 s per workload, 200k-event fill, 1,000-event aggregate")
    parser.add_argument("--seconds", type=float, default=None,
                        help="measured seconds per append and raw-write workload (default 10; --quick 2)")
    parser.add_argument("--warmup", type=float, default=None, help="unmeasured seconds before each (default 1)")
    parser.add_argument("--fill-events", type=int, default=None,
                        help="events stored before the RSS reading (default 5,000,000; --quick 200,000; 0 skips)")
    parser.add_argument("--fill-aggregates", type=int, default=None,
                        help="aggregates the fill is spread over (default 500,000; --quick 20,000)")
    parser.add_argument("--pin", metavar="SERVER_CPUS:CLIENT_CPUS",
                        help="run the node and the bare server on these CPUs and the load generator on those "
                             "(e.g. 0:1); see ranvier.bench.placement")
    parser.add_argument("--fill-clients", type=int, default=16, help="concurrent clients for the fill (default 16)")
    parser.add_argument("--aggregate-events", type=int, default=None,
                        help="events in the aggregate that is loaded (default 10,000; --quick 1,000)")
    parser.add_argument("--replay-seconds", type=float, default=None,
                        help="cap on each replay from token 0 (default 8; --quick 3)")
    parser.add_argument("--replay-rounds", type=int, default=None,
                        help="bare-then-node replay rounds; medians are compared (default 3; --quick 1)")
    parser.add_argument("--clients", type=int, nargs="+", default=list(CLIENTS), help="default: 1 16 64")
    parser.add_argument("--events-per-tx", type=int, nargs="+", default=list(EVENTS_PER_TX), help="default: 1 100")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON document, no table")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the JSON document to this file")
    parser.add_argument("--python-client", action="store_true",
                        help="use the multi-process Python client even if Go is installed")
    parser.add_argument("--loadgen", type=Path, default=None, help="a prebuilt loadgen binary")
    parser.add_argument("--keep", action="store_true", help="keep the node's temporary data directory")
    from ranvier.bench.cluster import add_arguments

    add_arguments(parser)
    args = parser.parse_args(argv)
    quick = args.quick

    def pick(value: Any, full: Any, smoke: Any) -> Any:
        return value if value is not None else (smoke if quick else full)

    args.seconds = pick(args.seconds, 10.0, 2.0)
    args.warmup = pick(args.warmup, 1.0, 0.5)
    args.fill_events = pick(args.fill_events, 5_000_000, 200_000)
    args.fill_aggregates = pick(args.fill_aggregates, 500_000, 20_000)
    args.aggregate_events = pick(args.aggregate_events, 10_000, 1_000)
    args.replay_seconds = pick(args.replay_seconds, 8.0, 3.0)
    args.replay_rounds = max(1, pick(args.replay_rounds, 3, 1))
    if args.fill_events and not 0 < args.fill_aggregates <= args.fill_events:
        parser.error("--fill-aggregates must be between 1 and --fill-events")
    if args.cluster and args.cluster < 3:
        parser.error("--cluster needs at least 3 nodes")
    if args.append_rounds < 1:
        parser.error("--append-rounds must be at least 1")
    args.placement = None
    if args.pin:
        if args.cluster:
            parser.error("--pin applies to the single-node suite, not to --cluster")
        try:
            args.placement = parse_pin(args.pin)
        except ValueError as exc:
            parser.error(str(exc))
    if args.seconds <= 0 or min(args.clients) < 1 or min(args.events_per_tx) < 1:
        parser.error("--seconds, --clients and --events-per-tx must be positive")
    return args


# -- the load generator ----------------------------------------------------------------


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "ranvier"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return path
    except OSError:
        path = Path(tempfile.gettempdir()) / "ranvier-cache"
        path.mkdir(parents=True, exist_ok=True)
        return path


def _source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(LOADGEN_SRC.iterdir()):
        if path.suffix in (".go", ".mod", ".sum"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def build_loadgen(log: Callable[[str], None]) -> Path:
    """Build bench/loadgen into the cache (once per source version); raises
    FileNotFoundError when Go or the sources are missing."""
    go = shutil.which("go")
    if go is None:
        raise FileNotFoundError("`go` is not on PATH")
    if not (LOADGEN_SRC / "go.mod").exists():
        raise FileNotFoundError(f"no Go sources at {LOADGEN_SRC} (run from a source checkout)")
    target = cache_dir() / f"loadgen-{_source_hash()}"
    if target.exists():
        return target
    log(f"building the Go load generator into {target} (first run downloads google.golang.org/grpc)")
    env = dict(os.environ, CGO_ENABLED="0")
    result = subprocess.run([go, "build", "-trimpath", "-o", str(target), "."], cwd=LOADGEN_SRC, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"go build failed:\n{result.stderr.strip()}")
    return target


@dataclass
class Client:
    """Runs the load generator (Go binary or the Python stand-in) in one mode."""

    command: list[str]
    kind: str  # "go" or "python"
    log: Callable[[str], None]
    cpus: frozenset[int] | None = None  # --pin: the CPUs every run is confined to

    def run(self, mode: str, addr: str | None = None, on_line: Callable[[dict[str, Any]], None] | None = None,
            **flags: Any) -> dict[str, Any]:
        args = [*self.command, "-mode", mode]
        if addr:
            args += ["-addr", addr]
        for key, value in flags.items():
            args += [f"-{key.replace('_', '-')}", str(value)]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=pinned_start(self.cpus))
        last: dict[str, Any] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if on_line is not None:
                on_line(record)
            if not str(record.get("mode", "")).endswith("-progress"):
                last = record
        stderr = proc.stderr.read() if proc.stderr else ""
        if proc.wait() != 0 or "error" in last:
            message = last.get("error") or stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            return {"mode": mode, "error": message if isinstance(message, str) else message[0], **flags}
        return last


def make_client(args: argparse.Namespace, log: Callable[[str], None]) -> Client:
    placement: Placement | None = getattr(args, "placement", None)
    cpus = placement.client if placement is not None else None
    if not args.python_client:
        try:
            binary = args.loadgen or build_loadgen(log)
            return Client([str(binary)], "go", log, cpus)
        except (FileNotFoundError, RuntimeError) as exc:
            log(f"cannot use the Go load generator: {exc}")
            log("FALLING BACK to the multi-process Python client: results measure the client as much as the node")
    return Client([sys.executable, "-m", "ranvier.bench.pyload"], "python", log, cpus)


# -- processes: CPU and memory from /proc ----------------------------------------------------


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """CPU seconds of a process, or of one of its threads."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        stat = Path(path).read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def memory_kib(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


class CpuMeter:
    """A server's CPU over a run: the whole process, and its main thread, which
    runs the event loop in both the node and the bare server (the thread both
    are bound by at 100 events per transaction)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cpu0 = cpu_seconds(pid)
        self.loop0 = cpu_seconds(pid, pid)
        self.t0 = time.monotonic()

    def percent(self) -> float:
        return self._percent(cpu_seconds(self.pid) - self.cpu0)

    def loop_percent(self) -> float:
        return self._percent(cpu_seconds(self.pid, self.pid) - self.loop0)

    def _percent(self, used: float) -> float:
        elapsed = time.monotonic() - self.t0
        return 100.0 * used / elapsed if elapsed > 0 else 0.0

    def stamp(self, r: dict[str, Any]) -> None:
        r["server_cpu_pct"] = self.percent()
        r["loop_cpu_pct"] = self.loop_percent()


class RawServer:
    """bench/raw_server.py in a child process, stopped by its PID."""

    def __init__(self, cpus: frozenset[int] | None = None, sync_dir: Path | None = None) -> None:
        if not RAW_SERVER.exists():
            raise FileNotFoundError(f"{RAW_SERVER} is missing (run from a source checkout)")
        sync = ["--sync-dir", str(sync_dir)] if sync_dir is not None else []
        self.proc = subprocess.Popen([sys.executable, str(RAW_SERVER), "--port", "0", *sync],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     preexec_fn=pinned_start(cpus))
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            self.stop()
            raise RuntimeError(f"raw_server did not start: {self.proc.stderr.read() if self.proc.stderr else ''}")
        self.addr = f"127.0.0.1:{line[1]}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class NodeDied(RuntimeError):
    pass


# -- the run ---------------------------------------------------------------------------


@dataclass
class Results:
    meta: dict[str, Any] = field(default_factory=dict)
    ceiling_write: dict[str, dict[str, Any]] = field(default_factory=dict)  # "c,e" -> raw-write
    # "c,e" -> raw-write-sync: the bare server fdatasyncing every transaction (100-event rows)
    durable_write: dict[str, dict[str, Any]] = field(default_factory=dict)
    ceiling_read: dict[str, Any] = field(default_factory=dict)
    ceiling_read_small: dict[str, Any] = field(default_factory=dict)
    append: dict[str, dict[str, Any]] = field(default_factory=dict)  # "c,e" -> append
    load_aggregate: dict[str, Any] = field(default_factory=dict)
    fill: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    replay: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# Above this, ext4 here allocated blocks for appended data about twice as slowly
# (a 40 KB append write 89 us at 98 % used, 47 us at 25 %), which the node's
# append rows feel and the bare server's do not.
_FULL_DISK_PCT = 90.0


def disk_info(path: Path, log: Callable[[str], None]) -> dict[str, float]:
    usage = shutil.disk_usage(path)
    info = {"free_gib": usage.free / 2**30, "used_pct": 100.0 * usage.used / max(1, usage.total)}
    if info["used_pct"] > _FULL_DISK_PCT:
        log(f"WARNING: the file system of {path} is {info['used_pct']:.0f} % full; the node's writes "
            "slow down on a nearly full disk, so its ratios will be low")
    return info


def machine_info(client: Client) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = 0.0
    try:
        mem_gib = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import grpc

        grpc_version = grpc.__version__
    except ImportError:  # pragma: no cover
        grpc_version = "?"
    go_version = ""
    if client.kind == "go" and shutil.which("go"):
        go_version = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    return {
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_gib, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "grpcio": grpc_version,
        "event_loop": _runtime_choice(lambda: event_loop.loop_factory()[0]),
        "helper_threads": _runtime_choice(event_loop.helper_thread_policy),
        "grpc_wakeups": _runtime_choice(grpc_wakeups.wakeup_policy),
        "loop_cpu": _runtime_choice(lambda: loop_cpu.describe(loop_cpu.loop_cpu())),
        "append_path": _runtime_choice(lambda: native.describe(native.load())),
        "client": client.kind,
        "go": go_version,
    }


def _runtime_choice(choose: Callable[[], str]) -> str:
    """A runtime choice for the table header; a bad value is shown, not raised."""
    try:
        return choose()
    except SwitchError as exc:
        return f"? ({exc})"


def run(args: argparse.Namespace, log: Callable[[str], None]) -> Results:
    from ranvier.testing.nodes import NodeProcess

    client = make_client(args, log)
    results = Results(meta=machine_info(client))
    results.meta["options"] = {k: (str(v) if isinstance(v, (Path, Placement)) else v) for k, v in vars(args).items()}
    sizes = client.run("sizes")
    results.meta["event_bytes"] = sizes.get("event_bytes")
    results.meta["event_with_token_bytes"] = sizes.get("event_with_token_bytes")
    timing = {"seconds": args.seconds, "warmup": args.warmup}

    # Both servers run side by side (the idle one costs nothing) and every
    # workload is measured right after its ceiling, so background load on a
    # shared machine hits both sides of a ratio alike.
    # Pinned servers start pinned (as under `taskset`): a node sizes some choices
    # by the CPUs it may use when it starts (see LocalCommitter.batch_worth_bytes).
    server_cpus = args.placement.server if args.placement is not None else None
    workdir = Path(tempfile.mkdtemp(prefix="ranvier-bench-"))
    results.meta["disk"] = disk_info(workdir, log)
    raw = RawServer(server_cpus, sync_dir=workdir)  # WriteSync's file on the node's file system
    node = NodeProcess(workdir, name="bench", cpus=server_cpus)
    try:
        node.start(timeout=60)
        pid = node.process.pid  # type: ignore[union-attr]
        addr = node.grpc_address

        def check_node() -> None:
            code = node.process.poll() if node.process is not None else None
            if code is not None:
                args.keep = True
                raise NodeDied(f"the node exited with {code} during the run; its log ends:\n{node.log_tail(60)}")

        log(f"node started (pid {pid}) at {addr}, data in {node.data_dir}; bare server at {raw.addr}")
        if args.placement is not None:
            results.meta["placement"] = args.placement.describe()
            log(f"pinned: {args.placement.describe()}")

        for clients, per_tx in shapes(args):
            # The rows with a target alternate ceiling and node for a few rounds
            # and compare medians: one 10 s run of either moves by 5-10 % here.
            rounds = args.append_rounds if per_tx >= 100 else 1
            bare_runs: list[dict[str, Any]] = []
            node_runs: list[dict[str, Any]] = []
            durable_runs: list[dict[str, Any]] = []
            for _ in range(rounds):
                meter = CpuMeter(raw.proc.pid)
                r = client.run("raw-write", raw.addr, clients=clients, events_per_tx=per_tx, **timing)
                meter.stamp(r)
                bare_runs.append(r)
                log(f"ceiling  bare client streams {clients:>2} x {per_tx:>3}: {_rate(r)}")
                if per_tx >= 100:
                    # Every client waits for its transaction's fsync: what that costs
                    # on this disk, apart from what the node adds to it.
                    r = client.run("raw-write-sync", raw.addr, clients=clients, events_per_tx=per_tx, **timing)
                    durable_runs.append(r)
                    log(f"bare + fdatasync per stream {clients:>2} x {per_tx:>3}: {_rate(r)}")
                meter = CpuMeter(pid)
                r = client.run("append", addr, clients=clients, events_per_tx=per_tx, **timing)
                meter.stamp(r)
                node_runs.append(r)
                log(f"node     append {clients:>2} clients x {per_tx:>3} events/tx: {_rate(r)}")
                check_node()
            results.ceiling_write[f"{clients},{per_tx}"] = _median_sample(bare_runs)
            if durable_runs:
                results.durable_write[f"{clients},{per_tx}"] = _median_sample(durable_runs)
            results.append[f"{clients},{per_tx}"] = _median_sample(node_runs)

        results.ceiling_read_small = client.run("raw-read", raw.addr, events=args.aggregate_events, repeat=5)
        log(f"ceiling  bare server stream of {args.aggregate_events} messages: "
            f"{results.ceiling_read_small.get('median_ms', 0):.1f} ms")
        meter = CpuMeter(pid)
        r = client.run("load-aggregate", addr, aggregate_events=args.aggregate_events, events_per_tx=100, repeat=5)
        meter.stamp(r)
        results.load_aggregate = r
        check_node()
        log(f"node     load an aggregate of {args.aggregate_events} events: "
            f"{r['median_ms']:.1f} ms" if "median_ms" in r else f"ERROR {r.get('error')}")

        if args.fill_events:
            peak = {"VmRSS": 0}

            def sample(record: dict[str, Any]) -> None:
                mem = memory_kib(pid)
                peak["VmRSS"] = max(peak["VmRSS"], mem.get("VmRSS", 0))
                if record.get("mode") == "fill-progress":
                    log(f"node     fill: {record['events']:,} events, {record['events_per_s']:,.0f}/s, "
                        f"RSS {mem.get('VmRSS', 0) / 1024:.0f} MiB")

            meter = CpuMeter(pid)
            r = client.run("fill", addr, on_line=sample, events=args.fill_events, aggregates=args.fill_aggregates,
                           clients=args.fill_clients, events_per_tx=100, progress=10)
            meter.stamp(r)
            results.fill = r
            check_node()
            after = memory_kib(pid)
            time.sleep(2)
            settled = memory_kib(pid)
            results.memory = {
                "rss_after_fill_mib": after.get("VmRSS", 0) / 1024,
                "rss_settled_mib": settled.get("VmRSS", 0) / 1024,
                "rss_peak_sampled_mib": max(peak["VmRSS"], after.get("VmRSS", 0)) / 1024,
                "vm_hwm_mib": settled.get("VmHWM", 0) / 1024,
                "stored_events": r.get("events", 0),
                "data_dir_mib": _du(node.data_dir) / 2**20,
            }
            log(f"node     fill done: {_rate(r)}; RSS {results.memory['rss_after_fill_mib']:.0f} MiB")

        replay_rounds(args, client, raw, addr, pid, results, log, check_node)
        results.memory["rss_after_replay_mib"] = memory_kib(pid).get("VmRSS", 0) / 1024
    finally:
        raw.stop()
        try:
            node.stop(timeout=60)
        except Exception as exc:  # noqa: BLE001 - report and go on to clean up
            log(f"node did not stop cleanly: {exc}")
            node.kill()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def replay_rounds(args: argparse.Namespace, client: Client, raw: RawServer, addr: str, pid: int, results: Results,
                  log: Callable[[str], None], check_node: Callable[[], None]) -> None:
    """Bare server stream (async generator and context.write; the faster is the
    round's ceiling), then the node's replay from token 0, `replay_rounds` times.
    `results.replay` and `results.ceiling_read` are the median samples, each with
    every round's rate in `samples`."""
    read_n = max(20_000, int(12_000 * args.replay_seconds))
    ceilings: list[dict[str, Any]] = []
    replays: list[dict[str, Any]] = []
    for round_no in range(args.replay_rounds):
        reads = []
        for method in ("Read", "ReadWrite"):
            meter = CpuMeter(raw.proc.pid)
            r = client.run("raw-read", raw.addr, events=read_n, repeat=1, label=method)
            meter.stamp(r)
            log(f"ceiling  bare server stream ({method}), round {round_no + 1}: {_rate(r)}")
            reads.append(r)
        ceilings.append(max(reads, key=lambda r: r.get("events_per_s", -1.0)))
        meter = CpuMeter(pid)
        r = client.run("replay", addr, seconds=args.replay_seconds)
        meter.stamp(r)
        log(f"node     replay from token 0, round {round_no + 1}: {_rate(r)}")
        replays.append(r)
        check_node()
    results.ceiling_read = _median_sample(ceilings)
    results.replay = _median_sample(replays)


def _median_sample(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The sample with the median rate (the lower middle one for an even count),
    carrying every sample's rate; an errored sample wins so that it is seen."""
    errors = [s for s in samples if "error" in s]
    if errors:
        return errors[0]
    ordered = sorted(samples, key=lambda s: s.get("events_per_s", 0.0))
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["samples"] = [s.get("events_per_s", 0.0) for s in samples]
    return chosen


def shapes(args: argparse.Namespace) -> Iterator[tuple[int, int]]:
    for per_tx in args.events_per_tx:
        for clients in args.clients:
            yield clients, per_tx


def _du(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                pass
    return total


def _rate(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"ERROR {r['error']}"
    text = f"{r.get('events_per_s', 0):,.0f} msgs/s"
    if "p50_ms" in r:
        text += f", p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms"
    if "server_cpu_pct" in r:
        text += f", server CPU {r['server_cpu_pct']:.0f} %"
    if "loop_cpu_pct" in r:
        text += f" (event loop {r['loop_cpu_pct']:.0f} %)"
    return text


# -- the table ---------------------------------------------------------------------------


def _median_of(value: float, samples: list[float]) -> str:
    if len(samples) < 2:
        return f"{value:,.0f}"
    return f"median {value:,.0f} of " + "/".join(f"{v:,.0f}" for v in samples)


def _ratio(value: float | None, ceiling: float | None) -> float | None:
    if not value or not ceiling:
        return None
    return value / ceiling


def _pct(ratio: float | None, target: float | None = None) -> str:
    """A ratio in whole percent; with one decimal within half a point of the
    target, so that "80 %" never stands beside "missed"."""
    if ratio is None:
        return "-"
    if target is not None and abs(ratio - target) < 0.005:
        return f"{100 * ratio:.1f} %"
    return f"{100 * ratio:.0f} %"


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else (" **met**" if ok else " **missed**")


def _cpu(r: dict[str, Any]) -> str:
    return f"{r['server_cpu_pct']:.0f} %" if "server_cpu_pct" in r else "-"


def loop_us_per_event(r: dict[str, Any]) -> float | None:
    """The event-loop thread's CPU per event, in microseconds. Approximate: its
    CPU is metered over the whole run, warm-up included, and the rate over the
    measured part only."""
    rate = r.get("events_per_s")
    if not rate or "loop_cpu_pct" not in r:
        return None
    return float(r["loop_cpu_pct"]) / 100.0 / rate * 1e6


def loop_line(results: Results) -> str | None:
    """Under the table: the event-loop thread's CPU per event, node against
    bare server, for the rows with a target, so a reader sees what the ratio
    is made of (both servers' loop threads are near 100 % busy there)."""
    parts = []
    for key, r in results.append.items():
        clients, per_tx = (int(x) for x in key.split(","))
        ceiling = results.ceiling_write.get(key, {})
        node, bare = loop_us_per_event(r), loop_us_per_event(ceiling)
        if per_tx >= 100 and node is not None and bare is not None:
            parts.append(f"{clients} x {per_tx}: {node:.1f} / {bare:.1f} us "
                         f"(busy {r['loop_cpu_pct']:.0f} / {ceiling['loop_cpu_pct']:.0f} %)")
    if not parts:
        return None
    return "Event-loop thread CPU per event, node / bare server: " + "; ".join(parts) + "."


def durable_line(results: Results) -> str | None:
    """Under the table: the 100-event rows against the bare server that also
    writes and fdatasyncs every transaction before replying (`WriteSync`: on
    the loop for a lone stream, group-committed on a thread when streams
    overlap). Not a target: it tells how much of the ceiling this disk's fsync
    takes, which no durable server avoids, from what the node adds."""
    parts = []
    for key, durable in results.durable_write.items():
        clients, per_tx = (int(x) for x in key.split(","))
        node, ceiling = results.append.get(key, {}), results.ceiling_write.get(key, {})
        if "error" in durable or "error" in node or not durable.get("events_per_s"):
            continue
        parts.append(
            f"{clients} x {per_tx}: {_median_of(durable['events_per_s'], durable.get('samples', []))} events/s, "
            f"p50 {durable['p50_ms']:.1f} ms ({_pct(_ratio(durable['events_per_s'], ceiling.get('events_per_s')))} "
            f"of the ceiling); the node is {_pct(_ratio(node.get('events_per_s'), durable['events_per_s']))} of it"
        )
    if not parts:
        return None
    return ("Against the bare server that also writes and fdatasyncs every transaction before replying "
            "(group commit when streams overlap; the least a durable acknowledgement costs on this disk): "
            + "; ".join(parts) + ".")


def rows(results: Results) -> list[list[str]]:
    """Workload, result, ceiling, ratio, target, node CPU: one row per workload."""
    out: list[list[str]] = []
    for key, r in results.append.items():
        clients, per_tx = (int(x) for x in key.split(","))
        ceiling = results.ceiling_write.get(key, {})
        name = f"append, {clients} client{'s' if clients > 1 else ''}, {per_tx} event{'s' if per_tx > 1 else ''}/tx"
        if "error" in r:
            out.append([name, f"error: {r['error']}", _write_text(ceiling), "-", "-", "-"])
            continue
        ratio = _ratio(r.get("events_per_s"), ceiling.get("events_per_s"))
        target = "-"
        if per_tx >= 100:
            target = f">= {APPEND_TARGET:.0%}" + _verdict(None if ratio is None else ratio >= APPEND_TARGET)
        shown = _pct(ratio, APPEND_TARGET if per_tx >= 100 else None)
        out.append([name, _write_text(r), _write_text(ceiling), shown, target, _cpu(r)])

    r = results.replay
    if r:
        ceiling = results.ceiling_read
        if "error" in r:
            out.append(["ListEvents replay from token 0", f"error: {r['error']}", "-", "-", "-", "-"])
        else:
            ratio = _ratio(r.get("events_per_s"), ceiling.get("events_per_s"))
            note = "" if r.get("reached_target") else f" (first {r.get('events', 0):,} of {r.get('last_token', 0) + 1:,})"
            node_samples = r.get("samples", [r.get("events_per_s", 0.0)])
            bare_samples = ceiling.get("samples", [ceiling.get("events_per_s", 0.0)])
            best = max(bare_samples)
            out.append([
                "ListEvents replay from token 0",
                f"{_median_of(r['events_per_s'], node_samples)} events/s{note}",
                f"{_median_of(ceiling.get('events_per_s', 0), bare_samples)} msgs/s (bare server "
                f"stream, {ceiling.get('method', '?')}); best {best:,.0f}: {_pct(_ratio(r.get('events_per_s'), best))}",
                _pct(ratio, REPLAY_TARGET),
                f">= {REPLAY_TARGET:.0%}" + _verdict(None if ratio is None else ratio >= REPLAY_TARGET),
                _cpu(r),
            ])

    r = results.load_aggregate
    if r:
        small = results.ceiling_read_small
        if "error" in r:
            out.append(["load an aggregate", f"error: {r['error']}", "-", "-", "-", "-"])
        else:
            ratio = _ratio(small.get("median_ms"), r.get("median_ms"))
            out.append([
                f"load an aggregate of {r.get('events', 0):,} events",
                f"{r['median_ms']:,.0f} ms median of {r.get('repeat')} ({r['events_per_s']:,.0f} events/s)",
                f"{small.get('median_ms', 0):,.0f} ms (bare stream of as many messages)",
                _pct(ratio),
                "-",
                _cpu(r),
            ])

    r = results.fill
    if r:
        mem = results.memory
        if "error" in r:
            out.append(["fill", f"error: {r['error']}", "-", "-", "-", "-"])
        else:
            key = f"{r.get('clients')},100"
            ceiling = results.ceiling_write.get(key, {})
            out.append([
                f"fill: {r['events']:,} events over {r.get('aggregates', 0):,} aggregates "
                f"({r.get('clients')} clients x 100/tx)",
                f"{r['events_per_s']:,.0f} events/s in {r['seconds']:,.0f} s",
                f"{ceiling.get('events_per_s', 0):,.0f} msgs/s" if ceiling else "-",
                _pct(_ratio(r.get("events_per_s"), ceiling.get("events_per_s"))),
                "-",
                _cpu(r),
            ])
            rss = mem.get("rss_after_fill_mib", 0.0)
            out.append([
                f"node RSS after storing {mem.get('stored_events', 0):,} events",
                f"{rss:,.0f} MiB (peak {mem.get('vm_hwm_mib', 0):,.0f} MiB; after replay "
                f"{mem.get('rss_after_replay_mib', 0):,.0f} MiB; log {mem.get('data_dir_mib', 0):,.0f} MiB on disk)",
                "-",
                "-",
                f"<= {RSS_TARGET_MIB:.0f} MiB" + _verdict(rss <= RSS_TARGET_MIB),
                "-",
            ])
    return out


def _write_text(r: dict[str, Any]) -> str:
    if not r:
        return "-"
    if "error" in r:
        return f"error: {r['error']}"
    rate = _median_of(r["events_per_s"], r.get("samples", []))
    return f"{rate} events/s, p50 {r['p50_ms']:.1f} / p99 {r['p99_ms']:.1f} ms"


def render_table(results: Results) -> str:
    meta = results.meta
    head = ["workload", "result", "ceiling (bare grpc.aio, same shape)", "ratio", "target", "node CPU"]
    lines = [
        f"Ranvier bench, {meta.get('date', '?')}: {meta.get('cores', '?')} cores ({meta.get('cpu', '?')}), "
        f"{meta.get('memory_gib', '?')} GiB, Python {meta.get('python', '?')}, grpcio {meta.get('grpcio', '?')}, "
        f"event loop {meta.get('event_loop', '?')}, helper threads {meta.get('helper_threads', '?')}, "
        f"gRPC wake-ups {meta.get('grpc_wakeups', '?')}, event loop on "
        f"{meta.get('loop_cpu', '?')} (node and bare server), "
        f"node's per-event store work in {meta.get('append_path', '?')}; "
        f"{meta.get('event_bytes', '?')}-byte Events (256-byte payload)",
    ]
    if meta.get("client") == "python":
        lines.append("")
        lines.append("**CLIENT: multi-process Python fallback (no Go load generator): these numbers measure "
                     "the client as much as the node.**")
    else:
        lines.append(f"Client: Go loadgen ({meta.get('go', 'go')}, GOMAXPROCS=1, one connection per client).")
    if meta.get("placement"):
        lines.append(f"Pinned (--pin): {meta['placement']}.")
    disk = meta.get("disk")
    if disk:
        lines.append(f"Data on a file system with {disk['free_gib']:.0f} GiB free ({disk['used_pct']:.0f} % used).")
    lines.append("")
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---" for _ in head) + "|")
    for row in rows(results):
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
    for note in (loop_line(results), durable_line(results)):
        if note is not None:
            lines.append("")
            lines.append(note)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["messaging"]:  # its own options and table: ranvier.bench.messaging
        from ranvier.bench.messaging import main as messaging_main

        return messaging_main(argv[1:])
    args = parse_args(argv)

    def log(message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    started = time.monotonic()
    if args.cluster:
        from ranvier.bench.cluster import print_cluster, run_cluster

        try:
            cluster_results = run_cluster(args, log)
        except KeyboardInterrupt:
            log("interrupted")
            return 130
        except Exception as exc:  # noqa: BLE001 - one clear line, not a traceback
            log(f"failed: {type(exc).__name__}: {exc}")
            return 1
        cluster_results["meta"]["duration_s"] = round(time.monotonic() - started, 1)
        print_cluster(cluster_results, args)
        return 0
    try:
        results = run(args, log)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - one clear line, not a traceback
        log(f"failed: {exc}")
        return 1
    results.meta["duration_s"] = round(time.monotonic() - started, 1)
    if args.json_out:
        args.json_out.write_text(json.dumps(results.as_dict(), indent=2, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(results.as_dict(), indent=2, sort_keys=True))
    else:
        print(render_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
