"""The `_admin` context: the cluster's configuration as replicated state.

Every configuration change is a command committed in the `_admin` Raft group and
applied, in log order, by every admin node to the same `ClusterConfiguration`. The
node's actual Raft memberships are then made to follow it (`cluster.reconcile`),
level-triggered: whoever leads a context compares what is with what should be and
takes the next step, so an interrupted change resumes after any leader change.

Commands are small JSON documents (`{"op": ..., ...}`); apply is deterministic, and
refuses bad commands with the Axon error a client should see (AXONIQ-1304 for a
context that exists, ...), identically on every replica.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ranvier.errors import ErrorCode, RanvierError
from ranvier.files import replace_durably

ADMIN = "_admin"
PRIMARY = "PRIMARY"
ROLES = ("PRIMARY", "MESSAGING_ONLY", "ACTIVE_BACKUP", "PASSIVE_BACKUP", "SECONDARY")


def node_id_of(name: str, incarnation: str = "") -> int:
    """A node's Raft id, derived from its unique name and its incarnation so every
    node agrees on it, and a node that comes back with new data under an old name
    is a new Raft member (Raft ids must never be reused with fresh state). Without an
    incarnation (nodes from before incarnations) the name alone, as it always was."""
    key = name if not incarnation else f"{name}\0{incarnation}"
    digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") >> 1
    return digest or 1


@dataclass(frozen=True)
class NodeRecord:
    """A cluster member as clients and peers reach it (Axon's ClusterNode fields),
    and the incarnation of its data ("" for a node registered before incarnations:
    unknown, see `ranvier.cluster.identity`)."""

    name: str
    host_name: str
    grpc_port: int
    http_port: int
    internal_host_name: str
    grpc_internal_port: int
    incarnation: str = ""

    @property
    def raft_id(self) -> int:
        return node_id_of(self.name, self.incarnation)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name, "hostName": self.host_name, "grpcPort": self.grpc_port, "httpPort": self.http_port,
            "internalHostName": self.internal_host_name, "grpcInternalPort": self.grpc_internal_port,
        }


@dataclass
class ContextRecord:
    name: str
    members: dict[str, str] = field(default_factory=dict)  # node name -> role
    # The members named at creation: they bootstrap the context's Raft group; nodes
    # added later start empty and are caught up by the leader.
    founders: list[str] = field(default_factory=list)


@dataclass
class ClusterConfiguration:
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    contexts: dict[str, ContextRecord] = field(default_factory=dict)
    # context -> nodes that keep their event store when they leave it
    # (`--preserve-event-store`); others delete it.
    preserved: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "preserved": {c: sorted(n) for c, n in sorted(self.preserved.items())},
            "nodes": {n: asdict(r) for n, r in sorted(self.nodes.items())},
            "contexts": {c: {"name": r.name, "members": dict(sorted(r.members.items())), "founders": r.founders}
                         for c, r in sorted(self.contexts.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ClusterConfiguration:
        nodes = {n: NodeRecord(**r) for n, r in data.get("nodes", {}).items()}  # type: ignore[union-attr]
        contexts = {c: ContextRecord(r["name"], dict(r["members"]), list(r.get("founders", [])))  # type: ignore[index]
                    for c, r in data.get("contexts", {}).items()}  # type: ignore[union-attr]
        preserved = {c: list(n) for c, n in data.get("preserved", {}).items()}  # type: ignore[union-attr]
        return cls(nodes, contexts, preserved)

    def contexts_of(self, node: str) -> list[str]:
        return sorted(c for c, r in self.contexts.items() if node in r.members)

    def raft_id(self, name: str) -> int:
        """The Raft id of the node registered as `name` (from its name alone if none is)."""
        record = self.nodes.get(name)
        return record.raft_id if record is not None else node_id_of(name)


def other_data(registered: NodeRecord, incarnation: str) -> RanvierError | None:
    """The error for a node that claims `registered`'s name with other data, or None.

    Raft's safety rests on every member keeping what it voted for and acknowledged;
    a node with a wiped or replaced data directory must not stand in for the old one.
    A record without an incarnation (registered before incarnations) proves nothing,
    so it accepts only a node that has none either (the same old node)."""
    if registered.incarnation == incarnation:
        return None
    name = registered.name
    return RanvierError(
        f"node {name} is registered in this cluster with other data (incarnation "
        f"{registered.incarnation or 'unknown'}, this node's is {incarnation or 'unknown'}): its data directory was "
        f"wiped or replaced; run `ranvier-cli unregister-node -n {name}` first, then register it again",
        ErrorCode.ALREADY_MEMBER_OF_CLUSTER)


def command(op: str, **fields: object) -> bytes:
    return json.dumps({"op": op, **fields}, sort_keys=True).encode()


class AdminStateMachine:
    """The `_admin` group's state machine; state saved beside the Raft log.

    The saved file carries the applied index, so a restart replays only what came
    after it (the driver starts at max(applied, snapshot index))."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.config = ClusterConfiguration()
        self.applied_index = 0
        self.listeners: list[Callable[[], None]] = []
        if path.exists():
            saved = json.loads(path.read_text())
            self.applied_index = int(saved["applied"])
            self.config = ClusterConfiguration.from_json(saved["config"])

    def apply(self, index: int, data: bytes) -> object:
        if index <= self.applied_index:
            return None
        self.applied_index = index
        cmd = json.loads(data)
        handler = getattr(self, "_" + cmd.pop("op"), None)
        if handler is None:
            raise RanvierError(f"unknown configuration command {data[:80]!r}")
        return handler(**cmd)

    def applied_batch(self) -> None:
        saved = {"applied": self.applied_index, "config": self.config.to_json()}
        replace_durably(self.path, json.dumps(saved, indent=1).encode())
        for listener in list(self.listeners):
            listener()

    def restore(self, snapshot: object) -> None:
        data = getattr(snapshot, "data", b"")
        if data:
            saved = json.loads(data)
            self.config = ClusterConfiguration.from_json(saved["config"])
        self.applied_index = getattr(getattr(snapshot, "metadata", None), "index", self.applied_index)

    @property
    def founders(self) -> dict[str, list[str]]:
        return {name: ctx.founders for name, ctx in self.config.contexts.items()}

    def image(self) -> bytes:
        return json.dumps({"applied": self.applied_index, "config": self.config.to_json()}).encode()

    snapshot_image = image  # the driver's name for it

    def sync(self) -> None:
        """Nothing to do: `applied_batch` already wrote the state durably."""

    # -- commands ------------------------------------------------------------------------

    def _register_node(self, node: dict[str, object]) -> str:
        record = NodeRecord(**node)  # type: ignore[arg-type]
        self.config.nodes[record.name] = record
        return record.name

    def _join_node(self, node: dict[str, object], contexts: list[str] | None) -> list[dict[str, object]]:
        """register-node: the node, and its membership of `_admin` and of the given
        contexts (all of them when None), as one atomic change."""
        joining = NodeRecord(**node)  # type: ignore[arg-type]
        name = joining.name
        registered = self.config.nodes.get(name)
        if registered is not None:
            refused = other_data(registered, joining.incarnation)
            if refused is not None:
                raise refused
            if registered != joining:
                # The same data at another address: moving a node is not supported.
                raise RanvierError(f"{name} is already a member of this cluster", ErrorCode.ALREADY_MEMBER_OF_CLUSTER)
        if name in self.config.contexts.get(ADMIN, ContextRecord(ADMIN)).members:
            # Idempotent for the same node (its earlier join committed but the answer
            # was lost).
            return [asdict(record) for record in self.config.nodes.values()]
        self._register_node(node)
        wanted = sorted(self.config.contexts) if contexts is None else [ADMIN, *contexts]
        for context in wanted:
            self._context(context).members[name] = PRIMARY
        # The joining node learns where its peers are from this answer: it cannot read
        # the configuration before the `_admin` leader has caught it up.
        return [asdict(record) for record in self.config.nodes.values()]

    def _unregister_node(self, name: str) -> str:
        if name not in self.config.nodes:
            raise RanvierError(f"no node named {name}", ErrorCode.NO_SUCH_NODE)
        del self.config.nodes[name]
        for ctx in self.config.contexts.values():
            ctx.members.pop(name, None)
            # A node registered later under this name starts empty and is caught up;
            # were it a founder it would bootstrap a second, conflicting log.
            if name in ctx.founders:
                ctx.founders.remove(name)
        return name

    def _create_context(self, name: str, members: dict[str, str]) -> str:
        if name in self.config.contexts:
            raise RanvierError(f"context {name} already exists", ErrorCode.CONTEXT_EXISTS)
        unknown = sorted(set(members) - set(self.config.nodes))
        if unknown:
            raise RanvierError(f"unknown node(s) {', '.join(unknown)}", ErrorCode.NO_SUCH_NODE)
        self.config.contexts[name] = ContextRecord(name, dict(members), sorted(members))
        return name

    def _delete_context(self, name: str, preserve: bool = False) -> str:
        if name == ADMIN:
            raise RanvierError("the _admin context cannot be deleted", ErrorCode.CANNOT_DELETE_INTERNAL_CONTEXT)
        ctx = self.config.contexts.pop(name, None)
        if ctx is None:
            raise RanvierError(f"context {name} not found", ErrorCode.CONTEXT_NOT_FOUND)
        if preserve:
            self.config.preserved[name] = sorted(set(self.config.preserved.get(name, [])) | set(ctx.members))
        return name

    def _add_node_to_context(self, context: str, node: str, role: str) -> str:
        ctx = self._context(context)
        kept = self.config.preserved.get(context, [])
        if node in kept:
            kept.remove(node)  # a member again: its old files must not be reused blindly
        if node not in self.config.nodes:
            raise RanvierError(f"no node named {node}", ErrorCode.NO_SUCH_NODE)
        ctx.members[node] = role
        return node

    def _delete_node_from_context(self, context: str, node: str, preserve: bool = False) -> str:
        ctx = self._context(context)
        if node not in ctx.members:
            raise RanvierError(f"node {node} is not a member of {context}", ErrorCode.NO_SUCH_NODE)
        if len(ctx.members) == 1:
            raise RanvierError(f"{node} is the last member of {context}; delete the context instead",
                               ErrorCode.CANNOT_REMOVE_LAST_NODE)
        del ctx.members[node]
        if node in ctx.founders:
            ctx.founders.remove(node)  # if added back it starts empty, as in `_unregister_node`
        if preserve:
            self.config.preserved[context] = sorted(set(self.config.preserved.get(context, [])) | {node})
        return node

    def _context(self, name: str) -> ContextRecord:
        ctx = self.config.contexts.get(name)
        if ctx is None:
            raise RanvierError(f"context {name} not found", ErrorCode.CONTEXT_NOT_FOUND)
        return ctx
