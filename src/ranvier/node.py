"""The composition root: configuration in, a serving node out.

Only this module reads `Config`; each component gets the few values it needs. A node
owns its contexts' stores, the client gRPC server and the HTTP server, and starts and
stops them in order. A context whose files fail validation at start is kept as
*failed*: the node serves its other contexts, and requests to that one get the error
that names the corrupt file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import time
import uuid
from pathlib import Path

import grpc

from ranvier import __version__, event_loop, grpc_wakeups, loop_cpu
from ranvier._pb import control_pb2
from ranvier.cluster.admin import NodeRecord
from ranvier.cluster.clustering import Clustering
from ranvier.errors import ContextNotFound, ErrorCode, RanvierError, StorageCorrupted, StorageUnavailable
from ranvier.files import replace_durably
from ranvier.eventstore import ContextEventStore, ContextStore, LocalCommitter, StoreOptions
from ranvier.grpc_api.event_store import EventStoreService
from ranvier.grpc_api.command import CommandService
from ranvier.grpc_api.platform import ClientRegistry, HeartbeatOptions, PlatformService
from ranvier.grpc_api.query import QueryService
from ranvier.messaging import ClusterClients, Messaging, MessagingOptions
from ranvier.replication.driver import Timing
from ranvier.settings import NodeSettings

log = logging.getLogger(__name__)

CONTEXT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z_\-0-9]*$")
STATE_FILE = "ranvier-node.json"
_GRPC_SLACK = 1024 * 1024  # received beyond max-message-size so we can answer AXONIQ-2001 ourselves


class Node:
    def __init__(self, settings: NodeSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self.hostname = settings.hostname
        self.grpc_port = settings.grpc_port
        self.http_port = settings.http_port
        self.started_at = time.time()
        self._local_stores: dict[str, ContextEventStore] = {}
        self.failed_contexts: dict[str, str] = {}
        self._local_contexts: list[str] = []
        # Standalone nodes store contexts locally (one fsync per batch, no Raft);
        # every other node is clustered: contexts are Raft groups, `_admin` holds the
        # configuration, and the node waits for init-cluster or register-node.
        self.cluster: Clustering | None = None if settings.standalone else self._clustering()
        if self.cluster is not None:
            self.cluster.runtime.context_closed.append(self._reconnect_clients)
        self.clients = ClientRegistry()  # control streams on this node
        self.all_clients = ClusterClients(self.name, self.clients)  # and on the other nodes
        self.messaging = Messaging(MessagingOptions(
            default_command_timeout_ms=settings.default_command_timeout_ms,
            default_query_timeout_ms=settings.default_query_timeout_ms,
            command_queue_capacity=settings.command_queue_capacity,
            query_queue_capacity=settings.query_queue_capacity,
        ))
        if self.cluster is not None:
            self.cluster.route_messages(self.messaging, self.all_clients)
        self._grpc: grpc.aio.Server | None = None
        self._http_task: asyncio.Task[None] | None = None
        self._http_server: object | None = None
        self._stopped = asyncio.Event()
        self.stopping = False  # set first thing in stop(); long-lived streams end on it
        self.version = __version__

    # -- properties the adapters read ------------------------------------------------

    @property
    def max_message_size(self) -> int:
        return self.settings.max_message_size

    @property
    def new_permits_timeout_ms(self) -> int:
        return self.settings.new_permits_timeout_ms

    @property
    def blacklisted_send_after(self) -> int:
        return self.settings.blacklisted_send_after

    def _clustering(self) -> Clustering:
        s = self.settings
        me = NodeRecord(s.name, s.hostname, s.grpc_port, s.http_port, s.internal_hostname, s.internal_port)
        tick_s = 0.1
        timing = Timing(
            tick_s=tick_s,
            heartbeat_tick=max(1, round(s.heartbeat_timeout_ms / 1000 / tick_s)),
            election_tick=max(2, round(s.min_election_timeout_ms / 1000 / tick_s)),
            wait_for_leader_s=s.wait_for_leader_timeout_ms / 1000,
        )
        return Clustering(me, s.bind_address, s.event_storage, s.log_storage_folder, timing,
                          self._store_options(), s.max_transaction_size)

    def _reconnect_clients(self, context: str) -> None:
        """This node stopped serving `context`: its clients reconnect elsewhere
        (RequestReconnect; they go back through GetPlatformServer)."""
        for client in self.clients.in_context(context):
            self.clients.send(client, control_pb2.PlatformOutboundInstruction(
                request_reconnect=control_pb2.RequestReconnect(), instruction_id=uuid.uuid4().hex))

    def _store_options(self) -> StoreOptions:
        return StoreOptions(
            segment_size=self.settings.segment_size,
            check_snapshot_sequence=self.settings.check_snapshot_sequence,
        )

    @property
    def stores(self) -> dict[str, ContextEventStore]:
        """The contexts this node stores, by name."""
        if self.cluster is None:
            return self._local_stores
        return {name: group.service for name, group in self.cluster.runtime.contexts.items()}

    @property
    def context_names(self) -> list[str]:
        if self.cluster is None:
            return list(self._local_contexts)
        return self.cluster.context_names()

    @property
    def initialized(self) -> bool:
        if self.cluster is not None:
            return self.cluster.initialized
        return bool(self._local_contexts)

    def event_store(self, context: str) -> ContextEventStore:
        store = self.stores.get(context)
        if store is not None:
            return store
        self.check_context(context)
        raise ContextNotFound(f"Context {context} not found on this node")

    def serving_node_for(self, context: str) -> tuple[str, int, int, str] | None:
        """Where a client of `context` should connect when this node does not serve
        it: (host, gRPC port, HTTP port, name) of a connected member; None to answer
        with this node (it serves the context, or no member is known)."""
        if self.cluster is None or context in self.stores:
            return None
        return self.cluster.serving_node_for(context)

    def check_context(self, context: str) -> None:
        if context in self.failed_contexts:
            raise StorageUnavailable(f"context {context} is not served: {self.failed_contexts[context]}")
        if not self.initialized:
            raise RanvierError(
                "this node is not initialized: run `ranvier-cli init-cluster` or start it with "
                "axoniq.axonserver.standalone=true",
                ErrorCode.NO_AXONSERVER_FOR_CONTEXT,
            )
        if context not in self.stores:
            if self.cluster is not None and self.cluster.knows_context(context):
                raise RanvierError(f"context {context} is not served by {self.name}",
                                   ErrorCode.NO_AXONSERVER_FOR_CONTEXT)
            raise ContextNotFound(f"Context {context} not found on this node")

    # -- contexts --------------------------------------------------------------------

    def _state_path(self) -> Path:
        return self.settings.event_storage / STATE_FILE

    def _load_state(self) -> list[str]:
        path = self._state_path()
        if not path.exists():
            return []
        return list(json.loads(path.read_text())["contexts"])

    def _save_state(self) -> None:
        state = {"node": self.name, "contexts": self._local_contexts}
        replace_durably(self._state_path(), json.dumps(state, indent=2).encode())

    async def initialize(self, context: str = "default") -> None:
        """Make this node serve `context` (Axon's init-cluster on a single node).
        Idempotent: initializing an initialized node with a served context is a no-op."""
        if not CONTEXT_NAME.match(context):
            raise RanvierError(f"invalid context name {context!r}", ErrorCode.INVALID_CONTEXT_NAME)
        if self.cluster is not None:
            await self.cluster.init_cluster(context)
            return
        if context in self._local_contexts:
            return
        self._local_contexts.append(context)
        self._save_state()
        await self._open_context(context)

    async def _open_context(self, context: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            store = ContextStore.open(
                context, self.settings.event_storage / context, self._store_options(), loop.call_soon_threadsafe
            )
        except StorageCorrupted as exc:
            log.error("context %s: %s", context, exc.message)
            self.failed_contexts[context] = exc.message
            return
        committer = LocalCommitter(store)
        self._local_stores[context] = ContextEventStore(store, committer, self.settings.max_transaction_size)
        if store.recovery.truncated_bytes:
            log.warning("context %s: %s", context, "; ".join(store.recovery.notes))
        log.info("context %s open: %d events, last log index %d", context, store.next_token, store.applied_index)

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self.settings.event_storage.mkdir(parents=True, exist_ok=True)
        if self.cluster is not None:
            await self.cluster.start()
            from ranvier.cluster.autocluster import start_autocluster
            self.autocluster_task = start_autocluster(self)  # autocluster.first/contexts, on a clean node
        else:
            for context in self._load_state():
                self._local_contexts.append(context)
                await self._open_context(context)
            if self.settings.standalone and "default" not in self._local_contexts:
                await self.initialize("default")
        await self._start_grpc()
        # gRPC's threads exist now; done before the HTTP port answers, so a node
        # that reports healthy runs them as it will from then on.
        batched = event_loop.schedule_helper_threads()
        log.info("helper threads: %s (%d set to SCHED_BATCH)", event_loop.helper_thread_policy(), batched)
        log.info("gRPC completion wake-ups: %s", grpc_wakeups.coalesce_wakeups())
        log.info("event loop CPU: %s", loop_cpu.confine_loop_and_poller())
        await self._start_http()
        log.info(
            "node %s ready: gRPC %s:%d, HTTP %s:%d, contexts %s",
            self.name, self.settings.bind_address, self.grpc_port,
            self.settings.bind_address, self.http_port, ", ".join(self.context_names) or "(none)",
        )

    async def _start_grpc(self) -> None:
        limit = self.settings.max_message_size + _GRPC_SLACK
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", limit),
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_ping_interval_without_data_ms", 1000),
                ("grpc.so_reuseport", 0),
            ]
        )
        heartbeat = HeartbeatOptions(
            self.settings.heartbeat_enabled, self.settings.client_heartbeat_timeout_ms,
            self.settings.heartbeat_check_initial_delay_ms, self.settings.heartbeat_check_rate_ms,
            self.settings.heartbeat_frequency_ms, self.settings.heartbeat_initial_delay_ms,
        )
        server.add_generic_rpc_handlers((
            EventStoreService(self, self).handler(),
            PlatformService(self, self.clients, heartbeat).handler(),
            CommandService(self, self.messaging).handler(),
            QueryService(self, self.messaging).handler(),
        ))
        address = f"{self.settings.bind_address}:{self.grpc_port}"
        if server.add_insecure_port(address) == 0:
            raise OSError(f"cannot listen on {address} (axoniq.axonserver.port)")
        await server.start()
        self._grpc = server

    async def _start_http(self) -> None:
        import uvicorn

        from ranvier.http_api import create_app

        config = uvicorn.Config(
            create_app(self), host=self.settings.bind_address, port=self.http_port,
            log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._http_server = server
        self._http_task = asyncio.create_task(server.serve())
        while not server.started:
            if self._http_task.done():
                self._http_task.result()
                raise OSError(f"HTTP server on port {self.http_port} stopped at start (server.port)")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.stopping = True
        if self._grpc is not None:
            await self._grpc.stop(grace=1.0)
        if self._http_server is not None:
            self._http_server.should_exit = True  # type: ignore[attr-defined]
            if self._http_task is not None:
                await self._http_task
        if self.cluster is not None:
            await self.cluster.stop()
        for store in self._local_stores.values():
            await store.close()
        self._stopped.set()

    async def run_until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        print(f"Ranvier node {self.name} ready: gRPC {self.hostname}:{self.grpc_port}, "
              f"HTTP http://{self.hostname}:{self.http_port}/", flush=True)
        await stop.wait()
        log.info("stopping")
        await self.stop()

    def info(self) -> dict[str, object]:
        """`/v1/public/me`, as Axon Server answers it."""
        return {
            "authentication": False,
            "clustered": self.cluster is not None,
            "ssl": False,
            "adminNode": self.initialized,
            "developmentMode": self.settings.devmode,
            "storageContextNames": list(self.context_names),
            "contextNames": list(self.context_names),
            "name": self.name,
            "hostName": self.hostname,
            "httpPort": self.http_port,
            "grpcPort": self.grpc_port,
            "internalHostName": self.settings.internal_hostname,
            "grpcInternalPort": self.settings.internal_port,
            "pluginsEnabled": False,
            "initialized": self.initialized,
            "version": __version__,
        }
