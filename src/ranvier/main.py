"""`ranvier`: the node's command line (`ranvier server`, `ranvier bench`)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from ranvier.errors import ConfigError

USAGE = """usage: ranvier <command> [options]

commands:
  server [--property=value ...]   start a node (Axon Server property names; see README)
  bench [options]                 run the benchmark suite and print its table
  bench messaging [options]       command/query round trips, one node and forwarded
  dev-cluster [--nodes 3]         start a local cluster of N nodes, already initialised
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "server":
        return _server(rest)
    if command == "bench":
        from ranvier.bench.main import main as bench_main

        return bench_main(rest)
    if command == "dev-cluster":
        from ranvier.devcluster import main as dev_cluster_main

        return dev_cluster_main(rest)
    print(f"ranvier: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


def _server(argv: list[str]) -> int:
    from ranvier import event_loop, grpc_wakeups, loop_cpu
    from ranvier.config import load
    from ranvier.node import Node
    from ranvier.settings import settings_from
    from ranvier.switches import SwitchError

    logging.basicConfig(
        level=os.environ.get("RANVIER_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load(argv, os.environ, Path.cwd())
        settings = settings_from(config)
    except ConfigError as exc:
        print(f"ranvier: configuration error: {exc}", file=sys.stderr)
        return 78  # EX_CONFIG
    from ranvier.eventstore import native
    from ranvier.eventstore.committer import default_batch_worth_bytes

    try:
        loop_name, _factory = event_loop.loop_factory()
        event_loop.helper_thread_policy()
        grpc_wakeups.wakeup_policy()
        loop_cpu.loop_cpu()
        store_code = native.describe(native.load())
        sync_code = native.describe(native.load(name="_syncer"))
    except SwitchError as exc:
        print(f"ranvier: configuration error: {exc}", file=sys.stderr)
        return 78
    worth = default_batch_worth_bytes()
    logging.getLogger("ranvier").info(
        "event loop: %s; per-event store work in %s; fsync thread in %s; group commit: %s",
        loop_name, store_code, sync_code,
        f"a batch goes once {worth // 1024} KiB wait" if worth else "batches held for the whole window (one CPU)",
    )
    try:
        event_loop.run(Node(settings).run_until_signalled())
    except OSError as exc:
        print(f"ranvier: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0
