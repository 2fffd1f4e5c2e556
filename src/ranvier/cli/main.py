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


def register_node(server: Server, args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"internalHostName": args.internal_host, "internalGrpcPort": args.internal_port}
    if args.context:
        body["context"] = args.context
    if args.no_contexts:
        body["noContexts"] = True
    server.call("register-node", "POST", "/v1/cluster", body, accept=(200, 202))


def _register_node_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-h", "--internal-host", required=True, help="internal host name of a node in the cluster")
    parser.add_argument("-p", "--internal-port", type=int, default=8224)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-c", "--context", default=None, help="join only this context")
    group.add_argument("--no-contexts", action="store_true", help="join no context")


def unregister_node(server: Server, args: argparse.Namespace) -> None:
    server.call("unregister-node", "DELETE", f"/v1/cluster/{args.node}")


def register_context(server: Server, args: argparse.Namespace) -> None:
    nodes = [n for part in (args.nodes or []) for n in part.split(",") if n]
    server.call("register-context", "POST", "/v1/context", {"context": args.context, "nodes": nodes,
                                                            "roles": [{"node": n, "role": "PRIMARY"} for n in nodes],
                                                            "metaData": {}}, accept=(200, 202))


def delete_context(server: Server, args: argparse.Namespace) -> None:
    query = "?preserveEventStore=true" if args.preserve_event_store else ""
    server.call("delete-context", "DELETE", f"/v1/context/{args.context}{query}", accept=(200, 202))


def add_node_to_context(server: Server, args: argparse.Namespace) -> None:
    query = f"?role={args.role}" if args.role else ""
    answer = server.call("add-node-to-context", "POST", f"/v1/context/{args.context}/{args.node}{query}", accept=(202,))
    if isinstance(answer, dict) and answer.get("message"):
        print(answer["message"])


def delete_node_from_context(server: Server, args: argparse.Namespace) -> None:
    query = "?preserveEventStore=true" if args.preserve_event_store else ""
    server.call("delete-node-from-context", "DELETE", f"/v1/context/{args.context}/{args.node}{query}", accept=(202,))


def _flags(*adders: Callable[[argparse.ArgumentParser], None]) -> Callable[[argparse.ArgumentParser], None]:
    def add(parser: argparse.ArgumentParser) -> None:
        for adder in adders:
            adder(parser)
    return add


def _ctx(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--context", required=True)


def _node(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--node", required=True)


def _preserve(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preserve-event-store", action="store_true")


COMMANDS: dict[str, tuple[str, Handler, Callable[[argparse.ArgumentParser], None]]] = {
    "register-node": ("join the cluster of the node at -h (send to the new node with -S)", register_node,
                      _register_node_flags),
    "unregister-node": ("remove a node from the cluster", unregister_node, _node),
    "register-context": ("create a context on the given nodes", register_context,
                         _flags(_ctx, lambda p: p.add_argument("-n", "--nodes", action="append"))),
    "delete-context": ("delete a context", delete_context, _flags(_ctx, _preserve)),
    "add-node-to-context": ("add a node to a context", add_node_to_context,
                            _flags(_ctx, _node, lambda p: p.add_argument("-r", "--role", default=None))),
    "delete-node-from-context": ("remove a node from a context", delete_node_from_context,
                                 _flags(_ctx, _node, _preserve)),
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
        command = sub.add_parser(name, help=help_text, description=help_text, add_help=name != "register-node")
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
