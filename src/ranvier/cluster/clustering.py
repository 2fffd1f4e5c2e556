"""A node's clustered mode: the internal port, the peer transport and the Raft groups.

`Clustering` assembles `PeerServer` (the internal gRPC port), `GrpcTransport`
(messages, forwarded proposals and log copies to peers) and `ClusterRuntime` (the
`_admin` group and the context groups), and offers the node what the REST API
needs: init-cluster, register-node, the configuration, per-group Raft status.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

from ranvier.errors import ErrorCode, RanvierError
from ranvier.eventstore import ContextEventStore, StoreOptions
from ranvier.raft import Message
from ranvier.messaging import ClusterClients, Messaging
from ranvier.replication.driver import Timing

from . import identity
from .admin import ADMIN, PRIMARY, NodeRecord, command
from .message_links import MessageLinks, RelayServer
from .peer import GrpcTransport
from .peer_server import PeerServer, read_log_bytes
from .runtime import ClusterRuntime

log = logging.getLogger(__name__)

_SEED_ID = 1  # a placeholder id for the node named in register-node, before we know its name


class Clustering:
    def __init__(
        self,
        me: NodeRecord,
        bind_address: str,
        event_storage: Path,
        raft_storage: Path,
        timing: Timing,
        store_options: StoreOptions,
        max_transaction_bytes: int,
    ) -> None:
        # Who this node is to its peers: its name and the incarnation of its data.
        me = replace(me, incarnation=me.incarnation or identity.load_or_create(raft_storage, ADMIN))
        self.me = me
        self.bind_address = bind_address
        self._seeds: dict[int, str] = {}
        self.transport = GrpcTransport(me.raft_id, self._address_of, self._unreachable,
                                       name=me.name, incarnation=me.incarnation)
        self.runtime = ClusterRuntime(
            me, event_storage, raft_storage, self.transport, self._forward, timing,
            store_options, max_transaction_bytes, self.transport.fetch_log,
        )
        self.server = PeerServer(self._deliver, self.runtime.handle_forward, self._read_log,
                                 node_id=self.runtime.my_id, check_peer=self.runtime.check_peer)
        self.links: MessageLinks | None = None
        self._started = False

    def route_messages(self, messaging: Messaging, clients: ClusterClients | None = None) -> None:
        """Share `messaging`'s handlers (and `clients`, the connected applications)
        with the other nodes and route to theirs."""
        self.links = MessageLinks(self.runtime.my_id, messaging, self.transport.stub, clients=clients)
        self.server.servicer.relay_server = RelayServer(messaging.relay, self.runtime.my_id, self._is_member,
                                                        clients=clients)
        self.runtime.admin_fsm.listeners.append(self._sync_links)

    async def start(self) -> None:
        await self.server.start(self.bind_address, self.me.grpc_internal_port)
        await self.runtime.start()
        self._started = True
        self._sync_links()

    async def stop(self) -> None:
        self._started = False
        if self.links is not None:
            await self.links.close()
        await self.runtime.stop()
        await self.server.stop()
        await self.transport.close()

    def _is_member(self, node_id: int) -> bool:
        return any(r.raft_id == node_id for r in self.runtime.admin_fsm.config.nodes.values())

    def _sync_links(self) -> None:
        """Relay calls to exactly the other nodes of the configuration (on every change)."""
        if self.links is None or not self._started:
            return
        nodes = self.runtime.admin_fsm.config.nodes
        self.links.sync({record.raft_id: name for name, record in nodes.items() if name != self.me.name})

    # -- plumbing ------------------------------------------------------------------------

    async def _forward(self, node_id: int, group: str, data: bytes) -> bytes:
        # Bounded like a local wait for a leader: a leader that stopped answering (a
        # frozen process, a partition) must not hold the client past that.
        return await self.transport.forward(node_id, group, data, timeout=self.runtime.timing.wait_for_leader_s)

    def _address_of(self, node_id: int) -> str | None:
        return self._seeds.get(node_id) or self.runtime.address_of(node_id)

    def _unreachable(self, group: str, node_id: int) -> None:
        driver = self.runtime._driver(group)
        if driver is not None:
            driver.report_unreachable(node_id)

    def _deliver(self, group: str, message: Message) -> bool:
        if self.runtime._driver(group) is None:
            return False
        self.runtime.deliver(group, message)
        return True

    def _read_log(self, context: str, position: int, max_bytes: int) -> bytes:
        service = self.runtime.event_store(context)
        if service is None:
            raise RanvierError(f"context {context} is not stored on {self.me.name}", ErrorCode.CONTEXT_NOT_FOUND)
        return read_log_bytes(service.store.log, position, max_bytes, service.store.visible_end)

    # -- what the node and the REST API use ------------------------------------------------

    @property
    def initialized(self) -> bool:
        return self.runtime.initialized and self.runtime.registered_as_me()

    def context_names(self) -> list[str]:
        return sorted(self.runtime.contexts)

    def event_store(self, context: str) -> ContextEventStore | None:
        return self.runtime.event_store(context)

    def knows_context(self, context: str) -> bool:
        return context in self.runtime.admin_fsm.config.contexts

    async def init_cluster(self, context: str) -> None:
        await self.runtime.init_cluster(context)

    async def register_node(self, host: str, port: int, context: str | None, no_contexts: bool) -> None:
        """Join the cluster that the node at host:port belongs to (run on the new node)."""
        if (host, port) == (self.me.internal_host_name, self.me.grpc_internal_port):
            raise RanvierError("a node cannot join itself", ErrorCode.SAME_NODE_NAME)
        self._seeds[_SEED_ID] = f"{host}:{port}"
        contexts = [] if no_contexts else ([context] if context else None)
        try:
            await self.runtime.join(_SEED_ID, contexts)
        finally:
            self._seeds.pop(_SEED_ID, None)
            self.transport.forget(_SEED_ID)

    async def change(self, op: str, **fields: object) -> object:
        """Commit one configuration command in `_admin` (from any admin node)."""
        if not self.initialized:
            raise RanvierError("this node is not part of a cluster", ErrorCode.NOT_RUNNING_IN_CLUSTER)
        result = await self.runtime.propose(ADMIN, command(op, **fields))
        await self.runtime.reconcile()
        return result

    async def register_context(self, name: str, nodes: list[str]) -> None:
        members = {node: PRIMARY for node in (nodes or [self.me.name])}
        await self.change("create_context", name=name, members=members)

    def serving_node_for(self, context: str) -> tuple[str, int, int, str] | None:
        """A member of `context` for a client to use: the leader if reachable, else
        any reachable member (Axon directs clients to a node serving their context)."""
        config = self.runtime.admin_fsm.config
        ctx = config.contexts.get(context)
        if ctx is None:
            return None
        leader = self.runtime.leader_name(context)
        for name in sorted(ctx.members, key=lambda n: n != leader):
            record = config.nodes.get(name)
            if record is not None and self.transport.is_connected(record.raft_id):
                return record.host_name, record.grpc_port, record.http_port, record.name
        return None

    def nodes(self) -> list[dict[str, object]]:
        out = []
        for record in sorted(self.runtime.admin_fsm.config.nodes.values(), key=lambda r: r.name):
            entry = record.as_json()
            entry["connected"] = record.name == self.me.name or self.transport.is_connected(record.raft_id)
            out.append(entry)
        return out

    def contexts(self) -> list[dict[str, object]]:
        out = []
        for name, ctx in sorted(self.runtime.admin_fsm.config.contexts.items()):
            out.append({
                "context": name, "replicationGroup": name, "metaData": {}, "changePending": False, "pendingSince": 0,
                "leader": self.runtime.leader_name(name) if (name in self.runtime.contexts or name == ADMIN) else None,
                "roles": [{"node": n, "role": role} for n, role in sorted(ctx.members.items())],
                "nodes": sorted(ctx.members),
            })
        return out

    def raft_status(self) -> list[dict[str, object]]:
        return self.runtime.raft_status()

    async def step_down(self, group: str) -> None:
        """Hand leadership of `group` to its most up-to-date follower."""
        driver = self.runtime._driver(group)
        if driver is None:
            raise RanvierError(f"no replication group {group} on this node", ErrorCode.CONTEXT_NOT_FOUND)
        if not driver.is_leader:
            return
        progress = driver.node.raft.trk.progress
        followers = [(p.match, nid) for nid, p in progress.items() if nid != driver.node_id]
        if not followers:
            raise RanvierError(f"{group} has no other member to lead it", ErrorCode.CANNOT_REMOVE_LAST_NODE)
        driver.transfer_leader(max(followers)[1])
        deadline = asyncio.get_running_loop().time() + 5
        while driver.is_leader and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
