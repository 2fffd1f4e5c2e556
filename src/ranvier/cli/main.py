"""Entry point of `ranvier-cli`.

Commands follow axonserver-cli (names, short and long flags, output, exit codes).
Those whose server side is not built yet say so rather than pretend.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .http import CommandFailed, Server, resolve_token
from .output import emit

Handler = Callable[[Server, argparse.Namespace], None]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-S", "--server", default=None, help="node URL (default http://localhost:8024)")
    parser.add_argument("-s", "--https", action="store_true", help="use https for the default server URL")
    parser.add_argument("-i", "--insecure-ssl", action="store_true", help="trust any certificate")
    parser.add_argument("-t", "--access-token", default=None, help="access token (else ./security/.token)")
    parser.add_argument("-o", "--output", choices=("txt", "json"), default="txt")


def init_cluster(server: Server, args: argparse.Namespace) -> None:
    query = f"?context={args.context}" if args.context else ""
    server.call("init-cluster", "POST", f"/v1/context/init{query}", accept=(200, 202))


def cluster(server: Server, args: argparse.Namespace) -> None:
    nodes: list[dict[str, Any]] = server.call("cluster", "GET", "/v1/public") or []
    nodes.sort(key=lambda n: n["name"])
    rows = [(n["name"], n["hostName"], n["grpcPort"], n["httpPort"], "*" if n.get("connected") else "") for n in nodes]
    emit(nodes, args.output, rows, ("Name", "Hostname", "gRPC Port", "HTTP Port", "Connected"))


def contexts(server: Server, args: argparse.Namespace) -> None:
    items: list[dict[str, Any]] = server.call("contexts", "GET", "/v1/public/context") or []
    rows = [
        (c["context"], c.get("leader") or "", c.get("replicationGroup") or "",
         ",".join(f"{r['node']}[{r['role']}]" for r in c.get("roles", [])))
        for c in items
    ]
    emit(items, args.output, rows, ("Name", "Leader", "Replication Group", "Members"))


COMMANDS: dict[str, tuple[str, Handler, Callable[[argparse.ArgumentParser], None]]] = {
    "init-cluster": (
        "initialise this node: create _admin and the given context (default `default`)",
        init_cluster,
        lambda p: p.add_argument("-c", "--context", default=None),
    ),
    "cluster": ("list the cluster's nodes", cluster, lambda p: None),
    "contexts": ("list contexts with leader and members", contexts, lambda p: None),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ranvier-cli", description="Ranvier admin client (axonserver-cli commands)")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name, (help_text, _handler, add_flags) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        _common(command)
        add_flags(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 1
    url = args.server or ("https://localhost:8024" if args.https else "http://localhost:8024")
    server = Server(url, resolve_token(args.access_token), args.insecure_ssl)
    try:
        COMMANDS[args.command][1](server, args)
    except CommandFailed as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    return 0
